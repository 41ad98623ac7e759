// The Emmett peer of bench/lifecycle.bench.ts: the same three commands as this project's API
// (create / pay / ship, the same bodies, answered 201 / 201 / 200) written the way Emmett's
// samples do it: a pure decide + evolve, Emmett's CommandHandler (read the stream, decide,
// append with the expected stream version) on @event-driven-io/emmett-sqlite, behind fastify.
// Configured fairly: one shared connection for the whole process (emmett-sqlite opens and
// closes a connection per operation otherwise), WAL (emmett-sqlite sets it on every
// connection), the same numbers of events per command as this project appends. Transactions
// on the shared connection take turns: emmett-sqlite's own nesting counter is not safe for two
// requests' transactions at once on one connection (they interleave and one rolls back the
// other's: 'cannot rollback - no transaction is active'). It does less
// than this project: no API keys, no metadata, no reactions, no read models.
//
// Run: `node --import tsx bench/peers/emmett/server.ts <dataDir>`; prints `listening <port>`.
import { join } from 'node:path';
import { CommandHandler, ExpectedVersionConflictError, IllegalStateError, type Event } from '@event-driven-io/emmett';
import { getSQLiteEventStore, sqliteConnection, type SQLiteConnection } from '@event-driven-io/emmett-sqlite';
import Fastify from 'fastify';
import { ensureSqlite3Binding } from './sqlite3-binding.js';

type Item = { sku: string; name?: string; quantity: number; unitPrice: number };
type OrderEvent =
  | Event<'order.created', { orderId: string; customer: Record<string, string>; currency: string; items: Item[]; total: number; occurredAt: string }>
  | Event<'payment.processed', { orderId: string; paymentId: string; amount: number; method: string; paidAmount: number; occurredAt: string }>
  | Event<'order.paid', { orderId: string; occurredAt: string }>
  | Event<'order.shipped', { orderId: string; carrier?: string; trackingNumber?: string; occurredAt: string }>
  | Event<'order.status_changed', { orderId: string; oldStatus: Status; newStatus: Status; occurredAt: string }>;
type Status = 'NONE' | 'PENDING' | 'PAID' | 'SHIPPED';
interface Order {
  status: Status;
  total: number;
  paidAmount: number;
  paymentIds: string[];
}

const initialState = (): Order => ({ status: 'NONE', total: 0, paidAmount: 0, paymentIds: [] });

function evolve(state: Order, event: OrderEvent): Order {
  switch (event.type) {
    case 'order.created':
      return { ...state, status: 'PENDING', total: event.data.total };
    case 'payment.processed':
      return { ...state, paidAmount: event.data.paidAmount, paymentIds: [...state.paymentIds, event.data.paymentId] };
    case 'order.status_changed':
      return { ...state, status: event.data.newStatus };
    default:
      return state;
  }
}

const handle = CommandHandler<Order, OrderEvent>({ evolve, initialState, mapToStreamId: (id) => `order-${id}` });

const create =
  (orderId: string, body: CreateBody) =>
  (state: Order): OrderEvent[] => {
    if (state.status !== 'NONE') throw new IllegalStateError('ORDER_EXISTS');
    const total = body.items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
    return [{ type: 'order.created', data: { orderId, customer: body.customer, currency: body.currency, items: body.items, total, occurredAt: now() } }];
  };

const pay =
  (orderId: string, body: PayBody) =>
  (state: Order): OrderEvent[] => {
    if (state.status === 'NONE') throw new IllegalStateError('ORDER_NOT_FOUND');
    if (state.paymentIds.includes(body.paymentId)) return [];
    if (state.status !== 'PENDING') throw new IllegalStateError('ORDER_NOT_PAYABLE');
    const paidAmount = state.paidAmount + body.amount;
    const occurredAt = now();
    const processed: OrderEvent = { type: 'payment.processed', data: { orderId, paymentId: body.paymentId, amount: body.amount, method: body.method, paidAmount, occurredAt } };
    if (paidAmount < state.total) return [processed];
    return [processed, { type: 'order.paid', data: { orderId, occurredAt } }, { type: 'order.status_changed', data: { orderId, oldStatus: 'PENDING', newStatus: 'PAID', occurredAt } }];
  };

const ship =
  (orderId: string, body: ShipBody) =>
  (state: Order): OrderEvent[] => {
    if (state.status !== 'PAID') throw new IllegalStateError('ORDER_NOT_SHIPPABLE');
    const occurredAt = now();
    return [
      { type: 'order.shipped', data: { orderId, ...body, occurredAt } },
      { type: 'order.status_changed', data: { orderId, oldStatus: 'PAID', newStatus: 'SHIPPED', occurredAt } },
    ];
  };

type CreateBody = { orderId: string; customer: Record<string, string>; currency: string; items: Item[] };
type PayBody = { paymentId: string; amount: number; method: string };
type ShipBody = { carrier?: string; trackingNumber?: string };

const now = () => new Date().toISOString();
const text = { type: 'string', minLength: 1, maxLength: 200 } as const;
const uuid = { type: 'string', format: 'uuid' } as const;
const createSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'customer', 'currency', 'items'],
  properties: {
    orderId: uuid,
    customer: { type: 'object', additionalProperties: false, properties: { id: text, name: text, phone: { type: 'string', pattern: '^\\+[1-9]\\d{1,14}$' } } },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 200,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'quantity', 'unitPrice'],
        properties: { sku: text, name: text, quantity: { type: 'integer', minimum: 1 }, unitPrice: { type: 'integer', minimum: 0 } },
      },
    },
  },
} as const;
const paySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['paymentId', 'amount', 'method'],
  properties: { paymentId: text, amount: { type: 'integer', minimum: 1 }, method: text },
} as const;
const shipSchema = { type: 'object', additionalProperties: false, properties: { carrier: text, trackingNumber: text } } as const;
const params = { type: 'object', required: ['orderId'], properties: { orderId: uuid } } as const;

await ensureSqlite3Binding();
const dataDir = process.argv[2] ?? '.';
const fileName = join(dataDir, 'emmett.db');
// One connection for the whole process, never closed between operations.
const shared = sqliteConnection({ fileName });
// The schema first, on the bare connection (its migration nests transactions).
await getSQLiteEventStore({ fileName, connectionOptions: { singleton: true, connection: shared } }).schema.migrate();
let transactions: Promise<unknown> = Promise.resolve();
const connection: SQLiteConnection = {
  ...shared,
  withTransaction: (fn) => {
    const turn = transactions.then(() => shared.withTransaction(fn));
    transactions = turn.catch(() => undefined);
    return turn;
  },
};
const eventStore = getSQLiteEventStore({ fileName, schema: { autoMigration: 'None' }, connectionOptions: { singleton: true, connection } });

const app = Fastify({ logger: false });
app.setErrorHandler((error, _request, reply) => {
  if (error instanceof IllegalStateError) return reply.status(409).send({ code: error.message });
  if (error instanceof ExpectedVersionConflictError) return reply.status(409).send({ code: 'CONCURRENCY_CONFLICT' });
  const status = (error as { statusCode?: number }).statusCode ?? 500;
  return reply.status(status).send({ code: status === 400 ? 'VALIDATION_FAILED' : 'INTERNAL', detail: error instanceof Error ? error.message : String(error) });
});
app.post<{ Body: CreateBody }>('/orders', { schema: { body: createSchema } }, async (request, reply) => {
  const { orderId } = request.body;
  const result = await handle(eventStore, orderId, create(orderId, request.body));
  return reply.status(201).send({ orderId, status: result.newState.status, revision: Number(result.nextExpectedStreamVersion) - 1 });
});
app.post<{ Params: { orderId: string }; Body: PayBody }>('/orders/:orderId/payments', { schema: { params, body: paySchema } }, async (request, reply) => {
  const { orderId } = request.params;
  const result = await handle(eventStore, orderId, pay(orderId, request.body));
  return reply.status(result.newEvents.length > 0 ? 201 : 200).send({ orderId, status: result.newState.status, paidAmount: result.newState.paidAmount });
});
app.post<{ Params: { orderId: string }; Body: ShipBody }>('/orders/:orderId/ship', { schema: { params, body: shipSchema } }, async (request) => {
  const { orderId } = request.params;
  const result = await handle(eventStore, orderId, ship(orderId, request.body ?? {}));
  return { orderId, status: result.newState.status };
});

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app.close().then(() => {
      shared.close();
      process.exit(0);
    });
  });
}
