// given(events).when(command).then(events) / .thenFails(code): domain specs read as specs.
import { expect } from 'vitest';

export interface Decider<Command, Event, State> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState: State;
}

export interface DeciderThen<Event> {
  /** The command produces exactly these events, in this order. */
  then(expected: Event[]): void;
  /** The command is accepted and changes nothing (idempotent replay). */
  thenNothing(): void;
  /** The command is refused with this code (and, if given, these details). */
  thenFails(code: string, details?: Record<string, unknown>): void;
}

export function deciderSpec<Command, Event, State>(decider: Decider<Command, Event, State>) {
  return {
    given(history: Event[] = []) {
      return {
        when(command: Command): DeciderThen<Event> {
          const state = history.reduce(decider.evolve, decider.initialState);
          const run = () => decider.decide(command, state);
          return {
            then(expected) {
              expect(run()).toEqual(expected);
            },
            thenNothing() {
              expect(run()).toEqual([]);
            },
            thenFails(code, details) {
              let failure: unknown;
              try {
                run();
              } catch (error) {
                failure = error;
              }
              expect(failure, `expected the command to fail with ${code}`).toBeDefined();
              expect(failure).toMatchObject({ code, ...(details ? { details: expect.objectContaining(details) } : {}) });
            },
          };
        },
      };
    },
  };
}
