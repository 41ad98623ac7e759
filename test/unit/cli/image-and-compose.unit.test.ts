// What the Dockerfile and docker-compose.yml promise, read from the files themselves (docker does
// not run where the tests run): compiled JavaScript on a maintained Node line, a HEALTHCHECK
// every role answers, one build used by both service roles.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..', '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { build?: unknown; image?: string; pull_policy?: string; healthcheck?: { disable?: boolean }; environment?: Record<string, string> }>;
};

describe('the production image', () => {
  it('is based on a maintained Node line (22 or 24), never the end-of-life node:20', () => {
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((match) => match[1]);
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(/^node:(22|24)[-.]/);
  });

  it('runs the compiled CLI with production dependencies only', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toContain('COPY --from=build /app/dist ./dist');
    expect(runtime).not.toMatch(/COPY\s+src\b/);
    expect(runtime).not.toMatch(/tsx/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(runtime).toMatch(/CMD \["node", "bin\/orders\.js", "serve"\]/);
  });

  it('checks its health on /ready', () => {
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\/ready/m);
  });
});

describe('docker compose', () => {
  const orders = compose.services.orders!;
  const workers = compose.services['orders-workers']!;

  it('builds the service image once and runs it as both the API and the workers', () => {
    const building = Object.entries(compose.services).filter(([, service]) => service.build !== undefined).map(([name]) => name);
    expect(building).toEqual(['orders']);
    expect(orders.image).toBeDefined();
    expect(workers.image).toBe(orders.image);
    expect(workers.pull_policy).toBe('never');
    expect(workers.environment?.ROLE).toBe('workers');
  });

  it('keeps the image HEALTHCHECK for the workers, which answer /ready on their port', () => {
    expect(workers.healthcheck?.disable).not.toBe(true);
  });
});
