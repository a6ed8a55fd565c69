import { DEFAULT_PROGRAM_SETTINGS, MATCH_LIFECYCLE_STATUSES, type MatchLifecycleStatus, type MatchSource } from '../../src/domain';
import { DomainError } from '../../src/domain/shared/decider';
import type { Page, PageRequest } from '../lifecycle/lifecycle.types';
import type {
  AvailableMentorView,
  BlockedOpenMatch,
  DueMatch,
  MatchDetailView,
  MatchExportRow,
  MatchingFunnel,
  MatchingProgramSummary,
  MatchingReadModel,
  MatchListRequest,
  UnmatchedMenteeRequest,
  UnmatchedMenteeView,
} from './matching.types';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';
import { decodeCursor, encodeCursor, requireFirst, toPage, whereClause } from '../shared/paging';
import { MATCHES_TABLE, MATCH_COLUMNS, toMatch, type MatchRow } from '../matches/matches.queries';
import { PROGRAMS_TABLE, SqlProgramQueries, programMentorCapacity } from '../programs/programs.queries';
import { MENTOR_CAPACITIES_TABLE, PERSONAS_TABLE, USERS_TABLE } from '../users/users.queries';
import { isoTimestamp } from '../shared/projectionSupport';

// ---------------------------------------------------------------------------------------------
// The sets the funnel counts and the lists page through, as SQL over the lifecycle tables.
// `$1` is the program id; `add` numbers further parameters.

type AddParam = (value: unknown) => string;

/** Mentee personas ready to be matched (ACTIVE, RTBM) of Active users, with their open requests and staged matches. */
const UNMATCHED_MENTEES = /* sql */ `
  SELECT p.persona_id, p.user_id, u.name, u.email, p.program_id, p.partner_site_id,
         ${isoTimestamp('p.invited_at')} AS invited_at,
         (SELECT count(*) FROM ${MATCHES_TABLE} m WHERE m.mentee_persona_id = p.persona_id AND m.status = 'REQUESTED')::integer AS open_requests,
         (SELECT count(*) FROM ${MATCHES_TABLE} m WHERE m.mentee_persona_id = p.persona_id AND m.status = 'STAGED')::integer AS staged_matches
    FROM ${PERSONAS_TABLE} p
    JOIN ${USERS_TABLE} u ON u.user_id = p.user_id
   WHERE p.program_id = $1 AND p.role = 'MENTEE' AND p.persona_status = 'ACTIVE' AND p.match_status = 'RTBM'
     AND u.user_status = 'A'`;

/**
 * Active mentors with a persona in the program that can take a match (RTBM, or MATCHED in a match
 * that has not run its duration) and capacity left once live and staged matches are counted. As
 * the decider counts: live = ACTIVE MATCHED mentor personas whose match is not completed;
 * capacity = the mentor's own setting, else the program's (its default for rows from before it).
 */
const availableMentorsSql = (add: AddParam) => {
  const defaultCapacity = add(DEFAULT_PROGRAM_SETTINGS.mentorCapacity);
  return /* sql */ `
  WITH personas AS (
    SELECT p.user_id,
           count(*) FILTER (WHERE p.match_status = 'MATCHED' AND NOT p.match_completed)::integer AS live,
           count(*) FILTER (WHERE p.match_status = 'RTBM')::integer AS ready,
           (array_agg(p.persona_id ORDER BY p.match_status = 'RTBM' DESC, p.number)
              FILTER (WHERE p.match_status = 'RTBM' OR (p.match_status = 'MATCHED' AND NOT p.match_completed)))[1] AS persona_id
      FROM ${PERSONAS_TABLE} p
     WHERE p.program_id = $1 AND p.role = 'MENTOR' AND p.persona_status = 'ACTIVE'
     GROUP BY p.user_id
  ), open AS (
    SELECT m.mentor_user_id AS user_id,
           count(*) FILTER (WHERE m.status = 'STAGED')::integer AS staged,
           count(*) FILTER (WHERE m.status = 'REQUESTED')::integer AS requested
      FROM ${MATCHES_TABLE} m
     WHERE m.program_id = $1 AND m.status IN ('STAGED', 'REQUESTED')
     GROUP BY m.mentor_user_id
  ), mentors AS (
    SELECT u.user_id, pe.persona_id, u.name, u.email, $1::text AS program_id,
           COALESCE(c.capacity,
                    (SELECT ${programMentorCapacity('r')} FROM ${PROGRAMS_TABLE} r WHERE r.program_id = $1),
                    ${defaultCapacity}::integer) AS capacity,
           c.capacity IS NULL AS capacity_is_program_default,
           pe.live AS live_matches, COALESCE(o.staged, 0) AS staged_matches, COALESCE(o.requested, 0) AS open_requests
      FROM personas pe
      JOIN ${USERS_TABLE} u ON u.user_id = pe.user_id AND u.user_status = 'A'
      LEFT JOIN open o ON o.user_id = pe.user_id
      LEFT JOIN ${MENTOR_CAPACITIES_TABLE} c ON c.user_id = pe.user_id AND c.program_id = $1
     WHERE pe.ready > 0 OR pe.live > 0
  )
  SELECT mentors.*, capacity - live_matches - staged_matches AS capacity_left
    FROM mentors
   WHERE capacity - live_matches - staged_matches > 0`;
};

/** `MatchRow` plus both participants' names; a match's users always registered before it. */
const MATCH_DETAIL_FROM = /* sql */ `
  SELECT ${MATCH_COLUMNS}, mu.name AS mentor_name, mu.email AS mentor_email, tu.name AS mentee_name, tu.email AS mentee_email
    FROM ${MATCHES_TABLE} m
    JOIN ${USERS_TABLE} mu ON mu.user_id = m.mentor_user_id
    JOIN ${USERS_TABLE} tu ON tu.user_id = m.mentee_user_id`;

// ---------------------------------------------------------------------------------------------
// Rows

interface UnmatchedMenteeRow {
  persona_id: string;
  user_id: string;
  name: string;
  email: string;
  program_id: string;
  partner_site_id: string | null;
  invited_at: string | null;
  open_requests: number;
  staged_matches: number;
}

interface AvailableMentorRow {
  user_id: string;
  persona_id: string;
  name: string;
  email: string;
  program_id: string;
  capacity: number;
  capacity_is_program_default: boolean;
  live_matches: number;
  staged_matches: number;
  open_requests: number;
  capacity_left: number;
}

interface MatchDetailRow extends MatchRow {
  mentor_name: string;
  mentor_email: string;
  mentee_name: string;
  mentee_email: string;
}

interface DueRow {
  match_id: string;
  program_id: string;
  mentor_user_id: string;
  mentee_user_id: string;
  due_at: string;
}

interface ExportRow {
  match_id: string;
  mentor_user_id: string;
  mentee_user_id: string;
  program_name: string;
  time_zone: string;
  mentor_name: string;
  mentor_email: string;
  mentee_name: string;
  mentee_email: string;
  status: string;
  source: string;
  matched_at: string;
  score: number | null;
}

const toUnmatchedMentee = (row: UnmatchedMenteeRow): UnmatchedMenteeView => ({
  personaId: row.persona_id,
  userId: row.user_id,
  name: row.name,
  email: row.email,
  programId: row.program_id,
  partnerSiteId: row.partner_site_id,
  invitedAt: row.invited_at,
  openRequests: row.open_requests,
  stagedMatches: row.staged_matches,
});

const toAvailableMentor = (row: AvailableMentorRow): AvailableMentorView => ({
  userId: row.user_id,
  personaId: row.persona_id,
  name: row.name,
  email: row.email,
  programId: row.program_id,
  capacity: row.capacity,
  capacityIsProgramDefault: row.capacity_is_program_default,
  liveMatches: row.live_matches,
  stagedMatches: row.staged_matches,
  openRequests: row.open_requests,
  capacityLeft: row.capacity_left,
});

const toMatchDetail = (row: MatchDetailRow): MatchDetailView => ({
  ...toMatch(row),
  mentorName: row.mentor_name,
  mentorEmail: row.mentor_email,
  menteeName: row.mentee_name,
  menteeEmail: row.mentee_email,
});

const toDue = (row: DueRow): DueMatch => ({
  matchId: row.match_id,
  programId: row.program_id,
  mentorUserId: row.mentor_user_id,
  menteeUserId: row.mentee_user_id,
  dueAt: row.due_at,
});

// ---------------------------------------------------------------------------------------------

const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const NAME_AND_ID_CURSOR = (values: readonly string[]) => values.length === 2;
const TIME_AND_ID_CURSOR = (values: readonly string[]) => values.length === 2 && ISO_MILLIS.test(values[0]!);

const requireStatuses = (statuses: readonly string[]): MatchLifecycleStatus[] => {
  const unknown = statuses.filter((status) => !MATCH_LIFECYCLE_STATUSES.includes(status as MatchLifecycleStatus));
  if (unknown.length > 0) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `${unknown.join(', ')} ${unknown.length === 1 ? 'is not a match status' : 'are not match statuses'}; ` +
        `use ${MATCH_LIFECYCLE_STATUSES.join(', ')}.`,
      { field: 'statuses' },
    );
  }
  return [...(statuses as readonly MatchLifecycleStatus[])];
};

/** Scheduler batches: whole numbers from 1 up (a 0 or negative limit is a bug in the caller). */
const requireLimit = (limit: number): number => {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`A batch limit must be a whole number of 1 or more (got ${limit}).`);
  return limit;
};

const EXPORT_BATCH = 500;

/**
 * The matching read model over the tables of the lifecycle read models (programs, users, matches), named by their folders. Reads only; it sees
 * whatever the runner has applied so far (the scheduler's moves are decided again on the streams,
 * so a row that is a little behind at worst makes a move that is then refused).
 */
export class SqlMatchingReadModel implements MatchingReadModel {
  private readonly programs: SqlProgramQueries;

  constructor(private readonly db: SqlExecutor) {
    this.programs = new SqlProgramQueries(db);
  }

  async funnel(programId: string): Promise<MatchingFunnel> {
    const mentors = this.params(programId);
    const [menteeCounts, mentorCount, matchCounts] = await Promise.all([
      this.db.query<{ unmatched: number; uninvited: number }>(
        `SELECT count(*)::integer AS unmatched, count(*) FILTER (WHERE invited_at IS NULL)::integer AS uninvited
           FROM (${UNMATCHED_MENTEES}) mentees`,
        [programId],
      ),
      this.db.query<{ available: number }>(`SELECT count(*)::integer AS available FROM (${availableMentorsSql(mentors.add)}) mentors`, mentors.values),
      this.db.query<{ status: string; total: number }>(
        `SELECT status, count(*)::integer AS total FROM ${MATCHES_TABLE}
          WHERE program_id = $1 AND status IN ('STAGED', 'REQUESTED', 'ACTIVE', 'COMPLETED') GROUP BY status`,
        [programId],
      ),
    ]);
    const matches = new Map(matchCounts.rows.map((row) => [row.status, row.total]));
    return {
      programId,
      unmatchedMentees: menteeCounts.rows[0]!.unmatched,
      uninvitedMentees: menteeCounts.rows[0]!.uninvited,
      availableMentors: mentorCount.rows[0]!.available,
      stagedMatches: matches.get('STAGED') ?? 0,
      requestedMatches: matches.get('REQUESTED') ?? 0,
      activeMatches: matches.get('ACTIVE') ?? 0,
      completedMatches: matches.get('COMPLETED') ?? 0,
    };
  }

  async unmatchedMentees(programId: string, request: UnmatchedMenteeRequest): Promise<Page<UnmatchedMenteeView>> {
    const first = requireFirst(request.first);
    const invited = request.invited === undefined ? [] : [`invited_at IS ${request.invited ? 'NOT NULL' : 'NULL'}`];
    const page = this.params(programId);
    const conditions = [...invited];
    if (request.after !== undefined) {
      const [name, personaId] = decodeCursor('mentees', request.after, NAME_AND_ID_CURSOR);
      conditions.push(`(name, persona_id) > (${page.add(name)}::text, ${page.add(personaId)}::text)`);
    }
    const [total, { rows }] = await Promise.all([
      this.db.query<{ total: number }>(`SELECT count(*)::integer AS total FROM (${UNMATCHED_MENTEES}) mentees ${whereClause(invited)}`, [programId]),
      this.db.query<UnmatchedMenteeRow>(
        `SELECT * FROM (${UNMATCHED_MENTEES}) mentees ${whereClause(conditions)} ORDER BY name, persona_id LIMIT ${page.add(first + 1)}`,
        page.values,
      ),
    ]);
    return toPage(rows, first, request.after, total.rows[0]!.total, toUnmatchedMentee, (row) =>
      encodeCursor('mentees', [row.name, row.persona_id]),
    );
  }

  async availableMentors(programId: string, request: PageRequest): Promise<Page<AvailableMentorView>> {
    const first = requireFirst(request.first);
    const count = this.params(programId);
    const page = this.params(programId);
    const base = availableMentorsSql(page.add);
    const conditions: string[] = [];
    if (request.after !== undefined) {
      const [name, userId] = decodeCursor('mentors', request.after, NAME_AND_ID_CURSOR);
      conditions.push(`(name, user_id) > (${page.add(name)}::text, ${page.add(userId)}::text)`);
    }
    const [total, { rows }] = await Promise.all([
      this.db.query<{ total: number }>(`SELECT count(*)::integer AS total FROM (${availableMentorsSql(count.add)}) mentors`, count.values),
      this.db.query<AvailableMentorRow>(
        `SELECT * FROM (${base}) mentors ${whereClause(conditions)} ORDER BY name, user_id LIMIT ${page.add(first + 1)}`,
        page.values,
      ),
    ]);
    return toPage(rows, first, request.after, total.rows[0]!.total, toAvailableMentor, (row) => encodeCursor('mentors', [row.name, row.user_id]));
  }

  async matches(programId: string, request: MatchListRequest): Promise<Page<MatchDetailView>> {
    const first = requireFirst(request.first);
    const filters = ['m.program_id = $1'];
    const values: unknown[] = [programId];
    if (request.statuses !== undefined) filters.push(`m.status = ANY($${values.push(requireStatuses(request.statuses))}::text[])`);
    const conditions = [...filters];
    const pageValues = [...values];
    if (request.after !== undefined) {
      const [createdAt, matchId] = decodeCursor('matches', request.after, TIME_AND_ID_CURSOR);
      conditions.push(`(m.created_at, m.match_id) < ($${pageValues.push(createdAt)}::timestamptz, $${pageValues.push(matchId)}::text)`);
    }
    const [total, { rows }] = await Promise.all([
      this.db.query<{ total: number }>(`SELECT count(*)::integer AS total FROM ${MATCHES_TABLE} m ${whereClause(filters)}`, values),
      this.db.query<MatchDetailRow>(
        `${MATCH_DETAIL_FROM} ${whereClause(conditions)} ORDER BY m.created_at DESC, m.match_id DESC LIMIT $${pageValues.push(first + 1)}`,
        pageValues,
      ),
    ]);
    return toPage(rows, first, request.after, total.rows[0]!.total, toMatchDetail, (row) => encodeCursor('matches', [row.created_at, row.match_id]));
  }

  async matchRequestsFor(userId: string, options: { readonly openOnly?: boolean } = {}): Promise<readonly MatchDetailView[]> {
    const { rows } = await this.db.query<MatchDetailRow>(
      `${MATCH_DETAIL_FROM}
        WHERE (m.mentor_user_id = $1 OR m.mentee_user_id = $1) AND m.source = 'REQUEST' ${options.openOnly ? `AND m.status = 'REQUESTED'` : ''}
        ORDER BY m.created_at DESC, m.match_id DESC`,
      [userId],
    );
    return rows.map(toMatchDetail);
  }

  async match(matchId: string): Promise<MatchDetailView | null> {
    const { rows } = await this.db.query<MatchDetailRow>(`${MATCH_DETAIL_FROM} WHERE m.match_id = $1`, [matchId]);
    return rows[0] ? toMatchDetail(rows[0]) : null;
  }

  async stagedMatchIds(programId: string): Promise<readonly string[]> {
    const { rows } = await this.db.query<{ match_id: string }>(
      `SELECT match_id FROM ${MATCHES_TABLE} WHERE program_id = $1 AND status = 'STAGED' ORDER BY created_at, match_id`,
      [programId],
    );
    return rows.map((row) => row.match_id);
  }

  async uninvitedMenteePersonas(programId: string): Promise<readonly { readonly personaId: string; readonly userId: string }[]> {
    const { rows } = await this.db.query<{ persona_id: string; user_id: string }>(
      `SELECT persona_id, user_id FROM (${UNMATCHED_MENTEES}) mentees WHERE invited_at IS NULL ORDER BY persona_id`,
      [programId],
    );
    return rows.map((row) => ({ personaId: row.persona_id, userId: row.user_id }));
  }

  async dueRequestExpiries(now: string, limit: number): Promise<readonly DueMatch[]> {
    return this.due('REQUESTED', 'expires_at', now, limit);
  }

  async dueCompletions(now: string, limit: number): Promise<readonly DueMatch[]> {
    return this.due('ACTIVE', 'ends_at', now, limit);
  }

  async openMatchesBlockedFor(limit: number): Promise<readonly BlockedOpenMatch[]> {
    // A mentee persona whose match is this one is going live right now (the users projection ran
    // ahead of this one): not blocked.
    const { rows } = await this.db.query<{
      match_id: string;
      program_id: string;
      mentor_user_id: string;
      mentee_user_id: string;
      status: 'REQUESTED' | 'STAGED';
      other_match_id: string | null;
    }>(
      `SELECT m.match_id, m.program_id, m.mentor_user_id, m.mentee_user_id, m.status, tp.match_id AS other_match_id
         FROM ${MATCHES_TABLE} m
         JOIN ${PERSONAS_TABLE} tp ON tp.persona_id = m.mentee_persona_id
         LEFT JOIN ${PERSONAS_TABLE} mp ON mp.persona_id = m.mentor_persona_id
         LEFT JOIN ${USERS_TABLE} tu ON tu.user_id = m.mentee_user_id
         LEFT JOIN ${USERS_TABLE} mu ON mu.user_id = m.mentor_user_id
        WHERE m.status IN ('REQUESTED', 'STAGED')
          AND tp.match_id IS DISTINCT FROM m.match_id
          -- A persona stays RTBM when its user leaves Active (seed 001's table has no move back), so
          -- the user's status is asked too: only Active users can be matched.
          AND (tp.match_status <> 'RTBM' OR tp.match_id IS NOT NULL OR tp.persona_status <> 'ACTIVE' OR mp.persona_status = 'INACTIVE'
               OR tu.user_status <> 'A' OR mu.user_status <> 'A')
        ORDER BY m.created_at, m.match_id
        LIMIT $1`,
      [requireLimit(limit)],
    );
    return rows.map((row) => ({
      matchId: row.match_id,
      programId: row.program_id,
      mentorUserId: row.mentor_user_id,
      menteeUserId: row.mentee_user_id,
      status: row.status,
      reason: row.other_match_id === null ? 'PARTICIPANT_UNAVAILABLE' : 'MENTEE_MATCHED',
      otherMatchId: row.other_match_id,
    }));
  }

  programSummary(programId: string): Promise<MatchingProgramSummary | null> {
    return this.programs.summary(programId);
  }

  async *matchesForExport(programId: string, statuses: readonly MatchLifecycleStatus[]): AsyncGenerator<MatchExportRow> {
    const wanted = requireStatuses(statuses);
    const matchedAt = 'COALESCE(m.activated_at, m.created_at)';
    let after: { matchedAt: string; matchId: string } | null = null;
    for (;;) {
      const values: unknown[] = [programId, wanted];
      const keyset: string = after
        ? `AND (${matchedAt}, m.match_id) > ($${values.push(after.matchedAt)}::timestamptz, $${values.push(after.matchId)}::text)`
        : '';
      const { rows }: { rows: ExportRow[] } = await this.db.query<ExportRow>(
        `SELECT m.match_id, m.mentor_user_id, m.mentee_user_id, r.name AS program_name, r.time_zone, mu.name AS mentor_name, mu.email AS mentor_email,
                tu.name AS mentee_name, tu.email AS mentee_email, m.status, m.source, m.score,
                ${isoTimestamp(matchedAt)} AS matched_at
           FROM ${MATCHES_TABLE} m
           JOIN ${PROGRAMS_TABLE} r ON r.program_id = m.program_id
           JOIN ${USERS_TABLE} mu ON mu.user_id = m.mentor_user_id
           JOIN ${USERS_TABLE} tu ON tu.user_id = m.mentee_user_id
          WHERE m.program_id = $1 AND m.status = ANY($2::text[]) ${keyset}
          ORDER BY ${matchedAt}, m.match_id
          LIMIT $${values.push(EXPORT_BATCH)}`,
        values,
      );
      for (const row of rows) {
        yield {
          matchId: row.match_id,
          mentorUserId: row.mentor_user_id,
          menteeUserId: row.mentee_user_id,
          programName: row.program_name,
          programTimeZone: row.time_zone,
          mentorName: row.mentor_name,
          mentorEmail: row.mentor_email,
          menteeName: row.mentee_name,
          menteeEmail: row.mentee_email,
          status: row.status as MatchLifecycleStatus,
          source: row.source as MatchSource,
          matchedAt: row.matched_at,
          score: row.score === null ? null : Number(row.score),
        };
      }
      if (rows.length < EXPORT_BATCH) return;
      const last = rows[rows.length - 1]!;
      after = { matchedAt: last.matched_at, matchId: last.match_id };
    }
  }

  private async due(status: 'REQUESTED' | 'ACTIVE', column: 'expires_at' | 'ends_at', now: string, limit: number): Promise<readonly DueMatch[]> {
    const { rows } = await this.db.query<DueRow>(
      `SELECT match_id, program_id, mentor_user_id, mentee_user_id, ${isoTimestamp(column)} AS due_at
         FROM ${MATCHES_TABLE}
        WHERE status = '${status}' AND ${column} <= $1::timestamptz
        ORDER BY ${column}, match_id
        LIMIT $2`,
      [now, requireLimit(limit)],
    );
    return rows.map(toDue);
  }

  /** Parameters with the program id as `$1`; `add` appends one and returns its placeholder. */
  private params(programId: string): { values: unknown[]; add: AddParam } {
    const values: unknown[] = [programId];
    return {
      values,
      add: (value) => `$${values.push(value)}`,
    };
  }
}
