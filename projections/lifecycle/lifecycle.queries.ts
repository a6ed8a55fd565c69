import {
  DEFAULT_PROGRAM_SETTINGS,
  USER_STATUSES,
  type ApprovingParty,
  type LifecycleEvent,
  type MatchSource,
  type MatchStatus,
  type NotificationKind,
  type NotificationTemplate,
  type ParticipantRole,
  type PersonaOrigin,
  type PersonaStatus,
  type ProgramSettings,
  type RematchIntent,
  type RequestingParty,
  type Site,
  type UserStatus,
} from '../../src/domain';
import { DomainError } from '../../src/domain/shared/decider';
import { STAFF_ONLY_HISTORY_EVENTS } from '../../src/domain/access/policy';
import type { AutoMatchingConfiguration } from '../../src/domain';
import type {
  HistoryOptions,
  HistoryEntryView,
  HistoryField,
  LifecycleReadModel,
  MatchEndReason,
  MatchView,
  MatchViewStatus,
  Page,
  PageRequest,
  PageWithoutTotal,
  PersonaView,
  ProgramView,
  UserFilter,
  UserView,
} from './lifecycle.types';
import { createHash } from 'node:crypto';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';
import { formatPosition, type EventStore, type RecordedEvent } from '../../src/eventstore/eventStore';
import { historyEntriesOf } from '../userHistory/userHistory.entries';
import { asDomainEvent, isoTimestamp } from '../shared/projectionSupport';
import type { PositionedRow } from '../../src/projectionEngine/rows';
import type { MatchRow as StoredMatchRow } from '../matches/matches.projection';
import type { HistoryRow } from '../userHistory/userHistory.projection';
import type { PersonaRow as StoredPersonaRow, UserRow as StoredUserRow } from '../users/users.projection';

// ---------------------------------------------------------------------------------------------
// Cursors: base64url of a JSON array whose first element names the list, so a cursor of one
// list handed to another is refused instead of silently paging from the wrong place.

export type CursorKind = 'users' | 'history' | 'mentees' | 'mentors' | 'matches' | 'export';

export const encodeCursor = (kind: CursorKind, values: readonly string[]): string =>
  Buffer.from(JSON.stringify([kind, ...values]), 'utf8').toString('base64url');

export const decodeCursor = (kind: CursorKind, cursor: string, isValid: (values: readonly string[]) => boolean): string[] => {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = null;
  }
  const values = Array.isArray(decoded) && decoded.every((value): value is string => typeof value === 'string') ? decoded : [];
  if (values[0] !== kind || !isValid(values.slice(1))) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `"${cursor}" is not a cursor of this ${kind} list; pass the cursor of an edge from a previous page of the same list, ` +
        'or leave "after" out to start at the beginning.',
      { field: 'after' },
    );
  }
  return values.slice(1);
};

const USERS_CURSOR = (values: readonly string[]) => values.length === 2;
const HISTORY_CURSOR = (values: readonly string[]) => values.length === 2 && values.every((value) => /^\d{1,20}$/.test(value));

export const requireFirst = (first: number): number => {
  if (!Number.isInteger(first) || first < 0) {
    throw new DomainError('VALIDATION_FAILED', `"first" must be a whole number of 0 or more (got ${first}).`, { field: 'first' });
  }
  return first;
};

/** Turns `first + 1` fetched rows into a page: the extra row only says there is a next page. */
export const toPageWithoutTotal = <Row, T>(
  rows: readonly Row[],
  first: number,
  after: string | undefined,
  toNode: (row: Row) => T,
  toCursor: (row: Row) => string,
): PageWithoutTotal<T> => ({
  edges: rows.slice(0, first).map((row) => ({ node: toNode(row), cursor: toCursor(row) })),
  hasNextPage: rows.length > first,
  hasPreviousPage: after !== undefined,
});

/** `toPageWithoutTotal` with the total. */
export const toPage = <Row, T>(
  rows: readonly Row[],
  first: number,
  after: string | undefined,
  totalCount: number,
  toNode: (row: Row) => T,
  toCursor: (row: Row) => string,
): Page<T> => ({ ...toPageWithoutTotal(rows, first, after, toNode, toCursor), totalCount });

const statementNames = new Map<string, string>();

/**
 * A name to prepare a page query under (PostgreSQL parses and plans it once per connection, then
 * only binds): the pages are the hot reads, and planning their SQL cost more database CPU than
 * running it. Named after its text, so each shape of the query (which filters it has) is its own
 * statement and a changed text is a new one. Only for shapes whose best plan does not depend on
 * the values (see `usersPage`).
 */
const preparedName = (prefix: string, sql: string): string => {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `${prefix}_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
    statementNames.set(sql, name);
  }
  return name;
};

/** The condition that leaves the staff-only entries out of a participant's own history (adds its parameter). */
const hiddenFromParticipants = (options: HistoryOptions, params: unknown[]): string =>
  options.participantView ? ` AND event_type <> ALL ($${params.push([...STAFF_ONLY_HISTORY_EVENTS])}::text[])` : '';

/** ILIKE pattern for a substring, with the pattern characters typed by the person taken literally. */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;

// ---------------------------------------------------------------------------------------------
// Rows as the queries below select them

interface ProgramRow {
  program_id: string;
  name: string;
  time_zone: string;
  /** Rows projected before a setting existed lack it. */
  settings: Partial<ProgramSettings>;
  partner_sites: Site[];
  mentor_site_lists: Site[];
  closure_reasons: string[];
  notification_templates: Partial<Record<NotificationKind, NotificationTemplate>>;
  auto_matching: AutoMatchingConfiguration;
  banned_pairs: { mentorUserId: string; menteeUserId: string }[];
  created_at: string;
  updated_at: string;
}

/** The tables' rows less the projections' bookkeeping columns. */
type UserRow = Omit<StoredUserRow, 'normalized_email' | keyof PositionedRow>;
type PersonaRow = Omit<StoredPersonaRow, keyof PositionedRow>;
export type MatchRow = Omit<StoredMatchRow, 'criteria_version' | keyof PositionedRow>;

const PROGRAM_COLUMNS = `program_id, name, time_zone, settings, partner_sites, mentor_site_lists, closure_reasons, notification_templates,
  auto_matching, banned_pairs,
  ${isoTimestamp('created_at')} AS created_at, ${isoTimestamp('updated_at')} AS updated_at`;

const USER_COLUMNS = `u.user_id, u.email, u.name, u.program_id, u.role, u.company, u.manager_name, u.manager_email, u.profile, u.user_status,
  u.application_completed, ${isoTimestamp('u.registered_at')} AS registered_at, ${isoTimestamp('u.updated_at')} AS updated_at`;

const PERSONA_COLUMNS = `persona_id, user_id, number, program_id, role, persona_status, match_status, match_id, partner_site_id,
  mentor_site_list_id, origin_kind, ${isoTimestamp('invited_at')} AS invited_at, match_completed,
  ${isoTimestamp('created_at')} AS created_at, ${isoTimestamp('updated_at')} AS updated_at`;

/** The columns of `MatchRow`, from `rm_matches` under the alias `m`. */
export const MATCH_COLUMNS = `m.match_id, m.program_id, m.mentor_user_id, m.mentor_persona_id, m.mentee_user_id, m.mentee_persona_id,
  m.status, m.source, m.score, m.explanation, m.run_id, m.requested_by, m.required_approvals, m.pending_approvals, m.request_message,
  ${isoTimestamp('m.expires_at')} AS expires_at, m.declined_by, m.decline_message, m.end_reason, m.other_match_id,
  m.closure_reason, m.mentor_rematch_intent, m.mentee_rematch_intent, ${isoTimestamp('m.created_at')} AS created_at,
  ${isoTimestamp('m.activated_at')} AS activated_at, ${isoTimestamp('m.ends_at')} AS ends_at,
  ${isoTimestamp('m.completed_at')} AS completed_at, ${isoTimestamp('m.closed_at')} AS closed_at,
  ${isoTimestamp('m.ended_at')} AS ended_at, ${isoTimestamp('m.updated_at')} AS updated_at`;

const HISTORY_COLUMNS = `user_id, position_major::text AS position_major, position_minor::text AS position_minor,
  event_type, field, persona_id, match_id, change_id, from_value, to_value, reverted_by_change_id,
  ${isoTimestamp('reverted_at')} AS reverted_at`;

const toProgram = (row: ProgramRow): ProgramView => ({
  programId: row.program_id,
  name: row.name,
  timeZone: row.time_zone,
  // Rows projected before a setting existed read as its default, as the decider folds them.
  settings: { ...DEFAULT_PROGRAM_SETTINGS, ...row.settings },
  partnerSites: row.partner_sites,
  mentorSiteLists: row.mentor_site_lists,
  closureReasons: row.closure_reasons,
  notificationTemplates: row.notification_templates,
  autoMatching: row.auto_matching,
  bannedPairs: row.banned_pairs,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toUser = (row: UserRow): UserView => ({
  userId: row.user_id,
  email: row.email,
  name: row.name,
  programId: row.program_id,
  role: row.role as ParticipantRole,
  company: row.company,
  managerName: row.manager_name,
  managerEmail: row.manager_email,
  profile: row.profile ?? {},
  userStatus: row.user_status as UserStatus,
  applicationCompleted: row.application_completed,
  registeredAt: row.registered_at,
  updatedAt: row.updated_at,
});

const toPersona = (row: PersonaRow): PersonaView => ({
  personaId: row.persona_id,
  userId: row.user_id,
  number: row.number,
  programId: row.program_id,
  role: row.role as ParticipantRole,
  personaStatus: row.persona_status as PersonaStatus,
  matchStatus: row.match_status as MatchStatus,
  matchId: row.match_id,
  partnerSiteId: row.partner_site_id,
  mentorSiteListId: row.mentor_site_list_id,
  originKind: row.origin_kind as PersonaOrigin['kind'] | null,
  invitedAt: row.invited_at,
  matchCompleted: row.match_completed,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export const toMatch = (row: MatchRow): MatchView => ({
  matchId: row.match_id,
  programId: row.program_id,
  mentorUserId: row.mentor_user_id,
  mentorPersonaId: row.mentor_persona_id,
  menteeUserId: row.mentee_user_id,
  menteePersonaId: row.mentee_persona_id,
  status: row.status as MatchViewStatus,
  source: row.source as MatchSource,
  // double precision arrives as a number from both drivers; Number() also takes numeric text.
  score: row.score === null ? null : Number(row.score),
  explanation: row.explanation,
  runId: row.run_id,
  requestedBy: row.requested_by as RequestingParty | null,
  requiredApprovals: row.required_approvals,
  pendingApprovals: row.pending_approvals,
  requestMessage: row.request_message,
  expiresAt: row.expires_at,
  declinedBy: row.declined_by as ApprovingParty | null,
  declineMessage: row.decline_message,
  endReason: row.end_reason as MatchEndReason | null,
  otherMatchId: row.other_match_id,
  closureReason: row.closure_reason,
  mentorRematchIntent: row.mentor_rematch_intent as RematchIntent | null,
  menteeRematchIntent: row.mentee_rematch_intent as RematchIntent | null,
  createdAt: row.created_at,
  activatedAt: row.activated_at,
  endsAt: row.ends_at,
  completedAt: row.completed_at,
  closedAt: row.closed_at,
  endedAt: row.ended_at,
  updatedAt: row.updated_at,
});

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

/** The events the rows came of, in the rows' order; a row whose event the log does not have is an error an auditor must see. */
const eventsOfRows = async (events: HistoryEvents, userId: string, rows: readonly HistoryRow[]): Promise<RecordedEvent[]> => {
  const positions = rows.map((row) => ({ major: BigInt(row.position_major), minor: BigInt(row.position_minor) }));
  const found = new Map((await events.readAt(positions)).map((event) => [formatPosition(event.position), event]));
  return positions.map((position) => {
    const event = found.get(formatPosition(position));
    if (!event) {
      throw new Error(
        `The history of user ${userId} has an entry for the event at position ${formatPosition(position)}, which the event log does not have: ` +
          'an event was removed or the read model belongs to another log. Run `npm run events -- verify` and rebuild the user_history read model.',
      );
    }
    return event;
  });
};

// ---------------------------------------------------------------------------------------------

const given = <T>(value: T | null | undefined): value is T => value !== undefined && value !== null;

/**
 * `UserFilter` as SQL conditions on `rm_users u`, numbering parameters from `params.length + 1`.
 * `statusesApart`: the statuses are left to the caller (`usersPage` reads one index range a status).
 */
const userConditions = (filter: UserFilter, params: unknown[], { statusesApart = false } = {}): string[] => {
  const add = (value: unknown) => `$${params.push(value)}`;
  const conditions: string[] = [];
  // An empty list is a filter that nothing passes (a caller allowed to see no one sees no one); a
  // null (GraphQL lets a client send one for any optional field) is no filter, like an absent one.
  if (given(filter.statuses) && !statusesApart) conditions.push(`u.user_status = ANY(${add([...filter.statuses])}::text[])`);
  if (given(filter.userIds)) conditions.push(`u.user_id = ANY(${add([...filter.userIds])}::text[])`);
  if (given(filter.role)) conditions.push(`u.role = ${add(filter.role)}`);
  if (given(filter.programId)) conditions.push(`u.program_id = ${add(filter.programId)}`);
  if (given(filter.partnerSiteId)) {
    conditions.push(`EXISTS (SELECT 1 FROM rm_personas p WHERE p.user_id = u.user_id AND p.partner_site_id = ${add(filter.partnerSiteId)})`);
  }
  const search = filter.search?.trim();
  if (search) {
    const pattern = add(containsPattern(search));
    conditions.push(`(u.name ILIKE ${pattern} ESCAPE '\\' OR u.email ILIKE ${pattern} ESCAPE '\\')`);
  }
  return conditions;
};

export const whereClause = (conditions: readonly string[]) => (conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '');

/**
 * The lifecycle read model over the `rm_` tables the projections in this folder keep. Reads only:
 * it never writes, and it sees whatever the runner has applied so far.
 */
/**
 * Staff-only entries: a staged match (and its discarding) is the admins' draft, not live, and nobody
 * has been notified; a participant reading their own history sees a match from when it went live.
 */

/** Where the history reads the events its rows came of (the event store). */
export type HistoryEvents = Pick<EventStore, 'readAt'>;

export class SqlLifecycleReadModel implements LifecycleReadModel {
  constructor(
    private readonly db: SqlExecutor,
    private readonly events: HistoryEvents,
  ) {}

  async program(programId: string): Promise<ProgramView | null> {
    const { rows } = await this.db.query<ProgramRow>(`SELECT ${PROGRAM_COLUMNS} FROM rm_programs WHERE program_id = $1`, [programId]);
    return rows[0] ? toProgram(rows[0]) : null;
  }

  async programs(): Promise<readonly ProgramView[]> {
    const { rows } = await this.db.query<ProgramRow>(`SELECT ${PROGRAM_COLUMNS} FROM rm_programs ORDER BY name, program_id`);
    return rows.map(toProgram);
  }

  async users(filter: UserFilter, page: PageRequest): Promise<Page<UserView>> {
    const [rows, totalCount] = await Promise.all([this.usersPage(filter, page), this.countUsers(filter)]);
    return { ...rows, totalCount };
  }

  /**
   * A page in (name, user_id) order, from after the cursor's key (keyset: no OFFSET, so page 5,000
   * costs what page 1 does). With a status or program filter the page is read one status at a
   * time, each from its own range of rm_users_by_status_name or rm_users_by_program_status_name in
   * name order and stopping after `first + 1` rows that pass the other filters, and the ranges
   * merged: however rare the statuses or the program, and however their users' names are spread,
   * rows of other statuses or programs are never read. One range of the name index with the
   * statuses as a filter instead reads every row of other statuses before the first match (all of
   * them when none matches), and the (program, status) index alone returns every row of the filter
   * to be sorted. A search is answered from the trigram indexes when the database expects few
   * matches, and from the name order (stopping at the page's end) when it expects many.
   */
  async usersPage(filter: UserFilter, page: PageRequest): Promise<PageWithoutTotal<UserView>> {
    const first = requireFirst(page.first);
    const params: unknown[] = [];
    const byStatus = given(filter.statuses) || given(filter.programId);
    const conditions = userConditions(filter, params, { statusesApart: byStatus });
    if (page.after !== undefined) {
      const [name, userId] = decodeCursor('users', page.after, USERS_CURSOR);
      conditions.push(`(u.name, u.user_id) > ($${params.push(name)}::text, $${params.push(userId)}::text)`);
    }
    let sql: string;
    if (byStatus) {
      // No statuses with a program: every status, so that the program's ranges are read in name order too.
      const statuses = [...new Set(filter.statuses ?? USER_STATUSES)];
      const limit = `$${params.push(first + 1)}`;
      sql = `SELECT page.* FROM unnest($${params.push(statuses)}::text[]) AS s(user_status)
        CROSS JOIN LATERAL (SELECT ${USER_COLUMNS} FROM rm_users u ${whereClause(['u.user_status = s.user_status', ...conditions])}
                             ORDER BY u.name, u.user_id LIMIT ${limit}) page
        ORDER BY page.name, page.user_id LIMIT ${limit}`;
    } else {
      sql = `SELECT ${USER_COLUMNS} FROM rm_users u ${whereClause(conditions)} ORDER BY u.name, u.user_id LIMIT $${params.push(first + 1)}`;
    }
    // A search, a list of ids or a site is planned for its values each time (how many rows they match decides the plan).
    const planEachTime = Boolean(filter.search?.trim()) || given(filter.userIds) || given(filter.partnerSiteId);
    const { rows } = await this.db.query<UserRow>(sql, params, planEachTime ? {} : { name: preparedName('rm_users_page', sql) });
    return toPageWithoutTotal(rows, first, page.after, toUser, (row) => encodeCursor('users', [row.name, row.user_id]));
  }

  async countUsers(filter: UserFilter): Promise<number> {
    const params: unknown[] = [];
    const { rows } = await this.db.query<{ total: number }>(`SELECT count(*)::integer AS total FROM rm_users u ${whereClause(userConditions(filter, params))}`, params);
    return rows[0]!.total;
  }

  async usersByIds(userIds: readonly string[]): Promise<readonly UserView[]> {
    if (userIds.length === 0) return [];
    const { rows } = await this.db.query<UserRow>(
      `SELECT ${USER_COLUMNS} FROM rm_users u WHERE u.user_id = ANY($1::text[]) ORDER BY u.user_id`,
      [[...userIds]],
    );
    return rows.map(toUser);
  }

  async personasOfUsers(userIds: readonly string[]): Promise<readonly PersonaView[]> {
    if (userIds.length === 0) return [];
    const { rows } = await this.db.query<PersonaRow>(
      `SELECT ${PERSONA_COLUMNS} FROM rm_personas WHERE user_id = ANY($1::text[]) ORDER BY user_id, number`,
      [[...userIds]],
    );
    return rows.map(toPersona);
  }

  async matchesByIds(matchIds: readonly string[]): Promise<readonly MatchView[]> {
    if (matchIds.length === 0) return [];
    const { rows } = await this.db.query<MatchRow>(
      `SELECT ${MATCH_COLUMNS} FROM rm_matches m WHERE m.match_id = ANY($1::text[]) ORDER BY m.match_id`,
      [[...matchIds]],
    );
    return rows.map(toMatch);
  }

  async history(userId: string, page: PageRequest, options: HistoryOptions = {}): Promise<Page<HistoryEntryView>> {
    const [entries, totalCount] = await Promise.all([this.historyPage(userId, page, options), this.countHistory(userId, options)]);
    return { ...entries, totalCount };
  }

  async historyPage(userId: string, page: PageRequest, options: HistoryOptions = {}): Promise<PageWithoutTotal<HistoryEntryView>> {
    const first = requireFirst(page.first);
    const params: unknown[] = [userId];
    const conditions = [`user_id = $1${hiddenFromParticipants(options, params)}`];
    if (page.after !== undefined) {
      const [major, minor] = decodeCursor('history', page.after, HISTORY_CURSOR);
      // bigint: compared with the bigint columns of a current table, and widened for numeric ones of older tables.
      conditions.push(`(position_major, position_minor) < ($${params.push(major)}::bigint, $${params.push(minor)}::bigint)`);
    }
    // Qualified: the bare names would sort by the ::text aliases of HISTORY_COLUMNS ("10" < "9").
    const sql = `SELECT ${HISTORY_COLUMNS} FROM rm_user_history ${whereClause(conditions)}
        ORDER BY rm_user_history.position_major DESC, rm_user_history.position_minor DESC LIMIT $${params.push(first + 1)}`;
    const { rows } = await this.db.query<HistoryRow>(sql, params, { name: preparedName('rm_history_page', sql) });
    const events = await eventsOfRows(this.events, userId, rows.slice(0, first));
    const eventOf = new Map(rows.slice(0, first).map((row, i) => [row, events[i]!]));
    const pseudonymise = options.pseudonymise ?? ((event: RecordedEvent): RecordedEvent => event);
    return toPageWithoutTotal(rows, first, page.after, (row) => toHistoryEntry(row, pseudonymise(eventOf.get(row)!)), (row) =>
      encodeCursor('history', [row.position_major, row.position_minor]),
    );
  }

  async countHistory(userId: string, options: HistoryOptions = {}): Promise<number> {
    const params: unknown[] = [userId];
    const { rows } = await this.db.query<{ total: number }>(
      `SELECT count(*)::integer AS total FROM rm_user_history WHERE user_id = $1${hiddenFromParticipants(options, params)}`,
      params,
    );
    return rows[0]!.total;
  }
}
