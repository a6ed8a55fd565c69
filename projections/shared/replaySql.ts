import type { GlobalPosition } from '../../src/eventstore/eventStore';

/**
 * Pieces of the queries that replay read models in SQL (`Projection.replayInDatabase`). Those
 * queries run as `COPY (query) TO STDOUT`, which takes no parameters: the few values they need are
 * written into the SQL, and checked here first.
 */

/**
 * The log as the replays read it: es_events with each event's personal data merged back in, or its
 * erased form (the view the store defines, as every other reader sees the log), so that a replay in
 * SQL and one in Node.js build the same rows, erased people included.
 */
export const LOG = 'es_events_merged';

/** `('TypeA', 'TypeB')` for `event_type IN ...`. */
export const inList = (types: readonly string[]): string => {
  for (const type of types) if (!/^[A-Za-z]+$/.test(type)) throw new Error(`Unexpected event type name: ${type}`);
  return `(${types.map((type) => `'${type}'`).join(', ')})`;
};

/** Events of `es_events e` up to and including `upTo`. */
export const upToCondition = (upTo: GlobalPosition): string =>
  `(e.transaction_id, e.global_position) <= ('${BigInt(upTo.major).toString()}'::xid8, ${BigInt(upTo.minor).toString()}::bigint)`;

/** An event's position (es_events e), as the read models store it. */
export const MAJOR = `e.transaction_id::text::bigint`;
export const MINOR = `e.global_position`;
/** When the event happened (text, ISO-8601). */
export const AT = `e.metadata->>'occurredAt'`;

// Within one stream the revision orders events: as text of a fixed width, it sorts a concatenation
// "revision || value", compared byte by byte ("C": whatever the database's collation, and faster than a
// locale's). 10^10 + revision (an integer, below 2^31) has 11 digits; it is cheaper than lpad (about a
// tenth of the personas' aggregate, measured).
const REVISION = `(10000000000 + e.revision)::text COLLATE "C"`;
/** Where the value starts in such a concatenation. */
const VALUE_AT = 12;

/**
 * An aggregate over one stream's events (`es_events e`, grouped by the row's key): the value of the
 * latest event the filter admits whose value is not null (null when none).
 */
export const latestOf = (value: string, filter: string): string => `substr(max(${REVISION} || (${value})) FILTER (WHERE ${filter}), ${VALUE_AT})`;

/** As `latestOf`, the earliest. */
export const earliestOf = (value: string, filter: string): string => `substr(min(${REVISION} || (${value})) FILTER (WHERE ${filter}), ${VALUE_AT})`;

/**
 * A value as `latestWritten` compares them, for one event (\`es_events e\`): its stream revision, then
 * 'v' and the value, or 'n' when the event writes null. The greatest of such texts is the latest
 * event's, and `writtenValue` reads its value back.
 */
export const written = (value: string): string => `${REVISION} || COALESCE('v' || (${value}), 'n')`;

/** The value a `written` text (or the greatest of several) holds: null when it says null, or is null. */
export const writtenValue = (encoded: string): string =>
  `(CASE WHEN substr(${encoded}, ${VALUE_AT}, 1) = 'v' THEN substr(${encoded}, ${VALUE_AT + 1}) END)`;

/**
 * As `latestWritten`, the value still encoded (`written`): null when no such event. Several of
 * these (over different events, or a `written` value of an event read once) combine with GREATEST
 * before `writtenValue` reads the value.
 */
export const latestWrittenEncoded = (
  writers: Readonly<Record<string, string>>,
  when: Readonly<Record<string, string>> = {},
): string => {
  const types = Object.keys(writers);
  const value = `CASE e.event_type ${types.map((type) => `WHEN '${type}' THEN COALESCE('v' || (${writers[type]}), 'n')`).join(' ')} END`;
  const filter =
    Object.keys(when).length === 0
      ? `e.event_type IN ${inList(types)}`
      : types.map((type) => `(e.event_type IN ${inList([type])}${when[type] ? ` AND ${when[type]}` : ''})`).join(' OR ');
  return `max(${REVISION} || ${value}) FILTER (WHERE ${filter})`;
};

/**
 * An aggregate over one stream's events (`es_events e`, grouped by the row's key) that gives the
 * value the latest of the events that write it left, as text: `writers` maps each event type that
 * writes the column to the SQL of the value it writes (which may be null: a later event can clear
 * what an earlier one set). Null when no such event. Within a stream the revision orders events.
 */
export const latestWritten = (
  writers: Readonly<Record<string, string>>,
  /** Per event type, a condition for the event to write the column at all (an optional field present). */
  when: Readonly<Record<string, string>> = {},
): string => writtenValue(latestWrittenEncoded(writers, when));

/**
 * The time and position of a row's latest event, as one text aggregate (`... AS stamp`) for read
 * models whose every event changes the row; `STAMP_COLUMNS` splits it into updated_at and the
 * two position columns.
 */
export const LATEST_STAMP = latestOf(`${AT} || ' ' || e.transaction_id::text || ' ' || e.global_position::text`, 'true');
export const STAMP_COLUMNS = `split_part(stamp, ' ', 1)::timestamptz, split_part(stamp, ' ', 2)::numeric, split_part(stamp, ' ', 3)::numeric`;
