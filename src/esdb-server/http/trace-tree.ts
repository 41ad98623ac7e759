// The causation tree of one correlation, as rows to draw: an event hangs under the event its
// `$causationId` names; events whose cause is not an event of the trace (the command or request
// that produced them) hang together under one "cause" row. Pure, so its shape is tested alone.
//
// Each row has `annotations`, drawn beside the node: how each persistent group handled the event
// (handlingAnnotations, from the groups' delivery logs), added by the page.

export interface TraceInput {
  id: string;
  causationId: string | undefined;
  createdMs: number;
}

export interface Annotation {
  label: string;
  value: string;
  /** For the page's styling and tests: acked, park, retry, in flight ... */
  outcome?: string;
}

/** What the store recorded of one group's handling of an event (see persistent/delivery-log.ts). */
export interface GroupHandling {
  group: string;
  firstDeliveredAt: number;
  lastDeliveredAt: number;
  deliveries: number;
  settledAt: number | undefined;
  outcome: string;
}

const OUTCOME_WORDS: Record<string, string> = {
  acked: 'handled',
  park: 'parked',
  retry: 'to be retried',
  skip: 'skipped',
  stop: 'stopped',
  unknown: 'nacked',
  'timed out': 'timed out',
  'consumer gone': 'consumer gone',
};

/**
 * One annotation per group: how long after the event was written the store sent it to the group,
 * and how long the group took to answer (the last delivery's; with the number of deliveries when
 * it was retried). `now` for one still in flight.
 */
export function handlingAnnotations(createdMs: number, handlings: readonly GroupHandling[], now: number): Annotation[] {
  return [...handlings]
    .sort((a, b) => a.firstDeliveredAt - b.firstDeliveredAt || a.group.localeCompare(b.group))
    .map((handling) => {
      const sent = `sent +${formatMs(Math.max(0, handling.firstDeliveredAt - createdMs))}`;
      const attempts = handling.deliveries > 1 ? `, ${handling.deliveries} deliveries` : '';
      const value =
        handling.settledAt === undefined
          ? `${sent}, in flight for ${formatMs(now - handling.lastDeliveredAt)}${attempts}`
          : `${sent}, ${OUTCOME_WORDS[handling.outcome] ?? handling.outcome} in ${formatMs(handling.settledAt - handling.lastDeliveredAt)}${attempts}`;
      return { label: handling.group, value, outcome: handling.settledAt === undefined ? 'in flight' : handling.outcome };
    });
}

function formatMs(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export type TraceRow<E extends TraceInput> =
  | { kind: 'cause'; causeId: string; depth: number; childCount: number; annotations: Annotation[] }
  | {
      kind: 'event';
      event: E;
      depth: number;
      /** Id of the event row above this one in the tree, if its parent is an event. */
      parentId: string | undefined;
      /** ms between the parent event and this one; undefined under a cause row or at a root. */
      gapMs: number | undefined;
      /** ms since the first event of the trace. */
      offsetMs: number;
      annotations: Annotation[];
    };

interface Node<E> {
  event: E;
  children: Node<E>[];
}

/** `events` in store order; rows come out depth first, children in store order. */
export function buildTraceRows<E extends TraceInput>(events: readonly E[]): TraceRow<E>[] {
  const nodes = new Map<string, Node<E>>();
  for (const event of events) if (!nodes.has(event.id)) nodes.set(event.id, { event, children: [] });
  const start = events.reduce((min, event) => Math.min(min, event.createdMs), Number.POSITIVE_INFINITY);

  // Roots in store order: events without a cause, and one group per cause outside the trace.
  type Root = { kind: 'event'; node: Node<E> } | { kind: 'cause'; causeId: string; nodes: Node<E>[] };
  const roots: Root[] = [];
  const causes = new Map<string, Node<E>[]>();
  const attached = new Set<Node<E>>();
  for (const node of nodes.values()) {
    const causeId = node.event.causationId;
    const parent = causeId !== undefined && causeId !== node.event.id ? nodes.get(causeId) : undefined;
    if (parent) {
      parent.children.push(node);
    } else if (causeId !== undefined && causeId !== node.event.id) {
      let group = causes.get(causeId);
      if (!group) {
        group = [];
        causes.set(causeId, group);
        roots.push({ kind: 'cause', causeId, nodes: group });
      }
      group.push(node);
      attached.add(node);
    } else {
      roots.push({ kind: 'event', node });
      attached.add(node);
    }
  }

  const rows: TraceRow<E>[] = [];
  const visited = new Set<Node<E>>();
  const walk = (first: Node<E>, depth: number, parent: Node<E> | undefined) => {
    // Iterative, so a very deep chain cannot overflow the stack.
    const stack: { node: Node<E>; depth: number; parent: Node<E> | undefined }[] = [{ node: first, depth, parent }];
    while (stack.length > 0) {
      const { node, depth: level, parent: above } = stack.pop()!;
      if (visited.has(node)) continue;
      visited.add(node);
      rows.push({
        kind: 'event',
        event: node.event,
        depth: level,
        parentId: above?.event.id,
        gapMs: above ? node.event.createdMs - above.event.createdMs : undefined,
        offsetMs: node.event.createdMs - start,
        annotations: [],
      });
      for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i]!, depth: level + 1, parent: node });
    }
  };
  for (const root of roots) {
    if (root.kind === 'event') {
      walk(root.node, 0, undefined);
    } else {
      rows.push({ kind: 'cause', causeId: root.causeId, depth: 0, childCount: root.nodes.length, annotations: [] });
      for (const node of root.nodes) walk(node, 1, undefined);
    }
  }
  // Events in a causation cycle have a parent but no root above them: shown at the top level.
  for (const node of nodes.values()) if (!visited.has(node) && !attached.has(node)) walk(node, 0, undefined);
  return rows;
}
