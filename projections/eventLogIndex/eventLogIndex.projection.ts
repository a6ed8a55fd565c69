import type { RecordedEvent } from '../../src/eventstore/eventStore';
import { ALL_EVENTS, projection } from '../../src/projectionEngine/projection';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';

/**
 * The event log's index, for a store whose log is not in the read-model database (KurrentDB): one
 * row per event with what the auditors' filters look at (stream, type, actor, role, time,
 * correlation and causation) and its log position. `IndexedEventLog` (src/audit/indexedEventLog.ts)
 * pages and filters here and reads the events themselves from the store by position.
 *
 * Why an index and not `$all` with server-side filters: KurrentDB filters `$all` by stream name or
 * event type only, so a filter on actor, correlation id or time would read the whole log for every
 * page, and paging backward (last/before) would read it from the end; here each is one index range
 * scan, as on the SQL store. The price is one narrow row per event in the read-model database,
 * written in the projection runner's batches, and the lag of a projection (a read that sends
 * X-Consistent-With waits for it, as every other read does). Nothing personal is kept here: ids,
 * types, roles and times only.
 */
export const EVENT_LOG_INDEX = 'event_log_index';

const schema = `
CREATE TABLE IF NOT EXISTS rm_event_log (
  position_major bigint NOT NULL,
  position_minor bigint NOT NULL,
  event_id uuid PRIMARY KEY,
  stream_id text NOT NULL,
  revision integer NOT NULL,
  event_type text NOT NULL,
  actor_id text NOT NULL,
  actor_role text NOT NULL,
  occurred_at text NOT NULL,
  correlation_id text NOT NULL,
  causation_id text NOT NULL,
  UNIQUE (position_major, position_minor)
);
CREATE INDEX IF NOT EXISTS rm_event_log_correlation ON rm_event_log (correlation_id, position_major, position_minor);
CREATE INDEX IF NOT EXISTS rm_event_log_causation ON rm_event_log (causation_id, position_major, position_minor);
CREATE INDEX IF NOT EXISTS rm_event_log_actor ON rm_event_log (actor_id, position_major, position_minor);
CREATE INDEX IF NOT EXISTS rm_event_log_type ON rm_event_log (event_type, position_major, position_minor);
CREATE INDEX IF NOT EXISTS rm_event_log_stream ON rm_event_log (stream_id text_pattern_ops);
CREATE INDEX IF NOT EXISTS rm_event_log_occurred_at ON rm_event_log (occurred_at);
`;

const COLUMNS = [
  'position_major',
  'position_minor',
  'event_id',
  'stream_id',
  'revision',
  'event_type',
  'actor_id',
  'actor_role',
  'occurred_at',
  'correlation_id',
  'causation_id',
] as const;

const TYPES = ['bigint', 'bigint', 'uuid', 'text', 'integer', 'text', 'text', 'text', 'text', 'text', 'text'] as const;

const rowOf = (event: RecordedEvent): unknown[] => [
  event.position.major.toString(),
  event.position.minor.toString(),
  event.id,
  event.streamId,
  event.revision,
  event.type,
  event.metadata.actor.id,
  event.metadata.actor.role,
  event.metadata.occurredAt,
  event.metadata.correlationId,
  event.metadata.causationId,
];

/** One INSERT per batch (a column array each); an event indexed before is left as it is. */
const applyBatch = async (tx: SqlExecutor, events: readonly RecordedEvent[]): Promise<void> => {
  const rows = events.map(rowOf);
  const params = COLUMNS.map((_, column) => rows.map((row) => row[column]));
  await tx.query(
    `INSERT INTO rm_event_log (${COLUMNS.join(', ')})
       SELECT * FROM unnest(${TYPES.map((type, i) => `$${i + 1}::${type}[]`).join(', ')})
       ON CONFLICT DO NOTHING`,
    params,
  );
};

export const eventLogIndexProjection = projection({
  name: EVENT_LOG_INDEX,
  handles: [ALL_EVENTS],
  schema,
  tables: ['rm_event_log'],
  applyBatch,
  readsWhileApplying: [],
});
