import { DateTime } from 'luxon';
import { DomainError } from '../../src/domain/shared/decider';
import type { MeetingLifecycleState } from '../../src/domain/meeting/meeting';
import { DEFAULT_PROGRAM_SETTINGS, SETTING_LIMITS } from '../../src/domain/program/program';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';
import { isoTimestamp } from '../shared/projectionSupport';
import { MATCHES_TABLE } from '../matches/matches.queries';
import { PROGRAMS_TABLE } from '../programs/programs.queries';
import { USERS_TABLE } from '../users/users.queries';

// ---------------------------------------------------------------------------------------------
// Views

/**
 * Where a meeting stands when asked: a SCHEDULED or RECORDED meeting whose start has passed is
 * COMPLETED (seed 004: "scheduled for a past date that should have already taken place"), a
 * SCHEDULED one still ahead is UPCOMING; MISSED and CANCELLED meetings are neither.
 */
export type MeetingStatus = 'UPCOMING' | 'COMPLETED' | 'MISSED' | 'CANCELLED';
export const MEETING_STATUSES: readonly MeetingStatus[] = ['UPCOMING', 'COMPLETED', 'MISSED', 'CANCELLED'];

export interface MeetingView {
  readonly meetingId: string;
  readonly matchId: string;
  readonly programId: string;
  readonly mentorUserId: string;
  readonly menteeUserId: string;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly durationMinutes: number;
  readonly title: string | null;
  /** As recorded. */
  readonly state: MeetingLifecycleState;
  /** As of the reader's `now`. */
  readonly status: MeetingStatus;
  readonly cancelledAt: string | null;
  readonly cancellationReason: string | null;
  readonly recordedAt: string | null;
  readonly notes: string | null;
  readonly missedAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface MeetingCounts {
  readonly upcoming: number;
  readonly completed: number;
}

/** When a live match needs a check-in: the program's settings, which a caller of `health` may override. */
export interface HealthThresholds {
  /** No meeting that took place in this many weeks (or none since going live that long ago). */
  readonly checkInAfterWeeks: number;
  /** This many meetings in a row, up to now, were missed. */
  readonly missedInARow: number;
}
export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = {
  checkInAfterWeeks: DEFAULT_PROGRAM_SETTINGS.checkInAfterWeeks,
  missedInARow: DEFAULT_PROGRAM_SETTINGS.missedInARow,
};
export const MAX_CHECK_IN_WEEKS = SETTING_LIMITS.checkInAfterWeeks;
export const MAX_MISSED_IN_A_ROW = SETTING_LIMITS.missedInARow;

export type CheckInReasonKind = 'NO_RECENT_MEETING' | 'NEVER_MET' | 'MISSED_IN_A_ROW';
export const CHECK_IN_REASON_KINDS: readonly CheckInReasonKind[] = ['NO_RECENT_MEETING', 'NEVER_MET', 'MISSED_IN_A_ROW'];

export interface CheckInReason {
  readonly kind: CheckInReasonKind;
  /** "no meeting for 5 weeks (last on 2026-10-01)", "never met since going live 6 weeks ago", "3 meetings missed in a row". */
  readonly message: string;
}

export interface MatchNeedingCheckIn {
  readonly matchId: string;
  readonly mentorUserId: string;
  readonly mentorName: string | null;
  readonly menteeUserId: string;
  readonly menteeName: string | null;
  /** When the match went live (its creation for matches recorded before that was tracked). */
  readonly liveSince: string;
  /** The start of the last meeting that took place (COMPLETED), if any. */
  readonly lastMeetingAt: string | null;
  readonly nextMeetingAt: string | null;
  readonly missedInARow: number;
  readonly reasons: readonly CheckInReason[];
}

export interface MatchHealth {
  readonly programId: string;
  readonly asOf: string;
  readonly thresholds: HealthThresholds;
  readonly activeMatches: number;
  /** Meetings of the program that are COMPLETED as of `asOf`. */
  readonly sessionsCompleted: number;
  readonly upcomingSessions: number;
  readonly missedSessions: number;
  /** ACTIVE matches needing a check-in, the longest without a meeting first. */
  readonly matchesNeedingCheckIn: readonly MatchNeedingCheckIn[];
}

// ---------------------------------------------------------------------------------------------
// SQL

/** Meetings that count as held at `now` (the parameter's SQL text). */
const completedAt = (now: string) => `(e.state IN ('SCHEDULED', 'RECORDED') AND e.starts_at <= ${now}::timestamptz)`;
const upcomingAt = (now: string) => `(e.state = 'SCHEDULED' AND e.starts_at > ${now}::timestamptz)`;

const MEETING_COLUMNS = (now: string) => /* sql */ `
  e.meeting_id, e.match_id, e.program_id, e.mentor_user_id, e.mentee_user_id,
  ${isoTimestamp('e.starts_at')} AS starts_at,
  ${isoTimestamp('(e.starts_at + make_interval(mins => e.duration_minutes))')} AS ends_at,
  e.duration_minutes, e.title, e.state,
  CASE WHEN e.state IN ('CANCELLED', 'MISSED') THEN e.state WHEN ${completedAt(now)} THEN 'COMPLETED' ELSE 'UPCOMING' END AS status,
  ${isoTimestamp('e.cancelled_at')} AS cancelled_at, e.cancellation_reason,
  ${isoTimestamp('e.recorded_at')} AS recorded_at, e.notes,
  ${isoTimestamp('e.missed_at')} AS missed_at,
  ${isoTimestamp('e.created_at')} AS created_at, ${isoTimestamp('e.updated_at')} AS updated_at`;

interface MeetingRow {
  meeting_id: string;
  match_id: string;
  program_id: string;
  mentor_user_id: string;
  mentee_user_id: string;
  starts_at: string;
  ends_at: string;
  duration_minutes: number;
  title: string | null;
  state: MeetingLifecycleState;
  status: MeetingStatus;
  cancelled_at: string | null;
  cancellation_reason: string | null;
  recorded_at: string | null;
  notes: string | null;
  missed_at: string | null;
  created_at: string;
  updated_at: string;
}

const toMeeting = (row: MeetingRow): MeetingView => ({
  meetingId: row.meeting_id,
  matchId: row.match_id,
  programId: row.program_id,
  mentorUserId: row.mentor_user_id,
  menteeUserId: row.mentee_user_id,
  startsAt: row.starts_at,
  endsAt: row.ends_at,
  durationMinutes: row.duration_minutes,
  title: row.title,
  state: row.state,
  status: row.status,
  cancelledAt: row.cancelled_at,
  cancellationReason: row.cancellation_reason,
  recordedAt: row.recorded_at,
  notes: row.notes,
  missedAt: row.missed_at,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/**
 * The program's ACTIVE matches with their last held meeting, next upcoming one, and the missed
 * meetings since the last held one (= missed in a row: cancelled meetings do not count either
 * way). Only those past a threshold: `$3` the cut-off instant, `$4` the missed-in-a-row threshold.
 */
const NEEDING_CHECK_IN = /* sql */ `
  WITH active AS (
    SELECT m.match_id, m.mentor_user_id, m.mentee_user_id, COALESCE(m.activated_at, m.created_at) AS live_since
      FROM ${MATCHES_TABLE} m
     WHERE m.program_id = $1 AND m.status = 'ACTIVE'
  ), met AS (
    SELECT e.match_id,
           max(e.starts_at) FILTER (WHERE ${completedAt('$2')}) AS last_met_at,
           min(e.starts_at) FILTER (WHERE ${upcomingAt('$2')}) AS next_at
      FROM rm_meetings e
      JOIN active a ON a.match_id = e.match_id
     GROUP BY e.match_id
  ), streak AS (
    SELECT e.match_id, count(*)::integer AS missed
      FROM rm_meetings e
      JOIN active a ON a.match_id = e.match_id
      LEFT JOIN met ON met.match_id = e.match_id
     WHERE e.state = 'MISSED' AND e.starts_at <= $2::timestamptz
       AND (met.last_met_at IS NULL OR e.starts_at > met.last_met_at)
     GROUP BY e.match_id
  )
  SELECT a.match_id, a.mentor_user_id, mu.name AS mentor_name, a.mentee_user_id, tu.name AS mentee_name,
         ${isoTimestamp('a.live_since')} AS live_since,
         ${isoTimestamp('met.last_met_at')} AS last_met_at,
         ${isoTimestamp('met.next_at')} AS next_at,
         COALESCE(s.missed, 0) AS missed
    FROM active a
    LEFT JOIN met ON met.match_id = a.match_id
    LEFT JOIN streak s ON s.match_id = a.match_id
    LEFT JOIN ${USERS_TABLE} mu ON mu.user_id = a.mentor_user_id
    LEFT JOIN ${USERS_TABLE} tu ON tu.user_id = a.mentee_user_id
   WHERE COALESCE(met.last_met_at, a.live_since) <= $3::timestamptz OR COALESCE(s.missed, 0) >= $4::integer
   ORDER BY COALESCE(met.last_met_at, a.live_since), a.match_id`;

interface CheckInRow {
  match_id: string;
  mentor_user_id: string;
  mentor_name: string | null;
  mentee_user_id: string;
  mentee_name: string | null;
  live_since: string;
  last_met_at: string | null;
  next_at: string | null;
  missed: number;
}

const WEEK_MS = 7 * 24 * 3_600_000;

const requireWhole = (field: string, value: number, min: number, max: number): number => {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be a whole number from ${min} to ${max}; got ${value}.`, { field, value });
  }
  return value;
};

const requireNow = (now: string): string => {
  const at = Date.parse(now);
  if (Number.isNaN(at)) throw new Error(`Not an instant: ${now}`);
  return new Date(at).toISOString();
};

const weeks = (n: number) => `${n} week${n === 1 ? '' : 's'}`;

/** The reasons a match needs a check-in, worded for the admin who will call them. */
const reasonsFor = (row: CheckInRow, now: string, thresholds: HealthThresholds, timeZone: string): CheckInReason[] => {
  const reasons: CheckInReason[] = [];
  const nowMs = Date.parse(now);
  const cutoff = nowMs - thresholds.checkInAfterWeeks * WEEK_MS;
  if (row.last_met_at !== null && Date.parse(row.last_met_at) <= cutoff) {
    const day = DateTime.fromISO(row.last_met_at, { zone: 'utc' }).setZone(timeZone).toFormat('yyyy-MM-dd');
    reasons.push({
      kind: 'NO_RECENT_MEETING',
      message: `no meeting for ${weeks(Math.floor((nowMs - Date.parse(row.last_met_at)) / WEEK_MS))} (last on ${day})`,
    });
  }
  if (row.last_met_at === null && Date.parse(row.live_since) <= cutoff) {
    reasons.push({
      kind: 'NEVER_MET',
      message: `never met since going live ${weeks(Math.floor((nowMs - Date.parse(row.live_since)) / WEEK_MS))} ago`,
    });
  }
  if (row.missed >= thresholds.missedInARow) {
    reasons.push({ kind: 'MISSED_IN_A_ROW', message: `${row.missed} meeting${row.missed === 1 ? '' : 's'} missed in a row` });
  }
  return reasons;
};

/** Meetings and match health over `rm_meetings` (and the matches, users and programs read models, by their tables as their folders name them). */
export class SqlMeetingReadModel {
  constructor(private readonly db: SqlExecutor) {}

  /** A match's meetings, earliest first, each with its status as of `now`. */
  async meetingsOfMatch(matchId: string, now: string): Promise<readonly MeetingView[]> {
    const { rows } = await this.db.query<MeetingRow>(
      `SELECT ${MEETING_COLUMNS('$2')} FROM rm_meetings e WHERE e.match_id = $1 ORDER BY e.starts_at, e.meeting_id`,
      [matchId, requireNow(now)],
    );
    return rows.map(toMeeting);
  }

  async meetingsByIds(meetingIds: readonly string[], now: string): Promise<readonly MeetingView[]> {
    if (meetingIds.length === 0) return [];
    const { rows } = await this.db.query<MeetingRow>(
      `SELECT ${MEETING_COLUMNS('$2')} FROM rm_meetings e WHERE e.meeting_id = ANY($1::text[]) ORDER BY e.starts_at, e.meeting_id`,
      [[...meetingIds], requireNow(now)],
    );
    return rows.map(toMeeting);
  }

  /** Upcoming and completed meetings of each mentor, over all their matches (every id is in the map, zeros included). */
  meetingCountsForMentors(userIds: readonly string[], now: string): Promise<Map<string, MeetingCounts>> {
    return this.meetingCountsOf('mentor_user_id', userIds, now);
  }

  /** The same for mentees: the meetings of the matches each took part in as the mentee. */
  meetingCountsForMentees(userIds: readonly string[], now: string): Promise<Map<string, MeetingCounts>> {
    return this.meetingCountsOf('mentee_user_id', userIds, now);
  }

  private async meetingCountsOf(side: 'mentor_user_id' | 'mentee_user_id', userIds: readonly string[], now: string): Promise<Map<string, MeetingCounts>> {
    const counts = new Map<string, MeetingCounts>(userIds.map((userId) => [userId, { upcoming: 0, completed: 0 }]));
    if (userIds.length === 0) return counts;
    const { rows } = await this.db.query<{ user_id: string; upcoming: number; completed: number }>(
      `SELECT e.${side} AS user_id,
              count(*) FILTER (WHERE ${upcomingAt('$2')})::integer AS upcoming,
              count(*) FILTER (WHERE ${completedAt('$2')})::integer AS completed
         FROM rm_meetings e
        WHERE e.${side} = ANY($1::text[])
        GROUP BY e.${side}`,
      [[...new Set(userIds)], requireNow(now)],
    );
    for (const row of rows) counts.set(row.user_id, { upcoming: row.upcoming, completed: row.completed });
    return counts;
  }

  /**
   * The program's health as of `now`: live matches, sessions held, and the live matches needing a
   * check-in with the reasons. Null when the program does not exist.
   */
  async health(programId: string, now: string, thresholds: Partial<HealthThresholds> = {}): Promise<MatchHealth | null> {
    const asOf = requireNow(now);
    const program = await this.db.query<{ time_zone: string; settings: Partial<HealthThresholds> }>(
      `SELECT time_zone, settings FROM ${PROGRAMS_TABLE} WHERE program_id = $1`,
      [programId],
    );
    const timeZone = program.rows[0]?.time_zone;
    if (timeZone === undefined) return null;
    // The program's settings, unless the caller overrides one for this query.
    const settings = program.rows[0]!.settings;
    const chosen: HealthThresholds = {
      checkInAfterWeeks: requireWhole(
        'checkInAfterWeeks',
        thresholds.checkInAfterWeeks ?? settings.checkInAfterWeeks ?? DEFAULT_HEALTH_THRESHOLDS.checkInAfterWeeks,
        1,
        MAX_CHECK_IN_WEEKS,
      ),
      missedInARow: requireWhole(
        'missedInARow',
        thresholds.missedInARow ?? settings.missedInARow ?? DEFAULT_HEALTH_THRESHOLDS.missedInARow,
        1,
        MAX_MISSED_IN_A_ROW,
      ),
    };
    const totals = await this.db.query<{ active_matches: number; completed: number; upcoming: number; missed: number }>(
      `SELECT (SELECT count(*) FROM ${MATCHES_TABLE} m WHERE m.program_id = $1 AND m.status = 'ACTIVE')::integer AS active_matches,
              count(*) FILTER (WHERE ${completedAt('$2')})::integer AS completed,
              count(*) FILTER (WHERE ${upcomingAt('$2')})::integer AS upcoming,
              count(*) FILTER (WHERE e.state = 'MISSED')::integer AS missed
         FROM rm_meetings e
        WHERE e.program_id = $1`,
      [programId, asOf],
    );
    const cutoff = new Date(Date.parse(asOf) - chosen.checkInAfterWeeks * WEEK_MS).toISOString();
    const { rows } = await this.db.query<CheckInRow>(NEEDING_CHECK_IN, [programId, asOf, cutoff, chosen.missedInARow]);
    const total = totals.rows[0]!;
    return {
      programId,
      asOf,
      thresholds: chosen,
      activeMatches: total.active_matches,
      sessionsCompleted: total.completed,
      upcomingSessions: total.upcoming,
      missedSessions: total.missed,
      matchesNeedingCheckIn: rows.map((row) => ({
        matchId: row.match_id,
        mentorUserId: row.mentor_user_id,
        mentorName: row.mentor_name,
        menteeUserId: row.mentee_user_id,
        menteeName: row.mentee_name,
        liveSince: row.live_since,
        lastMeetingAt: row.last_met_at,
        nextMeetingAt: row.next_at,
        missedInARow: row.missed,
        reasons: reasonsFor(row, asOf, chosen, timeZone),
      })),
    };
  }
}
