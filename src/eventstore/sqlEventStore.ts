import {
  START,
  WrongExpectedRevisionError,
  IdempotencyKeyReusedError,
  type AppendOptions,
  type EventMetadata,
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
import { AppendBatcher, type BatchOutcome, type GroupCommitOptions } from './appendBatcher';
import { migrate as applyMigrations, migrationSet } from '../sql/migrations';
import type { SqlDatabase, SqlExecutor } from '../sql/sqlDatabase';
import {
  ERASED,
  PERSONAL_DATA,
  PERSONAL_DATA_ERASED,
  PERSONAL_EVENT_TYPES,
  maskInlinePersonalData,
  splitPersonalData,
  subjectsOf,
  type PersonalDataMarker,
} from '../domain/personalData';

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
 * no idempotency key) calls `es_append_streams`, which takes plain typed parameters and returns one
 * text value per append; everything else calls the general `es_append`. Both check alike; the lean
 * one is much cheaper for PostgreSQL to parse, plan and run (see BENCHMARKS.md, append-throughput).
 * An append on its own is a batch of one; common appends that arrive while others are in flight are
 * sent together, as one call (one round trip, one transaction, one commit; see AppendBatcher), each
 * with its own outcome. (`es_append_stream`, the lone append of earlier versions, is now a call of
 * `es_append_streams`: migration 0004.)
 */
/** The previous hash of a stream's first event: 32 zero bytes, as a bytea literal. */
const GENESIS = `'\\x${'00'.repeat(32)}'::bytea`;

// 0001_baseline: the schema as the code created it before migrations were recorded. Shipped: never
// edited (its checksum is recorded); later changes are the migrations after it.
/**
 * Writes an append's personal rows (a jsonb array of `PersonalRow`s, see personalWork) beside its
 * events, inside the append functions: the same statement and transaction as the events, no CTE
 * around the call and no second round trip. A row of a subject already erased is stored erased.
 */
const KEEP_PERSONAL_DATA = (rows: string): string => `
    INSERT INTO es_personal_data (event_id, subject_ids, data, erased, metadata, erased_metadata)
    SELECT r.event_id, r.subject_ids, CASE WHEN g.gone THEN NULL ELSE r.data END, r.erased,
           CASE WHEN g.gone THEN NULL ELSE r.metadata END, r.erased_metadata
      FROM jsonb_to_recordset(${rows}) AS r(event_id uuid, subject_ids text[], data jsonb, erased jsonb, metadata jsonb, erased_metadata jsonb),
           LATERAL (SELECT EXISTS (SELECT 1 FROM es_erased_subjects s WHERE s.subject_id = ANY (r.subject_ids)) AS gone) g`;

const BASELINE_SCHEMA = /* sql */ `
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

-- Tamper evidence (src/eventstore/tamperEvidence.ts verifies). Each event's hash chains it to the
-- previous event of its stream; previous_hash is stored too, so that an edited row (hash no longer
-- matches its content) can be told from a broken link (a row before it was edited and re-hashed).
-- The stream's head hash lives in es_streams, so appending reads no event. Nullable because databases
-- that predate the columns get them backfilled by es_backfill_hashes after this script.
ALTER TABLE es_streams ADD COLUMN IF NOT EXISTS last_hash bytea;
ALTER TABLE es_events ADD COLUMN IF NOT EXISTS previous_hash bytea, ADD COLUMN IF NOT EXISTS hash bytea;

-- sha256(previous hash || UTF-8 of the canonical text). The previous hash is 32 bytes (32 zero bytes
-- before revision 0), so where it ends is fixed. The text is one line per field: stream id length,
-- stream id, revision, event id, event type length, event type, schema version, data, metadata. The
-- two free-form strings are preceded by their length in characters and the JSON texts (jsonb's own
-- rendering) never contain a raw newline, so no two different events share a canonical text.
-- tamperEvidence.ts rebuilds it independently, in TypeScript: change both or neither. Explicit casts
-- to text and text || text only (textcat): integer || text (anytextcat) and concat_ws ("any"
-- arguments) look up output functions on every call, which showed in the append benchmark. No
-- argument is ever NULL except p_previous (a stream awaiting its backfill), which makes the hash NULL
-- either way. STABLE and plain SQL so that PostgreSQL inlines it.
CREATE OR REPLACE FUNCTION es_event_hash(p_previous bytea, p_stream_id text, p_revision integer, p_event_id uuid,
                                         p_event_type text, p_schema_version integer, p_data jsonb, p_metadata jsonb)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT sha256(p_previous || convert_to(
    length(p_stream_id)::text || E'\\n' || p_stream_id || E'\\n' || p_revision::text || E'\\n' || p_event_id::text || E'\\n' ||
    length(p_event_type)::text || E'\\n' || p_event_type || E'\\n' || p_schema_version::text || E'\\n' ||
    p_data::text || E'\\n' || p_metadata::text, 'UTF8'))
$$;

-- The append functions now take the append's personal rows as a last argument (default NULL, so a
-- call without it still works): the versions without it would make such calls ambiguous.
DROP FUNCTION IF EXISTS es_append(jsonb, text);
DROP FUNCTION IF EXISTS es_append_stream(text, text, uuid[], text[], integer[], jsonb, jsonb);

-- p_writes: [{ "streamId", "expected": "any" | "no_stream" | <int>, "events": [{ "id", "type",
-- "schemaVersion", "data", "metadata" }] }]. Returns the stored rows; "duplicate" is true when the
-- idempotency key had been used (nothing is written then). A broken expectation raises SQLSTATE
-- ES409 with the stream, expected and actual revisions in DETAIL. p_personal: the personal rows to
-- keep beside the events (see KEEP_PERSONAL_DATA), or NULL.
CREATE OR REPLACE FUNCTION es_append(p_writes jsonb, p_idempotency_key text, p_personal jsonb DEFAULT NULL)
RETURNS TABLE (stream_id text, revision integer, global_position bigint, transaction_id xid8,
               event_id uuid, duplicate boolean, hash bytea)
LANGUAGE plpgsql AS $$
DECLARE
  w jsonb;
  item record;
  n integer;
  expected jsonb;
  last_revision integer;
  actual integer;
  previous bytea;
  next_hash bytea;
  stored_streams text[];
  requested_streams text[];
  first_key_use boolean := true;
  genesis constant bytea := ${GENESIS};
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
        SELECT ev.stream_id, ev.revision, ev.global_position, ev.transaction_id, ev.event_id, true, ev.hash
          FROM es_events ev JOIN es_idempotency i ON ev.event_id = ANY (i.event_ids)
         WHERE i.idempotency_key = p_idempotency_key
         ORDER BY ev.transaction_id, ev.global_position;
      RETURN;
    END IF;
  END IF;

  -- Lock streams in one order so two multi-stream appends cannot deadlock. Each lock also reads the
  -- stream's head hash (a new stream's row starts at the genesis value and is set after its events).
  FOR w IN SELECT x FROM jsonb_array_elements(p_writes) x ORDER BY x ->> 'streamId' LOOP
    n := jsonb_array_length(w -> 'events');
    expected := w -> 'expected';
    IF expected = '"no_stream"' THEN
      INSERT INTO es_streams AS s (stream_id, revision, last_hash) VALUES (w ->> 'streamId', n - 1, genesis)
        ON CONFLICT ON CONSTRAINT es_streams_pkey DO NOTHING;
      GET DIAGNOSTICS actual = ROW_COUNT;
      IF actual = 0 THEN
        SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = w ->> 'streamId';
        RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
          DETAIL = json_build_array(w ->> 'streamId', 'no_stream', actual)::text;
      END IF;
      IF n = 0 THEN
        -- A check that the stream does not exist: the row just inserted holds its key until this
        -- transaction ends (a concurrent first append to it waits, then goes ahead; one that got there
        -- first makes the insert above fail), and is removed so the stream still does not exist.
        DELETE FROM es_streams s WHERE s.stream_id = w ->> 'streamId';
        CONTINUE;
      END IF;
      last_revision := n - 1;
      previous := genesis;
    ELSIF expected = '"any"' THEN
      INSERT INTO es_streams AS s (stream_id, revision, last_hash) VALUES (w ->> 'streamId', n - 1, genesis)
        ON CONFLICT ON CONSTRAINT es_streams_pkey DO UPDATE SET revision = s.revision + n
        RETURNING s.revision, s.last_hash INTO last_revision, previous;
    ELSE
      UPDATE es_streams s SET revision = s.revision + n
       WHERE s.stream_id = w ->> 'streamId' AND s.revision = (expected #>> '{}')::integer
       RETURNING s.revision, s.last_hash INTO last_revision, previous;
      IF last_revision IS NULL THEN
        SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = w ->> 'streamId';
        RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
          DETAIL = json_build_array(w ->> 'streamId', (expected #>> '{}')::integer, actual)::text;
      END IF;
    END IF;

    -- A stream not yet backfilled has no head hash (NULL): its new events get none either, and
    -- es_backfill_hashes chains them with the rest.
    FOR item IN SELECT x.value, x.ordinality::integer AS i FROM jsonb_array_elements(w -> 'events') WITH ORDINALITY x LOOP
      next_hash := es_event_hash(previous, w ->> 'streamId', last_revision - n + item.i, (item.value ->> 'id')::uuid,
                                 item.value ->> 'type', (item.value ->> 'schemaVersion')::integer, item.value -> 'data', item.value -> 'metadata');
      RETURN QUERY
        INSERT INTO es_events AS ev (stream_id, revision, event_id, event_type, schema_version, data, metadata, previous_hash, hash)
        VALUES (w ->> 'streamId', last_revision - n + item.i, (item.value ->> 'id')::uuid, item.value ->> 'type',
                (item.value ->> 'schemaVersion')::integer, item.value -> 'data', item.value -> 'metadata', previous, next_hash)
        RETURNING ev.stream_id, ev.revision, ev.global_position, ev.transaction_id, ev.event_id, false, ev.hash;
      previous := next_hash;
    END LOOP;
    IF n > 0 THEN
      UPDATE es_streams s SET last_hash = previous WHERE s.stream_id = w ->> 'streamId';
    END IF;
  END LOOP;
  IF p_personal IS NOT NULL THEN${KEEP_PERSONAL_DATA('p_personal')};
  END IF;
END;
$$;

-- The common append, one stream and no idempotency key, with es_append's checks, errors and hashes.
-- Plain typed parameters instead of a jsonb envelope, and a plain (not set-returning) result, which
-- cost far less to parse, plan and run per call. p_expected: 'any', 'no_stream' or the revision as
-- text; p_data and p_metadata: jsonb arrays with one element per event. Returns '<last revision>
-- <transaction id> <global position of each event, in order> <hash of each event, hex, in order>',
-- space-separated (a hash is '-' when the stream awaits its backfill). p_personal: the personal rows
-- to keep beside the events, or NULL.
CREATE OR REPLACE FUNCTION es_append_stream(p_stream_id text, p_expected text, p_ids uuid[], p_types text[],
                                            p_schema_versions integer[], p_data jsonb, p_metadata jsonb,
                                            p_personal jsonb DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  n integer := cardinality(p_ids);
  last_revision integer;
  actual integer;
  pos bigint;
  positions text;
  hashes text;
  previous bytea;
  next_hash bytea;
  chain bytea[];
BEGIN
  IF p_expected = 'no_stream' AND n = 1 THEN
    -- The hot path, one event to a new stream: its hash is computed within the stream row's INSERT
    -- (head hash included, so es_streams is written once), and then the event is written with it.
    -- As few plpgsql statements as possible (variable defaults included): each costs its expression
    -- setup on every call.
    INSERT INTO es_streams AS s (stream_id, revision, last_hash)
      VALUES (p_stream_id, 0, es_event_hash(${GENESIS}, p_stream_id, 0, p_ids[1], p_types[1], p_schema_versions[1],
                                            p_data -> 0, p_metadata -> 0))
      ON CONFLICT ON CONSTRAINT es_streams_pkey DO NOTHING
      RETURNING s.last_hash INTO next_hash;
    IF next_hash IS NOT NULL THEN
      INSERT INTO es_events AS ev (stream_id, revision, event_id, event_type, schema_version, data, metadata, previous_hash, hash)
        VALUES (p_stream_id, 0, p_ids[1], p_types[1], p_schema_versions[1], p_data -> 0, p_metadata -> 0, ${GENESIS}, next_hash)
        RETURNING ev.global_position INTO pos;
      IF p_personal IS NOT NULL THEN${KEEP_PERSONAL_DATA('p_personal')};
      END IF;
      RETURN '0 ' || pg_current_xact_id()::text || ' ' || pos::text || ' ' || encode(next_hash, 'hex');
    END IF;
  ELSIF p_expected = 'no_stream' THEN
    -- A new stream's chain is known before the stream row is written, so the row is written once,
    -- head hash included (no second write of es_streams).
    next_hash := ${GENESIS};
    FOR i IN 1 .. n LOOP
      next_hash := es_event_hash(next_hash, p_stream_id, i - 1, p_ids[i], p_types[i], p_schema_versions[i],
                                 p_data -> (i - 1), p_metadata -> (i - 1));
      chain[i] := next_hash;
    END LOOP;
    INSERT INTO es_streams AS s (stream_id, revision, last_hash) VALUES (p_stream_id, n - 1, next_hash)
      ON CONFLICT ON CONSTRAINT es_streams_pkey DO NOTHING
      RETURNING s.revision INTO last_revision;
    previous := ${GENESIS};
  ELSIF p_expected = 'any' THEN
    INSERT INTO es_streams AS s (stream_id, revision, last_hash) VALUES (p_stream_id, n - 1, ${GENESIS})
      ON CONFLICT ON CONSTRAINT es_streams_pkey DO UPDATE SET revision = s.revision + n
      RETURNING s.revision, s.last_hash INTO last_revision, previous;
  ELSE
    UPDATE es_streams s SET revision = s.revision + n
     WHERE s.stream_id = p_stream_id AND s.revision = p_expected::integer
     RETURNING s.revision, s.last_hash INTO last_revision, previous;
  END IF;
  IF last_revision IS NULL THEN
    SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = p_stream_id;
    RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
      DETAIL = json_build_array(p_stream_id,
                                CASE WHEN p_expected = 'no_stream' THEN to_json(p_expected) ELSE to_json(p_expected::integer) END,
                                actual)::text;
  END IF;
  positions := '';
  hashes := '';
  FOR i IN 1 .. n LOOP
    IF chain IS NULL THEN
      next_hash := es_event_hash(previous, p_stream_id, last_revision - n + i, p_ids[i], p_types[i], p_schema_versions[i],
                                 p_data -> (i - 1), p_metadata -> (i - 1));
    ELSE
      next_hash := chain[i];
    END IF;
    INSERT INTO es_events AS ev (stream_id, revision, event_id, event_type, schema_version, data, metadata, previous_hash, hash)
      VALUES (p_stream_id, last_revision - n + i, p_ids[i], p_types[i], p_schema_versions[i],
              p_data -> (i - 1), p_metadata -> (i - 1), previous, next_hash)
      RETURNING ev.global_position INTO pos;
    positions := positions || ' ' || pos;
    hashes := hashes || ' ' || coalesce(encode(next_hash, 'hex'), '-');
    previous := next_hash;
  END LOOP;
  IF chain IS NULL AND n > 0 THEN
    UPDATE es_streams s SET last_hash = previous WHERE s.stream_id = p_stream_id;
  END IF;
  IF p_personal IS NOT NULL THEN${KEEP_PERSONAL_DATA('p_personal')};
  END IF;
  RETURN last_revision || ' ' || pg_current_xact_id() || positions || hashes;
END;
$$;

-- Backfill for databases whose events predate the hash columns: chains up to p_max_streams streams
-- that have no head hash, in stream id order after p_after, each from its first event in revision
-- order, and returns the last stream id looked at (NULL when there are none left). Each stream is
-- locked (appends to it wait) and chained whole, so a call that is interrupted leaves every stream
-- either chained or untouched: call again until NULL, in separate transactions, to resume. A stream
-- any of whose events already has a hash is not a stream that predates the columns but a damaged
-- one: it is left for the verifier to report, never re-chained (which would hide the damage).
CREATE OR REPLACE FUNCTION es_backfill_hashes(p_after text, p_max_streams integer)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  s record;
  e record;
  previous bytea;
  next_hash bytea;
  last_seen text;
  genesis constant bytea := ${GENESIS};
BEGIN
  FOR s IN SELECT st.stream_id FROM es_streams st
            WHERE st.last_hash IS NULL AND st.stream_id > p_after
            ORDER BY st.stream_id LIMIT p_max_streams LOOP
    last_seen := s.stream_id;
    PERFORM 1 FROM es_streams st WHERE st.stream_id = s.stream_id AND st.last_hash IS NULL FOR UPDATE;
    CONTINUE WHEN NOT FOUND;
    CONTINUE WHEN EXISTS (SELECT 1 FROM es_events ev WHERE ev.stream_id = s.stream_id AND ev.hash IS NOT NULL);
    previous := genesis;
    FOR e IN SELECT ev.revision, ev.event_id, ev.event_type, ev.schema_version, ev.data, ev.metadata
               FROM es_events ev WHERE ev.stream_id = s.stream_id ORDER BY ev.revision LOOP
      next_hash := es_event_hash(previous, s.stream_id, e.revision, e.event_id, e.event_type, e.schema_version, e.data, e.metadata);
      UPDATE es_events ev SET previous_hash = previous, hash = next_hash
       WHERE ev.stream_id = s.stream_id AND ev.revision = e.revision;
      previous := next_hash;
    END LOOP;
    IF previous IS DISTINCT FROM genesis THEN
      UPDATE es_streams st SET last_hash = previous WHERE st.stream_id = s.stream_id;
    END IF;
  END LOOP;
  RETURN last_seen;
END;
$$;

-- Personal data (src/domain/personalData.ts says which fields of which events): kept beside the log,
-- one row per event, so that erasing it deletes values that never entered es_events (whose hash
-- chains stay whole). data: the personal fields as written, NULL once erased; erased: what they read
-- as afterwards. metadata and erased_metadata: the same for the free-text reason of the metadata. An
-- event written before this table existed keeps its personal values inline; erasing its subject adds
-- a row here with data and metadata NULL, which masks them on every read.
CREATE TABLE IF NOT EXISTS es_personal_data (
  event_id uuid PRIMARY KEY,
  subject_ids text[] NOT NULL,
  data jsonb,
  erased jsonb NOT NULL
);
ALTER TABLE es_personal_data ADD COLUMN IF NOT EXISTS metadata jsonb, ADD COLUMN IF NOT EXISTS erased_metadata jsonb NOT NULL DEFAULT '{}';
-- No index on subject_ids: an erasure (rare, an admin's) scans the table once; every append with
-- personal data (common) would pay for a GIN entry per subject.
-- Whose personal data was erased (by the PersonalDataErased event erased_by): personal data of theirs
-- appended later is stored already erased.
CREATE TABLE IF NOT EXISTS es_erased_subjects (
  subject_id text PRIMARY KEY,
  erased_by uuid NOT NULL,
  erased_at timestamptz NOT NULL DEFAULT now()
);
-- The log as every reader sees it: es_events' columns, in its order, with each event's personal part
-- merged back into data and metadata (or its erased form), then the metadata as stored (never holds
-- a personal value; filters on it use es_events' indexes). The store's reads, the audit log, the
-- exports and the SQL replays all read this; only tamper verification reads es_events itself.
CREATE OR REPLACE VIEW es_events_merged AS
  SELECT e.global_position, e.transaction_id, e.stream_id, e.revision, e.event_id, e.event_type, e.schema_version,
         CASE WHEN p.event_id IS NULL THEN e.data ELSE e.data || COALESCE(p.data, p.erased) END AS data,
         CASE WHEN p.event_id IS NULL THEN e.metadata ELSE e.metadata || COALESCE(p.metadata, p.erased_metadata) END AS metadata,
         e.recorded_at, e.previous_hash, e.hash, e.metadata AS stored_metadata
    FROM es_events e LEFT JOIN es_personal_data p ON p.event_id = e.event_id;
`;

/**
 * An event row's INSERT into es_events, personal part included: the columns, and the FROM clause whose
 * `p` gives the event's personal part (es_personal_part: its row of the append's personal rows, erased
 * already when one of its subjects is, or none). One statement per event, inside the append functions:
 * no second row, no CTE around the call and no second round trip.
 */
const EVENT_INSERT_COLUMNS = `stream_id, revision, event_id, event_type, schema_version, data, metadata, previous_hash, hash,
                             personal_subjects, personal_data, personal_erased, personal_metadata, personal_erased_metadata`;
const PERSONAL_VALUES = `p.subject_ids, p.data, p.erased, p.metadata, p.erased_metadata`;
const WITH_PERSONAL_PART = (rows: string, eventId: string): string =>
  `FROM (VALUES (1)) AS one LEFT JOIN es_personal_part(${rows}, ${eventId}) AS p ON true`;

/**
 * 0002: personal data in es_events' own columns (issue 15), replacing the es_personal_data table:
 * the columns, es_personal_part, the append functions writing them (same signatures, so CREATE OR
 * REPLACE), the view reading them, and the move of earlier rows. See the comments in the script.
 */
const PERSONAL_COLUMNS = /* sql */ `
-- ---------------------------------------------------------------------------------------------------
-- Personal data in es_events (issue 15).
--
-- src/domain/personalData.ts says which fields of which events are personal. An event's personal part
-- (those fields of its data, and the free-text reason of its metadata) is kept in nullable columns of
-- its own row, outside the hash chain: es_event_hash covers stream, revision, id, type, schema version,
-- data and metadata as stored, never these. personal_subjects: whose it is (what an erasure matches;
-- NULL when the event has no personal part). personal_data, personal_metadata: the values as written,
-- NULL once erased. personal_erased, personal_erased_metadata: what they read as afterwards. So an
-- append writes two rows (stream and event), and an erasure UPDATEs the values of the subject's events
-- to NULL in place: no hash changes, the chains verify as before. An event written before personal
-- data was split keeps its personal values inline in data; erasing its subject sets its erased columns
-- (values NULL), which mask those values on every read.
ALTER TABLE es_events ADD COLUMN IF NOT EXISTS personal_subjects text[], ADD COLUMN IF NOT EXISTS personal_data jsonb,
  ADD COLUMN IF NOT EXISTS personal_erased jsonb, ADD COLUMN IF NOT EXISTS personal_metadata jsonb,
  ADD COLUMN IF NOT EXISTS personal_erased_metadata jsonb;
-- No index on personal_subjects: an erasure (rare, an admin's) scans es_events once (BENCHMARKS.md says
-- how long that takes), where every append with personal data (most) would pay for a GIN entry per subject.

-- Whose personal data was erased (by the PersonalDataErased event erased_by): personal data of theirs
-- appended later is stored already erased.
CREATE TABLE IF NOT EXISTS es_erased_subjects (
  subject_id text PRIMARY KEY,
  erased_by uuid NOT NULL,
  erased_at timestamptz NOT NULL DEFAULT now()
);

-- One event's personal part, from an append's personal rows (p_rows: a jsonb array of { event_id,
-- subject_ids, data, erased, metadata, erased_metadata }, as SqlEventStore.personalWork builds them),
-- its values NULL when one of its subjects is already erased; no row when the event has none or p_rows
-- is NULL. Plain SQL, STABLE and not STRICT, so that PostgreSQL inlines it into the append's INSERT.
CREATE OR REPLACE FUNCTION es_personal_part(p_rows jsonb, p_event_id uuid)
RETURNS TABLE (subject_ids text[], data jsonb, erased jsonb, metadata jsonb, erased_metadata jsonb)
LANGUAGE sql STABLE AS $$
  SELECT r.subject_ids, CASE WHEN g.gone THEN NULL ELSE r.data END, r.erased,
         CASE WHEN g.gone THEN NULL ELSE r.metadata END, r.erased_metadata
    FROM jsonb_to_recordset(p_rows) AS r(event_id uuid, subject_ids text[], data jsonb, erased jsonb, metadata jsonb, erased_metadata jsonb),
         LATERAL (SELECT EXISTS (SELECT 1 FROM es_erased_subjects s WHERE s.subject_id = ANY (r.subject_ids)) AS gone) g
   WHERE r.event_id = p_event_id
$$;

-- The log as every reader sees it: es_events' columns, in its order, with each event's personal part
-- merged back into data and metadata (or its erased form), then the metadata as stored (never holds
-- a personal value; filters on it use es_events' indexes). The store's reads, the audit log, the
-- exports and the SQL replays all read this; only tamper verification reads es_events itself. An
-- empty part is stored NULL (an event whose only personal value is its reason has no data part).
CREATE OR REPLACE VIEW es_events_merged AS
  SELECT e.global_position, e.transaction_id, e.stream_id, e.revision, e.event_id, e.event_type, e.schema_version,
         CASE WHEN e.personal_subjects IS NULL THEN e.data
              ELSE e.data || COALESCE(e.personal_data, e.personal_erased, '{}') END AS data,
         CASE WHEN e.personal_subjects IS NULL THEN e.metadata
              ELSE e.metadata || COALESCE(e.personal_metadata, e.personal_erased_metadata, '{}') END AS metadata,
         e.recorded_at, e.previous_hash, e.hash, e.metadata AS stored_metadata
    FROM es_events e;

-- Earlier versions kept each event's personal part in a table of its own, es_personal_data (one row
-- per event, these same five values), which every read joined. Its rows are moved into their events'
-- columns, once, and the table dropped, rather than kept and joined for old events only: a join on
-- every read (history pages, replays, exports) for rows that could be anywhere in the log, and two
-- places for an erasure to clear and for a search to miss, for good. Moving is safe for the chains:
-- these values were never hashed, and data, metadata and the hashes are left as they are. The cost is
-- one UPDATE of the events that had a row (their rows rewritten once).
DO $$
BEGIN
  IF to_regclass('es_personal_data') IS NOT NULL THEN
    -- The oldest form of the table had no metadata columns.
    ALTER TABLE es_personal_data ADD COLUMN IF NOT EXISTS metadata jsonb, ADD COLUMN IF NOT EXISTS erased_metadata jsonb NOT NULL DEFAULT '{}';
    UPDATE es_events e
       SET personal_subjects = p.subject_ids, personal_data = p.data, personal_erased = p.erased,
           personal_metadata = p.metadata, personal_erased_metadata = p.erased_metadata
      FROM es_personal_data p
     WHERE p.event_id = e.event_id;
    DROP TABLE es_personal_data;
  END IF;
END;
$$;
-- ---------------------------------------------------------------------------------------------------
-- The append functions, writing the personal part into the event's own row (only their INSERTs changed
-- from 0001_baseline, which wrote es_personal_data rows after them).
-- p_writes: [{ "streamId", "expected": "any" | "no_stream" | <int>, "events": [{ "id", "type",
-- "schemaVersion", "data", "metadata" }] }]. Returns the stored rows; "duplicate" is true when the
-- idempotency key had been used (nothing is written then). A broken expectation raises SQLSTATE
-- ES409 with the stream, expected and actual revisions in DETAIL. p_personal: the append's personal
-- rows (see es_personal_part), written into their events' personal columns, or NULL.
CREATE OR REPLACE FUNCTION es_append(p_writes jsonb, p_idempotency_key text, p_personal jsonb DEFAULT NULL)
RETURNS TABLE (stream_id text, revision integer, global_position bigint, transaction_id xid8,
               event_id uuid, duplicate boolean, hash bytea)
LANGUAGE plpgsql AS $$
DECLARE
  w jsonb;
  item record;
  n integer;
  expected jsonb;
  last_revision integer;
  actual integer;
  previous bytea;
  next_hash bytea;
  stored_streams text[];
  requested_streams text[];
  first_key_use boolean := true;
  genesis constant bytea := ${GENESIS};
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
        SELECT ev.stream_id, ev.revision, ev.global_position, ev.transaction_id, ev.event_id, true, ev.hash
          FROM es_events ev JOIN es_idempotency i ON ev.event_id = ANY (i.event_ids)
         WHERE i.idempotency_key = p_idempotency_key
         ORDER BY ev.transaction_id, ev.global_position;
      RETURN;
    END IF;
  END IF;

  -- Lock streams in one order so two multi-stream appends cannot deadlock. Each lock also reads the
  -- stream's head hash (a new stream's row starts at the genesis value and is set after its events).
  FOR w IN SELECT x FROM jsonb_array_elements(p_writes) x ORDER BY x ->> 'streamId' LOOP
    n := jsonb_array_length(w -> 'events');
    expected := w -> 'expected';
    IF expected = '"no_stream"' THEN
      INSERT INTO es_streams AS s (stream_id, revision, last_hash) VALUES (w ->> 'streamId', n - 1, genesis)
        ON CONFLICT ON CONSTRAINT es_streams_pkey DO NOTHING;
      GET DIAGNOSTICS actual = ROW_COUNT;
      IF actual = 0 THEN
        SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = w ->> 'streamId';
        RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
          DETAIL = json_build_array(w ->> 'streamId', 'no_stream', actual)::text;
      END IF;
      IF n = 0 THEN
        -- A check that the stream does not exist: the row just inserted holds its key until this
        -- transaction ends (a concurrent first append to it waits, then goes ahead; one that got there
        -- first makes the insert above fail), and is removed so the stream still does not exist.
        DELETE FROM es_streams s WHERE s.stream_id = w ->> 'streamId';
        CONTINUE;
      END IF;
      last_revision := n - 1;
      previous := genesis;
    ELSIF expected = '"any"' THEN
      INSERT INTO es_streams AS s (stream_id, revision, last_hash) VALUES (w ->> 'streamId', n - 1, genesis)
        ON CONFLICT ON CONSTRAINT es_streams_pkey DO UPDATE SET revision = s.revision + n
        RETURNING s.revision, s.last_hash INTO last_revision, previous;
    ELSE
      UPDATE es_streams s SET revision = s.revision + n
       WHERE s.stream_id = w ->> 'streamId' AND s.revision = (expected #>> '{}')::integer
       RETURNING s.revision, s.last_hash INTO last_revision, previous;
      IF last_revision IS NULL THEN
        SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = w ->> 'streamId';
        RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
          DETAIL = json_build_array(w ->> 'streamId', (expected #>> '{}')::integer, actual)::text;
      END IF;
    END IF;

    -- A stream not yet backfilled has no head hash (NULL): its new events get none either, and
    -- es_backfill_hashes chains them with the rest.
    FOR item IN SELECT x.value, x.ordinality::integer AS i FROM jsonb_array_elements(w -> 'events') WITH ORDINALITY x LOOP
      next_hash := es_event_hash(previous, w ->> 'streamId', last_revision - n + item.i, (item.value ->> 'id')::uuid,
                                 item.value ->> 'type', (item.value ->> 'schemaVersion')::integer, item.value -> 'data', item.value -> 'metadata');
      RETURN QUERY
        INSERT INTO es_events AS ev (${EVENT_INSERT_COLUMNS})
        SELECT w ->> 'streamId', last_revision - n + item.i, (item.value ->> 'id')::uuid, item.value ->> 'type',
               (item.value ->> 'schemaVersion')::integer, item.value -> 'data', item.value -> 'metadata', previous, next_hash,
               ${PERSONAL_VALUES}
          ${WITH_PERSONAL_PART('p_personal', "(item.value ->> 'id')::uuid")}
        RETURNING ev.stream_id, ev.revision, ev.global_position, ev.transaction_id, ev.event_id, false, ev.hash;
      previous := next_hash;
    END LOOP;
    IF n > 0 THEN
      UPDATE es_streams s SET last_hash = previous WHERE s.stream_id = w ->> 'streamId';
    END IF;
  END LOOP;
END;
$$;

-- The common append, one stream and no idempotency key, with es_append's checks, errors and hashes.
-- Plain typed parameters instead of a jsonb envelope, and a plain (not set-returning) result, which
-- cost far less to parse, plan and run per call. p_expected: 'any', 'no_stream' or the revision as
-- text; p_data and p_metadata: jsonb arrays with one element per event. Returns '<last revision>
-- <transaction id> <global position of each event, in order> <hash of each event, hex, in order>',
-- space-separated (a hash is '-' when the stream awaits its backfill). p_personal: the append's
-- personal rows (see es_personal_part), or NULL.
CREATE OR REPLACE FUNCTION es_append_stream(p_stream_id text, p_expected text, p_ids uuid[], p_types text[],
                                            p_schema_versions integer[], p_data jsonb, p_metadata jsonb,
                                            p_personal jsonb DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  n integer := cardinality(p_ids);
  last_revision integer;
  actual integer;
  pos bigint;
  positions text;
  hashes text;
  previous bytea;
  next_hash bytea;
  chain bytea[];
BEGIN
  IF p_expected = 'no_stream' AND n = 1 THEN
    -- The hot path, one event to a new stream: its hash is computed within the stream row's INSERT
    -- (head hash included, so es_streams is written once), and then the event is written with it.
    -- As few plpgsql statements as possible (variable defaults included): each costs its expression
    -- setup on every call.
    INSERT INTO es_streams AS s (stream_id, revision, last_hash)
      VALUES (p_stream_id, 0, es_event_hash(${GENESIS}, p_stream_id, 0, p_ids[1], p_types[1], p_schema_versions[1],
                                            p_data -> 0, p_metadata -> 0))
      ON CONFLICT ON CONSTRAINT es_streams_pkey DO NOTHING
      RETURNING s.last_hash INTO next_hash;
    IF next_hash IS NOT NULL THEN
      INSERT INTO es_events AS ev (${EVENT_INSERT_COLUMNS})
        SELECT p_stream_id, 0, p_ids[1], p_types[1], p_schema_versions[1], p_data -> 0, p_metadata -> 0, ${GENESIS}, next_hash,
               ${PERSONAL_VALUES}
          ${WITH_PERSONAL_PART('p_personal', 'p_ids[1]')}
        RETURNING ev.global_position INTO pos;
      RETURN '0 ' || pg_current_xact_id()::text || ' ' || pos::text || ' ' || encode(next_hash, 'hex');
    END IF;
  ELSIF p_expected = 'no_stream' THEN
    -- A new stream's chain is known before the stream row is written, so the row is written once,
    -- head hash included (no second write of es_streams).
    next_hash := ${GENESIS};
    FOR i IN 1 .. n LOOP
      next_hash := es_event_hash(next_hash, p_stream_id, i - 1, p_ids[i], p_types[i], p_schema_versions[i],
                                 p_data -> (i - 1), p_metadata -> (i - 1));
      chain[i] := next_hash;
    END LOOP;
    INSERT INTO es_streams AS s (stream_id, revision, last_hash) VALUES (p_stream_id, n - 1, next_hash)
      ON CONFLICT ON CONSTRAINT es_streams_pkey DO NOTHING
      RETURNING s.revision INTO last_revision;
    previous := ${GENESIS};
  ELSIF p_expected = 'any' THEN
    INSERT INTO es_streams AS s (stream_id, revision, last_hash) VALUES (p_stream_id, n - 1, ${GENESIS})
      ON CONFLICT ON CONSTRAINT es_streams_pkey DO UPDATE SET revision = s.revision + n
      RETURNING s.revision, s.last_hash INTO last_revision, previous;
  ELSE
    UPDATE es_streams s SET revision = s.revision + n
     WHERE s.stream_id = p_stream_id AND s.revision = p_expected::integer
     RETURNING s.revision, s.last_hash INTO last_revision, previous;
  END IF;
  IF last_revision IS NULL THEN
    SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = p_stream_id;
    RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
      DETAIL = json_build_array(p_stream_id,
                                CASE WHEN p_expected = 'no_stream' THEN to_json(p_expected) ELSE to_json(p_expected::integer) END,
                                actual)::text;
  END IF;
  positions := '';
  hashes := '';
  FOR i IN 1 .. n LOOP
    IF chain IS NULL THEN
      next_hash := es_event_hash(previous, p_stream_id, last_revision - n + i, p_ids[i], p_types[i], p_schema_versions[i],
                                 p_data -> (i - 1), p_metadata -> (i - 1));
    ELSE
      next_hash := chain[i];
    END IF;
    INSERT INTO es_events AS ev (${EVENT_INSERT_COLUMNS})
      SELECT p_stream_id, last_revision - n + i, p_ids[i], p_types[i], p_schema_versions[i],
             p_data -> (i - 1), p_metadata -> (i - 1), previous, next_hash, ${PERSONAL_VALUES}
        ${WITH_PERSONAL_PART('p_personal', 'p_ids[i]')}
      RETURNING ev.global_position INTO pos;
    positions := positions || ' ' || pos;
    hashes := hashes || ' ' || coalesce(encode(next_hash, 'hex'), '-');
    previous := next_hash;
  END LOOP;
  IF chain IS NULL AND n > 0 THEN
    UPDATE es_streams s SET last_hash = previous WHERE s.stream_id = p_stream_id;
  END IF;
  RETURN last_revision || ' ' || pg_current_xact_id() || positions || hashes;
END;
$$;
-- ---------------------------------------------------------------------------------------------------
`;

/**
 * 0003: group commit (issue 19). `es_append_streams` runs several single-stream appends in one call,
 * one transaction and one commit: the adapter sends the appends that queued while its calls were in
 * flight (AppendBatcher). Each append is checked and written as `es_append_stream` does it, but a
 * broken expectation is that append's result, not an exception, so the others still commit.
 */
const GROUP_COMMIT = /* sql */ `
-- Several appends, each to one stream without an idempotency key, in one transaction. Append k (1-based)
-- is to p_stream_ids[k] with expectation p_expected[k] ('any', 'no_stream' or the revision as text);
-- its p_counts[k] events are p_ids, p_types, p_schema_versions, p_data and p_metadata (jsonb arrays)
-- from index p_offsets[k] (0-based) on, all appends' events in one run. p_personal: NULL, or one
-- element per append (its personal rows, see es_personal_part, or an empty array). Returns one text per
-- append: es_append_stream's result, or '!' and the stream's actual revision ('!' alone when it does not
-- exist) when the expectation does not hold; such an append writes nothing and raises nothing, so no
-- savepoint is needed to keep the others. Any other error (a duplicate event id) fails the whole call.
-- Appends are applied in stream id order (then in the order given), as es_append locks its streams:
-- two calls, or a call and a multi-stream append, never wait on each other's rows in opposite orders;
-- two appends to one stream apply one after the other, the second seeing the first.
CREATE OR REPLACE FUNCTION es_append_streams(p_stream_ids text[], p_expected text[], p_counts integer[], p_offsets integer[],
                                  p_ids uuid[], p_types text[], p_schema_versions integer[], p_data jsonb,
                                  p_metadata jsonb, p_personal jsonb)
RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
  results text[] := array_fill(NULL::text, ARRAY[cardinality(p_stream_ids)]);
  xid text := pg_current_xact_id()::text;
  k integer;
  n integer;
  f integer;
  stream text;
  personal jsonb;
  last_revision integer;
  actual integer;
  pos bigint;
  positions text;
  hashes text;
  previous bytea;
  next_hash bytea;
  chain bytea[];
BEGIN
  FOR k IN SELECT x.ordinal FROM unnest(p_stream_ids) WITH ORDINALITY AS x(stream_id, ordinal) ORDER BY x.stream_id, x.ordinal LOOP
    stream := p_stream_ids[k];
    n := p_counts[k];
    f := p_offsets[k];
    personal := p_personal -> (k - 1);
    IF p_expected[k] = 'no_stream' AND n = 1 THEN
      -- The hot path, as in es_append_stream: hash computed within the stream row's INSERT.
      INSERT INTO es_streams AS s (stream_id, revision, last_hash)
        VALUES (stream, 0, es_event_hash(${GENESIS}, stream, 0, p_ids[f + 1], p_types[f + 1], p_schema_versions[f + 1],
                                         p_data -> f, p_metadata -> f))
        ON CONFLICT ON CONSTRAINT es_streams_pkey DO NOTHING
        RETURNING s.last_hash INTO next_hash;
      IF next_hash IS NOT NULL THEN
        INSERT INTO es_events AS ev (${EVENT_INSERT_COLUMNS})
          SELECT stream, 0, p_ids[f + 1], p_types[f + 1], p_schema_versions[f + 1], p_data -> f, p_metadata -> f, ${GENESIS}, next_hash,
                 ${PERSONAL_VALUES}
            ${WITH_PERSONAL_PART('personal', 'p_ids[f + 1]')}
          RETURNING ev.global_position INTO pos;
        results[k] := '0 ' || xid || ' ' || pos::text || ' ' || encode(next_hash, 'hex');
        CONTINUE;
      END IF;
      last_revision := NULL;
    ELSIF p_expected[k] = 'no_stream' THEN
      next_hash := ${GENESIS};
      chain := '{}';
      FOR i IN 1 .. n LOOP
        next_hash := es_event_hash(next_hash, stream, i - 1, p_ids[f + i], p_types[f + i], p_schema_versions[f + i],
                                   p_data -> (f + i - 1), p_metadata -> (f + i - 1));
        chain[i] := next_hash;
      END LOOP;
      last_revision := NULL;
      INSERT INTO es_streams AS s (stream_id, revision, last_hash) VALUES (stream, n - 1, next_hash)
        ON CONFLICT ON CONSTRAINT es_streams_pkey DO NOTHING
        RETURNING s.revision INTO last_revision;
      previous := ${GENESIS};
    ELSIF p_expected[k] = 'any' THEN
      chain := NULL;
      INSERT INTO es_streams AS s (stream_id, revision, last_hash) VALUES (stream, n - 1, ${GENESIS})
        ON CONFLICT ON CONSTRAINT es_streams_pkey DO UPDATE SET revision = s.revision + n
        RETURNING s.revision, s.last_hash INTO last_revision, previous;
    ELSE
      chain := NULL;
      last_revision := NULL;
      UPDATE es_streams s SET revision = s.revision + n
       WHERE s.stream_id = stream AND s.revision = p_expected[k]::integer
       RETURNING s.revision, s.last_hash INTO last_revision, previous;
    END IF;
    IF last_revision IS NULL THEN
      SELECT s.revision INTO actual FROM es_streams s WHERE s.stream_id = stream;
      results[k] := '!' || coalesce(actual::text, '');
      CONTINUE;
    END IF;
    positions := '';
    hashes := '';
    FOR i IN 1 .. n LOOP
      IF chain IS NULL THEN
        next_hash := es_event_hash(previous, stream, last_revision - n + i, p_ids[f + i], p_types[f + i], p_schema_versions[f + i],
                                   p_data -> (f + i - 1), p_metadata -> (f + i - 1));
      ELSE
        next_hash := chain[i];
      END IF;
      INSERT INTO es_events AS ev (${EVENT_INSERT_COLUMNS})
        SELECT stream, last_revision - n + i, p_ids[f + i], p_types[f + i], p_schema_versions[f + i],
               p_data -> (f + i - 1), p_metadata -> (f + i - 1), previous, next_hash, ${PERSONAL_VALUES}
          ${WITH_PERSONAL_PART('personal', 'p_ids[f + i]')}
        RETURNING ev.global_position INTO pos;
      positions := positions || ' ' || pos;
      hashes := hashes || ' ' || coalesce(encode(next_hash, 'hex'), '-');
      previous := next_hash;
    END LOOP;
    IF chain IS NULL THEN
      UPDATE es_streams s SET last_hash = previous WHERE s.stream_id = stream;
    END IF;
    results[k] := last_revision || ' ' || xid || positions || hashes;
  END LOOP;
  RETURN results;
END;
$$;
`;

/**
 * 0004: one body for a single-stream append. Until 0003 there were two: es_append_stream (0002) for
 * an append on its own and es_append_streams (0003) for a batch, the same checks, hashes and writes
 * written twice. The adapter now sends every single-stream append without an idempotency key to
 * es_append_streams, a lone one as a batch of one; es_append_stream stays for callers of earlier
 * versions (an instance of the previous release during a rolling upgrade) with its signature, its
 * result and its ES409 error, as a call of es_append_streams.
 */
/** Replaces `from` in `sql`, which must hold it once (a derived migration must not silently differ). */
const replacedOnce = (sql: string, from: string, to: string): string => {
  if (sql.split(from).length !== 2) throw new Error(`event-store migration: expected one "${from}" to replace`);
  return sql.replace(from, to);
};

/**
 * es_append_streams as 0003 wrote it, but a batch of one (every lone append now) skips the query
 * that sorts the appends by stream id: that query, run on every call, made a lone append cost more
 * PostgreSQL CPU than es_append_stream's own body did (bench/profileAppend.ts --serial
 * lone-0002-body lone-streams-of-one). Derived from 0003's text so the body stays written once.
 */
const APPEND_STREAMS_OF_ONE = replacedOnce(
  replacedOnce(
    GROUP_COMMIT,
    `  chain bytea[];
BEGIN
  FOR k IN SELECT x.ordinal FROM unnest(p_stream_ids) WITH ORDINALITY AS x(stream_id, ordinal) ORDER BY x.stream_id, x.ordinal LOOP`,
    `  chain bytea[];
  ordering integer[];
BEGIN
  IF cardinality(p_stream_ids) = 1 THEN
    ordering := '{1}';
  ELSE
    SELECT array_agg(x.ordinal::integer ORDER BY x.stream_id, x.ordinal) INTO ordering
      FROM unnest(p_stream_ids) WITH ORDINALITY AS x(stream_id, ordinal);
  END IF;
  FOREACH k IN ARRAY ordering LOOP`,
  ),
  '-- Several appends, each to one stream without an idempotency key, in one transaction.',
  '-- Several appends (or one: an append on its own), each to one stream without an idempotency key, in one transaction.',
);

const ONE_APPEND_BODY = /* sql */ `${APPEND_STREAMS_OF_ONE}
CREATE OR REPLACE FUNCTION es_append_stream(p_stream_id text, p_expected text, p_ids uuid[], p_types text[],
                                            p_schema_versions integer[], p_data jsonb, p_metadata jsonb,
                                            p_personal jsonb DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  result text := (es_append_streams(ARRAY[p_stream_id], ARRAY[p_expected], ARRAY[cardinality(p_ids)], ARRAY[0], p_ids, p_types,
                                    p_schema_versions, p_data, p_metadata,
                                    CASE WHEN p_personal IS NULL THEN NULL ELSE jsonb_build_array(p_personal) END))[1];
BEGIN
  IF left(result, 1) = '!' THEN
    RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'ES409',
      DETAIL = json_build_array(p_stream_id,
                                CASE WHEN p_expected = 'no_stream' THEN to_json(p_expected) ELSE to_json(p_expected::integer) END,
                                CASE WHEN result = '!' THEN NULL ELSE substr(result, 2)::integer END)::text;
  END IF;
  RETURN result;
END;
$$;
`;

/**
 * The event store's schema, migration by migration (src/sql/migrations.ts): to change it, add the
 * next one at the end (\`{ name: '0002_...', sql: ... }\`); never edit one that shipped.
 */
export const EVENT_STORE_MIGRATIONS = migrationSet('event-store', [
  { name: '0001_baseline', sql: BASELINE_SCHEMA },
  { name: '0002_personal_data_columns', sql: PERSONAL_COLUMNS },
  { name: '0003_group_commit', sql: GROUP_COMMIT },
  { name: '0004_one_append_body', sql: ONE_APPEND_BODY },
]);

/** Streams chained per backfill transaction (`es_backfill_hashes`). */
const BACKFILL_STREAMS_PER_CALL = 500;

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
  hash: string | null;
}

// Positions leave as text (xid8 and bigint exceed JS numbers). ORDER BY must name the qualified
// columns (e.transaction_id), not these text aliases, or 1000 would sort before 999.
const EVENT_COLUMNS = `e.stream_id, e.revision, e.global_position::text AS global_position,
  e.transaction_id::text AS transaction_id, e.event_id::text AS event_id, e.event_type, e.schema_version, e.data, e.metadata,
  encode(e.hash, 'hex') AS hash`;
const LOG_ORDER = `e.transaction_id, e.global_position`;

// Two literals, not a trailing `...(hash ? { hash } : {})`: that spread cost about 2 µs an event, a
// second or two of every million read (readAll is what projections and rebuilds read with).
const toRecorded = (row: EventRow): RecordedEvent => {
  const position = { major: BigInt(row.transaction_id), minor: BigInt(row.global_position) };
  return row.hash === null
    ? { id: row.event_id, type: row.event_type, schemaVersion: row.schema_version, data: row.data, metadata: row.metadata, streamId: row.stream_id, revision: row.revision, position }
    : {
        id: row.event_id,
        type: row.event_type,
        schemaVersion: row.schema_version,
        data: row.data,
        metadata: row.metadata,
        streamId: row.stream_id,
        revision: row.revision,
        position,
        hash: row.hash,
      };
};

// Field by field: in Node 20, `{ ...event, streamId, ... }` (spread, then more properties) takes
// about 2 µs against 10 ns, which showed in the append benchmark (BENCHMARKS.md).
// A hash is missing only while the stream awaits its backfill (see es_backfill_hashes).
const recorded = (
  event: NewEvent,
  streamId: string,
  revision: number,
  position: GlobalPosition,
  hash: string | null,
): RecordedEvent =>
  hash === null
    ? { id: event.id, type: event.type, schemaVersion: event.schemaVersion, data: event.data, metadata: event.metadata, streamId, revision, position }
    : { id: event.id, type: event.type, schemaVersion: event.schemaVersion, data: event.data, metadata: event.metadata, streamId, revision, position, hash };

/**
 * A single-stream append's result from its `es_append_streams` item's text:
 * '<last revision> <transaction id> <position> <position> ... <hash> <hash> ...'.
 */
const streamAppended = (result: string, { streamId, events: asGiven }: StreamWrite, personal: PersonalWork | null): AppendResult => {
  const parts = result.split(' ');
  const lastRevision = Number(parts[0]);
  const major = BigInt(parts[1]!);
  const n = asGiven.length;
  const first = lastRevision - n + 1;
  const stored = asGiven.map((given, i) => {
    const event = personal?.returned.get(given.id) ?? given;
    const hash = parts[2 + n + i]!;
    return recorded(event, streamId, first + i, { major, minor: BigInt(parts[2 + i]!) }, hash === '-' ? null : hash);
  });
  return { events: stored, streamRevisions: { [streamId]: lastRevision }, lastPosition: stored.at(-1)!.position, duplicate: false };
};

/** A single-stream append without an idempotency key, as the batcher holds it. */
interface OneStreamAppend {
  readonly write: StreamWrite;
  readonly personal: PersonalWork | null;
}

/**
 * Group commit by kind of database (measured: BENCHMARKS.md, append-throughput and graphql-throughput).
 * PGlite runs one statement at a time, in this thread, to its end: nothing can queue behind an append
 * in flight, so an append first waits for the rest of the event loop's turn and goes with those that
 * other requests submitted in it: sixteen appends in one call cost about 220 µs of CPU each, against
 * 700-900 µs alone, and `changeUserStatus` through GraphQL at 16 clients went from 4.8 to 1.9 ms of CPU.
 * The wait also ends at the next statement anything else asks of the database (`gather`), so code
 * awaiting PGlite in a loop, which keeps the turn from ending, cannot starve it.
 * PostgreSQL gathers the same way, over up to four calls in flight: without it, an append went out
 * alone while a call was free and the others queued behind four calls of about three appends each
 * (16 writers); gathered, the appends of a turn go together, spread over the calls free.
 */
export const DEFAULT_GROUP_COMMIT: Readonly<Record<SqlDatabase['kind'], GroupCommitOptions>> = {
  postgres: { maxInFlight: 4, maxBatch: 64, gather: true },
  embedded: { maxInFlight: 1, maxBatch: 64, gather: true },
};

const ERASED_REASON: Readonly<Record<string, unknown>> = Object.freeze({ reason: ERASED });

/** The metadata with the personal-data marker, and without its reason when that is kept beside the log. */
const withMarker = (metadata: EventMetadata, marker: PersonalDataMarker, dropReason: boolean): EventMetadata => {
  const copy: Record<string, unknown> = {};
  for (const key in metadata) if (!(dropReason && key === 'reason')) copy[key] = metadata[key as keyof EventMetadata];
  copy.personalData = marker;
  return copy as unknown as EventMetadata;
};

/** An event's personal part, as es_personal_part reads it into the event's personal columns (null: none, or erased). */
interface PersonalRow {
  readonly event_id: string;
  readonly subject_ids: readonly string[];
  readonly data: Readonly<Record<string, unknown>> | null;
  readonly erased: Readonly<Record<string, unknown>> | null;
  readonly metadata: Readonly<Record<string, unknown>> | null;
  readonly erased_metadata: Readonly<Record<string, unknown>> | null;
}

interface PersonalWork {
  readonly rows: readonly PersonalRow[];
  readonly stored: ReadonlyMap<string, NewEvent>;
  readonly returned: ReadonlyMap<string, NewEvent>;
  readonly erase: readonly string[];
  readonly erasedBy: string | null;
  readonly masks: readonly PersonalRow[];
}

/**
 * The statements of an erasure (an append with a `PersonalDataErased` event), around the append `a`
 * (a CTE) in the same statement and so the same transaction: they run only when `appended` (a
 * condition on `a`) holds, and an append that fails fails them too. The append's own events are
 * written by the append function, their personal values already NULL where a subject is erased (by
 * this append: personalWork; before: es_personal_part). The UPDATEs cannot see those rows (one
 * snapshot per statement), and need not. Rare (an admin's erasure), so not prepared. Adds its
 * parameters to `params`.
 */
const erasureStatements = (work: PersonalWork, params: unknown[], appended: string): string => {
  const erase = `$${params.push(work.erase)}::text[]`;
  const erasedBy = `$${params.push(work.erasedBy)}::uuid`;
  const masks = `$${params.push(JSON.stringify(work.masks))}::jsonb`;
  // The subject's events: one pass over es_events (no index on personal_subjects: see the schema).
  // A legacy event (values inline) is masked by its erased columns, merged with any mask it already has
  // (an earlier erasure of another of its subjects may have masked fewer fields).
  return `,
  erased_subjects AS (
    INSERT INTO es_erased_subjects (subject_id, erased_by)
    SELECT DISTINCT s, ${erasedBy} FROM unnest(${erase}) AS s WHERE ${appended}
    ON CONFLICT (subject_id) DO NOTHING),
  erased_events AS (
    UPDATE es_events e SET personal_data = NULL, personal_metadata = NULL
     WHERE e.personal_subjects && ${erase} AND (e.personal_data IS NOT NULL OR e.personal_metadata IS NOT NULL) AND ${appended}),
  masked AS (
    UPDATE es_events e
       SET personal_subjects = r.subject_ids, personal_data = NULL, personal_metadata = NULL,
           personal_erased = COALESCE(e.personal_erased, '{}') || r.erased,
           personal_erased_metadata = COALESCE(e.personal_erased_metadata, '{}') || r.erased_metadata
      FROM jsonb_to_recordset(${masks}) AS r(event_id uuid, subject_ids text[], erased jsonb, erased_metadata jsonb)
     WHERE e.event_id = r.event_id AND ${appended})`;
};

// Rows below the oldest running transaction are final: no earlier-positioned row can still appear.
const VISIBLE = `e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())`;

export class SqlEventStore implements EventStore {
  readonly name: string;
  readonly erasesPersonalData = true;

  /** Single-stream appends that queue while others are in flight go out together (see `groupCommit`). */
  private readonly batcher: AppendBatcher<OneStreamAppend, AppendResult> | null;

  private constructor(
    private readonly db: SqlDatabase,
    groupCommit: GroupCommitOptions | false,
  ) {
    this.name = db.kind === 'embedded' ? 'embedded (PGlite)' : 'PostgreSQL';
    this.batcher = groupCommit
      ? new AppendBatcher(
          ({ write, personal }) => this.appendToOneStream(write, personal),
          (appends) => this.appendBatch(appends),
          groupCommit,
          db,
        )
      : null;
  }

  /**
   * Whether the log is in this database (then a replay can build read models from es_events in SQL, and
   * a read model can read events in its own statements: `eventAt`).
   */
  keepsLogIn(db: SqlExecutor): boolean {
    return this.db === db;
  }

  /**
   * `groupCommit`: how concurrent single-stream appends are batched (`es_append_streams`), or `false` to
   * send each on its own; by default what measured best on each kind of database (BENCHMARKS.md,
   * append-throughput).
   */
  static async create(db: SqlDatabase, options: { readonly groupCommit?: GroupCommitOptions | false } = {}): Promise<SqlEventStore> {
    await migrate(db);
    return new SqlEventStore(db, options.groupCommit ?? DEFAULT_GROUP_COMMIT[db.kind]);
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
           SELECT * FROM es_events_merged x WHERE x.stream_id = s.stream_id AND x.revision >= $2 ORDER BY x.revision LIMIT $3
         ) e ON true
        WHERE s.stream_id = $1
        ORDER BY e.revision`,
      [streamId, from, limit],
      // Every command reads its stream first: prepared once per connection, like the append.
      { name: 'es_read_stream_v1' },
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
    // Checks (no events; a numeric revision, or `no_stream`) ride along with the writes: es_append
    // locks and compares them.
    const checks = writes.filter((write) => write.events.length === 0 && write.expectedRevision !== 'any');
    const all = [...nonEmpty, ...checks];
    if (new Set(all.map((w) => w.streamId)).size !== all.length) {
      throw new Error('appendToStreams: each stream may appear once per append');
    }
    const personal = await this.personalWork(all);
    if (all.length === 1 && options.idempotencyKey === undefined) {
      // An erasure wraps its append in more statements (erasureStatements): never batched.
      const alone = this.batcher === null || (personal !== null && personal.erase.length > 0);
      return alone ? this.appendToOneStream(all[0]!, personal) : this.batcher!.submit({ write: all[0]!, personal });
    }
    const stored = personal ? all.map((write) => ({ ...write, events: write.events.map((event) => personal.stored.get(event.id) ?? event) })) : all;
    const payload = stored.map((write) => ({ streamId: write.streamId, expected: write.expectedRevision, events: write.events }));
    let rows: {
      stream_id: string;
      revision: number;
      global_position: string;
      transaction_id: string;
      event_id: string;
      duplicate: boolean;
      hash: string | null;
    }[];
    try {
      const erasure = personal !== null && personal.erase.length > 0;
      // The personal parts go to es_append itself, into the events' rows.
      const params: unknown[] = [JSON.stringify(payload), options.idempotencyKey ?? null, personal && personal.rows.length > 0 ? JSON.stringify(personal.rows) : null];
      const appended = `SELECT * FROM es_append($1::jsonb, $2, $3::jsonb)`;
      const columns = `stream_id, revision, global_position::text AS global_position, transaction_id::text AS transaction_id,
                  event_id::text AS event_id, duplicate, encode(hash, 'hex') AS hash`;
      rows = (
        await this.db.query<(typeof rows)[number]>(
          erasure
            ? `WITH a AS (${appended}) ${erasureStatements(personal, params, `NOT COALESCE((SELECT bool_or(a.duplicate) FROM a), true)`)} SELECT ${columns} FROM a`
            : `SELECT ${columns} FROM es_append($1::jsonb, $2, $3::jsonb)`,
          params,
        )
      ).rows;
    } catch (error) {
      throw translateAppendError(error, options.idempotencyKey);
    }
    const duplicate = rows.some((row) => row.duplicate);
    const byId = new Map(all.flatMap((w) => w.events.map((e) => [e.id, personal?.returned.get(e.id) ?? e] as const)));
    let events: RecordedEvent[];
    if (duplicate) {
      // The first call's events, as stored (their ids are not this call's ids).
      const stored = await this.db.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM es_events_merged e WHERE e.event_id = ANY($1::uuid[]) ORDER BY ${LOG_ORDER}`,
        [rows.map((row) => row.event_id)],
      );
      events = stored.rows.map(toRecorded);
    } else {
      events = rows.map((row) =>
        recorded(
          byId.get(row.event_id)!,
          row.stream_id,
          row.revision,
          { major: BigInt(row.transaction_id), minor: BigInt(row.global_position) },
          row.hash,
        ),
      );
    }
    const streamRevisions: Record<string, number> = {};
    for (const event of events) {
      streamRevisions[event.streamId] = Math.max(streamRevisions[event.streamId] ?? -1, event.revision);
    }
    return { events, streamRevisions, lastPosition: events.at(-1)?.position ?? START, duplicate };
  }

  /**
   * The common append, one stream and no idempotency key, on its own: `es_append_streams` with a
   * batch of one (the one SQL body of a single-stream append; see ONE_APPEND_BODY), its broken
   * expectation thrown as the error. An erasure wraps the call in its statements (erasureStatements),
   * which run only when the append went through.
   */
  private async appendToOneStream(write: StreamWrite, personal: PersonalWork | null): Promise<AppendResult> {
    let outcome: BatchOutcome<AppendResult>;
    try {
      [outcome] = (await this.appendStreams([{ write, personal }], personal !== null && personal.erase.length > 0 ? personal : null)) as [
        BatchOutcome<AppendResult>,
      ];
    } catch (error) {
      throw translateAppendError(error, undefined);
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /**
   * Several single-stream appends in one call of `es_append_streams` (one transaction): each its own
   * outcome, a broken expectation failing that append alone. Any other error rejects the whole call
   * (AppendBatcher then sends the appends one by one).
   */
  private appendBatch(appends: readonly OneStreamAppend[]): Promise<readonly BatchOutcome<AppendResult>[]> {
    return this.appendStreams(appends, null);
  }

  /** One call of `es_append_streams`; `erasure`: the erasure the (single) append carries, run with it. */
  private async appendStreams(appends: readonly OneStreamAppend[], erasure: PersonalWork | null): Promise<readonly BatchOutcome<AppendResult>[]> {
    const streamIds: string[] = [];
    const expected: string[] = [];
    const counts: number[] = [];
    const offsets: number[] = [];
    const ids: string[] = [];
    const types: string[] = [];
    const schemaVersions: number[] = [];
    const data: unknown[] = [];
    const metadata: unknown[] = [];
    let personalRows = false;
    for (const { write, personal } of appends) {
      streamIds.push(write.streamId);
      expected.push(String(write.expectedRevision));
      counts.push(write.events.length);
      offsets.push(ids.length);
      for (const given of write.events) {
        const event = personal?.stored.get(given.id) ?? given;
        ids.push(event.id);
        types.push(event.type);
        schemaVersions.push(event.schemaVersion);
        data.push(event.data);
        metadata.push(event.metadata);
      }
      if (personal && personal.rows.length > 0) personalRows = true;
    }
    const params: unknown[] = [
      streamIds,
      expected,
      counts,
      offsets,
      ids,
      types,
      schemaVersions,
      JSON.stringify(data),
      JSON.stringify(metadata),
      // The personal parts are written by es_append_streams itself, into the events' rows.
      personalRows ? JSON.stringify(appends.map(({ personal }) => personal?.rows ?? [])) : null,
    ];
    const call = `SELECT es_append_streams($1::text[], $2::text[], $3::integer[], $4::integer[], $5::uuid[], $6::text[], $7::integer[], $8::jsonb, $9::jsonb, $10::jsonb) AS results`;
    const { rows } = erasure
      ? await this.db.query<{ results: string[] }>(
          // A broken expectation writes nothing and raises nothing: the erasure runs only when the append went through.
          `WITH a AS (${call}) ${erasureStatements(erasure, params, `left((SELECT a.results[1] FROM a), 1) <> '!'`)} SELECT results FROM a`,
          params,
        )
      : await this.db.query<{ results: string[] }>(
          call,
          params,
          // Prepared once per connection: parsing and planning were a sixth of PostgreSQL's work per
          // append (BENCHMARKS.md). Bump the version when es_append_streams' signature or result changes.
          { name: 'es_append_streams_v1' },
        );
    return rows[0]!.results.map((result, i): BatchOutcome<AppendResult> => {
      const { write, personal } = appends[i]!;
      if (!result.startsWith('!')) return { ok: true, value: streamAppended(result, write, personal) };
      // Only a numeric or 'no_stream' expectation can break ('any' always holds).
      const actual = result === '!' ? null : Number(result.slice(1));
      return { ok: false, error: new WrongExpectedRevisionError(write.streamId, write.expectedRevision as number | 'no_stream', actual) };
    });
  }

  /**
   * What an append does with personal data (null when it has none to split and erases nothing): each
   * event as stored (personal fields split off, their names in the metadata) and as returned (whole),
   * the personal rows, and for a `PersonalDataErased` event the subjects it erases and the rows that
   * mask the inline values of the events those subjects had before personal data was split.
   */
  private async personalWork(writes: readonly StreamWrite[]): Promise<PersonalWork | null> {
    const rows: PersonalRow[] = [];
    const stored = new Map<string, NewEvent>();
    const returned = new Map<string, NewEvent>();
    const erase: string[] = [];
    let erasedBy: string | null = null;
    for (const write of writes) {
      for (const event of write.events) {
        if (event.type === PERSONAL_DATA_ERASED) {
          const subjects = (event.data as { subjectIds?: unknown }).subjectIds;
          if (!Array.isArray(subjects) || !subjects.every((subject) => typeof subject === 'string' && subject !== '')) {
            throw new Error(`${PERSONAL_DATA_ERASED} must name the subjects it erases (data.subjectIds)`);
          }
          erase.push(...(subjects as string[]));
          erasedBy = event.id;
          continue;
        }
        const data = event.data as Readonly<Record<string, unknown>>;
        const reason = event.metadata.reason;
        const split = splitPersonalData(event.type, data);
        // Most events have neither personal fields nor a reason: nothing more to do (no subjects worked out).
        if (!split.personal && typeof reason !== 'string') continue;
        const subjects = split.personal?.subjects ?? subjectsOf(data);
        // A reason is free text, which may name anyone the event concerns: it goes with them.
        const splitReason = typeof reason === 'string' && subjects.length > 0;
        if (!split.personal && !splitReason) continue;
        const marker: PersonalDataMarker = splitReason
          ? { fields: split.personal ? Object.keys(split.personal.values) : [], metadata: ['reason'] }
          : { fields: Object.keys(split.personal!.values) };
        // Built field by field: object spreads followed by more properties cost microseconds each in
        // Node 20, and this runs for most appends (BENCHMARKS.md, append-throughput).
        stored.set(event.id, {
          id: event.id,
          type: event.type,
          schemaVersion: event.schemaVersion,
          data: split.kept,
          metadata: withMarker(event.metadata, marker, splitReason),
        });
        returned.set(event.id, {
          id: event.id,
          type: event.type,
          schemaVersion: event.schemaVersion,
          data: event.data,
          metadata: withMarker(event.metadata, marker, false),
        });
        // An empty part is NULL (see es_events_merged): the usual event's only personal value is its reason.
        rows.push({
          event_id: event.id,
          subject_ids: subjects,
          data: split.personal?.values ?? null,
          erased: split.personal?.erased ?? null,
          metadata: splitReason ? { reason } : null,
          erased_metadata: splitReason ? ERASED_REASON : null,
        });
      }
    }
    if (rows.length === 0 && erase.length === 0) return null;
    if (erase.length === 0) return { rows, stored, returned, erase, erasedBy, masks: [] };
    // The erasure's own append: events of the subjects it erases are stored erased (the append
    // function checks only the subjects erased before).
    const erased = new Set(erase);
    const kept = rows.map((row) => (row.subject_ids.some((subject) => erased.has(subject)) ? { ...row, data: null, metadata: null } : row));
    return { rows: kept, stored, returned, erase, erasedBy, masks: await this.inlineMasks(erased) };
  }

  /**
   * Masks, as erased, for the inline personal values (and reasons) of these subjects' events from
   * before the split (including those an earlier erasure masked: the masks merge). One pass over
   * those events: an erasure is rare, and this is what it costs.
   */
  private async inlineMasks(subjects: ReadonlySet<string>): Promise<PersonalRow[]> {
    const { rows } = await this.db.query<{ event_id: string; event_type: string; data: Record<string, unknown>; has_reason: boolean }>(
      `SELECT e.event_id::text AS event_id, e.event_type, e.data, e.metadata ? 'reason' AS has_reason FROM es_events e
        WHERE (e.event_type = ANY($1::text[]) OR e.metadata ? 'reason') AND NOT (e.metadata ? 'personalData')`,
      [PERSONAL_EVENT_TYPES],
    );
    return rows.flatMap((row) => {
      const erased = maskInlinePersonalData(row.event_type, row.data, subjects);
      const eventSubjects = PERSONAL_DATA[row.event_type]?.subjects(row.data) ?? subjectsOf(row.data);
      const reasonGone = row.has_reason && eventSubjects.some((subject) => subjects.has(subject));
      if (!erased && !reasonGone) return [];
      return [
        {
          event_id: row.event_id,
          subject_ids: [...eventSubjects],
          data: null,
          erased: erased ?? {},
          metadata: null,
          erased_metadata: reasonGone ? { reason: ERASED } : {},
        },
      ];
    });
  }

  async readIdempotencyKey(idempotencyKey: string): Promise<readonly RecordedEvent[] | null> {
    // One statement, so one snapshot: the key and its events were written by one transaction, so
    // either both are seen or neither. (Two statements raced: the first saw no events, an overlapping
    // call with the key committed, the second saw the key, and the key read as one that made nothing.)
    // A key whose append wrote no events comes back as one row of NULLs.
    const result = await this.db.query<EventRow | { [K in keyof EventRow]: null }>(
      `SELECT ${EVENT_COLUMNS} FROM es_idempotency i LEFT JOIN es_events_merged e ON e.event_id = ANY (i.event_ids)
        WHERE i.idempotency_key = $1 ORDER BY ${LOG_ORDER}`,
      [idempotencyKey],
    );
    if (result.rows.length === 0) return null;
    return result.rows.filter((row): row is EventRow => row.event_id !== null).map(toRecorded);
  }

  readAll(options: ReadAllOptions = {}): Promise<readonly RecordedEvent[]> {
    return this.readLog(options);
  }

  /**
   * As `readAll`, but only events of these types and none after `upTo` (a replay that builds some
   * read models in SQL reads only what the others handle, up to where the SQL ones stop), from
   * es_events or from `from`, a copy of some of its rows (a table with its columns, indexed in log
   * order; a schema-qualified, quoted name).
   */
  readAllOfTypes(types: readonly string[], upTo: GlobalPosition, options: ReadAllOptions = {}, from?: string): Promise<readonly RecordedEvent[]> {
    if (from !== undefined && !/^"[a-z_][a-z0-9_]*"\."[a-z_][a-z0-9_]*"$/.test(from)) throw new Error(`Unsafe table name: ${from}`);
    return this.readLog(options, { types, upTo }, from);
  }

  private async readLog(
    options: ReadAllOptions,
    only?: { readonly types: readonly string[]; readonly upTo: GlobalPosition },
    from = 'es_events_merged',
  ): Promise<readonly RecordedEvent[]> {
    const after = options.after ?? START;
    const params: unknown[] = [after.major.toString(), after.minor.toString(), options.maxCount ?? 1000];
    const filter = only
      ? `AND (e.transaction_id, e.global_position) <= ($${params.push(only.upTo.major.toString())}::text::xid8, $${params.push(only.upTo.minor.toString())}::bigint)
         AND e.event_type = ANY($${params.push(only.types)}::text[])`
      : '';
    const result = await this.db.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${from} e
        WHERE (e.transaction_id, e.global_position) > ($1::text::xid8, $2::bigint) ${filter} AND ${VISIBLE}
        ORDER BY ${LOG_ORDER} LIMIT $3`,
      params,
      // The projection runner reads every batch here: prepared once per connection, and on the
      // embedded store one JSON text a row (the columns are text, integers and JSON), as readAt.
      only === undefined && from === 'es_events_merged' ? { name: 'es_read_log_v1', rowsAsJson: true } : undefined,
    );
    return result.rows.map(toRecorded);
  }

  /** How many events the log has up to `upTo`, and how many of those are of these types (in one pass). */
  async countUpTo(upTo: GlobalPosition, types: readonly string[]): Promise<{ readonly all: number; readonly ofTypes: number }> {
    const { rows } = await this.db.query<{ all: string; of_types: string }>(
      `SELECT count(*)::text AS all, (count(*) FILTER (WHERE e.event_type = ANY($3::text[])))::text AS of_types FROM es_events e
        WHERE (e.transaction_id, e.global_position) <= ($1::text::xid8, $2::bigint)`,
      [upTo.major.toString(), upTo.minor.toString(), types],
    );
    return { all: Number(rows[0]!.all), ofTypes: Number(rows[0]!.of_types) };
  }

  async readAt(positions: readonly GlobalPosition[]): Promise<readonly RecordedEvent[]> {
    if (positions.length === 0) return [];
    const { rows } = await this.db.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events_merged e
         JOIN unnest($1::text[], $2::text[]) AS p(major, minor)
           ON e.transaction_id = p.major::xid8 AND e.global_position = p.minor::bigint`,
      [positions.map((p) => p.major.toString()), positions.map((p) => p.minor.toString())],
      // Every history page reads its events here: prepared once per connection. rowsAsJson: the
      // columns are text, integers and JSON (on the embedded store a 20-event read went from
      // 444-468 to 260-270 µs of CPU as one JSON text a row).
      { name: 'es_read_at_v1', rowsAsJson: true },
    );
    const byPosition = new Map(rows.map((row) => [`${row.transaction_id}/${row.global_position}`, row]));
    return positions.flatMap((p) => {
      const row = byPosition.get(`${p.major}/${p.minor}`);
      return row ? [toRecorded(row)] : [];
    });
  }

  /**
   * The event at a row's position, for a read model in this database (`keepsLogIn`) that shows its rows
   * with their events: put in the read model's own statement, it reads both at once (a history page's
   * rows and their events in one statement, where `readAt` is a second: BENCHMARKS.md,
   * graphql-throughput). `join` LEFT JOINs the event as `readAt` reads it (es_events_merged: personal
   * data merged back, or its erased form) under the alias `e`, for SQL expressions of the row's
   * position; `columns` are its columns to select (named as readAt's, event_type among them). Decode a
   * row with `eventOfRow`. A join rather than a subquery giving each row's event as one JSON value:
   * 277-295 against 322-362 µs of PostgreSQL CPU for a page of 20, the same in Node.js.
   */
  eventAt(major: string, minor: string): { readonly join: string; readonly columns: string } {
    return {
      join: `LEFT JOIN es_events_merged e ON e.transaction_id = (${major})::text::xid8 AND e.global_position = (${minor})::bigint`,
      columns: EVENT_COLUMNS,
    };
  }

  /** A row with `eventAt`'s columns decoded as `readAt` decodes its rows; null when the log had no event there. */
  eventOfRow(row: object): RecordedEvent | null {
    return (row as EventRow | { event_id: null }).event_id === null ? null : toRecorded(row as EventRow);
  }

  async readHead(): Promise<GlobalPosition> {
    const result = await this.db.query<{ transaction_id: string; global_position: string }>(
      `SELECT e.transaction_id::text AS transaction_id, e.global_position::text AS global_position FROM es_events e
        WHERE ${VISIBLE} ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1`,
    );
    const row = result.rows[0];
    return row ? { major: BigInt(row.transaction_id), minor: BigInt(row.global_position) } : START;
  }

  async readCommittedHead(): Promise<GlobalPosition> {
    const result = await this.db.query<{ transaction_id: string; global_position: string }>(
      `SELECT e.transaction_id::text AS transaction_id, e.global_position::text AS global_position FROM es_events e
        ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1`,
    );
    const row = result.rows[0];
    return row ? { major: BigInt(row.transaction_id), minor: BigInt(row.global_position) } : START;
  }

  /** The database is owned by the composition root, which closes it; the store only stops listening to it. */
  async close(): Promise<void> {
    this.batcher?.close();
  }
}

const migrate = async (db: SqlDatabase): Promise<void> => {
  await applyMigrations(db, EVENT_STORE_MIGRATIONS);
  if (await awaitsBackfill(db)) await backfillHashes(db);
};

/**
 * Whether a stream still awaits its hash chain: one plain scan of es_streams that stops at the
 * first such stream. Checked on every start (an older instance may have appended without hashes
 * meanwhile), before calling the backfill, because that call is a plpgsql function: the first in the
 * process loads the plpgsql library and compiles the function, ~0.1 s of a start on the embedded
 * store (BENCHMARKS.md, embedded-rest) for a database that is nearly always chained already.
 */
const awaitsBackfill = async (db: SqlDatabase): Promise<boolean> =>
  (await db.query<{ found: boolean }>(`SELECT EXISTS (SELECT 1 FROM es_streams WHERE last_hash IS NULL) AS found`)).rows[0]?.found === true;

/**
 * Chains the events of streams that predate the hash columns, a batch of streams per transaction
 * (autocommit), so a large log is not one huge transaction and a restart resumes where it stopped.
 * Safe alongside appends and other processes doing the same (each stream is locked while chained).
 * On an up-to-date database it is one index scan of es_streams that finds nothing.
 */
export const backfillHashes = async (db: SqlDatabase): Promise<void> => {
  let after: string | null = '';
  while (after !== null) {
    const result: { rows: { last: string | null }[] } = await db.query<{ last: string | null }>(
      `SELECT es_backfill_hashes($1, $2) AS last`,
      [after, BACKFILL_STREAMS_PER_CALL],
    );
    after = result.rows[0]!.last;
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
