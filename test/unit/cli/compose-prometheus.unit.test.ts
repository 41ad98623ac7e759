// docker-compose.yml's Prometheus scrapes the order service's /metrics, which answers a client
// off loopback only with the METRICS_TOKEN bearer token: read from the files themselves (docker
// does not run where the tests run), the scrape jobs of the order-store services send the token
// the services are given, from one compose secret, and the store's job stays on its own TLS.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { METRICS_TOKEN_VARIABLE } from '../../../src/observability/metrics-access.js';

interface ComposeService {
  image?: string;
  environment?: Record<string, string>;
  secrets?: Array<string | { source: string; target?: string }>;
  volumes?: string[];
}
interface ScrapeJob {
  job_name: string;
  scheme?: string;
  authorization?: { type?: string; credentials?: string; credentials_file?: string };
  static_configs?: Array<{ targets: string[] }>;
  dns_sd_configs?: Array<{ names: string[]; port: number }>;
}

const root = join(import.meta.dirname, '..', '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { environment?: string; file?: string }>;
};
const prometheusService = compose.services.prometheus!;
const configMount = prometheusService.volumes?.find((volume) => volume.split(':')[1] === '/etc/prometheus/prometheus.yml');
const prometheus = parse(readFileSync(join(root, configMount!.split(':')[0]!), 'utf8')) as { scrape_configs: ScrapeJob[] };

/** The compose services a job scrapes, with the port it scrapes them on. */
function targetsOf(job: ScrapeJob): Array<{ service: string; port: number }> {
  const fromStatic = (job.static_configs ?? []).flatMap((config) => config.targets.map((target) => ({ service: target.split(':')[0]!, port: Number(target.split(':')[1]) })));
  const fromDns = (job.dns_sd_configs ?? []).flatMap((config) => config.names.map((name) => ({ service: name, port: config.port })));
  return [...fromStatic, ...fromDns];
}

/** Where compose mounts each of the Prometheus service's secrets, and from which top-level secret. */
function prometheusSecretFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of prometheusService.secrets ?? []) {
    const source = typeof entry === 'string' ? entry : entry.source;
    const target = typeof entry === 'string' ? source : (entry.target ?? source);
    files.set(target.startsWith('/') ? target : `/run/secrets/${target}`, source);
  }
  return files;
}

const orderStoreImage = compose.services.orders!.image!;
const orderStoreJobs = prometheus.scrape_configs.filter((job) => targetsOf(job).some((target) => compose.services[target.service]?.image === orderStoreImage));

describe("docker compose's Prometheus and the order service's /metrics", () => {
  it('scrapes the API and every workers replica', () => {
    const scraped = new Set(orderStoreJobs.flatMap((job) => targetsOf(job).map((target) => target.service)));
    expect([...scraped].sort()).toEqual(['orders', 'orders-workers']);
    for (const job of orderStoreJobs) {
      for (const target of targetsOf(job)) expect(Number(compose.services[target.service]!.environment!.PORT)).toBe(target.port);
    }
  });

  it("sends as bearer credentials the file of a secret compose gives Prometheus, and the same secret's variable is each scraped service's METRICS_TOKEN", () => {
    const files = prometheusSecretFiles();
    for (const job of orderStoreJobs) {
      expect(job.authorization, job.job_name).toBeDefined();
      expect(job.authorization!.type ?? 'Bearer').toBe('Bearer');
      // Never the token itself in a file that is committed.
      expect(job.authorization!.credentials).toBeUndefined();
      const secret = files.get(job.authorization!.credentials_file ?? '');
      expect(secret, `${job.job_name}: credentials_file ${job.authorization!.credentials_file} is none of Prometheus's secrets`).toBeDefined();
      const variable = compose.secrets?.[secret!]?.environment;
      expect(variable, `secret ${secret} comes from an environment variable`).toBeDefined();
      for (const target of targetsOf(job)) {
        const token = compose.services[target.service]!.environment![METRICS_TOKEN_VARIABLE];
        expect(token, `${target.service} has ${METRICS_TOKEN_VARIABLE}`).toBeDefined();
        // The same variable, and required: no default token everyone would know.
        expect(token).toMatch(new RegExp(`^\\$\\{${variable}:\\?`));
      }
    }
  });

  it("leaves EventStoreDB's job on its own TLS, without the order service's token", () => {
    const store = prometheus.scrape_configs.find((job) => targetsOf(job).some((target) => target.service === 'eventstore'));
    expect(store?.scheme).toBe('https');
    expect(store?.authorization).toBeUndefined();
  });
});
