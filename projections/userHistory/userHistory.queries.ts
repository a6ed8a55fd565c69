import type { LifecycleEvent } from '../../src/domain';
import { STAFF_ONLY_HISTORY_EVENTS } from '../../src/domain/access/policy';
import { formatPosition, type EventStore, type GlobalPosition, type RecordedEvent } from '../../src/eventstore/eventStore';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { preparedName, sqlText, type SqlExecutor } from '../../src/sql/sqlDatabase';
import type { HistoryEntryView, HistoryField, HistoryOptions, Page, PageRequest, PageWithoutTotal } from '../lifecycle/lifecycle.types';
import { decodeCursor, encodeCursor, requireFirst, toPageWithoutTotal, whereClause } from '../shared/paging';
import { asDomainEvent, isoTimestamp } from '../shared/projectionSupport';
import { historyEntriesOf } from './userHistory.entries';
import type { HistoryRow } from './userHistory.projection';

/**
 * How the user history read model is read: a user's entries newest first, each told from the
 * event it came of (read from the event store by position, or with the rows when the log is in the
 * same database).
 */

/** One row an entry (an event's change to one user). */
export const USER_HISTORY_TABLE = 'rm_user_history';

/** A row's columns but its event type, of the table or subquery `from` (every one text). */
const rowColumns = (from: string): string => `${from}.user_id, ${from}.position_major::text AS position_major,
  ${from}.position_minor::text AS position_minor, ${from}.field, ${from}.persona_id, ${from}.match_id, ${from}.change_id,
  ${from}.from_value, ${from}.to_value, ${from}.reverted_by_change_id, ${isoTimestamp(`${from}.reverted_at`)} AS reverted_at`;

const HISTORY_CURSOR = (values: readonly string[]) => values.length === 2 && values.every((value) => /^\d{1,20}$/.test(value));

/** Above every position (bigint's largest): the first page reads from the end of the user's entries. */
const MAX_POSITION = '9223372036854775807';

/**
 * The staff-only event types as a list written into the statement: a fixed list, so the planner
 * weighs it against the statistics' share of each type. As a parameter, it guessed the share, and on
 * a history of mostly one type guessed that almost nothing passes: it then read all of the user's
 * entries and sorted them, where the page reads the key's index backwards and stops.
 */
const STAFF_ONLY_TYPES = `ARRAY[${STAFF_ONLY_HISTORY_EVENTS.map(sqlText).join(', ')}]::text[]`;

/**
 * The condition that leaves the staff-only entries out of a participant's own history. Staff-only
 * entries: a staged match (and its discarding) is the admins' draft, not live, and nobody has been
 * notified; a participant reading their own history sees a match from when it went live.
 */
const hiddenFromParticipants = (options: HistoryOptions): string => (options.participantView ? ` AND event_type <> ALL (${STAFF_ONLY_TYPES})` : '');

/**
 * Where the history reads the events its rows came of: the event store, by position; or, when it is
 * the SQL store keeping its log in the read model's database, its tables, joined to the page.
 */
export type HistoryEvents = Pick<EventStore, 'readAt'>;

/**
 * An entry as the history shows it: what changed from the row, who, when, why and the sentence from
 * the event it came of (`historyEntriesOf` again, with the match context the row keeps: the entry's
 * own participant and the status it changed from).
 */
const toHistoryEntry = (row: HistoryRow, recorded: RecordedEvent): HistoryEntryView => {
  const participants = row.persona_id === null ? [] : [{ userId: row.user_id, personaId: row.persona_id }];
  const entry = historyEntriesOf(asDomainEvent(recorded as RecordedEvent<LifecycleEvent>), { participants, status: row.from_value }).find(
    (candidate) => candidate.userId === row.user_id && candidate.field === row.field && candidate.personaId === row.persona_id,
  );
  const { occurredAt, actor, reason, command, correlationId } = recorded.metadata;
  return {
    eventId: recorded.id,
    userId: row.user_id,
    position: recorded.position,
    eventType: recorded.type,
    occurredAt,
    field: row.field as HistoryField,
    personaId: row.persona_id,
    matchId: row.match_id,
    changeId: row.change_id,
    from: row.from_value,
    to: row.to_value,
    // Only a change to how entries are made (a history not rebuilt since) leaves the row without its entry.
    summary: entry?.summary ?? `${recorded.type} (rebuild the user_history read model to describe it)`,
    actorId: actor.id,
    actorRole: actor.role,
    reason: reason ?? null,
    command: command ?? null,
    correlationId,
    revertedByChangeId: row.reverted_by_change_id,
    revertedAt: row.reverted_at,
  };
};

/** Where a row's event is in the log. */
const positionOf = (row: HistoryRow): GlobalPosition => ({ major: BigInt(row.position_major), minor: BigInt(row.position_minor) });

/** The events the rows came of, read by position, in the rows' order (undefined where the log has none). */
const readEventsOf = async (events: HistoryEvents, rows: readonly HistoryRow[]): Promise<(RecordedEvent | undefined)[]> => {
  const found = new Map((await events.readAt(rows.map(positionOf))).map((event) => [formatPosition(event.position), event]));
  return rows.map((row) => found.get(formatPosition(positionOf(row))));
};

/** A row's event; a row whose event the log does not have is an error an auditor must see. */
const requireEvent = (userId: string, row: HistoryRow, event: RecordedEvent | null | undefined): RecordedEvent => {
  if (!event) {
    throw new Error(
      `The history of user ${userId} has an entry for the event at position ${formatPosition(positionOf(row))}, which the event log does not have: ` +
        'an event was removed or the read model belongs to another log. Run `npm run events -- verify` and rebuild the user_history read model.',
    );
  }
  return event;
};

/** Queries on the user history. Reads only: it sees whatever the runner has applied so far. */
export class SqlUserHistoryQueries {
  /**
   * The SQL store when the log is in this same database: a page then reads its rows and their events
   * in one statement instead of two (the rows, then `readAt`).
   */
  private readonly logHere: SqlEventStore | null;

  constructor(
    private readonly db: SqlExecutor,
    private readonly events: HistoryEvents,
  ) {
    this.logHere = events instanceof SqlEventStore && events.keepsLogIn(db) ? events : null;
  }

  async history(userId: string, page: PageRequest, options: HistoryOptions = {}): Promise<Page<HistoryEntryView>> {
    const [entries, totalCount] = await Promise.all([this.historyPage(userId, page, options), this.countHistory(userId, options)]);
    return { ...entries, totalCount };
  }

  async historyPage(userId: string, page: PageRequest, options: HistoryOptions = {}): Promise<PageWithoutTotal<HistoryEntryView>> {
    const first = requireFirst(page.first);
    const params: unknown[] = [userId];
    // The user's entries as a range of the key (user, position), read backwards from the cursor or the
    // end: written as an equality on the user, the planner weighed reading all of the user's entries
    // and sorting them against reading the index backwards, by a guess of how many entries a user has
    // (a few, from the statistics or without them), and on a user with thousands of entries the
    // prepared page read and sorted all of them on every call (graphql-throughput's history phase:
    // its PostgreSQL CPU a page grew from round to round as its users' histories did). As a range it
    // expects many rows, and only the index gives them in order: the page reads the index backwards
    // and stops after `first + 1`, whoever the user. The range holds the user's entries and no one
    // else's: from (user) up to (user, cursor), which any other user's key falls outside.
    const [major, minor] = page.after === undefined ? [MAX_POSITION, MAX_POSITION] : decodeCursor('history', page.after, HISTORY_CURSOR);
    // bigint: compared with the bigint columns of a current table, and widened for numeric ones of older tables.
    const conditions = [
      `user_id >= $1`,
      `(user_id, position_major, position_minor) < ($1, $${params.push(major)}::bigint, $${params.push(minor)}::bigint)${hiddenFromParticipants(options)}`,
    ];
    // Qualified: the bare names would sort by the ::text aliases of the columns ("10" < "9").
    const newestFirst = (from: string) => `${from}.position_major DESC, ${from}.position_minor DESC`;
    // The limit written in (a whole number: requireFirst), so a statement per page size: as a parameter the
    // planner guessed a tenth of the user's rows, found the generic plan dearer than one for the values, and
    // planned the statement again on every call (a log of 100,000 events: every call, for the joined page).
    const pageOf = (columns: string) =>
      `SELECT ${columns} FROM ${USER_HISTORY_TABLE} ${whereClause(conditions)}
        ORDER BY ${USER_HISTORY_TABLE}.user_id DESC, ${newestFirst(USER_HISTORY_TABLE)} LIMIT ${first + 1}`;
    const logHere = this.logHere;
    // The log here: the page, then each row's event joined to it (its event_type is the event's, the same).
    const joined = logHere?.eventAt('h.position_major', 'h.position_minor');
    const sql = joined
      ? `SELECT ${rowColumns('h')}, ${joined.columns} FROM (${pageOf('*')}) h ${joined.join} ORDER BY ${newestFirst('h')}`
      : pageOf(`${rowColumns(USER_HISTORY_TABLE)}, event_type`);
    // rowsAsJson: every column is text (positions and times included), integers or JSON.
    const { rows } = await this.db.query<HistoryRow>(sql, params, { name: preparedName('history_page', sql), rowsAsJson: true });
    const shown = rows.slice(0, first);
    const events = logHere ? shown.map((row) => logHere.eventOfRow(row)) : await readEventsOf(this.events, shown);
    const eventOf = new Map(shown.map((row, i) => [row, requireEvent(userId, row, events[i])]));
    const pseudonymise = options.pseudonymise ?? ((event: RecordedEvent): RecordedEvent => event);
    return toPageWithoutTotal(rows, first, page.after, (row) => toHistoryEntry(row, pseudonymise(eventOf.get(row)!)), (row) =>
      encodeCursor('history', [row.position_major, row.position_minor]),
    );
  }

  async countHistory(userId: string, options: HistoryOptions = {}): Promise<number> {
    const params: unknown[] = [userId];
    const { rows } = await this.db.query<{ total: number }>(
      `SELECT count(*)::integer AS total FROM ${USER_HISTORY_TABLE} WHERE user_id = $1${hiddenFromParticipants(options)}`,
      params,
    );
    return rows[0]!.total;
  }
}
