// docker-compose.yml as several hosts would run the service (no Docker engine where the tests run,
// so the file is parsed and its promises checked): PostgreSQL for the read models, two API and two
// worker replicas on it sharing no volume, every published port on 127.0.0.1, a secured
// EventStoreDB, and an environment the service itself accepts once compose has filled it in.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/config.js';

const root = join(import.meta.dirname, '..', '..', '..');

interface Service {
  image?: string;
  build?: unknown;
  deploy?: { replicas?: number };
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] };
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const { services } = compose;
const nginx = readFileSync(join(root, 'ops', 'nginx', 'orders-lb.conf'), 'utf8');
const prometheus = parse(readFileSync(join(root, 'ops', 'prometheus', 'prometheus.yml'), 'utf8')) as {
  scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port?: number }[]; static_configs?: { targets: string[] }[] }[];
};

/** Compose's interpolation of ${VAR}, ${VAR:-default} (nested too) and ${VAR:?error}; $$ is a dollar. */
function interpolate(text: string, vars: Record<string, string>): string {
  let out = '';
  for (let index = 0; index < text.length; index++) {
    if (text.startsWith('$$', index)) {
      out += '$';
      index++;
    } else if (text.startsWith('${', index)) {
      let depth = 0;
      let end = index;
      for (; end < text.length; end++) {
        if (text.startsWith('${', end)) depth++;
        if (text[end] === '}' && --depth === 0) break;
      }
      const body = text.slice(index + 2, end);
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:[-?])(.*))?$/s.exec(body);
      if (!match) throw new Error(`bad interpolation \${${body}}`);
      const [, name, op, rest] = match;
      const value = vars[name!];
      if (value !== undefined && value !== '') out += value;
      else if (op === ':?') throw new Error(`required: ${name}: ${rest}`);
      else if (op === ':-') out += interpolate(rest ?? '', vars);
      index = end;
    } else {
      out += text[index];
    }
  }
  return out;
}

function environmentOf(service: Service, vars: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), vars)]));
}

const vars = { EVENTSTORE_ADMIN_PASSWORD: 'a1b2c3d4e5f6', POSTGRES_PASSWORD: '0f1e2d3c4b5a', API_KEYS: 'k3y0123456789abcdef:dev', METRICS_TOKEN: 'm3tr1cs-t0ken-0123456789' };

describe('docker compose on PostgreSQL', () => {
  const orders = services.orders!;
  const workers = services['orders-workers']!;
  const postgres = services.postgres!;

  it('runs PostgreSQL with a password that must be given, its data on a volume, healthy once it takes connections', () => {
    expect(postgres.image).toMatch(/^postgres:1[6-9]/);
    expect(postgres.environment?.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    expect(() => environmentOf(postgres, { ...vars, POSTGRES_PASSWORD: '' })).toThrow(/required: POSTGRES_PASSWORD/);
    expect(postgres.volumes).toContain('postgres-data:/var/lib/postgresql/data');
    expect(Object.keys(compose.volumes ?? {})).toContain('postgres-data');
    expect(postgres.healthcheck?.test?.join(' ')).toContain('pg_isready');
  });

  it('scales the API to two replicas and the workers to two, every one on the same READ_MODEL_URL', () => {
    expect(orders.deploy?.replicas).toBe(2);
    expect(workers.deploy?.replicas).toBe(2);
    const api = environmentOf(orders, vars);
    const worker = environmentOf(workers, vars);
    expect(api.ROLE).toBe('api');
    expect(worker.ROLE).toBe('workers');
    expect(api.READ_MODEL_URL).toBe(`postgres://${postgres.environment?.POSTGRES_USER}:${vars.POSTGRES_PASSWORD}@postgres:5432/${postgres.environment?.POSTGRES_DB}`);
    expect(worker.READ_MODEL_URL).toBe(api.READ_MODEL_URL);
    // The replicas run on the same image, as they would on other machines: no published port of
    // their own (two replicas cannot share one) and no shared data volume.
    for (const service of [orders, workers]) {
      expect(service.ports ?? []).toEqual([]);
      expect((service.volumes ?? []).filter((volume) => volume.endsWith(':/app/data'))).toEqual([]);
      expect(service.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' }, eventstore: { condition: 'service_healthy' } });
    }
    expect(Object.values(services).some((service) => service.environment?.ROLE === 'all')).toBe(false);
  });

  it('gives the API and the workers an environment the service accepts', () => {
    for (const service of [orders, workers]) {
      const config = loadConfig(environmentOf(service, vars));
      expect(config.readModelUrl).toMatch(/^postgres:\/\/orders:.+@postgres:5432\/orders$/);
      expect(config.esdbConnectionString).toMatch(/^esdb:\/\/admin:.+@eventstore:2113\?tls=true&tlsCAFile=/);
      expect(config.host).toBe('0.0.0.0');
    }
  });

  it('publishes the API through a load balancer over every replica, on 127.0.0.1:3000', () => {
    const lb = services['orders-lb']!;
    expect(lb.ports).toEqual(['127.0.0.1:3000:3000']);
    expect(lb.volumes?.some((volume) => volume.startsWith('./ops/nginx/orders-lb.conf:'))).toBe(true);
    expect(nginx).toMatch(/upstream orders_api \{[^}]*server orders:3000/);
    expect(nginx).toMatch(/listen 3000;/);
    expect(nginx).toMatch(/proxy_pass http:\/\/orders_api;/);
  });

  it('has Prometheus scrape every API and worker replica, not one of them', () => {
    for (const service of ['orders', 'orders-workers']) {
      const job = prometheus.scrape_configs.find((config) => config.dns_sd_configs?.some((sd) => sd.names.includes(service)));
      expect(job, service).toBeDefined();
      expect(job!.dns_sd_configs![0]!.port).toBe(3000);
    }
    const staticTargets = prometheus.scrape_configs.flatMap((config) => config.static_configs ?? []).flatMap((config) => config.targets);
    expect(staticTargets.filter((target) => target.startsWith('orders'))).toEqual([]);
  });

  it('keeps the security of the single-host file: every published port on 127.0.0.1, a secured EventStoreDB, no default key', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
    const eventstore = services.eventstore!.environment ?? {};
    expect(eventstore.EVENTSTORE_INSECURE).toBeUndefined();
    expect(eventstore.EVENTSTORE_CERTIFICATE_FILE).toBeDefined();
    expect(String(eventstore.EVENTSTORE_DEFAULT_ADMIN_PASSWORD)).toMatch(/^\$\{EVENTSTORE_ADMIN_PASSWORD:\?/);
    expect(String(orders.environment?.API_KEYS)).toMatch(/^\$\{API_KEYS:\?/);
    for (const service of [orders, workers]) expect(environmentOf(service, vars).ESDB_CONNECTION_STRING).toContain('tls=true');
  });
});
