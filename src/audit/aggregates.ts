import { emailReservationDecider, matchDecider, meetingDecider, programDecider, userDecider, userIdOfPersona } from '../domain';
import { initiativeDecider, registrationDecider } from '../domain/initiative';
import { managerReportDecider } from '../domain/report/managerReport';
import type { Decider } from '../domain/shared/decider';
import type { DomainEvent } from '../eventstore/eventStore';

/** `initialState` and `evolve` of one aggregate, with the event and state types erased. */
export interface Folder {
  readonly initialState: () => unknown;
  readonly evolve: (state: unknown, event: DomainEvent) => unknown;
}

const folder = <State, Event extends DomainEvent>(decider: Pick<Decider<never, State, Event>, 'initialState' | 'evolve'>): Folder => ({
  initialState: decider.initialState,
  // Stored events of a stream are that aggregate's events (the stream prefix says which decider wrote them).
  evolve: (state, event) => decider.evolve(state as State, event as Event),
});

export interface AggregateKind {
  /** The stream prefix without its dash: `user`, `program`, `manager-report`. */
  readonly name: string;
  readonly folder: Folder;
}

/** Every aggregate the event log holds, by stream prefix (`src/domain/streams.ts` and the initiative/report modules). */
export const AGGREGATES: readonly AggregateKind[] = [
  { name: 'user', folder: folder(userDecider) },
  { name: 'program', folder: folder(programDecider) },
  { name: 'match', folder: folder(matchDecider) },
  { name: 'meeting', folder: folder(meetingDecider) },
  { name: 'initiative', folder: folder(initiativeDecider) },
  { name: 'registration', folder: folder(registrationDecider) },
  { name: 'manager-report', folder: folder(managerReportDecider) },
  /** E-mail address reservations (`email-<keyed hash of the address>`): who holds the address. */
  { name: 'email', folder: folder(emailReservationDecider) },
];

export const AGGREGATE_NAMES: readonly string[] = AGGREGATES.map((aggregate) => aggregate.name);

/** Personas live inside their user's stream; `persona-<personaId>` names one for as-of and diff. */
export const PERSONA = 'persona';

// Longest first, so a prefix that contains a dash (`manager-report-`) is not taken for a shorter one.
const BY_PREFIX_LENGTH = [...AGGREGATES].sort((a, b) => b.name.length - a.name.length);

/** The aggregate a stream id belongs to, or null when no known prefix fits. */
export const aggregateOfStream = (streamId: string): AggregateKind | null =>
  BY_PREFIX_LENGTH.find((aggregate) => streamId.startsWith(`${aggregate.name}-`) && streamId.length > aggregate.name.length + 1) ?? null;

export const isAggregateName = (name: string): boolean => AGGREGATE_NAMES.includes(name);

/** `persona-<userId>:p<n>` → the persona id and its user's stream; null for any other id. */
export const personaTarget = (streamId: string): { readonly personaId: string; readonly userStreamId: string } | null => {
  if (!streamId.startsWith(`${PERSONA}-`)) return null;
  const personaId = streamId.slice(PERSONA.length + 1);
  const userId = userIdOfPersona(personaId);
  return userId ? { personaId, userStreamId: `user-${userId}` } : null;
};
