import { DomainError } from '../domain/shared/decider';
import type { EventStore, GlobalPosition, RecordedEvent } from '../eventstore/eventStore';
import type { SqlDatabase } from '../sql/sqlDatabase';
import { SqlEventLogIndexQueries, type ChainLink } from '../../projections/eventLogIndex/eventLogIndex.queries';
import {
  CHAIN_LIMIT,
  UUID,
  checkLogPage,
  diffStates,
  encodeCursor,
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
 * (KurrentDB): filters and pages run on the index the `event_log_index` projection keeps
 * (projections/eventLogIndex/: the projection says why an index and not `$all` filters; its queries module reads it),
 * and the events themselves are read from the store by position, so what a page shows is what the
 * store holds. Same filters, cursors, ordering, page info and errors as `SqlEventLog`; the test
 * test/audit/indexedEventLog.int.test.ts runs both over one log and compares their answers.
 *
 * No hash chains here (KurrentDB keeps none): `verify` is absent, and the GraphQL query that needs it
 * says so.
 */
export class IndexedEventLog implements EventLogReader {
  private readonly index: SqlEventLogIndexQueries;

  constructor(
    private readonly db: SqlDatabase,
    private readonly store: EventStore,
    private readonly pseudonyms: Pseudonyms | null = null,
  ) {
    this.index = new SqlEventLogIndexQueries(db);
  }

  pseudonymised(pseudonyms: Pseudonyms): IndexedEventLog {
    return new IndexedEventLog(this.db, this.store, pseudonyms);
  }

  async browse(filter: EventLogFilter, page: EventLogPageRequest = {}): Promise<LogPage> {
    const checked = normalizeFilter(filter);
    const { backward, size, from } = checkLogPage(page);

    const positions = await this.index.positions(checked, from ? { op: backward ? '<' : '>', position: from } : null, backward, size + 1);
    const more = positions.length > size;
    const taken = positions.slice(0, size);
    const ordered = backward ? taken.reverse() : taken;
    const events = await this.events(ordered);
    const beyondCursor = from ? await this.index.exists(checked, { op: backward ? '>=' : '<=', position: from }) : false;
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
    const [event] = await this.select('event_id', eventId, 1);
    if (!event) throw new DomainError('NOT_FOUND', `No event has the id ${eventId}.`, { eventId });
    const { causationId, correlationId } = event.metadata;
    const [siblings, caused, correlated, causedBy] = await Promise.all([
      this.select('causation_id', causationId, CHAIN_LIMIT),
      this.select('causation_id', event.eventId, CHAIN_LIMIT),
      this.select('correlation_id', correlationId, CHAIN_LIMIT + 1),
      UUID.test(causationId) ? this.select('event_id', causationId, 1) : Promise.resolve([]),
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

  /** The events at these positions, from the store, in this order (as the caller may see them). */
  private async events(positions: readonly GlobalPosition[]): Promise<LogEvent[]> {
    if (positions.length === 0) return [];
    const events = (await this.store.readAt(positions)).map(toLogEvent);
    return this.pseudonyms ? events.map((event) => this.pseudonyms!.event(event)) : events;
  }

  private async select(link: ChainLink, value: string, limit: number): Promise<LogEvent[]> {
    return this.events(await this.index.linked(link, value, limit));
  }
}

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
