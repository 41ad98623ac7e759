// The embedded store's UI in a real browser (headless Chromium), against the real app and workers:
// an order created over HTTP with a correlation id is found in the UI, traced as a causation
// tree across streams, a handler's parked event is replayed from the UI, and event data that
// holds markup renders as text.
import { randomUUID } from 'node:crypto';
import { jsonEvent } from '@eventstore/db-client';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../src/api/app.js';
import { OrderStateCache } from '../../../src/eventstore/order-state-cache.js';
import notification from '../../../src/handlers/notification.js';
import { openReadModelStore, type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { defineHandler } from '../../../src/subscriptions/handler.js';
import { startWorkers, type RunningWorkers } from '../../../src/workers.js';
import { useBrowser } from '../../helpers/browser.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { FAST_RETRIES } from '../../integration/workers/worker-helpers.js';

const KEY = 'ui-test-key-0123456789abcdef';
const FAULT = 'carrier API <b>down</b>';

describe('the event store UI in a browser', () => {
  const browser = useBrowser();
  let store: TestEventStore;
  let app: FastifyInstance;
  let api: string;
  let ui: string;
  let readModels: ReadModelStore;
  let workers: RunningWorkers;
  const fault = { on: true };
  const shippedHandled: string[] = [];
  const correlationId = `chat-${randomUUID()}`;
  let orderId = '';

  // Fails while the "carrier" is down: its events are retried, then parked by the runner.
  const carrier = defineHandler({
    name: 'ui-carrier',
    handles: ['order.shipped'],
    handle(event) {
      if (fault.on) throw new Error(FAULT);
      shippedHandled.push(event.id);
    },
  });

  beforeAll(async () => {
    store = await startTestEventStore();
    ui = store.server.uiUrl!;
    app = await build({ client: store.client, apiKeys: new Map([[KEY, 'tenant-ui']]), cache: new OrderStateCache() });
    api = await app.listen({ port: 0, host: '127.0.0.1' });
    readModels = openReadModelStore({ file: ':memory:' });
    workers = await startWorkers({
      client: store.client,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      store: readModels,
      env: {},
      handlers: [notification, carrier],
      projections: [],
      runner: FAST_RETRIES,
    });
  }, 60_000);

  afterAll(async () => {
    await workers?.stop();
    await readModels?.close();
    await app?.close();
    await store?.close();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${api}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    expect(response.status, `${path}: ${await response.clone().text()}`).toBeLessThan(300);
    return (await response.json()) as Record<string, unknown>;
  };

  it('finds an order created, paid and shipped over HTTP, and shows an event with its metadata', async () => {
    const created = await post(
      '/orders',
      { customer: { id: 'c-ui', name: 'Ada Lovelace', phone: '+14155550100' }, currency: 'EUR', items: [{ sku: 'TSHIRT-M', quantity: 2, unitPrice: 1500 }] },
      { 'x-correlation-id': correlationId },
    );
    orderId = String(created.orderId);
    await post(`/orders/${orderId}/payments`, { paymentId: 'pay-ui', amount: 3000, method: 'card' }, { 'x-correlation-id': correlationId });
    await post(`/orders/${orderId}/ship`, { carrier: 'DHL', trackingNumber: 'JD0146' }, { 'x-correlation-id': correlationId });

    const { page } = browser;
    await page.goto(ui);
    await expect.poll(() => page.locator('[data-figure="events"]').textContent()).not.toBe('0');
    await page.getByRole('link', { name: 'Streams', exact: true }).click();
    await page.locator('form.search input[name="q"]').fill('order-');
    await page.locator('form.search button').click();
    await page.locator('#results a', { hasText: orderId }).first().click();

    const rows = page.locator('table.events tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(4);
    // Newest first: the first row is the last revision.
    const revisions = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-revision'))));
    expect(revisions).toEqual([...revisions].sort((a, b) => b - a));

    await page.locator('table.events a', { hasText: 'order.created' }).first().click();
    expect(await page.locator('[data-field="type"]').textContent()).toBe('order.created');
    const metadata = JSON.parse((await page.locator('#metadata pre').textContent()) ?? '') as Record<string, unknown>;
    expect(metadata.$correlationId).toBe(`tenant-ui:${correlationId}`);
    expect(typeof metadata.$causationId).toBe('string');
    expect(await page.locator('#data pre').textContent()).toContain('Ada Lovelace');
  });

  it('opens the trace from the event and shows the notification events under the order events that caused them', async () => {
    const { page } = browser;
    await page.locator('[data-field="correlation"]').click();
    expect(decodeURIComponent(new URL(page.url()).pathname)).toBe(`/ui/trace/tenant-ui:${correlationId}`);

    // The notification handler reacts asynchronously: the page is reloaded until its events are in.
    await expect
      .poll(async () => {
        await page.reload();
        return page.locator('tr.event[data-type="notification.requested"]').count();
      }, { timeout: 20_000, interval: 500 })
      .toBeGreaterThanOrEqual(2);

    const rows = await page.locator('table.trace tbody tr.event').evaluateAll((trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute('data-event-id')!,
        parent: tr.getAttribute('data-parent-id'),
        type: tr.getAttribute('data-type')!,
        stream: tr.getAttribute('data-stream')!,
        depth: Number(tr.getAttribute('data-depth')),
      })),
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    const orderRows = rows.filter((row) => row.type.startsWith('order.'));
    expect(orderRows.map((row) => row.type)).toEqual(expect.arrayContaining(['order.created', 'order.paid', 'order.shipped']));
    const notifications = rows.filter((row) => row.type === 'notification.requested');
    for (const row of notifications) {
      const parent = byId.get(row.parent ?? '');
      expect(parent?.type, `the parent of ${row.id}`).toMatch(/^order\./);
      expect(row.depth).toBe(parent!.depth + 1);
      expect(row.stream).not.toBe(parent!.stream);
    }
    // The order's own events hang under the commands (requests) that produced them.
    expect(await page.locator('tr.cause').count()).toBeGreaterThanOrEqual(3);
    // Each child shows the gap from its parent.
    const gap = await page.locator('tr.event[data-type="notification.requested"] td').nth(4).textContent();
    expect(gap).toMatch(/^\+\d+(\.\d+)? m?s$/);
  });

  it('shows the event a handler parked with its reason, replays it once fixed, and the parked count goes to 0', async () => {
    const { page } = browser;
    await page.goto(`${ui}ui/subscriptions`);
    const row = page.locator('tr[data-group$=".ui-carrier"]');
    // The groups page updates itself (no reload) while the runner retries and parks.
    await expect.poll(() => row.locator('[data-figure="parked"]').textContent(), { timeout: 20_000, interval: 250 }).toBe('1');

    await row.locator('a').click();
    const parked = page.locator('table.parked tbody tr');
    expect(await parked.count()).toBe(1);
    expect(await parked.locator('td').first().textContent()).toContain('order.shipped');
    expect(await parked.locator('.reason').textContent()).toContain(FAULT);
    expect(await parked.locator('td pre').first().textContent()).toContain('JD0146');

    fault.on = false;
    await page.getByRole('button', { name: 'Replay parked…' }).click();
    expect(await page.locator('.question').textContent()).toContain('Replay all 1 parked messages');
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    expect(await page.locator('.notice').textContent()).toContain('Replay started: 1 parked message');
    await expect.poll(() => page.locator('[data-figure="parked"]').textContent(), { timeout: 20_000, interval: 250 }).toBe('0');
    await expect.poll(() => shippedHandled.length, { timeout: 10_000 }).toBe(1);
    await page.reload();
    expect(await page.locator('#no-parked').count()).toBe(1);
  });

  it("updates a stream's newest events and the dashboard without a reload", async () => {
    const { page } = browser;
    const stream = `live-${randomUUID()}`;
    await store.client.appendToStream(stream, [jsonEvent({ type: 'first.thing', data: {} })]);
    await page.goto(`${ui}ui/streams/${stream}`);
    // A mark on the page's global survives only while no navigation or reload happens.
    await page.evaluate(() => ((globalThis as unknown as { __mark?: number }).__mark = 1));
    await store.client.appendToStream(stream, [jsonEvent({ type: 'second.thing', data: {} })]);
    await expect.poll(() => page.locator('table.events tbody tr').first().getAttribute('data-revision'), { timeout: 10_000, interval: 200 }).toBe('1');
    expect(await page.locator('table.events tbody tr').first().textContent()).toContain('second.thing');
    expect(await page.evaluate(() => (globalThis as unknown as { __mark?: number }).__mark)).toBe(1);

    await page.goto(ui);
    const before = Number((await page.locator('[data-figure="events"]').textContent())!.replace(/,/g, ''));
    await page.evaluate(() => ((globalThis as unknown as { __mark?: number }).__mark = 2));
    await store.client.appendToStream(stream, [jsonEvent({ type: 'third.thing', data: {} })]);
    await expect.poll(async () => Number((await page.locator('[data-figure="events"]').textContent())!.replace(/,/g, '')), { timeout: 10_000, interval: 200 }).toBeGreaterThan(before);
    expect(await page.evaluate(() => (globalThis as unknown as { __mark?: number }).__mark)).toBe(2);
  });

  it('renders event data, metadata, types and stream names holding markup as text', async () => {
    const { page, dialogs } = browser;
    const script = '<script>window.__xss = "script"; alert("script")</script>';
    const image = '"><img src=x onerror="window.__xss=\'img\'; alert(\'img\')">';
    const stream = `xss-${randomUUID().slice(0, 8)}-"><img src=x onerror=alert(1)>`;
    await store.client.appendToStream(stream, [
      jsonEvent({ type: `hostile<script>alert(2)</script>`, data: { name: script, note: image }, metadata: { $correlationId: `x"><img src=x onerror=alert(3)>`, comment: script } }),
    ]);

    await page.goto(`${ui}ui/streams?q=${encodeURIComponent('xss-')}`);
    await page.locator('#results a').first().click();
    await page.locator('table.events tbody a').first().click();
    // Shown exactly as stored: the JSON on the page parses back to the very strings.
    expect(JSON.parse((await page.locator('#data pre').textContent()) ?? '')).toEqual({ name: script, note: image });
    expect(JSON.parse((await page.locator('#metadata pre').textContent()) ?? '')).toMatchObject({ comment: script });
    expect(await page.locator('[data-field="type"]').textContent()).toBe('hostile<script>alert(2)</script>');
    await page.locator('[data-field="correlation"]').click();
    await page.locator('tr.event').first().waitFor();

    for (const path of [`ui/streams/${encodeURIComponent(stream)}`, `ui/streams/${encodeURIComponent(stream)}/0`, 'ui/streams']) {
      await page.goto(`${ui}${path}`);
      expect(await page.locator('main img, main script').count(), path).toBe(0);
    }
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: string }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
  });
});
