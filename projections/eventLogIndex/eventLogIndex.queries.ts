import type { EventLogFilter } from '../../src/audit/eventLog';
import { escapeLike } from '../../src/audit/eventLog';
import type { GlobalPosition } from '../../src/eventstore/eventStore';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';

/**
 * How the event log's index is read: the positions of the events that pass an auditor's filter, in
 * log order. `IndexedEventLog` (src/audit/indexedEventLog.ts) reads the events themselves from the
 * store at these positions.
 */

/** One row an event. */
export const EVENT_LOG_TABLE = 'rm_event_log';

/** A bound on the position: the events after (or before, or up to ...) this one. */
export interface PositionBound {
  readonly op: '>' | '<' | '<=' | '>=';
  readonly position: GlobalPosition;
}

/** One field an event chain is followed by. */
export type ChainLink = 'event_id' | 'causation_id' | 'correlation_id';

const ASCENDING = 'position_major, position_minor';
const DESCENDING = 'position_major DESC, position_minor DESC';

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

const positionClause = ({ op, position }: PositionBound, params: unknown[]): string =>
  `(position_major, position_minor) ${op} ($${params.push(position.major.toString())}::bigint, $${params.push(position.minor.toString())}::bigint)`;

export class SqlEventLogIndexQueries {
  constructor(private readonly db: SqlExecutor) {}

  /** Up to `limit` positions of events that pass the filter (and the bound), first to last or last to first. */
  async positions(filter: EventLogFilter, bound: PositionBound | null, backward: boolean, limit: number): Promise<GlobalPosition[]> {
    const params: unknown[] = [];
    const where = filterClauses(filter, params);
    if (bound) where.push(positionClause(bound, params));
    return this.select(where, params, backward ? DESCENDING : ASCENDING, limit);
  }

  /** Up to `limit` positions, first to last, of the events whose `link` is `value` (an event id is a UUID). */
  async linked(link: ChainLink, value: string, limit: number): Promise<GlobalPosition[]> {
    return this.select([link === 'event_id' ? `event_id = $1::uuid` : `${link} = $1`], [value], ASCENDING, limit);
  }

  /** Whether any event that passes the filter lies within the bound. */
  async exists(filter: EventLogFilter, bound: PositionBound): Promise<boolean> {
    const params: unknown[] = [];
    const where = [...filterClauses(filter, params), positionClause(bound, params)];
    const result = await this.db.query<{ found: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${EVENT_LOG_TABLE} WHERE ${where.join(' AND ')}) AS found`, params);
    return result.rows[0]?.found === true;
  }

  private async select(where: readonly string[], params: readonly unknown[], order: string, limit: number): Promise<GlobalPosition[]> {
    const rows = await this.db.query<{ major: string; minor: string }>(
      `SELECT position_major::text AS major, position_minor::text AS minor FROM ${EVENT_LOG_TABLE}
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${Math.trunc(limit)}`,
      params,
    );
    return rows.rows.map((row) => ({ major: BigInt(row.major), minor: BigInt(row.minor) }));
  }
}
