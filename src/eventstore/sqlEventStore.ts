import {
  START,
  WrongExpectedRevisionError,
  IdempotencyKeyReusedError,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type NewEvent,
  type GlobalPosition,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ReadStreamResult,
  type RecordedEvent,
  type StreamWrite,
} from './eventStore';
import type { SqlDatabase } from '../sql/sqlDatabase';

/**
 * One SQL implementation for PostgreSQL and PGlite.
 *
 * Gap-free catch-up: every event row records the id of the transaction that wrote it
 * (`pg_current_xact_id()`). Readers order by (transaction id, sequence) and only read rows whose
 * transaction id is below the oldest transaction still running (`pg_snapshot_xmin`), so an event
 * whose transaction took its sequence value early but committed late is never skipped: readers wait
 * for it instead. Writers are not serialised; the cost is one `xid8` column (see BENCHMARKS.md).
 *
 * An append is one call of a plpgsql function: one round trip and one implicit transaction, which
 * checks each stream's expected revision (row-level, so writers to different streams never wait on
 * each other), records the idempotency key, and inserts the events. The common append (one stream,
 * no idempotency key) calls `es_append_stream`, which takes plain typed parameters and returns one
 * text value; everything else calls the general `es_append`. Both check and fail alike; the lean
 * one is much cheaper for PostgreSQL to parse, plan and run (see BENCHMARKS.md, append-throughput).
 */
export const EVENT_STORE_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS es_streams (
  stream_id text PRIMARY KEY,
  revision integer NOT NULL
);

CREATE TABLE IF NOT EXISTS es_events (
  global_position bigint GENERATED ALWAYS AS IDENTITY,
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id text NOT NULL,
  revision integer NOT NULL,
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  schema_version integer NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, revision),
  UNIQUE (event_id)
);
CREATE INDEX IF NOT EXISTS es_events_log_order ON es_events (transaction_id, global_position);

CREATE TABLE IF NOT EXISTS es_idempotency (
  idempotency_key text PRIMARY KEY,
  stream_ids text[] NOT NULL,
  event_ids uuid[] NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);

-- p_writes: [{ "streamId", "expected": "any" | "no_stream" | <int>, "events": [{ "id", "type",
-- "schemaVersion", "data", "metadata" }] }]. Returns the stored rows; "duplicate" is true when the
-- idempotency key had been used (nothing is written then). A broken expectation raises SQLSTATE
-- ES409 with the stream, expected and actual revisions in DETAIL.
CREATE OR REPLACE FUNCTION es_append(p_writes jsonb, p_idempotency_key text)
RETURNS TABLE (stream_id text, revision integer, global_position bigint, transaction_id xid8,
               event_id uuid, duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
  w jsonb;
  n integer;
  expected jsonb;
  last_revision integer;
  actual integer;
  stored_streams text[];
  requested_streams text[];
  first_key_use boolean := true;
BEGIN
  IF p_idempotency_key IS NOT NULL THEN
    SELECT array_agg(x ->> 'streamId' ORDER BY x ->> 'streamId') INTO requested_streams
      FROM jsonb_array_elements(p_writes) x;
    INSERT INTO es_idempotency AS i (idempotency_key, stream_ids, event_ids)
      SELECT p_idempotency_key, requested_streams,
             ARRAY(SELECT (e ->> 'id')::uuid FROM jsonb_array_elements(p_writes) x,
                   jsonb_array_elements(x -> 'events') e)
      ON CONFLICT (idempotency_key) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    first_key_use := n = 1;
    IF NOT first_key_use THEN
      SELECT i.stream_ids INTO stored_streams FROM es_idempotency i WHERE i.idempotency_key = p_idempotency_key;
      IF stored_streams IS DISTINCT FROM requested_streams THEN
        RAISE EXCEPTION 'idempotency key reused' USING ERRCODE = 'ES422', DETAIL = p_idempotency_key;
      END IF;
      RETURN QUERY
        SELECT e.stream_id, e.revision, e.global_position, e.transaction_id, e.event_id, true
          FROM es_events e JOIN es_idempotency i ON e.event_id = ANY (i.event_ids)
         WHERE i.idempotency_key = p_idempotency_key
         ORDER BY e.transaction_id, e.global_position;
      RETURN;
    END IF;
  END IF;

  -- Lock streams in one order so two multi-stream appends cannot deadlock.
  FOR w IN SELECT x FROM jsonb_array_elements(p_writes) x ORDER BY x ->> 'streamId' LOOP
    n := jsonb_array_length(w -> 'events');
    expected := w -> 'expected';
    IF expected = '"no_stream"' THEN
      INSERT INTO es_streams AS s (stream_id, revision) VALUES (w ->> 'streamId', n - 1)
        ON CONFLICT ON CONSTRAINT es_streams_pkey DO NOTHING;
      GET DIAGNOSTICS actual = ROW_COUNT;
      IF actual = 0 THEN
        SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = w ->> 'streamId';
        RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
          DETAIL = json_build_array(w ->> 'streamId', 'no_stream', actual)::text;
      END IF;
      last_revision := n - 1;
    ELSIF expected = '"any"' THEN
      INSERT INTO es_streams AS s (stream_id, revision) VALUES (w ->> 'streamId', n - 1)
        ON CONFLICT ON CONSTRAINT es_streams_pkey DO UPDATE SET revision = s.revision + n
        RETURNING s.revision INTO last_revision;
    ELSE
      UPDATE es_streams s SET revision = s.revision + n
       WHERE s.stream_id = w ->> 'streamId' AND s.revision = (expected #>> '{}')::integer
       RETURNING s.revision INTO last_revision;
      IF last_revision IS NULL THEN
        SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = w ->> 'streamId';
        RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
          DETAIL = json_build_array(w ->> 'streamId', (expected #>> '{}')::integer, actual)::text;
      END IF;
    END IF;

    RETURN QUERY
      INSERT INTO es_events AS ev (stream_id, revision, event_id, event_type, schema_version, data, metadata)
      SELECT w ->> 'streamId', last_revision - n + e.ordinality::integer, (e.value ->> 'id')::uuid,
             e.value ->> 'type', (e.value ->> 'schemaVersion')::integer, e.value -> 'data', e.value -> 'metadata'
        FROM jsonb_array_elements(w -> 'events') WITH ORDINALITY e
      RETURNING ev.stream_id, ev.revision, ev.global_position, ev.transaction_id, ev.event_id, false;
  END LOOP;
END;
$$;

-- The common append, one stream and no idempotency key, with es_append's checks and errors. Plain
-- typed parameters instead of a jsonb envelope, and a plain (not set-returning) result, which cost
-- far less to parse, plan and run per call. p_expected: 'any', 'no_stream' or the revision as text;
-- p_data and p_metadata: jsonb arrays with one element per event. Returns '<last revision>
-- <transaction id> <global position of each event, in order, space-separated>'.
CREATE OR REPLACE FUNCTION es_append_stream(p_stream_id text, p_expected text, p_ids uuid[], p_types text[],
                                            p_schema_versions integer[], p_data jsonb, p_metadata jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  n integer := cardinality(p_ids);
  last_revision integer;
  actual integer;
  pos bigint;
  positions text := '';
BEGIN
  IF p_expected = 'no_stream' THEN
    INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, n - 1)
      ON CONFLICT ON CONSTRAINT es_streams_pkey DO NOTHING
      RETURNING s.revision INTO last_revision;
  ELSIF p_expected = 'any' THEN
    INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, n - 1)
      ON CONFLICT ON CONSTRAINT es_streams_pkey DO UPDATE SET revision = s.revision + n
      RETURNING s.revision INTO last_revision;
  ELSE
    UPDATE es_streams s SET revision = s.revision + n
     WHERE s.stream_id = p_stream_id AND s.revision = p_expected::integer
     RETURNING s.revision INTO last_revision;
  END IF;
  IF last_revision IS NULL THEN
    SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = p_stream_id;
    RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
      DETAIL = json_build_array(p_stream_id,
                                CASE WHEN p_expected = 'no_stream' THEN to_json(p_expected) ELSE to_json(p_expected::integer) END,
                                actual)::text;
  END IF;
  FOR i IN 1 .. n LOOP
    INSERT INTO es_events AS ev (stream_id, revision, event_id, event_type, schema_version, data, metadata)
      VALUES (p_stream_id, last_revision - n + i, p_ids[i], p_types[i], p_schema_versions[i],
              p_data -> (i - 1), p_metadata -> (i - 1))
      RETURNING ev.global_position INTO pos;
    positions := positions || ' ' || pos;
  END LOOP;
  RETURN last_revision || ' ' || pg_current_xact_id() || positions;
END;
$$;
`;

interface EventRow {
  stream_id: string;
  revision: number;
  global_position: string;
  transaction_id: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: object;
  metadata: RecordedEvent['metadata'];
}

// Positions leave as text (xid8 and bigint exceed JS numbers). ORDER BY must name the qualified
// columns (e.transaction_id), not these text aliases, or 1000 would sort before 999.
const EVENT_COLUMNS = `e.stream_id, e.revision, e.global_position::text AS global_position,
  e.transaction_id::text AS transaction_id, e.event_id::text AS event_id, e.event_type, e.schema_version, e.data, e.metadata`;
const LOG_ORDER = `e.transaction_id, e.global_position`;

const toRecorded = (row: EventRow): RecordedEvent => ({
  id: row.event_id,
  type: row.event_type,
  schemaVersion: row.schema_version,
  data: row.data,
  metadata: row.metadata,
  streamId: row.stream_id,
  revision: row.revision,
  position: { major: BigInt(row.transaction_id), minor: BigInt(row.global_position) },
});

// Field by field: in Node 20, `{ ...event, streamId, ... }` (spread, then more properties) takes
// about 2 µs against 10 ns, which showed in the append benchmark (BENCHMARKS.md).
const recorded = (event: NewEvent, streamId: string, revision: number, position: GlobalPosition): RecordedEvent => ({
  id: event.id,
  type: event.type,
  schemaVersion: event.schemaVersion,
  data: event.data,
  metadata: event.metadata,
  streamId,
  revision,
  position,
});

// Rows below the oldest running transaction are final: no earlier-positioned row can still appear.
const VISIBLE = `e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())`;

export class SqlEventStore implements EventStore {
  readonly name: string;

  private constructor(private readonly db: SqlDatabase) {
    this.name = db.kind === 'embedded' ? 'embedded (PGlite)' : 'PostgreSQL';
  }

  static async create(db: SqlDatabase): Promise<SqlEventStore> {
    await migrate(db);
    return new SqlEventStore(db);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    const from = options.fromRevision ?? 0;
    const limit = options.maxCount ?? 2_147_483_647;
    // One statement, so one snapshot: the revision and the events always agree. (Two queries could
    // see the events before a concurrent append commits and the revision after it, and a command
    // would then decide on stale state yet pass the expected-revision check.)
    const result = await this.db.query<EventRow & { current_revision: number }>(
      `SELECT s.revision AS current_revision, ${EVENT_COLUMNS}
         FROM es_streams s
         LEFT JOIN LATERAL (
           SELECT * FROM es_events x WHERE x.stream_id = s.stream_id AND x.revision >= $2 ORDER BY x.revision LIMIT $3
         ) e ON true
        WHERE s.stream_id = $1
        ORDER BY e.revision`,
      [streamId, from, limit],
    );
    const first = result.rows[0];
    if (!first) return { events: [], currentRevision: null };
    return {
      events: first.event_id === null ? [] : result.rows.map(toRecorded),
      currentRevision: first.current_revision,
    };
  }

  async appendToStreams(writes: readonly StreamWrite[], options: AppendOptions = {}): Promise<AppendResult> {
    const nonEmpty = writes.filter((write) => write.events.length > 0);
    if (nonEmpty.length === 0) return { events: [], streamRevisions: {}, lastPosition: START, duplicate: false };
    // Checks (no events, a numeric revision) ride along with the writes: es_append locks and compares them.
    const checks = writes.filter((write) => write.events.length === 0 && typeof write.expectedRevision === 'number');
    const all = [...nonEmpty, ...checks];
    if (new Set(all.map((w) => w.streamId)).size !== all.length) {
      throw new Error('appendToStreams: each stream may appear once per append');
    }
    if (all.length === 1 && options.idempotencyKey === undefined) return this.appendToOneStream(nonEmpty[0]!);
    const payload = all.map((write) => ({ streamId: write.streamId, expected: write.expectedRevision, events: write.events }));
    let rows: { stream_id: string; revision: number; global_position: string; transaction_id: string; event_id: string; duplicate: boolean }[];
    try {
      rows = (
        await this.db.query<(typeof rows)[number]>(
          `SELECT stream_id, revision, global_position::text AS global_position, transaction_id::text AS transaction_id,
                  event_id::text AS event_id, duplicate FROM es_append($1::jsonb, $2)`,
          [JSON.stringify(payload), options.idempotencyKey ?? null],
        )
      ).rows;
    } catch (error) {
      throw translateAppendError(error, options.idempotencyKey);
    }
    const duplicate = rows.some((row) => row.duplicate);
    const byId = new Map(payload.flatMap((w) => w.events.map((e) => [e.id, e] as const)));
    let events: RecordedEvent[];
    if (duplicate) {
      // The first call's events, as stored (their ids are not this call's ids).
      const stored = await this.db.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM es_events e WHERE e.event_id = ANY($1::uuid[]) ORDER BY ${LOG_ORDER}`,
        [rows.map((row) => row.event_id)],
      );
      events = stored.rows.map(toRecorded);
    } else {
      events = rows.map((row) =>
        recorded(byId.get(row.event_id)!, row.stream_id, row.revision, {
          major: BigInt(row.transaction_id),
          minor: BigInt(row.global_position),
        }),
      );
    }
    const streamRevisions: Record<string, number> = {};
    for (const event of events) {
      streamRevisions[event.streamId] = Math.max(streamRevisions[event.streamId] ?? -1, event.revision);
    }
    return { events, streamRevisions, lastPosition: events.at(-1)?.position ?? START, duplicate };
  }

  /** The common append: one stream, no idempotency key (see `es_append_stream`). */
  private async appendToOneStream({ streamId, expectedRevision, events }: StreamWrite): Promise<AppendResult> {
    let result: string;
    try {
      const rows = await this.db.query<{ result: string }>(
        `SELECT es_append_stream($1, $2, $3::uuid[], $4::text[], $5::integer[], $6::jsonb, $7::jsonb) AS result`,
        [
          streamId,
          String(expectedRevision),
          events.map((e) => e.id),
          events.map((e) => e.type),
          events.map((e) => e.schemaVersion),
          JSON.stringify(events.map((e) => e.data)),
          JSON.stringify(events.map((e) => e.metadata)),
        ],
        // Prepared once per connection: parsing and planning were a sixth of PostgreSQL's work per
        // append (BENCHMARKS.md). Bump the version when es_append_stream's signature or result changes.
        { name: 'es_append_stream_v1' },
      );
      result = rows.rows[0]!.result;
    } catch (error) {
      throw translateAppendError(error, undefined);
    }
    // '<last revision> <transaction id> <position> <position> ...'
    const parts = result.split(' ');
    const lastRevision = Number(parts[0]);
    const major = BigInt(parts[1]!);
    const first = lastRevision - events.length + 1;
    const stored = events.map((event, i) => recorded(event, streamId, first + i, { major, minor: BigInt(parts[2 + i]!) }));
    return { events: stored, streamRevisions: { [streamId]: lastRevision }, lastPosition: stored.at(-1)!.position, duplicate: false };
  }

  async readIdempotencyKey(idempotencyKey: string): Promise<readonly RecordedEvent[] | null> {
    const result = await this.db.query<EventRow & { found: boolean }>(
      `SELECT ${EVENT_COLUMNS} FROM es_events e JOIN es_idempotency i ON e.event_id = ANY (i.event_ids)
        WHERE i.idempotency_key = $1 ORDER BY ${LOG_ORDER}`,
      [idempotencyKey],
    );
    if (result.rows.length > 0) return result.rows.map(toRecorded);
    const key = await this.db.query(`SELECT 1 FROM es_idempotency WHERE idempotency_key = $1`, [idempotencyKey]);
    return key.rows.length > 0 ? [] : null;
  }

  async readAll(options: ReadAllOptions = {}): Promise<readonly RecordedEvent[]> {
    const after = options.after ?? START;
    const result = await this.db.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events e
        WHERE (e.transaction_id, e.global_position) > ($1::text::xid8, $2::bigint) AND ${VISIBLE}
        ORDER BY ${LOG_ORDER} LIMIT $3`,
      [after.major.toString(), after.minor.toString(), options.maxCount ?? 1000],
    );
    return result.rows.map(toRecorded);
  }

  async readHead(): Promise<GlobalPosition> {
    const result = await this.db.query<{ transaction_id: string; global_position: string }>(
      `SELECT e.transaction_id::text AS transaction_id, e.global_position::text AS global_position FROM es_events e
        WHERE ${VISIBLE} ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1`,
    );
    const row = result.rows[0];
    return row ? { major: BigInt(row.transaction_id), minor: BigInt(row.global_position) } : START;
  }

  /** The database is owned by the composition root, which closes it. */
  async close(): Promise<void> {}
}

const migrate = async (db: SqlDatabase): Promise<void> => {
  // Several processes may start at once against one PostgreSQL; migrate under an advisory lock.
  if (db.kind === 'postgres') {
    await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(727274)`);
      await tx.query(EVENT_STORE_SCHEMA);
    });
  } else {
    await db.exec(EVENT_STORE_SCHEMA);
  }
};

const translateAppendError = (error: unknown, idempotencyKey: string | undefined): unknown => {
  const e = error as { code?: string; detail?: string };
  if (e.code === 'ES409' && e.detail) {
    const [streamId, expected, actual] = JSON.parse(e.detail) as [string, number | 'no_stream', number | null];
    return new WrongExpectedRevisionError(streamId, expected, actual);
  }
  if (e.code === 'ES422') return new IdempotencyKeyReusedError(idempotencyKey ?? '');
  // Two appends racing to create one stream or reuse one key: the loser sees a unique violation
  // only if it slipped past ON CONFLICT (it cannot for es_streams); report it as a conflict.
  if (e.code === '23505') return new WrongExpectedRevisionError('(unknown)', 'no_stream', null);
  return error;
};
