import type { DomainEvent, RecordedEvent } from '../../src/eventstore/eventStore';

/**
 * What the lifecycle projections share: how a recorded event is read back as its domain union,
 * how positions and times are written, and the guard that makes a row ignore a replayed event.
 */

/**
 * `RecordedEvent<E>` types `type` and `data` separately, so a switch on `type` would not narrow
 * `data`; seen as the domain's `{ type, data }` it does (the same object: a recorded event has both
 * fields, and a rebuild reads millions, so none is copied). The runner only passes events whose
 * type the projection lists in `handles`, so the cast states what is already true.
 */
export const asDomainEvent = <E extends DomainEvent>(event: RecordedEvent<E>): E => event as unknown as E;

/** Positions go to `numeric(20)` columns as decimal text: a bigint does not fit a JS number. */
export const positionParams = (event: RecordedEvent): [string, string] => [event.position.major.toString(), event.position.minor.toString()];

/**
 * The row has not yet seen this event. Rows written from one stream remember the position of the
 * last event applied to them; the runner applies events in log order, so an event at or before
 * that position is a replay and must change nothing (whatever the statement would have set).
 * `major` and `minor` are the numbers of the two position parameters.
 */
export const notYetApplied = (table: string, major: number, minor: number): string =>
  `(${table}.last_position_major, ${table}.last_position_minor) < ($${major}::numeric, $${minor}::numeric)`;

/** Columns every stream-keyed row carries for `notYetApplied`. */
export const LAST_POSITION_COLUMNS = /* sql */ `
  last_position_major numeric(20) NOT NULL,
  last_position_minor numeric(20) NOT NULL`;

/**
 * A `timestamptz` column read back as ISO-8601 in UTC with milliseconds, the shape of
 * `metadata.occurredAt`, whatever the session's time zone or DateStyle.
 */
export const isoTimestamp = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** jsonb parameters are sent as JSON text: both drivers then agree on what arrives. */
export const jsonParam = (value: unknown): string => JSON.stringify(value);
