import { DateTime } from 'luxon';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';
import { isoTimestamp } from '../shared/projectionSupport';
import { MATCHES_TABLE } from '../matches/matches.queries';
import { PROGRAMS_TABLE } from '../programs/programs.queries';
import { PERSONAS_TABLE, USERS_TABLE } from '../users/users.queries';

/**
 * The bi-weekly manager report (seed 004): for one manager, each of their employees "who are
 * actively participating in your mentorship programs", as a mentor or as a mentee ("Not Registered -
 * The user (mentor or mentee) ..."), with the seed's columns. The employee is in the Mentor Name and
 * Mentor Email columns, and the row says the employee's role. The name of a mentee never leaves this
 * module: the Mentee Name column is the placeholder "Mentee" on rows about a match (matched, ended or
 * requested) and blank where there is no mentee (Unmatched, Not Registered), and no query here reads
 * the name of the employee's partner.
 */

export type ManagerReportStatus =
  | 'MATCHED_ACTIVE'
  | 'UNMATCHED'
  | 'MATCHED_DURATION_COMPLETED'
  | 'CONCLUDED'
  | 'MATCH_REQUEST_WAITING_MENTEE_APPROVAL'
  | 'MATCH_REQUEST_WAITING_MENTOR_APPROVAL'
  | 'MATCH_REQUEST_WAITING_2_APPROVALS'
  | 'MATCH_REQUEST_WAITING_ADMIN_APPROVAL'
  | 'NOT_REGISTERED';

/** The seed's wording of each category, as the CSV shows it. */
export const MANAGER_REPORT_STATUS_LABELS: Readonly<Record<ManagerReportStatus, string>> = {
  MATCHED_ACTIVE: 'Matched-Active',
  UNMATCHED: 'Unmatched',
  MATCHED_DURATION_COMPLETED: 'Matched-Duration Completed',
  CONCLUDED: 'Concluded',
  MATCH_REQUEST_WAITING_MENTEE_APPROVAL: 'Match Request-Waiting Mentee Approval',
  MATCH_REQUEST_WAITING_MENTOR_APPROVAL: 'Match Request-Waiting Mentor Approval',
  MATCH_REQUEST_WAITING_2_APPROVALS: 'Match Request-Waiting 2 Approvals',
  MATCH_REQUEST_WAITING_ADMIN_APPROVAL: 'Match Request-Waiting Admin Approval',
  NOT_REGISTERED: 'Not Registered',
};

export type ManagerReportRole = 'MENTOR' | 'MENTEE';
export const MANAGER_REPORT_ROLE_LABELS: Readonly<Record<ManagerReportRole, 'Mentor' | 'Mentee'>> = { MENTOR: 'Mentor', MENTEE: 'Mentee' };

/** Categories with no mentee on the row: "Mentee" is not printed there. */
const WITHOUT_MENTEE: readonly ManagerReportStatus[] = ['UNMATCHED', 'NOT_REGISTERED'];

export interface ManagerReportRow {
  /** The employee's user id (named so since the report first listed mentors only). */
  readonly mentorUserId: string;
  /** How the employee takes part in the program. */
  readonly role: ManagerReportRole;
  readonly status: ManagerReportStatus;
  readonly upcomingMeetings: number;
  readonly completedMeetings: number;
  readonly programId: string;
  readonly program: string;
  readonly company: string;
  readonly mentorName: string;
  readonly mentorEmail: string;
  /** MM-DD-YYYY in the program's time zone. */
  readonly registered: string;
  /** The placeholder where the row is about a match; blank for Unmatched and Not Registered. Never a name. */
  readonly menteeName: 'Mentee' | '';
  /** MM-DD-YYYY, blank for unmatched and concluded (and for requests and unregistered mentors). */
  readonly matchDate: string;
}

/** Meetings per user, counted on the given side of their matches. */
export type MeetingCounts = (
  userIds: readonly string[],
  now: string,
  role: ManagerReportRole,
) => Promise<ReadonlyMap<string, { upcoming: number; completed: number }>>;

interface MentorRow {
  user_id: string;
  role: ManagerReportRole;
  name: string;
  email: string;
  company: string | null;
  user_status: string;
  registered_at: string;
  program_id: string;
  program_name: string;
  time_zone: string;
}

interface MatchFactsRow {
  /** The employee's side of the match (the mentor, or the mentee on a MENTEE row). */
  participant_user_id: string;
  role: ManagerReportRole;
  program_id: string;
  status: string;
  pending_approvals: string[] | null;
  activated_at: string | null;
  created_at: string;
}

const mmddyyyy = (iso: string | null, timeZone: string): string =>
  iso === null ? '' : DateTime.fromISO(iso, { zone: 'utc' }).setZone(timeZone).toFormat('MM-dd-yyyy');

const waitingCategory = (pending: readonly string[] | null): ManagerReportStatus | null => {
  if (!pending || pending.length === 0) return null;
  if (pending.length > 1) return 'MATCH_REQUEST_WAITING_2_APPROVALS';
  return `MATCH_REQUEST_WAITING_${pending[0]}_APPROVAL` as ManagerReportStatus;
};

/** The row's category from the mentor's matches in the program, newest first. */
const categorise = (userStatus: string, matches: readonly MatchFactsRow[]): { status: ManagerReportStatus; matchedAt: string | null } => {
  if (userStatus === 'AI') return { status: 'NOT_REGISTERED', matchedAt: null };
  const active = matches.find((m) => m.status === 'ACTIVE');
  if (active) return { status: 'MATCHED_ACTIVE', matchedAt: active.activated_at ?? active.created_at };
  const request = matches.find((m) => m.status === 'REQUESTED' && waitingCategory(m.pending_approvals));
  if (request) return { status: waitingCategory(request.pending_approvals)!, matchedAt: null };
  const ended = matches.find((m) => m.status === 'COMPLETED' || m.status === 'CLOSED');
  if (ended?.status === 'COMPLETED') return { status: 'MATCHED_DURATION_COMPLETED', matchedAt: ended.activated_at ?? ended.created_at };
  if (ended?.status === 'CLOSED') return { status: 'CONCLUDED', matchedAt: null };
  return { status: 'UNMATCHED', matchedAt: null };
};

export class SqlManagerReportQueries {
  constructor(
    private readonly db: SqlExecutor,
    private readonly meetingCounts: MeetingCounts,
  ) {}

  /** Every manager e-mail (lower-cased) that has at least one employee taking part in a program. */
  async managers(): Promise<readonly string[]> {
    const { rows } = await this.db.query<{ manager_email: string }>(
      `SELECT DISTINCT lower(u.manager_email) AS manager_email
         FROM ${USERS_TABLE} u JOIN ${PERSONAS_TABLE} p ON p.user_id = u.user_id
        WHERE u.manager_email IS NOT NULL ORDER BY 1`,
      [],
    );
    return rows.map((row) => row.manager_email);
  }

  /** The report for one manager (by e-mail, case-insensitive), by employee name, program, then role. */
  async report(managerEmail: string, now: string): Promise<readonly ManagerReportRow[]> {
    const { rows: mentors } = await this.db.query<MentorRow>(
      `SELECT DISTINCT u.user_id, p.role, u.name, u.email, u.company, u.user_status, ${isoTimestamp('u.registered_at')} AS registered_at,
              p.program_id, pr.name AS program_name, pr.time_zone
         FROM ${USERS_TABLE} u
         JOIN ${PERSONAS_TABLE} p ON p.user_id = u.user_id
         JOIN ${PROGRAMS_TABLE} pr ON pr.program_id = p.program_id
        WHERE lower(u.manager_email) = lower($1)
        ORDER BY u.name, p.program_id, p.role DESC`,
      [managerEmail.trim()],
    );
    if (mentors.length === 0) return [];
    const userIds = [...new Set(mentors.map((m) => m.user_id))];
    const { rows: matches } = await this.db.query<MatchFactsRow>(
      // Only the employee's side of each match: the partner's user id is not even read.
      `SELECT m.mentor_user_id AS participant_user_id, 'MENTOR' AS role, m.program_id, m.status, m.pending_approvals,
              ${isoTimestamp('m.activated_at')} AS activated_at, ${isoTimestamp('m.created_at')} AS created_at, m.created_at AS created_order, m.match_id
         FROM ${MATCHES_TABLE} m
        WHERE m.mentor_user_id = ANY($1::text[])
       UNION ALL
       SELECT m.mentee_user_id AS participant_user_id, 'MENTEE' AS role, m.program_id, m.status, m.pending_approvals,
              ${isoTimestamp('m.activated_at')} AS activated_at, ${isoTimestamp('m.created_at')} AS created_at, m.created_at AS created_order, m.match_id
         FROM ${MATCHES_TABLE} m
        WHERE m.mentee_user_id = ANY($1::text[])
        ORDER BY created_order DESC, match_id DESC`,
      [userIds],
    );
    const idsAs = (role: ManagerReportRole) => [...new Set(mentors.filter((m) => m.role === role).map((m) => m.user_id))];
    const counts = { MENTOR: await this.meetingCounts(idsAs('MENTOR'), now, 'MENTOR'), MENTEE: await this.meetingCounts(idsAs('MENTEE'), now, 'MENTEE') };
    return mentors.map((mentor) => {
      const own = matches.filter((m) => m.participant_user_id === mentor.user_id && m.role === mentor.role && m.program_id === mentor.program_id);
      const { status, matchedAt } = categorise(mentor.user_status, own);
      const meetings = counts[mentor.role].get(mentor.user_id) ?? { upcoming: 0, completed: 0 };
      return {
        mentorUserId: mentor.user_id,
        role: mentor.role,
        status,
        upcomingMeetings: meetings.upcoming,
        completedMeetings: meetings.completed,
        programId: mentor.program_id,
        program: mentor.program_name,
        company: mentor.company ?? '',
        mentorName: mentor.name,
        mentorEmail: mentor.email,
        registered: mmddyyyy(mentor.registered_at, mentor.time_zone),
        menteeName: WITHOUT_MENTEE.includes(status) ? '' : 'Mentee',
        matchDate: mmddyyyy(matchedAt, mentor.time_zone),
      };
    });
  }
}
