import type { DomainEvent } from '../../eventstore/eventStore';

/**
 * An aggregate as pure functions (emmett's Decider): no clock, no random ids, no I/O.
 * Time and ids reach `decide` through the command itself (the pipeline fills them in).
 */
export interface Decider<Command, State, Event extends DomainEvent> {
  readonly initialState: () => State;
  /** Never throws; ignores events it does not handle. */
  readonly evolve: (state: State, event: Event) => State;
  /** Throws a `DomainError` when a rule is broken. */
  readonly decide: (command: Command, state: State) => readonly Event[];
}

/** Stable, machine-readable reasons a command is refused. Clients switch on these. */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'ILLEGAL_TRANSITION'
  | 'RULE_VIOLATED'
  | 'CONFIRMATION_REQUIRED'
  | 'REVERT_AMBIGUOUS'
  | 'CONCURRENCY_CONFLICT'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED';

/** An expected refusal: reaches the client as data with its code and a sentence a person can act on. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const assertNever = (value: never): never => {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
};

/** Folds a list of events from the initial state. */
export const fold = <State, Event extends DomainEvent>(
  decider: Pick<Decider<unknown, State, Event>, 'initialState' | 'evolve'>,
  events: readonly Event[],
): State => events.reduce(decider.evolve, decider.initialState());
