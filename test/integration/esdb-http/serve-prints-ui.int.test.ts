// `orders serve` (what `npm start` runs) on the embedded store prints the store UI's URL next to
// the API's, and the UI answers there, on the store's port, from the store's own thread.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli, type RunningCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/free-port.js';
import { eventually } from '../workers/order-writer.js';

describe('orders serve on the embedded store', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'order-store-serve-ui-'));
  let cli: RunningCli | undefined;

  afterAll(async () => {
    cli?.child.kill('SIGTERM');
    await cli?.done;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("prints the event store UI's URL next to the API's, and the UI is there", async () => {
    const [apiPort, storePort] = [await freePort(), await freePort()];
    cli = startCli(['serve'], { env: { DATA_DIR: dataDir, PORT: String(apiPort), EVENTSTORE_PORT: String(storePort), LOG_LEVEL: 'warn' } });
    const uiLine = await eventually(() => cli!.output().stdout.match(/^event store UI .*: (http:\/\/\S+)$/m) ?? undefined, 45_000);
    expect(uiLine[1]).toBe(`http://127.0.0.1:${storePort}/`);
    expect(cli.output().stdout).toContain(`listening on http://127.0.0.1:${apiPort}`);
    // Secured by default: the UI asks for the admin credentials `serve` printed.
    expect((await fetch(`${uiLine[1]}ui/subscriptions`)).status).toBe(401);
    const login = cli.output().stdout.match(/^event store login: user 'admin', password (\S+) \(kept in (\S+)\)$/m);
    expect(login?.[2]).toBe(join(dataDir, 'eventstore-admin-password'));
    const page = await fetch(`${uiLine[1]}ui/subscriptions`, { headers: { authorization: `Basic ${Buffer.from(`admin:${login![1]}`).toString('base64')}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Persistent subscriptions');
    expect((await fetch(`${uiLine[1]}health/live`)).status).toBe(204);
  }, 60_000);
});
