import assert from 'node:assert/strict';
import type { DomainEvent } from '../../eventstore/eventStore';
import { DomainError, fold, type Decider, type ErrorCode } from './decider';

/**
 * Given events / when command / then events (or then error), as in emmett's DeciderSpecification.
 * Uses node:assert rather than jest's `expect` so the file also compiles in the production build
 * (whose types exclude jest); a failed assertion still fails the test that called it.
 */

export interface Then<Events> {
  /** The decision must be exactly these events, in this order. */
  then(expected: Events): void;
  /**
   * The decision must be refused with this code (and, when given, a message containing or matching
   * `message`); `check` can assert more about the error.
   */
  thenThrows(code: ErrorCode, message?: string | RegExp, check?: (error: DomainError) => void): void;
}

const expectRefusal = (
  decide: () => unknown,
  code: ErrorCode,
  message?: string | RegExp,
  check?: (error: DomainError) => void,
): void => {
  let outcome: unknown;
  try {
    outcome = decide();
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    assert.equal(error.code, code, `expected ${code} but was refused with ${error.code}: ${error.message}`);
    if (typeof message === 'string') assert.ok(error.message.includes(message), `"${error.message}" does not contain "${message}"`);
    if (message instanceof RegExp) assert.match(error.message, message);
    check?.(error);
    return;
  }
  assert.fail(`expected ${code} but the command was accepted with ${JSON.stringify(outcome)}`);
};

export const DeciderSpecification = {
  for:
    <Command, State, Event extends DomainEvent>(decider: Decider<Command, State, Event>) =>
    (given: readonly Event[]) => ({
      when: (command: Command): Then<readonly Event[]> => {
        const decide = () => decider.decide(command, fold(decider, given));
        return {
          then: (expected) => assert.deepStrictEqual(decide(), expected),
          thenThrows: (code, message, check) => expectRefusal(decide, code, message, check),
        };
      },
    }),
};

type Folder = Pick<Decider<never, any, any>, 'initialState' | 'evolve'>; // eslint-disable-line @typescript-eslint/no-explicit-any
type FolderState<F> = F extends Pick<Decider<never, infer S, DomainEvent>, 'initialState'> ? S : never;
type FolderEvent<F> = F extends { evolve: (state: never, event: infer E) => unknown } ? E : never;
export type StreamStates<F extends Record<string, Folder>> = { readonly [K in keyof F]: FolderState<F[K]> };
export type StreamEvents<F extends Record<string, Folder>> = { readonly [K in keyof F]?: readonly FolderEvent<F[K]>[] };

/** Streams that receive no events are left out, so `{}` means "nothing happens". */
const withoutEmpty = (events: Record<string, readonly unknown[] | undefined>) =>
  Object.fromEntries(Object.entries(events).filter(([, list]) => list !== undefined && list.length > 0));

/**
 * The same for a decision over several streams (the shape of `CommandDefinition.decide`): given
 * events per stream, when a command, then events per stream.
 */
export const CrossStreamSpecification = {
  for:
    <F extends Record<string, Folder>, Command>(
      streams: F,
      decide: (command: Command, states: StreamStates<F>) => StreamEvents<F>,
    ) =>
    (given: StreamEvents<F>) => ({
      when: (command: Command): Then<StreamEvents<F>> => {
        const states = Object.fromEntries(
          Object.entries(streams).map(([key, folder]) => [key, fold(folder, given[key] ?? [])]),
        ) as StreamStates<F>;
        const run = () => decide(command, states);
        return {
          then: (expected) => assert.deepStrictEqual(withoutEmpty(run()), withoutEmpty(expected)),
          thenThrows: (code, message, check) => expectRefusal(run, code, message, check),
        };
      },
    }),
};
