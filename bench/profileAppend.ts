import { EVENT_STORE_MIGRATIONS, SqlEventStore } from '../src/eventstore/sqlEventStore';
import { openPostgres } from '../src/sql/postgres';
import type { SqlDatabase } from '../src/sql/sqlDatabase';
import { Pool } from 'pg';
import { APPLICATION_NAME, PEER_INSERT, PEER_SCHEMA, compare, countingAppendCalls, createPeerTable, fmt, median, peerAppend, poolOptions, runCount, runFor, storeAppend, userRegistered, userStatusChanged, withSchema, type Append, type RunResult } from './appendThroughput';

/**
 * Where does an append's time go? Each variant below is one way of writing the same event (one
 * `UserStatusChanged` to a new stream, as in `append-throughput`). Not part of `npm run bench`; the
 * findings are written up in BENCHMARKS.md's append-throughput section. After `npm run build`:
 *
 *   node dist/bench/profileAppend.js [variant ...]
 *     Each variant against the plain INSERT, exactly as `append-throughput` measures (16 writers,
 *     interleaved rounds; BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP_SECONDS; BENCH_POOL changes the
 *     connections per side, BENCH_PG_OPTIONS adds server options such as -c synchronous_commit=off).
 *   node dist/bench/profileAppend.js [variant ...] --against <variant>
 *     The same, with another variant in place of the plain INSERT (a head-to-head).
 *   node dist/bench/profileAppend.js --group-commit off,1:64,4:64,4:64:gather,...
 *     The store with each group-commit setting (\`<max in flight>:<max batch>[:gather]\`, or off) and the plain
 *     INSERT, all interleaved in one run (16 writers, BENCH_ROUNDS × BENCH_SECONDS each): rate, ratio to
 *     the INSERT, appends per call, Node and PostgreSQL CPU per event.
 *   node dist/bench/profileAppend.js --serial [variant ...]
 *     One connection and one writer per variant, variants interleaved (BENCH_ROUNDS × BENCH_EVENTS):
 *     the PostgreSQL backend's CPU time per event (from /proc/<pid>/schedstat) and Node's, with
 *     synchronous_commit=off (BENCH_SYNC to change), so that the WAL flush, which costs every
 *     variant the same, does not drown the differences. Much steadier than throughput on a shared
 *     machine, but without the effects of concurrency.
 *
 * Variants named `*-prepared` use pg named statements on a bare pg Pool: SqlDatabase cannot run them.
 */
interface Variant {
  readonly name: string;
  readonly description: string;
  /** Extra schema after SqlEventStore.create (which always runs, so es_append exists). */
  readonly setup?: string;
  readonly append: (db: SqlDatabase, store: SqlEventStore, pool: Pool) => Append;
}

const payloadOf = () => {
  const { streamId, event } = userStatusChanged();
  return { streamId, event, json: JSON.stringify([{ streamId, expected: 'no_stream', events: [event] }]) };
};

const ES_APPEND_SQL = `SELECT stream_id, revision, global_position::text AS global_position, transaction_id::text AS transaction_id,
  event_id::text AS event_id, duplicate FROM es_append($1::jsonb, $2)`;

const CTE_SQL = `WITH s AS (
    INSERT INTO es_streams (stream_id, revision) VALUES ($1, 0) ON CONFLICT DO NOTHING RETURNING stream_id)
  INSERT INTO es_events (stream_id, revision, event_id, event_type, schema_version, data, metadata)
  SELECT s.stream_id, 0, $2, $3, $4, $5, $6 FROM s
  RETURNING global_position::text AS global_position, transaction_id::text AS transaction_id`;

const cteParams = () => {
  const { streamId, event } = userStatusChanged();
  return [streamId, event.id, event.type, event.schemaVersion, JSON.stringify(event.data), JSON.stringify(event.metadata)];
};

const PEER_TABLE = PEER_SCHEMA.replace('CREATE TABLE', 'CREATE TABLE IF NOT EXISTS');

const LEAN_FUNCTION = `
CREATE FUNCTION es_append_stream(p_stream_id text, p_expected integer, p_ids uuid[], p_types text[],
  p_versions integer[], p_data jsonb[], p_metadata jsonb[])
RETURNS TABLE (revision integer, global_position bigint, transaction_id xid8)
LANGUAGE plpgsql AS $$
DECLARE
  n integer := cardinality(p_ids);
  last_revision integer;
  actual integer;
BEGIN
  IF p_expected IS NULL THEN
    INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, n - 1)
      ON CONFLICT (stream_id) DO UPDATE SET revision = s.revision + n RETURNING s.revision INTO last_revision;
  ELSIF p_expected = -1 THEN
    INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, n - 1)
      ON CONFLICT (stream_id) DO NOTHING RETURNING s.revision INTO last_revision;
  ELSE
    UPDATE es_streams s SET revision = s.revision + n WHERE s.stream_id = p_stream_id AND s.revision = p_expected
      RETURNING s.revision INTO last_revision;
  END IF;
  IF last_revision IS NULL THEN
    SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = p_stream_id;
    RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
      DETAIL = json_build_array(p_stream_id, CASE WHEN p_expected = -1 THEN to_json('no_stream'::text) ELSE to_json(p_expected) END, actual)::text;
  END IF;
  RETURN QUERY
    INSERT INTO es_events AS ev (stream_id, revision, event_id, event_type, schema_version, data, metadata)
    SELECT p_stream_id, last_revision - n + e.ord::integer, e.id, e.type, e.v, e.d, e.m
      FROM unnest(p_ids, p_types, p_versions, p_data, p_metadata) WITH ORDINALITY AS e(id, type, v, d, m, ord)
    RETURNING ev.revision, ev.global_position, ev.transaction_id;
END;
$$`;

// Like LEAN_FUNCTION, but a plain (not set-returning) function, called as `SELECT f(...)`, which
// is cheaper to plan than `SELECT ... FROM f(...)`; returns '<transaction id> <position>,<position>...'.
const TEXT_FUNCTION = `
CREATE FUNCTION es_append_stream_text(p_stream_id text, p_expected integer, p_ids uuid[], p_types text[],
  p_versions integer[], p_data jsonb[], p_metadata jsonb[])
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  n integer := cardinality(p_ids);
  last_revision integer;
  actual integer;
  positions bigint[];
BEGIN
  IF p_expected IS NULL THEN
    INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, n - 1)
      ON CONFLICT (stream_id) DO UPDATE SET revision = s.revision + n RETURNING s.revision INTO last_revision;
  ELSIF p_expected = -1 THEN
    INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, n - 1)
      ON CONFLICT (stream_id) DO NOTHING RETURNING s.revision INTO last_revision;
  ELSE
    UPDATE es_streams s SET revision = s.revision + n WHERE s.stream_id = p_stream_id AND s.revision = p_expected
      RETURNING s.revision INTO last_revision;
  END IF;
  IF last_revision IS NULL THEN
    SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = p_stream_id;
    RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
      DETAIL = json_build_array(p_stream_id, CASE WHEN p_expected = -1 THEN to_json('no_stream'::text) ELSE to_json(p_expected) END, actual)::text;
  END IF;
  WITH ins AS (
    INSERT INTO es_events AS ev (stream_id, revision, event_id, event_type, schema_version, data, metadata)
    SELECT p_stream_id, last_revision - n + e.ord::integer, e.id, e.type, e.v, e.d, e.m
      FROM unnest(p_ids, p_types, p_versions, p_data, p_metadata) WITH ORDINALITY AS e(id, type, v, d, m, ord)
    RETURNING ev.revision, ev.global_position)
  SELECT array_agg(ins.global_position ORDER BY ins.revision) INTO positions FROM ins;
  RETURN pg_current_xact_id()::text || ' ' || array_to_string(positions, ',');
END;
$$`;

const TEXT_SQL = `SELECT es_append_stream_text($1, $2, $3, $4, $5, $6, $7) AS result`;

// One event, scalar parameters, plain function returning '<transaction id> <position>'.
const SCALAR_FUNCTION = `
CREATE FUNCTION es_append_one(p_stream_id text, p_expected integer, p_id uuid, p_type text,
  p_version integer, p_data jsonb, p_metadata jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  last_revision integer;
  actual integer;
  position bigint;
BEGIN
  IF p_expected IS NULL THEN
    INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, 0)
      ON CONFLICT (stream_id) DO UPDATE SET revision = s.revision + 1 RETURNING s.revision INTO last_revision;
  ELSIF p_expected = -1 THEN
    INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, 0)
      ON CONFLICT (stream_id) DO NOTHING RETURNING s.revision INTO last_revision;
  ELSE
    UPDATE es_streams s SET revision = s.revision + 1 WHERE s.stream_id = p_stream_id AND s.revision = p_expected
      RETURNING s.revision INTO last_revision;
  END IF;
  IF last_revision IS NULL THEN
    SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = p_stream_id;
    RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
      DETAIL = json_build_array(p_stream_id, CASE WHEN p_expected = -1 THEN to_json('no_stream'::text) ELSE to_json(p_expected) END, actual)::text;
  END IF;
  INSERT INTO es_events AS ev (stream_id, revision, event_id, event_type, schema_version, data, metadata)
    VALUES (p_stream_id, last_revision, p_id, p_type, p_version, p_data, p_metadata)
    RETURNING ev.global_position INTO position;
  RETURN pg_current_xact_id()::text || ' ' || position::text;
END;
$$`;

const SCALAR_SQL = `SELECT es_append_one($1, $2, $3, $4, $5, $6, $7) AS result`;

// The stream head, shared by the two functions below.
const STREAM_HEAD = `
  IF p_expected IS NULL THEN
    INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, n - 1)
      ON CONFLICT (stream_id) DO UPDATE SET revision = s.revision + n RETURNING s.revision INTO last_revision;
  ELSIF p_expected = -1 THEN
    INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, n - 1)
      ON CONFLICT (stream_id) DO NOTHING RETURNING s.revision INTO last_revision;
  ELSE
    UPDATE es_streams s SET revision = s.revision + n WHERE s.stream_id = p_stream_id AND s.revision = p_expected
      RETURNING s.revision INTO last_revision;
  END IF;
  IF last_revision IS NULL THEN
    SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = p_stream_id;
    RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
      DETAIL = json_build_array(p_stream_id, CASE WHEN p_expected = -1 THEN to_json('no_stream'::text) ELSE to_json(p_expected) END, actual)::text;
  END IF;`;

// One stream, any number of events: ids/types/versions as arrays, data and metadata as one jsonb
// array each (no array-literal escaping), a loop of single-row inserts (cached plan).
const STREAM_ARRAYS_FUNCTION = `
CREATE FUNCTION es_append_stream_arrays(p_stream_id text, p_expected integer, p_ids uuid[], p_types text[],
  p_versions integer[], p_data jsonb, p_metadata jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  n integer := cardinality(p_ids);
  last_revision integer;
  actual integer;
  position bigint;
  positions text := '';
BEGIN
  ${STREAM_HEAD}
  FOR i IN 1..n LOOP
    INSERT INTO es_events (stream_id, revision, event_id, event_type, schema_version, data, metadata)
      VALUES (p_stream_id, last_revision - n + i, p_ids[i], p_types[i], p_versions[i], p_data -> (i - 1), p_metadata -> (i - 1))
      RETURNING global_position INTO position;
    positions := positions || ' ' || position;
  END LOOP;
  RETURN last_revision || ' ' || pg_current_xact_id() || positions;
END;
$$`;

// Like STREAM_ARRAYS_FUNCTION, but 'no_stream' is a plain INSERT into es_streams (no ON CONFLICT
// speculative insertion): a second creator fails with unique_violation (23505) instead.
const STREAM_PLAIN_FUNCTION = STREAM_ARRAYS_FUNCTION.replace('es_append_stream_arrays', 'es_append_stream_plain').replace(
  `INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, n - 1)
      ON CONFLICT (stream_id) DO NOTHING RETURNING s.revision INTO last_revision;`,
  `INSERT INTO es_streams AS s (stream_id, revision) VALUES (p_stream_id, n - 1) RETURNING s.revision INTO last_revision;`,
);
const STREAM_PLAIN_SQL = `SELECT es_append_stream_plain($1, $2, $3, $4, $5, $6, $7) AS result`;

// STREAM_ARRAYS_FUNCTION as a procedure run by CALL (a utility statement: no planner, no portal).
const STREAM_CALL_PROCEDURE = STREAM_ARRAYS_FUNCTION.replace(
  'CREATE FUNCTION es_append_stream_arrays(p_stream_id text, p_expected integer, p_ids uuid[], p_types text[],\n  p_versions integer[], p_data jsonb, p_metadata jsonb)\nRETURNS text',
  'CREATE PROCEDURE es_append_stream_call(p_stream_id text, p_expected integer, p_ids uuid[], p_types text[],\n  p_versions integer[], p_data jsonb, p_metadata jsonb, INOUT result text)',
).replace('RETURN last_revision || \' \' || pg_current_xact_id() || positions;', 'result := last_revision || \' \' || pg_current_xact_id() || positions;');
const STREAM_CALL_SQL = `CALL es_append_stream_call($1, $2, $3, $4, $5, $6, $7, NULL)`;

const STREAM_ARRAYS_SQL = `SELECT es_append_stream_arrays($1, $2, $3, $4, $5, $6, $7) AS result`;

const streamArraysParams = () => {
  const { streamId, event } = userStatusChanged();
  const events = [event];
  return [
    streamId,
    -1,
    events.map((e) => e.id),
    events.map((e) => e.type),
    events.map((e) => e.schemaVersion),
    JSON.stringify(events.map((e) => e.data)),
    JSON.stringify(events.map((e) => e.metadata)),
  ];
};

// One stream, the events as one jsonb array of envelopes.
const STREAM_JSON_FUNCTION = `
CREATE FUNCTION es_append_stream_json(p_stream_id text, p_expected integer, p_events jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  n integer := jsonb_array_length(p_events);
  last_revision integer;
  actual integer;
  position bigint;
  positions text := '';
  e jsonb;
BEGIN
  ${STREAM_HEAD}
  FOR i IN 1..n LOOP
    e := p_events -> (i - 1);
    INSERT INTO es_events (stream_id, revision, event_id, event_type, schema_version, data, metadata)
      VALUES (p_stream_id, last_revision - n + i, (e ->> 'id')::uuid, e ->> 'type', (e ->> 'schemaVersion')::integer, e -> 'data', e -> 'metadata')
      RETURNING global_position INTO position;
    positions := positions || ' ' || position;
  END LOOP;
  RETURN last_revision || ' ' || pg_current_xact_id() || positions;
END;
$$`;

const STREAM_JSON_SQL = `SELECT es_append_stream_json($1, $2, $3) AS result`;

const LEAN_SQL = `SELECT revision, global_position::text AS global_position, transaction_id::text AS transaction_id
  FROM es_append_stream($1, $2, $3::uuid[], $4::text[], $5::integer[], $6::jsonb[], $7::jsonb[])`;

const arrayParams = () => {
  const { streamId, event } = userStatusChanged();
  const events = [event];
  return [
    streamId,
    -1,
    events.map((e) => e.id),
    events.map((e) => e.type),
    events.map((e) => e.schemaVersion),
    events.map((e) => JSON.stringify(e.data)),
    events.map((e) => JSON.stringify(e.metadata)),
  ];
};

const CTE_UNNEST_SQL = `WITH s AS (
    INSERT INTO es_streams (stream_id, revision) VALUES ($1, cardinality($2::uuid[]) - 1) ON CONFLICT DO NOTHING RETURNING stream_id, revision)
  INSERT INTO es_events (stream_id, revision, event_id, event_type, schema_version, data, metadata)
  SELECT s.stream_id, s.revision - cardinality($2::uuid[]) + e.ord::integer, e.id, e.type, e.v, e.d, e.m
    FROM s, unnest($2::uuid[], $3::text[], $4::integer[], $5::jsonb[], $6::jsonb[]) WITH ORDINALITY AS e(id, type, v, d, m, ord)
  RETURNING revision, global_position::text AS global_position, transaction_id::text AS transaction_id`;

/**
 * How the personal rows were written before they went into es_append_stream, and then into es_events'
 * own columns (for a head-to-head): a row of their own in es_personal_data, which the variant creates.
 */
const OLD_PERSONAL_TABLE = `CREATE TABLE IF NOT EXISTS es_personal_data (event_id uuid PRIMARY KEY, subject_ids text[] NOT NULL,
  data jsonb, erased jsonb NOT NULL, metadata jsonb, erased_metadata jsonb NOT NULL DEFAULT '{}')`;
const OLD_PERSONAL_CTE = `WITH a AS (SELECT es_append_stream($1, $2, $3::uuid[], $4::text[], $5::integer[], $6::jsonb, $7::jsonb, NULL) AS result),
  personal AS (
    INSERT INTO es_personal_data (event_id, subject_ids, data, erased, metadata, erased_metadata)
    SELECT r.event_id, r.subject_ids, CASE WHEN gone THEN NULL ELSE r.data END, COALESCE(r.erased, '{}'),
           CASE WHEN gone THEN NULL ELSE r.metadata END, COALESCE(r.erased_metadata, '{}')
      FROM jsonb_to_recordset($8::jsonb) AS r(event_id uuid, subject_ids text[], data jsonb, erased jsonb, metadata jsonb, erased_metadata jsonb),
           LATERAL (SELECT EXISTS (SELECT 1 FROM es_erased_subjects s WHERE s.subject_id = ANY (r.subject_ids)) AS gone) g
     WHERE (SELECT a.result FROM a) IS NOT NULL)
  SELECT result FROM a`;

/**
 * The lone append's own body as migration 0002 shipped it (es_append_stream before 0004 made it a call
 * of es_append_streams), under another name: the two single-stream bodies head to head (`--serial
 * lone-0002-body lone-streams-of-one`).
 */
const LONE_0002_FUNCTION = (() => {
  const sql = EVENT_STORE_MIGRATIONS.migrations.find((m) => m.name === '0002_personal_data_columns')!.sql;
  const start = sql.indexOf('CREATE OR REPLACE FUNCTION es_append_stream(');
  const end = sql.indexOf('\n$$;', start) + '\n$$;'.length;
  return sql.slice(start, end).replace('FUNCTION es_append_stream(', 'FUNCTION es_append_stream_0002(');
})();

/** es_append_streams as migration 0003 shipped it (before 0004 let a batch of one skip its sort), under another name. */
const STREAMS_0003_FUNCTION = EVENT_STORE_MIGRATIONS.migrations
  .find((m) => m.name === '0003_group_commit')!
  .sql.replace('FUNCTION es_append_streams(', 'FUNCTION es_append_streams_0003(');

const loneParams = (): unknown[] => {
  const { streamId, event } = userStatusChanged();
  return [streamId, 'no_stream', [event.id], [event.type], [event.schemaVersion], JSON.stringify([event.data]), JSON.stringify([event.metadata])];
};

const withoutReason = (): ReturnType<typeof userStatusChanged> => {
  const { streamId, event } = userStatusChanged();
  const { reason: _reason, ...metadata } = event.metadata;
  return { streamId, event: { ...event, metadata } };
};

const VARIANTS: readonly Variant[] = [
  { name: 'adapter', description: 'SqlEventStore.appendToStreams as it is', append: (_db, store) => storeAppend(store) },
  {
    name: 'adapter-group-commit-off',
    description: 'SqlEventStore.appendToStreams with group commit off: every append its own es_append_streams call (a batch of one)',
    append: (db) => {
      const alone = SqlEventStore.create(db, { groupCommit: false });
      return async () => storeAppend(await alone)();
    },
  },
  {
    name: 'lone-0002-body',
    description: 'one event to a new stream by the lone-append body of migration 0002 (es_append_stream before 0004), prepared',
    setup: LONE_0002_FUNCTION,
    append: (db) => async () => {
      await db.query(
        `SELECT es_append_stream_0002($1, $2, $3::uuid[], $4::text[], $5::integer[], $6::jsonb, $7::jsonb, NULL) AS result`,
        loneParams(),
        { name: 'lone-0002-body' },
      );
    },
  },
  {
    name: 'lone-streams-of-one',
    description: 'the same append as es_append_streams with a batch of one (what the adapter sends since 0004), prepared',
    append: (db) => async () => {
      const [streamId, expected, ids, types, versions, data, metadata] = loneParams();
      await db.query(
        `SELECT es_append_streams($1::text[], $2::text[], $3::integer[], $4::integer[], $5::uuid[], $6::text[], $7::integer[], $8::jsonb, $9::jsonb, $10::jsonb) AS results`,
        [[streamId], [expected], [1], [0], ids, types, versions, data, metadata, null],
        { name: 'lone-streams-of-one' },
      );
    },
  },
  {
    name: 'lone-0003-streams-of-one',
    description: 'the same append as a batch of one of es_append_streams as migration 0003 shipped it, prepared',
    setup: STREAMS_0003_FUNCTION,
    append: (db) => async () => {
      const [streamId, expected, ids, types, versions, data, metadata] = loneParams();
      await db.query(
        `SELECT es_append_streams_0003($1::text[], $2::text[], $3::integer[], $4::integer[], $5::uuid[], $6::text[], $7::integer[], $8::jsonb, $9::jsonb, $10::jsonb) AS results`,
        [[streamId], [expected], [1], [0], ids, types, versions, data, metadata, null],
        { name: 'lone-0003-streams-of-one' },
      );
    },
  },
  {
    name: 'adapter-no-reason',
    description: 'SqlEventStore.appendToStreams, the same event without a reason (nothing to keep beside the log)',
    append: (_db, store) => storeAppend(store, withoutReason),
  },
  {
    name: 'adapter-personal',
    description: 'SqlEventStore.appendToStreams with an event with personal data (UserRegistered)',
    append: (_db, store) => storeAppend(store, userRegistered),
  },
  {
    name: 'adapter-cte',
    description: 'the personal row written as two versions ago: es_append_stream inside a CTE with an INSERT into es_personal_data, prepared',
    setup: OLD_PERSONAL_TABLE,
    append: (_db, store, pool) => async () => {
      const { streamId, event } = userStatusChanged();
      const work = await (store as unknown as { personalWork(w: unknown): Promise<{ rows: unknown[]; stored: Map<string, typeof event> }> }).personalWork([
        { streamId, expectedRevision: 'no_stream', events: [event] },
      ]);
      const stored = work.stored.get(event.id)!;
      await pool.query({
        name: 'adapter-cte',
        text: OLD_PERSONAL_CTE,
        values: [streamId, 'no_stream', [stored.id], [stored.type], [stored.schemaVersion], JSON.stringify([stored.data]), JSON.stringify([stored.metadata]), JSON.stringify(work.rows)],
      });
    },
  },
  { name: 'peer-personal', description: 'the plain INSERT of UserRegistered (for --serial)', setup: PEER_TABLE, append: (db) => peerAppend(db, userRegistered) },
  { name: 'peer', description: 'the plain INSERT itself (for --serial)', setup: PEER_TABLE, append: (db) => peerAppend(db) },
  {
    name: 'peer-prepared',
    description: 'the plain INSERT as a named prepared statement',
    setup: PEER_TABLE,
    append: (_db, _store, pool) => async () => {
      const { streamId, event } = userStatusChanged();
      await pool.query({
        name: 'peer',
        text: PEER_INSERT,
        values: [streamId, 0, event.id, event.type, event.schemaVersion, JSON.stringify(event.data), JSON.stringify(event.metadata)],
      });
    },
  },
  {
    name: 'raw-es_append',
    description: 'the adapter\'s es_append call alone (no JS around it)',
    append: (db) => async () => {
      await db.query(ES_APPEND_SQL, [payloadOf().json, null]);
    },
  },
  {
    name: 'prepared-es_append',
    description: 'es_append as a named prepared statement',
    append: (_db, _store, pool) => async () => {
      await pool.query({ name: 'es_append', text: ES_APPEND_SQL, values: [payloadOf().json, null] });
    },
  },
  {
    name: 'es_append-no-log-index',
    description: 'es_append without the (transaction_id, global_position) index',
    setup: 'DROP INDEX es_events_log_order',
    append: (db) => async () => {
      await db.query(ES_APPEND_SQL, [payloadOf().json, null]);
    },
  },
  {
    name: 'sql-cte',
    description: 'one SQL statement: insert es_streams ON CONFLICT DO NOTHING, then es_events (no plpgsql, no jsonb envelope)',
    append: (db) => async () => {
      await db.query(CTE_SQL, cteParams());
    },
  },
  {
    name: 'sql-cte-prepared',
    description: 'sql-cte as a named prepared statement',
    append: (_db, _store, pool) => async () => {
      await pool.query({ name: 'cte', text: CTE_SQL, values: cteParams() });
    },
  },
  {
    name: 'plpgsql-lean',
    description: 'a lean plpgsql function for one stream: typed arrays instead of a jsonb envelope',
    setup: LEAN_FUNCTION,
    append: (db) => async () => {
      await db.query(LEAN_SQL, arrayParams());
    },
  },
  {
    name: 'plpgsql-lean-prepared',
    description: 'plpgsql-lean as a named prepared statement',
    setup: LEAN_FUNCTION,
    append: (_db, _store, pool) => async () => {
      await pool.query({ name: 'lean', text: LEAN_SQL, values: arrayParams() });
    },
  },
  {
    name: 'plpgsql-text',
    description: 'plain plpgsql function (SELECT f(...), typed arrays) returning text',
    setup: TEXT_FUNCTION,
    append: (db) => async () => {
      await db.query(TEXT_SQL, arrayParams());
    },
  },
  {
    name: 'plpgsql-text-prepared',
    description: 'plpgsql-text as a named prepared statement',
    setup: TEXT_FUNCTION,
    append: (_db, _store, pool) => async () => {
      await pool.query({ name: 'text', text: TEXT_SQL, values: arrayParams() });
    },
  },
  {
    name: 'plpgsql-scalar',
    description: 'plain plpgsql function for exactly one event, scalar parameters, returning text',
    setup: SCALAR_FUNCTION,
    append: (db) => async () => {
      await db.query(SCALAR_SQL, cteParams().flatMap((p, i) => (i === 0 ? [p, -1] : [p])));
    },
  },
  {
    name: 'plpgsql-stream-arrays',
    description: 'plain plpgsql function for one stream: typed arrays + jsonb arrays, loop of inserts, returns text',
    setup: STREAM_ARRAYS_FUNCTION,
    append: (db) => async () => {
      await db.query(STREAM_ARRAYS_SQL, streamArraysParams());
    },
  },
  {
    name: 'plpgsql-stream-plain',
    description: 'plpgsql-stream-arrays with a plain INSERT (no ON CONFLICT) into es_streams for no_stream',
    setup: STREAM_PLAIN_FUNCTION,
    append: (db) => async () => {
      await db.query(STREAM_PLAIN_SQL, streamArraysParams());
    },
  },
  {
    name: 'plpgsql-stream-arrays-prepared',
    description: 'plpgsql-stream-arrays as a named prepared statement',
    setup: STREAM_ARRAYS_FUNCTION,
    append: (_db, _store, pool) => async () => {
      await pool.query({ name: 'stream-arrays', text: STREAM_ARRAYS_SQL, values: streamArraysParams() });
    },
  },
  {
    name: 'plpgsql-stream-call',
    description: 'plpgsql-stream-arrays as a procedure run by CALL',
    setup: STREAM_CALL_PROCEDURE,
    append: (db) => async () => {
      await db.query(STREAM_CALL_SQL, streamArraysParams());
    },
  },
  {
    name: 'plpgsql-stream-json',
    description: 'plain plpgsql function for one stream: the events as one jsonb array, loop of inserts, returns text',
    setup: STREAM_JSON_FUNCTION,
    append: (db) => async () => {
      const { streamId, event } = userStatusChanged();
      await db.query(STREAM_JSON_SQL, [streamId, -1, JSON.stringify([event])]);
    },
  },
  {
    name: 'sql-cte-unnest',
    description: 'sql-cte with typed arrays (any number of events), unprepared',
    append: (db) => async () => {
      const p = arrayParams();
      await db.query(CTE_UNNEST_SQL, [p[0], ...p.slice(2)]);
    },
  },
  {
    name: 'sql-cte-unnest-prepared',
    description: 'sql-cte-unnest as a named prepared statement',
    append: (_db, _store, pool) => async () => {
      const p = arrayParams();
      await pool.query({ name: 'cte-unnest', text: CTE_UNNEST_SQL, values: [p[0], ...p.slice(2)] });
    },
  },
  {
    name: 'events-only',
    description: 'insert into es_events alone (xid8 column + log index, no es_streams)',
    append: (db) => async () => {
      const p = cteParams();
      await db.query(
        `INSERT INTO es_events (stream_id, revision, event_id, event_type, schema_version, data, metadata)
         VALUES ($1, 0, $2, $3, $4, $5, $6) RETURNING global_position::text, transaction_id::text`,
        p,
      );
    },
  },
  {
    name: 'events-only-no-log-index',
    description: 'insert into es_events alone, without the log index',
    setup: 'DROP INDEX es_events_log_order',
    append: (db) => async () => {
      const p = cteParams();
      await db.query(
        `INSERT INTO es_events (stream_id, revision, event_id, event_type, schema_version, data, metadata)
         VALUES ($1, 0, $2, $3, $4, $5, $6) RETURNING global_position::text, transaction_id::text`,
        p,
      );
    },
  },
];

/**
 * `--serial`: one connection, one writer, every variant in turn (repeated `BENCH_ROUNDS` times,
 * interleaved): PostgreSQL backend CPU and Node CPU per event without contention, which is much
 * steadier than throughput on a shared machine.
 */
const serial = async (url: string, variants: readonly Variant[]): Promise<void> => {
  const events = Number(process.env.BENCH_EVENTS) || 3000;
  const rounds = Number(process.env.BENCH_ROUNDS) || 3;
  await withSchema(url, async (options, admin) => {
    interface Side {
      variant: Variant;
      db: SqlDatabase;
      pool: Pool;
      append: Append;
      schema: string;
      server: number[];
      node: number[];
    }
    const sides: Side[] = [];
    for (const variant of variants) {
      // A schema per variant, so dropped indexes do not leak into the others.
      const schema: string = `${options.replace('-c search_path=', '')}_${sides.length}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      // No WAL flush wait per commit: it costs the same for every variant and only adds noise here.
      const variantOptions = `-c search_path=${schema} -c synchronous_commit=${process.env.BENCH_SYNC ?? 'off'}`;
      const db = openPostgres(url, { max: 1, options: variantOptions, application_name: `bench-serial-${sides.length}` });
      const pool = new Pool({ connectionString: url, max: 1, options: variantOptions, application_name: `bench-serial-${sides.length}` });
      const store = await SqlEventStore.create(db);
      if (variant.setup) await db.query(variant.setup);
      sides.push({ variant, db, pool, append: variant.append(db, store, pool), schema, server: [] as number[], node: [] as number[] });
    }
    try {
      for (let round = 0; round < rounds; round++) {
        for (const side of round % 2 ? [...sides].reverse() : sides) {
          const pids = async () => {
            const rows = await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1`, [
              `bench-serial-${sides.indexOf(side)}`,
            ]);
            return rows.rows.map((r) => r.pid);
          };
          await runFor(side.append, 1, 0.2); // opens the connections, warms caches
          const result = await runCount(side.append, 1, events, await pids());
          side.server.push(result.serverCpuUs);
          side.node.push(result.nodeCpuUs);
        }
      }
      const peer = sides.find((s) => s.variant.name === 'peer');
      for (const side of sides) {
        const server = median(side.server);
        const node = median(side.node);
        const relative = peer ? ` (server ×${fmt(server / median(peer.server), 2)}, server+node ×${fmt((server + node) / (median(peer.server) + median(peer.node)), 2)} of peer)` : '';
        console.log(
          `${side.variant.name.padEnd(26)} server ${fmt(server).padStart(4)} µs/event, node ${fmt(node).padStart(4)} µs/event${relative}` +
            `  [server per round: ${side.server.map((n) => fmt(n)).join(', ')}]`,
        );
      }
    } finally {
      for (const side of sides) {
        await side.db.close();
        await side.pool.end();
        await admin.query(`DROP SCHEMA ${side.schema} CASCADE`);
      }
    }
  });
};

/** Group-commit settings head to head, with the plain INSERT, interleaved (see the usage above). */
const groupCommitCaps = async (url: string, settings: readonly string[]): Promise<void> => {
  const rounds = Number(process.env.BENCH_ROUNDS) || 3;
  const seconds = Number(process.env.BENCH_SECONDS) || 3;
  await withSchema(url, async (options, admin) => {
    const storeDb = openPostgres(url, poolOptions('store', options, 16));
    const peerDb = openPostgres(url, poolOptions('peer', options, 16));
    try {
      const counted = countingAppendCalls(storeDb);
      await createPeerTable(peerDb);
      const sides: { name: string; side: 'store' | 'peer'; append: Append; runs: RunResult[]; perCall: number[] }[] = [
        { name: 'INSERT', side: 'peer', append: peerAppend(peerDb), runs: [], perCall: [] },
      ];
      for (const setting of settings) {
        const caps = /^(\d+):(\d+)(:gather)?$/.exec(setting);
        if (!caps && setting !== 'off') throw new Error(`--group-commit: '${setting}' is neither off nor <max in flight>:<max batch>[:gather]`);
        const groupCommit = caps ? { maxInFlight: Number(caps[1]), maxBatch: Number(caps[2]), gather: caps[3] !== undefined } : false;
        sides.push({ name: setting, side: 'store', append: storeAppend(await SqlEventStore.create(counted.db, { groupCommit })), runs: [], perCall: [] });
      }
      for (const side of sides) await runFor(side.append, 16, 1);
      for (let round = 0; round < rounds; round++) {
        for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
          await admin.query('CHECKPOINT').catch(() => undefined);
          const pids = (
            await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [APPLICATION_NAME[side.side]])
          ).rows.map((row) => row.pid);
          const calls = counted.calls();
          const run = await runFor(side.append, 16, seconds, pids);
          side.runs.push(run);
          side.perCall.push(run.events / (counted.calls() - calls));
          console.log(`  round ${round + 1} ${side.name}: ${fmt(run.perSecond)}/s`);
        }
      }
      const peerRate = median(sides[0]!.runs.map((r) => r.perSecond));
      for (const side of sides) {
        const rate = median(side.runs.map((r) => r.perSecond));
        console.log(
          `${side.name.padEnd(8)} ${fmt(rate)}/s, ${fmt(rate / peerRate, 2)}× the INSERT, ` +
            (side.side === 'store' ? `${fmt(median(side.perCall), 1)} appends per call, ` : '') +
            `CPU µs/event node ${fmt(median(side.runs.map((r) => r.nodeCpuUs)))} PostgreSQL ${fmt(median(side.runs.map((r) => r.serverCpuUs)))}`,
        );
      }
    } finally {
      await Promise.all([storeDb.close(), peerDb.close()]);
    }
  });
};

const main = async (): Promise<void> => {
  const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const args = process.argv.slice(2);
  const groupCommitAt = args.indexOf('--group-commit');
  if (groupCommitAt >= 0) return groupCommitCaps(url, (args[groupCommitAt + 1] ?? '').split(','));
  const againstAt = args.indexOf('--against');
  const against = againstAt >= 0 ? VARIANTS.find((v) => v.name === args[againstAt + 1]) : undefined;
  if (againstAt >= 0 && !against) throw new Error(`--against: no variant ${args[againstAt + 1]}`);
  const wanted = args.filter((a, i) => a !== '--serial' && (againstAt < 0 || (i !== againstAt && i !== againstAt + 1)));
  if (args.includes('--serial')) {
    return serial(url, wanted.length ? VARIANTS.filter((v) => wanted.includes(v.name)) : VARIANTS);
  }
  const selected = wanted.length ? VARIANTS.filter((v) => wanted.includes(v.name)) : VARIANTS;
  const rounds = Number(process.env.BENCH_ROUNDS) || 3;
  const seconds = Number(process.env.BENCH_SECONDS) || 3;
  const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS) || 1;
  const summary: string[] = [];
  for (const variant of selected) {
    console.log(`${variant.name}: ${variant.description}${against ? ` (against ${against.name} instead of the plain INSERT)` : ''}`);
    await withSchema(url, async (options, admin) => {
      // BENCH_POOL: connections per side (16 as in the benchmark unless set; for diagnosis).
      const connections = Number(process.env.BENCH_POOL) || 16;
      const db = openPostgres(url, poolOptions('store', options, connections));
      const peerDb = openPostgres(url, poolOptions('peer', options, connections));
      // For named (prepared) statements, which SqlDatabase does not offer.
      const pool = new Pool({ connectionString: url, ...poolOptions('store', options, connections) });
      try {
        const store = await SqlEventStore.create(db);
        await createPeerTable(peerDb);
        if (variant.setup) await db.query(variant.setup);
        if (against?.setup && against.setup !== variant.setup) await db.query(against.setup);
        const result = await compare(
          { store: variant.append(db, store, pool), peer: against ? against.append(db, store, pool) : peerAppend(peerDb) },
          { admin, writers: 16, rounds, seconds, warmupSeconds, log: (line) => console.log(line) },
        );
        const cpu = (side: 'store' | 'peer', key: 'nodeCpuUs' | 'serverCpuUs' | 'machineCpuUs') =>
          fmt(result.rounds.reduce((n, r) => n + r[side][key], 0) / result.rounds.length);
        const line =
          `${variant.name.padEnd(26)} ratio ${fmt(result.medianRatio, 2)}  (${fmt(result.storeMedian)} vs ${fmt(result.peerMedian)}/s; ` +
          `CPU µs/event node ${cpu('store', 'nodeCpuUs')} vs ${cpu('peer', 'nodeCpuUs')}, ` +
          `server ${cpu('store', 'serverCpuUs')} vs ${cpu('peer', 'serverCpuUs')}, machine ${cpu('store', 'machineCpuUs')} vs ${cpu('peer', 'machineCpuUs')})`;
        console.log(line + '\n');
        summary.push(line);
      } finally {
        await Promise.all([db.close(), peerDb.close(), pool.end()]);
      }
    });
  }
  console.log(summary.join('\n'));
};

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
