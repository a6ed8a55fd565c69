import { verifyChains, type ChainReport, type VerifyChainsOptions } from '../eventstore/tamperEvidence';
import { DomainError } from '../domain/shared/decider';
import { ROLES, formatPosition, parsePosition, type Actor, type EventMetadata, type GlobalPosition } from '../eventstore/eventStore';
import { migrate, migrationSet, pendingMigrations, recordMigration, type Migration } from '../sql/migrations';
import type { SqlDatabase } from '../sql/sqlDatabase';
import { AGGREGATE_NAMES, PERSONA, aggregateOfStream, isAggregateName, personaTarget } from './aggregates';
import { jsonDiff, toJsonValue, type JsonChange, type JsonValue } from './jsonDiff';
import type { Pseudonyms } from './pseudonyms';

/**
 * The event log as auditors and analysts read it: every event of the SQL event store (PostgreSQL or
 * the embedded PGlite) with its metadata, filtered and paged in log order, the chain of cause and
 * effect around one event, and any aggregate's state as of a moment.
 *
 * It reads the log through `es_events_merged` (read-only: es_events with each event's personal data
 * merged back, or erased; filters use the metadata as stored, `stored_metadata`, which es_events'
 * indexes cover) with the store's ordering rules: log order is
 * (transaction_id, global_position), and paged reads only see rows below the oldest running
 * transaction, so a cursor never skips an event that commits late.
 */

export interface EventLogFilter {
  /** Exactly this stream, e.g. `user-abc`. */
  readonly streamId?: string;
  /** Every stream of one aggregate: the stream prefix without its dash (`user`, `program`, `manager-report`). */
  readonly aggregate?: string;
  readonly eventTypes?: readonly string[];
  readonly actorId?: string;
  readonly actorRole?: string;
  /** occurredAt at or after this ISO-8601 moment. */
  readonly from?: string;
  /** occurredAt strictly before this ISO-8601 moment (so adjacent ranges never share an event). */
  readonly to?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
}

/** Relay-style: `first`/`after` pages forward, `last`/`before` backward. Cursors are opaque. */
export interface EventLogPageRequest {
  readonly first?: number;
  readonly after?: string;
  readonly last?: number;
  readonly before?: string;
}

export interface LogEvent {
  readonly position: GlobalPosition;
  readonly streamId: string;
  readonly revision: number;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: Record<string, unknown>;
  readonly metadata: EventMetadata;
}

export interface LogEdge {
  readonly cursor: string;
  readonly node: LogEvent;
}

export interface LogPageInfo {
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  readonly startCursor: string | null;
  readonly endCursor: string | null;
}

export interface LogPage {
  /** Always in log order (oldest first), whichever direction was paged. */
  readonly edges: readonly LogEdge[];
  readonly pageInfo: LogPageInfo;
}

export interface CommandOfEvent {
  /** The causation id the command's events share (the command's id). */
  readonly id: string;
  /** The command type, e.g. `ChangeUserStatus`; null for events written without one. */
  readonly name: string | null;
  readonly actor: Actor;
  readonly reason: string | null;
  readonly occurredAt: string;
  /** Every event the command wrote, in log order (the event itself among them). */
  readonly events: readonly LogEvent[];
}

export interface EventChain {
  readonly event: LogEvent;
  readonly command: CommandOfEvent;
  /** When the causation id is another event's id (an automatic reaction), that event. */
  readonly causedBy: LogEvent | null;
  /** Events whose causation id is this event's id: what it directly caused. */
  readonly caused: readonly LogEvent[];
  /** Every event of the same request (correlation id), in log order, at most `CHAIN_LIMIT`. */
  readonly correlated: readonly LogEvent[];
  /** True when the correlation has more than `CHAIN_LIMIT` events and `correlated` was cut. */
  readonly correlatedTruncated: boolean;
}

export interface StateAt {
  readonly streamId: string;
  /** The aggregate (`user`, `program`, ...) or `persona`. */
  readonly aggregate: string;
  readonly at: string;
  /** How many of the stream's events were folded (0: it did not exist yet). */
  readonly eventCount: number;
  /** Position of the last event folded, or null. */
  readonly lastPosition: GlobalPosition | null;
  readonly state: JsonValue;
}

export interface StateDiff {
  readonly streamId: string;
  readonly aggregate: string;
  readonly from: StateAt;
  readonly to: StateAt;
  readonly changes: readonly JsonChange[];
}

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 1000;
export const CHAIN_LIMIT = 1000;
const MAX_EVENT_TYPES = 100;

/**
 * The filters' indexes, as migrations of their own (src/sql/migrations.ts). Expression indexes end
 * in the log-order columns, so a filtered page in log order is one index range scan. Kept here, not
 * in the event store's schema: they serve only this reader, which answers correctly without them
 * (only slower), so on PostgreSQL they are built after the server listens (`migrateAuditIndexes`).
 * Each line of a migration here is one `CREATE INDEX IF NOT EXISTS <name> ON es_events <definition>;`
 * (PostgreSQL builds them one at a time, CONCURRENTLY). To add an index, add a migration at the end.
 */
export const AUDIT_INDEX_MIGRATIONS = migrationSet('event-log-indexes', [
  // es_events_audit_stream_prefix: LIKE 'user-%' can use a text_pattern_ops index whatever the database's collation.
  {
    name: '0001_audit_indexes',
    sql: `CREATE INDEX IF NOT EXISTS es_events_audit_correlation ON es_events ((metadata->>'correlationId'), transaction_id, global_position);
CREATE INDEX IF NOT EXISTS es_events_audit_causation ON es_events ((metadata->>'causationId'), transaction_id, global_position);
CREATE INDEX IF NOT EXISTS es_events_audit_actor ON es_events ((metadata->'actor'->>'id'), transaction_id, global_position);
CREATE INDEX IF NOT EXISTS es_events_audit_type ON es_events (event_type, transaction_id, global_position);
CREATE INDEX IF NOT EXISTS es_events_audit_occurred_at ON es_events ((metadata->>'occurredAt'));
CREATE INDEX IF NOT EXISTS es_events_audit_stream_prefix ON es_events (stream_id text_pattern_ops);`,
  },
]);

interface AuditIndex {
  readonly name: string;
  readonly on: string;
}

const INDEX_LINE = /^CREATE INDEX IF NOT EXISTS ([a-z_][a-z0-9_]*) ON es_events (.+);$/;

/** The indexes a migration of `AUDIT_INDEX_MIGRATIONS` creates. */
const indexesOf = (migration: Migration): AuditIndex[] =>
  migration.sql
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const match = INDEX_LINE.exec(line.trim());
      if (!match) throw new Error(`${migration.name}: each line of an audit-index migration is one "CREATE INDEX IF NOT EXISTS <name> ON es_events <definition>;"`);
      return { name: match[1]!, on: match[2]! };
    });

/**
 * Applies the audit-index migrations this database has not recorded, and records them. On the
 * embedded store, a migration like any other (one process, nothing to build concurrently with; a
 * first start has an empty log). On PostgreSQL, outside any transaction with CREATE INDEX
 * CONCURRENTLY, which does not block writers: the server calls it in the background after it
 * listens, so start-up does not grow with the log (a 1M-event log takes about a minute to index).
 * Returns what it did; with `signal` aborted it stops between two indexes (recording nothing: the next
 * start goes on, an index left half-built is dropped and built again).
 */
export const migrateAuditIndexes = async (db: SqlDatabase, signal?: AbortSignal): Promise<'up to date' | 'built' | 'stopped'> => {
  if (db.kind === 'embedded') return (await migrate(db, AUDIT_INDEX_MIGRATIONS)).length > 0 ? 'built' : 'up to date';
  const pending = await pendingMigrations(db, AUDIT_INDEX_MIGRATIONS);
  if (pending.length === 0) return 'up to date';
  for (const migration of pending) {
    if (!(await ensureIndexes(db, indexesOf(migration), signal))) return 'stopped';
    await recordMigration(db, AUDIT_INDEX_MIGRATIONS, migration.name);
  }
  return 'built';
};

/**
 * Builds these indexes CONCURRENTLY if missing (PostgreSQL), so a first start on a long log does not
 * block writers. Instances starting together race: builds of different indexes wait for each other
 * and PostgreSQL ends one of them (a deadlock, "tuple concurrently updated"), which can leave an index INVALID (present, never
 * used, and skipped by `IF NOT EXISTS` for ever after). So the check is "present and valid", a lost
 * race is tried again after a short random pause, and from the second round an index still invalid
 * is dropped and built again; it returns true only when every index is valid (false: `signal` aborted).
 */
const ensureIndexes = async (db: SqlDatabase, indexes: readonly AuditIndex[], signal?: AbortSignal): Promise<boolean> => {
  const ROUNDS = 8;
  let lastError: unknown = null;
  for (let round = 0; ; ) {
    if (signal?.aborted) return false;
    // `building`: another session is building it now (a first start on a long log takes a while).
    const { rows } = await db.query<{ name: string; valid: boolean; building: boolean }>(
      `SELECT c.relname AS name, i.indisvalid AS valid,
              EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid) AS building
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = to_regclass('es_events') AND c.relname = ANY($1::text[])`,
      [indexes.map((index) => index.name)],
    );
    const valid = new Set(rows.filter((row) => row.valid).map((row) => row.name));
    const invalid = new Set(rows.filter((row) => !row.valid).map((row) => row.name));
    const building = new Set(rows.filter((row) => row.building).map((row) => row.name));
    const todo = indexes.filter((index) => !valid.has(index.name));
    if (todo.length === 0) return true;
    if (round === ROUNDS) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`Could not build the audit indexes ${todo.map((index) => index.name).join(', ')} on es_events after ${ROUNDS} tries${why}`);
    }
    for (const { name, on } of todo) {
      if (signal?.aborted) return false;
      try {
        // Another instance's build in progress is waited for; an invalid index nobody builds is a lost race.
        if (building.has(name)) continue;
        if (invalid.has(name)) {
          await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
        }
        await db.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name} ON es_events ${on}`);
      } catch (error) {
        // Lost to another instance's build or drop: "already exists", a catalog unique violation,
        // a deadlock, "tuple concurrently updated", "does not exist". The next round looks again,
        // and a lasting cause (no permission, say) is reported after the last one.
        lastError = error;
      }
    }
    // Waiting on others' builds does not use up the tries.
    if (!todo.every((index) => building.has(index.name))) round++;
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(Math.random() * 400)));
  }
};

// -- cursors -------------------------------------------------------------------------------------

/** A position as an opaque cursor (base64url of `major.minor`). */
export const encodeCursor = (position: GlobalPosition): string => Buffer.from(formatPosition(position), 'utf8').toString('base64url');

/** The position a cursor stands for; VALIDATION_FAILED for anything this module did not hand out. */
export const decodeCursor = (cursor: string, field = 'after'): GlobalPosition => {
  const position = parsePosition(Buffer.from(cursor, 'base64url').toString('utf8'));
  // Node decodes base64url leniently; only a cursor that re-encodes to itself is one of ours.
  if (!position || encodeCursor(position) !== cursor) {
    throw new DomainError('VALIDATION_FAILED', `${field} is not a cursor of the event log; pass a cursor from a previous page unchanged.`, {
      field,
    });
  }
  return position;
};

// -- SQL ---------------------------------------------------------------------------------------

interface EventRow {
  stream_id: string;
  revision: number;
  global_position: string;
  transaction_id: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: Record<string, unknown>;
  metadata: EventMetadata;
}

// Positions leave as text (xid8 and bigint exceed JS numbers); ORDER BY names the qualified columns.
const COLUMNS = `e.stream_id, e.revision, e.global_position::text AS global_position,
  e.transaction_id::text AS transaction_id, e.event_id::text AS event_id, e.event_type, e.schema_version, e.data, e.metadata`;
const ASCENDING = `e.transaction_id, e.global_position`;
const DESCENDING = `e.transaction_id DESC, e.global_position DESC`;
const VISIBLE = `e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())`;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const toLogEvent = (row: EventRow): LogEvent => ({
  position: { major: BigInt(row.transaction_id), minor: BigInt(row.global_position) },
  streamId: row.stream_id,
  revision: row.revision,
  eventId: row.event_id,
  type: row.event_type,
  schemaVersion: row.schema_version,
  data: row.data,
  metadata: row.metadata,
});

export const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

export const invalid = (field: string, message: string): DomainError => new DomainError('VALIDATION_FAILED', message, { field });

/** A log page request checked: its direction, its size, and the position it starts after (or before). */
export const checkLogPage = (page: EventLogPageRequest): { backward: boolean; size: number; from: GlobalPosition | undefined } => {
  const backward = page.last !== undefined || page.before !== undefined;
  if (backward && (page.first !== undefined || page.after !== undefined)) {
    throw invalid('last', 'Page forward with first/after or backward with last/before, not both at once.');
  }
  const size = backward ? (page.last ?? DEFAULT_PAGE) : (page.first ?? DEFAULT_PAGE);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) {
    throw invalid(backward ? 'last' : 'first', `${backward ? 'last' : 'first'} must be between 1 and ${MAX_PAGE}; got ${size}.`);
  }
  const cursor = backward ? page.before : page.after;
  const from = cursor !== undefined ? decodeCursor(cursor, backward ? 'before' : 'after') : undefined;
  return { backward, size, from };
};


/**
 * occurredAt is written by the pipeline as `Date.toISOString()` (UTC, milliseconds), so comparing
 * the text compares the moments and the text index serves the range. Inputs are brought to that form.
 */
const isoMoment = (value: string, field: string): string => {
  const time = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time)) throw invalid(field, `${field} must be an ISO-8601 date-time such as 2026-01-05T09:00:00Z; got "${value}".`);
  return new Date(time).toISOString();
};

/** Checks a filter and brings its moments to the stored form. */
export const normalizeFilter = (filter: EventLogFilter): EventLogFilter => {
  if (filter.aggregate !== undefined && !isAggregateName(filter.aggregate)) {
    throw invalid('aggregate', `aggregate must be one of ${AGGREGATE_NAMES.join(', ')}; got "${filter.aggregate}".`);
  }
  if (filter.actorRole !== undefined && !(ROLES as readonly string[]).includes(filter.actorRole)) {
    throw invalid('actorRole', `actorRole must be one of ${ROLES.join(', ')}; got "${filter.actorRole}".`);
  }
  if (filter.eventTypes !== undefined && filter.eventTypes.length > MAX_EVENT_TYPES) {
    throw invalid('eventTypes', `eventTypes may name at most ${MAX_EVENT_TYPES} types; got ${filter.eventTypes.length}.`);
  }
  const from = filter.from !== undefined ? isoMoment(filter.from, 'from') : undefined;
  const to = filter.to !== undefined ? isoMoment(filter.to, 'to') : undefined;
  if (from !== undefined && to !== undefined && to < from) {
    throw invalid('to', `to (${to}) is before from (${from}); give the earlier moment as from.`);
  }
  return { ...filter, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
};

/** The WHERE clauses of a (normalised) filter; `params` collects their values. */
const filterClauses = (filter: EventLogFilter, params: unknown[]): string[] => {
  const p = (value: unknown): string => `$${params.push(value)}`;
  const clauses: string[] = [];
  if (filter.streamId !== undefined) clauses.push(`e.stream_id = ${p(filter.streamId)}`);
  if (filter.aggregate !== undefined) clauses.push(`e.stream_id LIKE ${p(`${escapeLike(filter.aggregate)}-%`)}`);
  if (filter.eventTypes !== undefined) clauses.push(`e.event_type = ANY(${p(filter.eventTypes)}::text[])`);
  if (filter.actorId !== undefined) clauses.push(`e.stored_metadata->'actor'->>'id' = ${p(filter.actorId)}`);
  if (filter.actorRole !== undefined) clauses.push(`e.stored_metadata->'actor'->>'role' = ${p(filter.actorRole)}`);
  if (filter.from !== undefined) clauses.push(`e.stored_metadata->>'occurredAt' >= ${p(filter.from)}`);
  if (filter.to !== undefined) clauses.push(`e.stored_metadata->>'occurredAt' < ${p(filter.to)}`);
  if (filter.correlationId !== undefined) clauses.push(`e.stored_metadata->>'correlationId' = ${p(filter.correlationId)}`);
  if (filter.causationId !== undefined) clauses.push(`e.stored_metadata->>'causationId' = ${p(filter.causationId)}`);
  return clauses;
};

const positionClause = (op: '>' | '<' | '<=' | '>=', position: GlobalPosition, params: unknown[]): string =>
  `(e.transaction_id, e.global_position) ${op} ($${params.push(position.major.toString())}::text::xid8, $${params.push(position.minor.toString())}::bigint)`;

export interface ScanOptions {
  /** Strictly after this position. */
  readonly after?: GlobalPosition;
  /** At or before this position (an export stops at the head it started from). */
  readonly until?: GlobalPosition;
  readonly limit: number;
}

/**
 * What the audit queries read the log through: `SqlEventLog` (the SQL store's own tables) or
 * `IndexedEventLog` (an index the projections keep beside any store, for KurrentDB).
 */
export interface EventLogReader {
  pseudonymised(pseudonyms: Pseudonyms): EventLogReader;
  browse(filter: EventLogFilter, page?: EventLogPageRequest): Promise<LogPage>;
  chain(eventId: string): Promise<EventChain>;
  streamAt(streamId: string, at: string | Date, field?: string): Promise<StateAt>;
  diff(streamId: string, from: string | Date, to: string | Date): Promise<StateDiff>;
  /** Recomputes the hash chains; only where the store keeps them (the SQL stores). */
  readonly verify?: (options?: VerifyChainsOptions) => Promise<ChainReport>;
}

export class SqlEventLog implements EventLogReader {
  /** `pseudonyms`: every event and state this log gives is pseudonymised (an analyst's view). */
  constructor(
    private readonly db: SqlDatabase,
    private readonly pseudonyms: Pseudonyms | null = null,
  ) {}

  /** The same log as analysts read it: names and e-mails as stable pseudonyms, free text left out. */
  pseudonymised(pseudonyms: Pseudonyms): SqlEventLog {
    return new SqlEventLog(this.db, pseudonyms);
  }

  private toLogEvent = (row: EventRow): LogEvent => (this.pseudonyms ? this.pseudonyms.event(toLogEvent(row)) : toLogEvent(row));

  /** Recomputes every stream's hash chain (or one stream's) and reports what was altered or removed. */
  verify(options: VerifyChainsOptions = {}): Promise<ChainReport> {
    return verifyChains(this.db, options);
  }

  /** One page of the filtered log, in log order. */
  async browse(filter: EventLogFilter, page: EventLogPageRequest = {}): Promise<LogPage> {
    const checked = normalizeFilter(filter);
    const { backward, size, from } = checkLogPage(page);

    const params: unknown[] = [];
    const where = [...filterClauses(checked, params), VISIBLE];
    if (from) where.push(positionClause(backward ? '<' : '>', from, params));
    const rows = await this.db.query<EventRow>(
      `SELECT ${COLUMNS} FROM es_events_merged e WHERE ${where.join(' AND ')}
        ORDER BY ${backward ? DESCENDING : ASCENDING} LIMIT $${params.push(size + 1)}`,
      params,
    );
    const more = rows.rows.length > size;
    const taken = rows.rows.slice(0, size).map(this.toLogEvent);
    const events = backward ? taken.reverse() : taken;
    // Whether anything matching lies on the cursor's other side (the cursor's own event included).
    const beyondCursor = from ? await this.exists(checked, backward ? '>=' : '<=', from) : false;
    const edges = events.map((node) => ({ cursor: encodeCursor(node.position), node }));
    return {
      edges,
      pageInfo: {
        hasNextPage: backward ? beyondCursor : more,
        hasPreviousPage: backward ? more : beyondCursor,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }

  /** How many events match (what an export of the filter would write, as of now). */
  async count(filter: EventLogFilter, until?: GlobalPosition): Promise<number> {
    const params: unknown[] = [];
    const where = [...filterClauses(normalizeFilter(filter), params), VISIBLE];
    if (until) where.push(positionClause('<=', until, params));
    const result = await this.db.query<{ count: string | number }>(`SELECT count(*) AS count FROM es_events_merged e WHERE ${where.join(' AND ')}`, params);
    return Number(result.rows[0]?.count ?? 0);
  }

  /** The position of the last visible event (the head an export stops at), or null when the log is empty. */
  async head(): Promise<GlobalPosition | null> {
    const result = await this.db.query<{ transaction_id: string; global_position: string }>(
      `SELECT e.transaction_id::text AS transaction_id, e.global_position::text AS global_position FROM es_events_merged e
        WHERE ${VISIBLE} ORDER BY ${DESCENDING} LIMIT 1`,
    );
    const row = result.rows[0];
    return row ? { major: BigInt(row.transaction_id), minor: BigInt(row.global_position) } : null;
  }

  /**
   * One forward batch of the filtered log: the same filter and ordering SQL as `browse`, so an
   * export of a filter holds exactly the events browsing it pages through.
   */
  async scan(filter: EventLogFilter, options: ScanOptions): Promise<readonly LogEvent[]> {
    const params: unknown[] = [];
    const where = [...filterClauses(normalizeFilter(filter), params), VISIBLE];
    if (options.after) where.push(positionClause('>', options.after, params));
    if (options.until) where.push(positionClause('<=', options.until, params));
    const rows = await this.db.query<EventRow>(
      `SELECT ${COLUMNS} FROM es_events_merged e WHERE ${where.join(' AND ')} ORDER BY ${ASCENDING} LIMIT $${params.push(options.limit)}`,
      params,
    );
    return rows.rows.map(this.toLogEvent);
  }

  /** The event, the command that caused it with its other events, what it caused, and its whole request. */
  async chain(eventId: string): Promise<EventChain> {
    if (!UUID.test(eventId)) throw invalid('eventId', `eventId must be an event id (a UUID); got "${eventId}".`);
    const [event] = await this.select(`e.event_id = $1::uuid`, [eventId], 1);
    if (!event) throw new DomainError('NOT_FOUND', `No event has the id ${eventId}.`, { eventId });
    const { causationId, correlationId } = event.metadata;
    const [siblings, caused, correlated, causedBy] = await Promise.all([
      this.select(`e.stored_metadata->>'causationId' = $1`, [causationId], CHAIN_LIMIT),
      this.select(`e.stored_metadata->>'causationId' = $1`, [event.eventId], CHAIN_LIMIT),
      this.select(`e.stored_metadata->>'correlationId' = $1`, [correlationId], CHAIN_LIMIT + 1),
      UUID.test(causationId) ? this.select(`e.event_id = $1::uuid`, [causationId], 1) : Promise.resolve([]),
    ]);
    return {
      event,
      command: {
        id: causationId,
        name: event.metadata.command ?? null,
        actor: event.metadata.actor,
        reason: event.metadata.reason ?? null,
        occurredAt: event.metadata.occurredAt,
        events: siblings,
      },
      causedBy: causedBy[0] ?? null,
      caused,
      correlated: correlated.slice(0, CHAIN_LIMIT),
      correlatedTruncated: correlated.length > CHAIN_LIMIT,
    };
  }

  /**
   * The state of one aggregate as of `at`: its stream's events folded in revision order up to the
   * first one that occurred after `at`. (Stopping there rather than skipping it keeps the fold a
   * prefix of the stream, which is a state the aggregate really had, even if clocks disagreed.)
   * `persona-<personaId>` gives one persona, folded from its user's stream.
   */
  async streamAt(streamId: string, at: string | Date, field = 'at'): Promise<StateAt> {
    return foldStreamAt(streamId, at, field, this.pseudonyms, async (readStreamId) => {
      const result = await this.db.query<EventRow>(`SELECT ${COLUMNS} FROM es_events_merged e WHERE e.stream_id = $1 ORDER BY e.revision`, [readStreamId]);
      return result.rows.map(toLogEvent);
    });
  }

  /** What changed in one aggregate between two moments. */
  async diff(streamId: string, from: string | Date, to: string | Date): Promise<StateDiff> {
    const before = await this.streamAt(streamId, from, 'from');
    const after = await this.streamAt(streamId, to, 'to');
    if (after.at < before.at) throw invalid('to', `to (${after.at}) is before from (${before.at}); give the earlier moment as from.`);
    return { streamId, aggregate: before.aggregate, from: before, to: after, changes: diffStates(before.state, after.state) };
  }

  private async exists(filter: EventLogFilter, op: '<=' | '>=', position: GlobalPosition): Promise<boolean> {
    const params: unknown[] = [];
    const where = [...filterClauses(filter, params), VISIBLE, positionClause(op, position, params)];
    const result = await this.db.query<{ found: boolean }>(`SELECT EXISTS (SELECT 1 FROM es_events_merged e WHERE ${where.join(' AND ')}) AS found`, params);
    return result.rows[0]?.found === true;
  }

  private async select(where: string, params: readonly unknown[], limit: number): Promise<LogEvent[]> {
    const rows = await this.db.query<EventRow>(
      `SELECT ${COLUMNS} FROM es_events_merged e WHERE ${where} ORDER BY ${ASCENDING} LIMIT ${Math.trunc(limit)}`,
      params,
    );
    return rows.rows.map(this.toLogEvent);
  }
}

/** A persona out of a folded user state, or `{ status: 'NOT_CREATED' }` while it did not exist. */
const personaOf = (userState: unknown, personaId: string): unknown => {
  const personas = (userState as { personas?: readonly { personaId: string }[] }).personas ?? [];
  return personas.find((persona) => persona.personaId === personaId) ?? { status: 'NOT_CREATED' };
};

/**
 * The state of one aggregate as of `at`: its stream's events folded in revision order up to the
 * first one that occurred after `at`. (Stopping there rather than skipping it keeps the fold a
 * prefix of the stream, which is a state the aggregate really had, even if clocks disagreed.)
 * `persona-<personaId>` gives one persona, folded from its user's stream. Whatever store the events
 * come from: `readStream` gives a stream's events in revision order.
 */
export const foldStreamAt = async (
  streamId: string,
  at: string | Date,
  field: string,
  pseudonyms: Pseudonyms | null,
  readStream: (streamId: string) => Promise<readonly LogEvent[]>,
): Promise<StateAt> => {
  if (at instanceof Date && Number.isNaN(at.getTime())) throw invalid(field, `${field} must be an ISO-8601 date-time.`);
  const moment = typeof at === 'string' ? isoMoment(at, field) : at.toISOString();
  const persona = personaTarget(streamId);
  const readStreamId = persona ? persona.userStreamId : streamId;
  const aggregate = aggregateOfStream(readStreamId);
  if (!aggregate || (streamId.startsWith(`${PERSONA}-`) && !persona)) {
    throw invalid(
      'streamId',
      `streamId must start with an aggregate prefix (${[...AGGREGATE_NAMES, PERSONA].map((name) => `${name}-`).join(', ')}) ` +
        `followed by an id; got "${streamId}".`,
    );
  }
  const until = Date.parse(moment);
  let state = aggregate.folder.initialState();
  let eventCount = 0;
  let lastPosition: GlobalPosition | null = null;
  for (const event of await readStream(readStreamId)) {
    if (Date.parse(event.metadata.occurredAt) > until) break;
    state = aggregate.folder.evolve(state, { type: event.type, data: event.data });
    eventCount += 1;
    lastPosition = event.position;
  }
  const value = toJsonValue(persona ? personaOf(state, persona.personaId) : state);
  return {
    streamId,
    aggregate: persona ? PERSONA : aggregate.name,
    at: moment,
    eventCount,
    lastPosition,
    state: pseudonyms ? (pseudonyms.state(value) as JsonValue) : value,
  };
};

/** The JSON diff of two folded states (`jsonDiff`), as `diff` returns it. */
export const diffStates = (before: JsonValue, after: JsonValue): JsonChange[] => jsonDiff(before, after);
