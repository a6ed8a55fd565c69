import { DomainError } from '../domain/shared/decider';
import type { EventStore, GlobalPosition, RecordedEvent } from '../eventstore/eventStore';
import type { SqlDatabase } from '../sql/sqlDatabase';
import {
  CHAIN_LIMIT,
  UUID,
  checkLogPage,
  diffStates,
  encodeCursor,
  escapeLike,
  foldStreamAt,
  invalid,
  normalizeFilter,
  type EventChain,
  type EventLogFilter,
  type EventLogPageRequest,
  type EventLogReader,
  type LogEvent,
  type LogPage,
  type StateAt,
  type StateDiff,
} from './eventLog';
import type { Pseudonyms } from './pseudonyms';

/**
 * The auditors' view of the log for a store that keeps it outside the read-model database
 * (KurrentDB): filters and pages run on `rm_event_log`, the index the `event_log_index` projection
 * keeps (projections/eventLogIndex/eventLogIndex.projection.ts, which says why an index and not `$all` filters),
 * and the events themselves are read from the store by position, so what a page shows is what the
 * store holds. Same filters, cursors, ordering, page info and errors as `SqlEventLog`; the test
 * test/audit/indexedEventLog.int.test.ts runs both over one log and compares their answers.
 *
 * No hash chains here (KurrentDB keeps none): `verify` is absent, and the GraphQL query that needs it
 * says so.
 */
export class IndexedEventLog implements EventLogReader {
  constructor(
    private readonly db: SqlDatabase,
    private readonly store: EventStore,
    private readonly pseudonyms: Pseudonyms | null = null,
  ) {}

  pseudonymised(pseudonyms: Pseudonyms): IndexedEventLog {
    return new IndexedEventLog(this.db, this.store, pseudonyms);
  }

  async browse(filter: EventLogFilter, page: EventLogPageRequest = {}): Promise<LogPage> {
    const checked = normalizeFilter(filter);
    const { backward, size, from } = checkLogPage(page);

    const params: unknown[] = [];
    const where = filterClauses(checked, params);
    if (from) where.push(positionClause(backward ? '<' : '>', from, params));
    const positions = await this.positions(where, params, backward ? DESCENDING : ASCENDING, size + 1);
    const more = positions.length > size;
    const taken = positions.slice(0, size);
    const ordered = backward ? taken.reverse() : taken;
    const events = await this.events(ordered);
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

  async chain(eventId: string): Promise<EventChain> {
    if (!UUID.test(eventId)) throw invalid('eventId', `eventId must be an event id (a UUID); got "${eventId}".`);
    const [event] = await this.select(`event_id = $1::uuid`, [eventId], 1);
    if (!event) throw new DomainError('NOT_FOUND', `No event has the id ${eventId}.`, { eventId });
    const { causationId, correlationId } = event.metadata;
    const [siblings, caused, correlated, causedBy] = await Promise.all([
      this.select(`causation_id = $1`, [causationId], CHAIN_LIMIT),
      this.select(`causation_id = $1`, [event.eventId], CHAIN_LIMIT),
      this.select(`correlation_id = $1`, [correlationId], CHAIN_LIMIT + 1),
      UUID.test(causationId) ? this.select(`event_id = $1::uuid`, [causationId], 1) : Promise.resolve([]),
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

  streamAt(streamId: string, at: string | Date, field = 'at'): Promise<StateAt> {
    return foldStreamAt(streamId, at, field, this.pseudonyms, async (readStreamId) => (await this.store.readStream(readStreamId)).events.map(toLogEvent));
  }

  async diff(streamId: string, from: string | Date, to: string | Date): Promise<StateDiff> {
    const before = await this.streamAt(streamId, from, 'from');
    const after = await this.streamAt(streamId, to, 'to');
    if (after.at < before.at) throw invalid('to', `to (${after.at}) is before from (${before.at}); give the earlier moment as from.`);
    return { streamId, aggregate: before.aggregate, from: before, to: after, changes: diffStates(before.state, after.state) };
  }

  private async positions(where: readonly string[], params: readonly unknown[], order: string, limit: number): Promise<GlobalPosition[]> {
    const rows = await this.db.query<{ major: string; minor: string }>(
      `SELECT position_major::text AS major, position_minor::text AS minor FROM rm_event_log
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${Math.trunc(limit)}`,
      params,
    );
    return rows.rows.map((row) => ({ major: BigInt(row.major), minor: BigInt(row.minor) }));
  }

  /** The events at these positions, from the store, in this order (as the caller may see them). */
  private async events(positions: readonly GlobalPosition[]): Promise<LogEvent[]> {
    if (positions.length === 0) return [];
    const events = (await this.store.readAt(positions)).map(toLogEvent);
    return this.pseudonyms ? events.map((event) => this.pseudonyms!.event(event)) : events;
  }

  private async select(where: string, params: readonly unknown[], limit: number): Promise<LogEvent[]> {
    return this.events(await this.positions([where], params, ASCENDING, limit));
  }

  private async exists(filter: EventLogFilter, op: '<=' | '>=', position: GlobalPosition): Promise<boolean> {
    const params: unknown[] = [];
    const where = [...filterClauses(filter, params), positionClause(op, position, params)];
    const result = await this.db.query<{ found: boolean }>(`SELECT EXISTS (SELECT 1 FROM rm_event_log WHERE ${where.join(' AND ')}) AS found`, params);
    return result.rows[0]?.found === true;
  }
}

const ASCENDING = 'position_major, position_minor';
const DESCENDING = 'position_major DESC, position_minor DESC';

const toLogEvent = (event: RecordedEvent): LogEvent => ({
  position: event.position,
  streamId: event.streamId,
  revision: event.revision,
  eventId: event.id,
  type: event.type,
  schemaVersion: event.schemaVersion,
  data: event.data as Record<string, unknown>,
  metadata: event.metadata,
});

/** The WHERE clauses of a (normalised) filter on the index; `params` collects their values. */
const filterClauses = (filter: EventLogFilter, params: unknown[]): string[] => {
  const p = (value: unknown): string => `$${params.push(value)}`;
  const clauses: string[] = [];
  if (filter.streamId !== undefined) clauses.push(`stream_id = ${p(filter.streamId)}`);
  if (filter.aggregate !== undefined) clauses.push(`stream_id LIKE ${p(`${escapeLike(filter.aggregate)}-%`)}`);
  if (filter.eventTypes !== undefined) clauses.push(`event_type = ANY(${p(filter.eventTypes)}::text[])`);
  if (filter.actorId !== undefined) clauses.push(`actor_id = ${p(filter.actorId)}`);
  if (filter.actorRole !== undefined) clauses.push(`actor_role = ${p(filter.actorRole)}`);
  if (filter.from !== undefined) clauses.push(`occurred_at >= ${p(filter.from)}`);
  if (filter.to !== undefined) clauses.push(`occurred_at < ${p(filter.to)}`);
  if (filter.correlationId !== undefined) clauses.push(`correlation_id = ${p(filter.correlationId)}`);
  if (filter.causationId !== undefined) clauses.push(`causation_id = ${p(filter.causationId)}`);
  return clauses;
};

const positionClause = (op: '>' | '<' | '<=' | '>=', position: GlobalPosition, params: unknown[]): string =>
  `(position_major, position_minor) ${op} ($${params.push(position.major.toString())}::bigint, $${params.push(position.minor.toString())}::bigint)`;
