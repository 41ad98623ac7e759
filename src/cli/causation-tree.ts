// Builds the causation tree of one correlation: each event hangs under the command that produced
// it, and a command issued in reaction to an event hangs under that event. Pure, so the shape is
// tested without a store.

export interface TraceEvent {
  id: string;
  causationId: string | undefined;
  /** The command that produced the event, when its metadata names one. */
  commandId: string | undefined;
}

export interface CommandNode<E extends TraceEvent> {
  kind: 'command';
  commandId: string;
  /** The id the command's events name as their cause when it is not the command itself. */
  causedBy: string | undefined;
  children: EventNode<E>[];
}

export interface EventNode<E extends TraceEvent> {
  kind: 'event';
  event: E;
  /** Commands issued in reaction to this event, and events naming it as their cause directly. */
  children: Array<CommandNode<E> | EventNode<E>>;
}

/** `events` in store order; the roots and every list of children keep that order. */
export function buildCausationTree<E extends TraceEvent>(events: readonly E[]): Array<CommandNode<E> | EventNode<E>> {
  const roots: Array<CommandNode<E> | EventNode<E>> = [];
  const eventNodes = new Map<string, EventNode<E>>();
  // A command's events share one node, found by the place it hangs from and its id.
  const commandNodes = new Map<string, CommandNode<E>>();

  for (const event of events) {
    const node: EventNode<E> = { kind: 'event', event, children: [] };
    const parentEvent = event.causationId !== undefined ? eventNodes.get(event.causationId) : undefined;
    const commandId = event.commandId ?? (parentEvent ? undefined : event.causationId);
    if (commandId === undefined) {
      (parentEvent?.children ?? roots).push(node);
    } else {
      const key = `${parentEvent ? parentEvent.event.id : '-'}/${commandId}`;
      let command = commandNodes.get(key);
      if (!command) {
        const causedBy = event.causationId !== commandId ? event.causationId : undefined;
        command = { kind: 'command', commandId, causedBy, children: [] };
        commandNodes.set(key, command);
        (parentEvent?.children ?? roots).push(command);
      }
      command.children.push(node);
    }
    eventNodes.set(event.id, node);
  }
  return roots;
}
