import { describe, expect, it } from 'vitest';
import { defineHandler, HandlerRegistry, type EventHandler } from '../../../src/subscriptions/handler.js';

class OrderNotificationHandler implements EventHandler {
  handle(): void {}
}

describe('registering handlers', () => {
  it('gives one handler registered for several event types one group covering them all', () => {
    const handler = new OrderNotificationHandler();
    const definitions = new HandlerRegistry()
      .registerHandler('order.created', handler)
      .registerHandler('order.status_changed', handler)
      .definitions();
    expect(definitions).toHaveLength(1);
    expect(definitions[0]).toMatchObject({ name: 'order-notification', handles: ['order.created', 'order.status_changed'] });
  });

  it('gives different handlers different groups, and refuses two with one name', () => {
    const registry = new HandlerRegistry()
      .registerHandler('order.created', new OrderNotificationHandler())
      .registerHandler('order.created', new OrderNotificationHandler(), { name: 'second-notifier' });
    expect(registry.definitions().map((definition) => definition.name)).toEqual(['order-notification', 'second-notifier']);
    expect(() => registry.registerHandler('order.paid', new OrderNotificationHandler())).toThrow(/two handlers are named 'order-notification'/);
  });

  it('accepts one declaration per handler and checks its name and types', () => {
    const declared = defineHandler({ name: 'audit', handles: ['order.paid'], handle: () => undefined });
    expect(new HandlerRegistry().add(declared).definitions()).toEqual([declared]);
    expect(() => defineHandler({ name: 'Audit Log', handles: ['order.paid'], handle: () => undefined })).toThrow(/lower-case/);
    expect(() => defineHandler({ name: 'audit', handles: [], handle: () => undefined })).toThrow(/handles no event type/);
  });
});
