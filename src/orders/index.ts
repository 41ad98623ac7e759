// The order domain: events, commands, decider, errors, stream names. No I/O.
export * from './events.js';
export * from './commands.js';
export * from './order-status.js';
export * from './order-state.js';
export * from './order-errors.js';
export * from './stream-names.js';
export * from './money.js';
export { decide } from './order-decider.js';
export { orderEventFactory, toNewEvents, eventMetadata, eventIdFor, type NewOrderEvent, type OrderIdentity } from './event-factory.js';
