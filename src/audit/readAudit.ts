import { DomainError } from '../domain/shared/decider';
import { userStream } from '../domain/streams';
import { personaTarget } from './aggregates';
import type { Logger } from '../log';
import { migrate, migrationSet } from '../sql/migrations';
import type { SqlDatabase } from '../sql/sqlDatabase';

/**
 * Who read what: staff reads of a person's record or history, kept in a table of their own
 * (`audit_reads`) beside the read models, never in `es_events`. The domain log says what happened
 * to people; this says who looked at them, and mixing the two would put every page view into the
 * log that projections, exports and tamper evidence walk.
 *
 * Reads are recorded off the request's path: `record` only appends to a buffer, and the buffer is
 * written in batches, one statement a flush, every `flushIntervalMs` or as soon as
 * `maxBatch` entries wait. A failed write keeps its entries at the front of the buffer for the
 * next flush and is logged; it never reaches the request that did the reading. The buffer is
 * bounded: past `maxBuffered` entries new ones are counted, not kept, and the count is written as a
 * `READS_LOST` row with the next batch, so auditors see the gap instead of a silently thinner log.
 */

/** What kind of personal data was read. */
export const READ_KINDS = [
  /** A user's profile or persona, alone or as a row of a list (`user`, `users`, `persona`, `Match.mentee`, `programMatches`, ...). */
  'USER_RECORD',
  /** A page of a user's history timeline (`userHistory`, `User.history`). */
  'USER_HISTORY',
  /** A user or persona as of a moment, or the diff between two (`userAsOf`, `stateAsOf`, `stateDiff`). */
  'USER_STATE',
  /** Events of a user's stream (`eventLog`, `eventChain`). */
  'USER_EVENTS',
  /** A manager-report row: an employee's participation as a mentor. */
  'REPORT_ROW',
  /** A volunteer's registration to an initiative (`registration`, each of `registrations`). */
  'REGISTRATION',
  /** A download of many people's data at once (CSV exports, the NDJSON export); `objectId` says what it covered. */
  'EXPORT',
  /** A look at this log itself (`personalDataReads`). */
  'READ_LOG',
  /**
   * An analyst's read of names, e-mails or free text unpseudonymised, with the `personal-data:raw`
   * permission: one per thing read raw (`objectId`), beside the read of the record itself.
   */
  'RAW_PERSONAL_DATA',
  /** Written by the recorder: reads that could not be kept because the buffer was full. */
  'READS_LOST',
] as const;
export type ReadKind = (typeof READ_KINDS)[number];

/** One read, as the recorder takes it. */
export interface ReadEntry {
  /** ISO-8601, from the request's clock. */
  readonly readAt: string;
  readonly actorId: string;
  readonly actorRole: string;
  readonly kind: ReadKind;
  /** What was read: a user id, a stream id, an export's path and parameters. */
  readonly objectId: string;
  /** The person the data is about; null when a read covers many (an export) or nobody in particular. */
  readonly subjectUserId: string | null;
  /** The operation or field that did the reading (`Query.userHistory`, `GET /exports/matches.csv`). */
  readonly via: string;
  readonly requestId: string | null;
  readonly correlationId: string | null;
}

/** One stored read. */
export interface ReadRecord extends ReadEntry {
  readonly id: string;
}

/** Takes reads to record. Never throws and never waits: recording must not slow or fail a read. */
export interface ReadRecorder {
  record(entry: ReadEntry): void;
}

export interface ReadFilter {
  readonly subjectUserId?: string;
  readonly actorId?: string;
  /** Reads at or after this moment (ISO-8601). */
  readonly from?: string;
  /** Reads before this moment (exclusive). */
  readonly to?: string;
}

export interface ReadPage {
  readonly edges: readonly { readonly node: ReadRecord; readonly cursor: string }[];
  readonly hasNextPage: boolean;
}

export interface ReadAuditOptions {
  readonly logger: Logger;
  /** How often buffered reads are written (default: 1 s on PostgreSQL, 2 s on the embedded store, whose one connection everyone shares). */
  readonly flushIntervalMs?: number;
  /** A flush writes at most this many entries, and this many waiting start one at once (default 500). */
  readonly maxBatch?: number;
  /** Entries kept waiting at most; past it reads are counted as lost (default 50,000). */
  readonly maxBuffered?: number;
}

/** The table and its indexes: newest first, overall, by subject and by actor. */
const READ_AUDIT_SCHEMA = /* sql */ `
    CREATE TABLE IF NOT EXISTS audit_reads (
      id bigserial PRIMARY KEY,
      read_at timestamptz NOT NULL,
      actor_id text NOT NULL,
      actor_role text NOT NULL,
      object_kind text NOT NULL,
      object_id text NOT NULL,
      subject_user_id text,
      via text NOT NULL,
      request_id text,
      correlation_id text
    );
    CREATE INDEX IF NOT EXISTS audit_reads_newest ON audit_reads (read_at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS audit_reads_subject ON audit_reads (subject_user_id, read_at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS audit_reads_actor ON audit_reads (actor_id, read_at DESC, id DESC);
  `;

/**
 * One row a read of many things at once (a page of users is one row naming its 20 users, not 20
 * rows): the reads one call records together share who, when, what kind, through what and in which
 * request, and only the objects and their subjects differ, so they are kept as two arrays of one
 * row, in the order read. Whose data was read is looked up in `audit_read_subjects`: one row per
 * person a read named, in (subject, newest first) order, pointing at the read. A page costs one
 * row with its three indexes and one small row a person with one index, where it cost 20 rows with
 * four indexes each (the largest single item of a page's database CPU, issue 19).
 */
const ONE_ROW_A_READ = /* sql */ `
    -- Like every migration, safe to run again (a database whose record of migrations was lost runs
    -- them all again, the baseline first): object_id and subject_user_id stay, nullable and NULL in
    -- every row since this migration, so that the baseline's statements still find them; its
    -- audit_reads_subject index, which would cost every row for nothing, goes.
    DROP INDEX IF EXISTS audit_reads_subject;
    ALTER TABLE audit_reads
      ADD COLUMN IF NOT EXISTS object_ids text[],
      ADD COLUMN IF NOT EXISTS subject_user_ids text[],
      ALTER COLUMN object_id DROP NOT NULL;
    CREATE TABLE IF NOT EXISTS audit_read_subjects (
      subject_user_id text NOT NULL,
      read_at timestamptz NOT NULL,
      read_id bigint NOT NULL
    );
    INSERT INTO audit_read_subjects (subject_user_id, read_at, read_id)
      SELECT subject_user_id, read_at, id FROM audit_reads WHERE object_ids IS NULL AND subject_user_id IS NOT NULL;
    UPDATE audit_reads SET object_ids = ARRAY[object_id], subject_user_ids = ARRAY[subject_user_id], object_id = NULL, subject_user_id = NULL
     WHERE object_ids IS NULL;
    ALTER TABLE audit_reads ALTER COLUMN object_ids SET NOT NULL, ALTER COLUMN subject_user_ids SET NOT NULL;
    CREATE INDEX IF NOT EXISTS audit_read_subjects_newest ON audit_read_subjects (subject_user_id, read_at DESC, read_id DESC);
  `;

/** The read audit's schema (src/sql/migrations.ts): a change is a new migration at the end. */
export const READ_AUDIT_MIGRATIONS = migrationSet('read-audit', [
  { name: '0001_baseline', sql: READ_AUDIT_SCHEMA },
  { name: '0002_one_row_a_read', sql: ONE_ROW_A_READ },
]);

export const ensureReadAuditSchema = async (db: SqlDatabase): Promise<void> => {
  await migrate(db, READ_AUDIT_MIGRATIONS);
};

/** One row of `audit_reads` as the recorder sends it (JSON): reads recorded together, one object and subject each. */
interface ReadGroup {
  readonly read_at: string;
  readonly actor_id: string;
  readonly actor_role: string;
  readonly object_kind: ReadKind;
  readonly object_ids: string[];
  readonly subject_user_ids: (string | null)[];
  readonly via: string;
  readonly request_id: string | null;
  readonly correlation_id: string | null;
  /** Whom the row's reads are about, each once (its `audit_read_subjects` rows). */
  readonly subjects: string[];
}

/** Reads that go in one row: everything but the object and its subject is the same. */
const sameRead = (a: ReadEntry, b: ReadEntry): boolean =>
  a.readAt === b.readAt &&
  a.actorId === b.actorId &&
  a.actorRole === b.actorRole &&
  a.kind === b.kind &&
  a.via === b.via &&
  a.requestId === b.requestId &&
  a.correlationId === b.correlationId;

/** Consecutive entries of one read (a page's, recorded by one call) as one group, in order. */
const groupsOf = (entries: readonly ReadEntry[]): ReadGroup[] => {
  const groups: ReadGroup[] = [];
  let last: ReadEntry | undefined;
  for (const entry of entries) {
    if (last && sameRead(last, entry)) {
      const group = groups[groups.length - 1]!;
      group.object_ids.push(entry.objectId);
      group.subject_user_ids.push(entry.subjectUserId);
      if (entry.subjectUserId !== null && !group.subjects.includes(entry.subjectUserId)) group.subjects.push(entry.subjectUserId);
    } else {
      groups.push({
        read_at: entry.readAt,
        actor_id: entry.actorId,
        actor_role: entry.actorRole,
        object_kind: entry.kind,
        object_ids: [entry.objectId],
        subject_user_ids: [entry.subjectUserId],
        via: entry.via,
        request_id: entry.requestId,
        correlation_id: entry.correlationId,
        subjects: entry.subjectUserId === null ? [] : [entry.subjectUserId],
      });
    }
    last = entry;
  }
  return groups;
};

/** A PostgreSQL array literal of texts (`{"a","b",NULL}`): the database reads it far faster than a JSON array. */
const textArray = (values: readonly (string | null)[]): string =>
  `{${values.map((value) => (value === null ? 'NULL' : `"${value.replace(/[\\"]/g, '\\$&')}"`)).join(',')}}`;

/** The groups as the INSERT's one parameter: JSON of rows, their arrays as array literals. */
const insertParameter = (groups: readonly ReadGroup[]): string =>
  JSON.stringify(
    groups.map((group) => ({
      ...group,
      object_ids: textArray(group.object_ids),
      subject_user_ids: textArray(group.subject_user_ids),
      subjects: textArray(group.subjects),
    })),
  );

// One statement whatever the batch size: the groups travel as one JSON array; each gets its id
// first, so that its row and its subjects' rows name the same read.
const INSERT = /* sql */ `
  WITH reads AS MATERIALIZED (
    SELECT nextval('audit_reads_id_seq') AS id, r.read_at, r.actor_id, r.actor_role, r.object_kind, r.object_ids::text[] AS object_ids,
           r.subject_user_ids::text[] AS subject_user_ids, r.via, r.request_id, r.correlation_id, r.subjects::text[] AS subjects
      FROM json_to_recordset($1::json) AS r(read_at timestamptz, actor_id text, actor_role text, object_kind text,
           object_ids text, subject_user_ids text, via text, request_id text, correlation_id text, subjects text)
  ), subjects AS (
    INSERT INTO audit_read_subjects (subject_user_id, read_at, read_id)
    SELECT s.subject_user_id, reads.read_at, reads.id FROM reads CROSS JOIN LATERAL unnest(reads.subjects) AS s(subject_user_id)
  )
  INSERT INTO audit_reads (id, read_at, actor_id, actor_role, object_kind, object_ids, subject_user_ids, via, request_id, correlation_id)
  SELECT id, read_at, actor_id, actor_role, object_kind, object_ids, subject_user_ids, via, request_id, correlation_id FROM reads`;

interface ReadRow {
  id: string;
  n: string;
  read_at: string;
  actor_id: string;
  actor_role: string;
  object_kind: ReadKind;
  object_id: string;
  subject_user_id: string | null;
  via: string;
  request_id: string | null;
  correlation_id: string | null;
}

const READ_AT_ISO = `to_char(r.read_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const encodeCursor = (row: Pick<ReadRow, 'read_at' | 'id' | 'n'>): string => Buffer.from(`${row.read_at}|${row.id}|${row.n}`, 'utf8').toString('base64url');

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|(\d{1,19})\|(\d{1,9})$/;

const decodeCursor = (cursor: string): { readAt: string; id: string; n: string } => {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match || encodeCursor({ read_at: match[1]!, id: match[2]!, n: match[3]! }) !== cursor) {
    throw new DomainError('VALIDATION_FAILED', 'after is not a cursor of the read log; pass a cursor from a previous page unchanged.', {
      field: 'after',
    });
  }
  return { readAt: match[1]!, id: match[2]!, n: match[3]! };
};

// A read's id: its row's, and its place among the row's objects.
const toRecord = (row: ReadRow): ReadRecord => ({
  id: `${row.id}.${row.n}`,
  readAt: row.read_at,
  actorId: row.actor_id,
  actorRole: row.actor_role,
  kind: row.object_kind,
  objectId: row.object_id,
  subjectUserId: row.subject_user_id,
  via: row.via,
  requestId: row.request_id,
  correlationId: row.correlation_id,
});

/** What the recorder has done since it was made: for logs, health and the benchmark. */
export interface ReadAuditStats {
  /** INSERT statements that succeeded, and the rows they wrote. */
  readonly statements: number;
  readonly written: number;
  readonly failedStatements: number;
  /** Time spent in successful statements, in total and the longest one (ms). */
  readonly statementMs: number;
  readonly longestStatementMs: number;
}

/** The recorder and the auditors' query over what it wrote. One per process, made by the composition root. */
export class ReadAuditLog implements ReadRecorder {
  private buffer: ReadEntry[] = [];
  private lost = 0;
  private firstLostAt: string | null = null;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private flushScheduled = false;
  private counters = { statements: 0, written: 0, failedStatements: 0, statementMs: 0, longestStatementMs: 0 };
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;

  private constructor(
    private readonly db: SqlDatabase,
    private readonly options: ReadAuditOptions,
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? (db.kind === 'embedded' ? 2000 : 1000);
    this.maxBatch = options.maxBatch ?? 500;
    this.maxBuffered = options.maxBuffered ?? 50_000;
  }

  /** Creates the table if missing. */
  static async create(db: SqlDatabase, options: ReadAuditOptions): Promise<ReadAuditLog> {
    await ensureReadAuditSchema(db);
    return new ReadAuditLog(db, options);
  }

  /** Entries waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  get stats(): ReadAuditStats {
    return { ...this.counters };
  }

  record(entry: ReadEntry): void {
    if (this.buffer.length >= this.maxBuffered) {
      this.lost += 1;
      this.firstLostAt ??= entry.readAt;
      return;
    }
    this.buffer.push(entry);
    if (this.buffer.length >= this.maxBatch && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush().catch(() => undefined);
      });
    }
  }

  /** Writes buffered entries every interval until `stop`. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flush().catch(() => undefined), this.flushIntervalMs);
    // A recorder alone must not keep a process (a CLI, a test) alive.
    this.timer.unref();
  }

  /**
   * Writes everything buffered when it is called, a batch (one statement) at a time; rejects when a
   * batch fails (its entries stay buffered for the next flush). Flushes run one after another.
   */
  flush(): Promise<void> {
    const run = this.writing.then(() => this.writeAll());
    this.writing = run.catch(() => undefined);
    return run;
  }

  /** Stops the timer and writes what is left, trying a few times; what still fails is logged as lost. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.flush();
        return;
      } catch {
        if (attempt < 3) await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
    this.options.logger.error({ lostReads: this.buffer.length + this.lost }, 'Read audit: could not write the last recorded reads at shutdown');
  }

  private async writeAll(): Promise<void> {
    let remaining = this.buffer.length;
    while (remaining > 0 || this.lost > 0) {
      const batch = this.buffer.splice(0, this.maxBatch);
      remaining -= batch.length;
      const lost = this.lost;
      const lostMarker: ReadEntry[] =
        lost > 0
          ? [
              {
                readAt: this.firstLostAt ?? batch[0]?.readAt ?? new Date(0).toISOString(),
                actorId: 'system',
                actorRole: 'system',
                kind: 'READS_LOST',
                objectId: `${lost} read(s) not recorded: the buffer was full (${this.maxBuffered} waiting)`,
                subjectUserId: null,
                via: 'read audit recorder',
                requestId: null,
                correlationId: null,
              },
            ]
          : [];
      try {
        const rows = [...batch, ...lostMarker];
        const started = performance.now();
        await this.db.query(INSERT, [insertParameter(groupsOf(rows))]);
        const elapsed = performance.now() - started;
        this.counters.statements += 1;
        this.counters.written += rows.length;
        this.counters.statementMs += elapsed;
        this.counters.longestStatementMs = Math.max(this.counters.longestStatementMs, elapsed);
        this.lost -= lost;
        if (this.lost === 0) this.firstLostAt = null;
      } catch (error) {
        // Back to the front, ahead of what came in meanwhile, so order is kept for the retry.
        this.buffer.unshift(...batch);
        this.counters.failedStatements += 1;
        this.options.logger.error({ err: error, pendingReads: this.buffer.length }, 'Read audit: writing recorded reads failed; they will be retried');
        throw error;
      }
    }
  }

  /**
   * Recorded reads, newest first, keyset-paged. Entries still buffered are not included: `flush`
   * first. A read of many things (a row) is listed as one read of each, the last read first; with a
   * subject, the reads are found through `audit_read_subjects` and only that subject's are listed.
   */
  async list(filter: ReadFilter, page: { readonly first: number; readonly after?: string }): Promise<ReadPage> {
    const params: unknown[] = [];
    const p = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const bySubject = filter.subjectUserId !== undefined;
    // The keys the order and the bounds use: the subjects' index with a subject, else the reads'.
    const [readAt, readId] = bySubject ? ['s.read_at', 's.read_id'] : ['r.read_at', 'r.id'];
    const clauses: string[] = [];
    if (bySubject) {
      const subject = p(filter.subjectUserId);
      clauses.push(`s.subject_user_id = ${subject}`, `e.subject_user_id = ${subject}`);
    }
    if (filter.actorId !== undefined) clauses.push(`r.actor_id = ${p(filter.actorId)}`);
    if (filter.from !== undefined) clauses.push(`${readAt} >= ${p(filter.from)}::timestamptz`);
    if (filter.to !== undefined) clauses.push(`${readAt} < ${p(filter.to)}::timestamptz`);
    if (page.after !== undefined) {
      const after = decodeCursor(page.after);
      const [at, id, n] = [p(after.readAt), p(after.id), p(after.n)];
      // The first bound starts the index scan at the cursor's read; the second leaves out what of it was listed.
      clauses.push(`(${readAt}, ${readId}) <= (${at}::timestamptz, ${id}::bigint)`, `(${readAt}, ${readId}, e.n) < (${at}::timestamptz, ${id}::bigint, ${n}::bigint)`);
    }
    const from = bySubject ? 'audit_read_subjects s JOIN audit_reads r ON r.id = s.read_id' : 'audit_reads r';
    const { rows } = await this.db.query<ReadRow>(
      `SELECT r.id::text AS id, e.n::text AS n, ${READ_AT_ISO} AS read_at, r.actor_id, r.actor_role, r.object_kind, e.object_id, e.subject_user_id,
              r.via, r.request_id, r.correlation_id
         FROM ${from} CROSS JOIN LATERAL unnest(r.object_ids, r.subject_user_ids) WITH ORDINALITY AS e(object_id, subject_user_id, n)
         ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
        ORDER BY ${readAt} DESC, ${readId} DESC, e.n DESC LIMIT ${p(page.first + 1)}`,
      params,
    );
    const nodes = rows.slice(0, page.first);
    return { edges: nodes.map((row) => ({ node: toRecord(row), cursor: encodeCursor(row) })), hasNextPage: rows.length > page.first };
  }
}

const USER_STREAM_PREFIX = userStream('');

/** The user whose data a stream holds (`user-<id>`, `persona-<personaId>`), or null for any other stream. */
export const subjectOfStream = (streamId: string): string | null => {
  const persona = personaTarget(streamId);
  const userStreamId = persona ? persona.userStreamId : streamId;
  return userStreamId.startsWith(USER_STREAM_PREFIX) && userStreamId.length > USER_STREAM_PREFIX.length
    ? userStreamId.slice(USER_STREAM_PREFIX.length)
    : null;
};
