import { USER_STATUSES, type MatchStatus, type ParticipantRole, type PersonaOrigin, type PersonaStatus, type UserStatus } from '../../src/domain';
import type { PositionedRow } from '../../src/projectionEngine/rows';
import { preparedName, type SqlExecutor } from '../../src/sql/sqlDatabase';
import type { PageRequest, PageWithoutTotal, PersonaView, UserFilter, UserView } from '../lifecycle/lifecycle.types';
import { containsPattern, decodeCursor, encodeCursor, given, requireFirst, toPageWithoutTotal, whereClause } from '../shared/paging';
import { isoTimestamp } from '../shared/projectionSupport';
import type { PersonaRow as StoredPersonaRow, UserRow as StoredUserRow } from './users.projection';

/**
 * How the users read model (users, their personas, mentors' capacities) is read: its tables, its
 * columns and rows as the queries select them, and the queries on its tables alone. Queries that
 * join it with other read models (matching, meetings, the manager report) take the tables and
 * columns from here, so this folder is the one place that names them.
 */

/** One row a user. */
export const USERS_TABLE = 'rm_users';
/** One row a persona (a user's participation in one program, in one role). */
export const PERSONAS_TABLE = 'rm_personas';
/** A mentor's own capacity in a program, where set. */
export const MENTOR_CAPACITIES_TABLE = 'rm_mentor_capacities';

/** The tables' rows less the projection's bookkeeping columns. */
export type UserRow = Omit<StoredUserRow, 'normalized_email' | keyof PositionedRow>;
export type PersonaRow = Omit<StoredPersonaRow, keyof PositionedRow>;

/** The columns of `UserRow`, from the users table under the alias `u`. */
export const USER_COLUMNS = `u.user_id, u.email, u.name, u.program_id, u.role, u.company, u.manager_name, u.manager_email, u.profile, u.user_status,
  u.application_completed, ${isoTimestamp('u.registered_at')} AS registered_at, ${isoTimestamp('u.updated_at')} AS updated_at`;

/** The columns of `PersonaRow`, from the personas table (unaliased). */
export const PERSONA_COLUMNS = `persona_id, user_id, number, program_id, role, persona_status, match_status, match_id, partner_site_id,
  mentor_site_list_id, origin_kind, ${isoTimestamp('invited_at')} AS invited_at, match_completed,
  ${isoTimestamp('created_at')} AS created_at, ${isoTimestamp('updated_at')} AS updated_at`;

export const toUser = (row: UserRow): UserView => ({
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

export const toPersona = (row: PersonaRow): PersonaView => ({
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

const USERS_CURSOR = (values: readonly string[]) => values.length === 2;

/**
 * `UserFilter` as SQL conditions on the users table aliased `u`, numbering parameters from `params.length + 1`.
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
    conditions.push(`EXISTS (SELECT 1 FROM ${PERSONAS_TABLE} p WHERE p.user_id = u.user_id AND p.partner_site_id = ${add(filter.partnerSiteId)})`);
  }
  const search = filter.search?.trim();
  if (search) {
    const pattern = add(containsPattern(search));
    conditions.push(`(u.name ILIKE ${pattern} ESCAPE '\\' OR u.email ILIKE ${pattern} ESCAPE '\\')`);
  }
  return conditions;
};

/** Queries on the users read model's tables alone. Reads only: it sees whatever the runner has applied so far. */
export class SqlUserQueries {
  constructor(private readonly db: SqlExecutor) {}

  /**
   * A page in (name, user_id) order, from after the cursor's key (keyset: no OFFSET, so page 5,000
   * costs what page 1 does). With a status or program filter the page is read one status at a
   * time, each from its own range of the (status, name) or (program, status, name) index
   * (users.projection.ts) in name order and stopping after `first + 1` rows that pass the other
   * filters, and the ranges merged: however rare the statuses or the program, and however their
   * users' names are spread, rows of other statuses or programs are never read. One range of the
   * name index with the statuses as a filter instead reads every row of other statuses before the
   * first match (all of them when none matches), and the (program, status) index alone returns
   * every row of the filter to be sorted. A search is answered from the trigram indexes when the
   * database expects few matches, and from the name order (stopping at the page's end) when it
   * expects many.
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
      // An empty list is a filter nothing passes.
      if (statuses.length === 0) return toPageWithoutTotal([], first, page.after, toUser, () => '');
      const limit = first + 1;
      // One parameter a status, as a VALUES list (a statement per number of statuses): given as one
      // array to unnest, the planner guessed ten statuses, found the generic plan dearer than one for
      // the array at hand, and planned the statement again on every call.
      const ranges = statuses.map((status) => `($${params.push(status)}::text)`).join(', ');
      sql = `SELECT page.* FROM (VALUES ${ranges}) AS s(user_status)
        CROSS JOIN LATERAL (SELECT ${USER_COLUMNS} FROM ${USERS_TABLE} u ${whereClause(['u.user_status = s.user_status', ...conditions])}
                             ORDER BY u.name, u.user_id LIMIT ${limit}) page
        ORDER BY page.name, page.user_id LIMIT ${limit}`;
    } else {
      sql = `SELECT ${USER_COLUMNS} FROM ${USERS_TABLE} u ${whereClause(conditions)} ORDER BY u.name, u.user_id LIMIT ${first + 1}`;
    }
    // The limit is written in (a whole number: requireFirst; at most 101 from the API), a statement a page
    // size: as a parameter the planner guesses a tenth of the table for it, finds the generic plan dearer
    // than one for the values, and plans the statement again on every call (pg_prepared_statements: 0
    // generic plans in 10 calls), as the history page did.
    // A search, a list of ids or a site is planned for its values each time (how many rows they match decides the plan).
    const planEachTime = Boolean(filter.search?.trim()) || given(filter.userIds) || given(filter.partnerSiteId);
    // rowsAsJson: every column is text, boolean or JSON (the times leave as ISO text).
    const { rows } = await this.db.query<UserRow>(sql, params, planEachTime ? {} : { name: preparedName('users_page', sql), rowsAsJson: true });
    return toPageWithoutTotal(rows, first, page.after, toUser, (row) => encodeCursor('users', [row.name, row.user_id]));
  }

  async countUsers(filter: UserFilter): Promise<number> {
    const params: unknown[] = [];
    const { rows } = await this.db.query<{ total: number }>(
      `SELECT count(*)::integer AS total FROM ${USERS_TABLE} u ${whereClause(userConditions(filter, params))}`,
      params,
    );
    return rows[0]!.total;
  }

  async usersByIds(userIds: readonly string[]): Promise<readonly UserView[]> {
    if (userIds.length === 0) return [];
    const { rows } = await this.db.query<UserRow>(
      `SELECT ${USER_COLUMNS} FROM ${USERS_TABLE} u WHERE u.user_id = ANY($1::text[]) ORDER BY u.user_id`,
      [[...userIds]],
    );
    return rows.map(toUser);
  }

  async personasOfUsers(userIds: readonly string[]): Promise<readonly PersonaView[]> {
    if (userIds.length === 0) return [];
    const { rows } = await this.db.query<PersonaRow>(
      `SELECT ${PERSONA_COLUMNS} FROM ${PERSONAS_TABLE} WHERE user_id = ANY($1::text[]) ORDER BY user_id, number`,
      [[...userIds]],
    );
    return rows.map(toPersona);
  }
}
