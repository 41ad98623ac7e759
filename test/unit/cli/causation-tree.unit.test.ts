import { describe, expect, it } from 'vitest';
import { buildCausationTree, type CommandNode, type EventNode, type TraceEvent } from '../../../src/cli/causation-tree.js';

type Node = CommandNode<TraceEvent> | EventNode<TraceEvent>;
const shape = (nodes: Node[]): unknown =>
  nodes.map((node) => (node.kind === 'command' ? { command: node.commandId, causedBy: node.causedBy, children: shape(node.children) } : { event: node.event.id, children: shape(node.children) }));

describe('the causation tree of a correlation', () => {
  it('hangs each command’s events under it, in the order they were written', () => {
    const tree = buildCausationTree([
      { id: 'e1', causationId: 'c1', commandId: 'c1' },
      { id: 'e2', causationId: 'c2', commandId: 'c2' },
      { id: 'e3', causationId: 'c2', commandId: 'c2' },
    ]);
    expect(shape(tree)).toEqual([
      { command: 'c1', causedBy: undefined, children: [{ event: 'e1', children: [] }] },
      { command: 'c2', causedBy: undefined, children: [{ event: 'e2', children: [] }, { event: 'e3', children: [] }] },
    ]);
  });

  it('hangs a command issued in reaction to an event under that event', () => {
    const tree = buildCausationTree([
      { id: 'e1', causationId: 'c1', commandId: 'c1' },
      { id: 'e2', causationId: 'e1', commandId: 'c2' },
      { id: 'e3', causationId: 'e1', commandId: 'c2' },
    ]);
    expect(shape(tree)).toEqual([
      {
        command: 'c1',
        causedBy: undefined,
        children: [{ event: 'e1', children: [{ command: 'c2', causedBy: 'e1', children: [{ event: 'e2', children: [] }, { event: 'e3', children: [] }] }] }],
      },
    ]);
  });

  it('hangs an event that names another as its cause but no command directly under it', () => {
    const tree = buildCausationTree([
      { id: 'e1', causationId: 'c1', commandId: 'c1' },
      { id: 'e2', causationId: 'e1', commandId: undefined },
    ]);
    expect(shape(tree)).toEqual([{ command: 'c1', causedBy: undefined, children: [{ event: 'e1', children: [{ event: 'e2', children: [] }] }] }]);
  });

  it('shows the outside cause of a command whose cause is not in the trace', () => {
    const tree = buildCausationTree([{ id: 'e1', causationId: 'elsewhere', commandId: 'c1' }]);
    expect(shape(tree)).toEqual([{ command: 'c1', causedBy: 'elsewhere', children: [{ event: 'e1', children: [] }] }]);
  });
});
