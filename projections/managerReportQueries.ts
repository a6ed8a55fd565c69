import { DateTime } from 'luxon';
import type { SqlExecutor } from '../src/sql/sqlDatabase';
import { isoTimestamp } from './shared';

/**
 * The bi-weekly manager report (seed 004): for one manager, each of their employees who takes part
 * as a mentor, with the seed's columns. The mentee's name never leaves this module: the column is
 * always the placeholder "Mentee", and no query here reads a mentee's name.
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

export interface ManagerReportRow {
  readonly mentorUserId: string;
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
  /** Always the placeholder: the mentee's name is hidden from managers. */
  readonly menteeName: 'Mentee';
  /** MM-DD-YYYY, blank for unmatched and concluded (and for requests and unregistered mentors). */
  readonly matchDate: string;
}

export type MeetingCounts = (mentorUserIds: readonly string[], now: string) => Promise<ReadonlyMap<string, { upcoming: number; completed: number }>>;

interface MentorRow {
  user_id: string;
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
  mentor_user_id: string;
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

  /** Every manager e-mail (lower-cased) that has at least one employee taking part as a mentor. */
  async managers(): Promise<readonly string[]> {
    const { rows } = await this.db.query<{ manager_email: string }>(
      `SELECT DISTINCT lower(u.manager_email) AS manager_email
         FROM rm_users u JOIN rm_personas p ON p.user_id = u.user_id AND p.role = 'MENTOR'
        WHERE u.manager_email IS NOT NULL ORDER BY 1`,
      [],
    );
    return rows.map((row) => row.manager_email);
  }

  /** The report for one manager (by e-mail, case-insensitive), by mentor name then program. */
  async report(managerEmail: string, now: string): Promise<readonly ManagerReportRow[]> {
    const { rows: mentors } = await this.db.query<MentorRow>(
      `SELECT DISTINCT u.user_id, u.name, u.email, u.company, u.user_status, ${isoTimestamp('u.registered_at')} AS registered_at,
              p.program_id, pr.name AS program_name, pr.time_zone
         FROM rm_users u
         JOIN rm_personas p ON p.user_id = u.user_id AND p.role = 'MENTOR'
         JOIN rm_programs pr ON pr.program_id = p.program_id
        WHERE lower(u.manager_email) = lower($1)
        ORDER BY u.name, p.program_id`,
      [managerEmail.trim()],
    );
    if (mentors.length === 0) return [];
    const userIds = [...new Set(mentors.map((m) => m.user_id))];
    const { rows: matches } = await this.db.query<MatchFactsRow>(
      // Only the mentor's side of each match: the mentee's user id is not even read.
      `SELECT m.mentor_user_id, m.program_id, m.status, m.pending_approvals,
              ${isoTimestamp('m.activated_at')} AS activated_at, ${isoTimestamp('m.created_at')} AS created_at
         FROM rm_matches m
        WHERE m.mentor_user_id = ANY($1::text[])
        ORDER BY m.created_at DESC, m.match_id DESC`,
      [userIds],
    );
    const counts = await this.meetingCounts(userIds, now);
    return mentors.map((mentor) => {
      const own = matches.filter((m) => m.mentor_user_id === mentor.user_id && m.program_id === mentor.program_id);
      const { status, matchedAt } = categorise(mentor.user_status, own);
      const meetings = counts.get(mentor.user_id) ?? { upcoming: 0, completed: 0 };
      return {
        mentorUserId: mentor.user_id,
        status,
        upcomingMeetings: meetings.upcoming,
        completedMeetings: meetings.completed,
        programId: mentor.program_id,
        program: mentor.program_name,
        company: mentor.company ?? '',
        mentorName: mentor.name,
        mentorEmail: mentor.email,
        registered: mmddyyyy(mentor.registered_at, mentor.time_zone),
        menteeName: 'Mentee',
        matchDate: mmddyyyy(matchedAt, mentor.time_zone),
      };
    });
  }
}
