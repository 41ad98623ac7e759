// All persistent subscription groups of the server: created, updated and deleted through the
// definitions kept in the log, started again from them (and their checkpoints) on startup.
// Changes are serialised so the stored list always matches the running groups.
import type { EventLog } from '../log/types.js';
import { sourceName as nameOf, subscriptionId, type EventSource, type GroupDefinition } from './definition.js';
import { loadDefinitions, saveDefinitions } from './definitions-store.js';
import { SharedTail } from './shared-tail.js';
import { SubscriptionGroup, type DropReason } from './subscription-group.js';

export class GroupExistsError extends Error {
  constructor(readonly stream: string, readonly group: string) {
    super(`Subscription group '${group}' on stream '${stream}' already exists.`);
  }
}

export class GroupNotFoundError extends Error {
  constructor(readonly stream: string, readonly group: string) {
    super(`Subscription group '${group}' on stream '${stream}' does not exist.`);
  }
}

export class SubscriptionRegistry {
  private readonly groups = new Map<string, SubscriptionGroup>();
  private changes: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** One read of the newest events of $all for every group on $all. */
  private readonly tail: SharedTail;

  constructor(private readonly log: EventLog) {
    this.tail = new SharedTail(log);
    this.startAll(loadDefinitions(log));
  }

  find(source: EventSource, group: string): SubscriptionGroup | undefined {
    return this.groups.get(subscriptionId(source, group));
  }

  list(filter?: EventSource): SubscriptionGroup[] {
    const all = [...this.groups.values()];
    if (!filter) return all;
    const id = subscriptionId(filter, '');
    return all.filter((group) => subscriptionId(group.definition.source, '') === id);
  }

  create(definition: GroupDefinition): Promise<void> {
    return this.change(async () => {
      const id = subscriptionId(definition.source, definition.group);
      if (this.groups.has(id)) throw new GroupExistsError(nameOf(definition.source), definition.group);
      await saveDefinitions(this.log, [...this.definitions(), definition]);
      this.groups.set(id, new SubscriptionGroup(definition, this.log, this.tail));
    });
  }

  update(definition: GroupDefinition): Promise<void> {
    return this.change(async () => {
      const id = subscriptionId(definition.source, definition.group);
      const existing = this.groups.get(id);
      if (!existing) throw new GroupNotFoundError(nameOf(definition.source), definition.group);
      // The filter of a subscription to $all is fixed at creation.
      const updated: GroupDefinition = { ...definition, source: existing.definition.source };
      await saveDefinitions(this.log, this.definitions().map((entry) => (subscriptionId(entry.source, entry.group) === id ? updated : entry)));
      await existing.stop('updated', { checkpoint: true });
      this.groups.set(id, new SubscriptionGroup(updated, this.log, this.tail));
    });
  }

  delete(source: EventSource, group: string): Promise<void> {
    return this.change(async () => {
      const id = subscriptionId(source, group);
      const existing = this.groups.get(id);
      if (!existing) throw new GroupNotFoundError(nameOf(source), group);
      await saveDefinitions(this.log, this.definitions().filter((entry) => subscriptionId(entry.source, entry.group) !== id));
      this.groups.delete(id);
      await existing.stop('deleted', { checkpoint: false });
      await this.log.deleteStream(existing.checkpointStream, 'any');
      await this.log.deleteStream(existing.parkedStream, 'any');
    });
  }

  /** EventStoreDB's RestartSubsystem: every group stops (consumers dropped) and starts again. */
  restart(): Promise<void> {
    return this.change(async () => {
      const definitions = this.definitions();
      await this.stopAll('restarted');
      this.startAll(definitions);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.changes.catch(() => undefined);
    await this.stopAll('shutdown');
  }

  private definitions(): GroupDefinition[] {
    return [...this.groups.values()].map((group) => group.definition);
  }

  private startAll(definitions: GroupDefinition[]): void {
    for (const definition of definitions) {
      this.groups.set(subscriptionId(definition.source, definition.group), new SubscriptionGroup(definition, this.log, this.tail));
    }
  }

  private async stopAll(reason: DropReason): Promise<void> {
    const groups = [...this.groups.values()];
    this.groups.clear();
    await Promise.all(groups.map((group) => group.stop(reason, { checkpoint: true })));
  }

  private change(work: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The server is shutting down.'));
    const next = this.changes.then(work);
    this.changes = next.catch(() => undefined);
    return next;
  }
}

