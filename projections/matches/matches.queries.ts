import type { ApprovingParty, MatchSource, RematchIntent, RequestingParty } from '../../src/domain';
import type { PositionedRow } from '../../src/projectionEngine/rows';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';
import type { MatchEndReason, MatchView, MatchViewStatus } from '../lifecycle/lifecycle.types';
import { isoTimestamp } from '../shared/projectionSupport';
import type { MatchRow as StoredMatchRow } from './matches.projection';

/**
 * How the matches read model is read: its table, its columns and rows as the queries select them,
 * and the queries on its table alone. Queries that join matches with other read models (matching,
 * meetings, the manager report, auto-matching) take the table and columns from here, so this
 * folder is the one place that names them.
 */

/** One row a match. */
export const MATCHES_TABLE = 'rm_matches';

/** The table's row less the projection's bookkeeping columns. */
export type MatchRow = Omit<StoredMatchRow, 'criteria_version' | keyof PositionedRow>;

/** The columns of `MatchRow`, from the matches table under the alias `m`. */
export const MATCH_COLUMNS = `m.match_id, m.program_id, m.mentor_user_id, m.mentor_persona_id, m.mentee_user_id, m.mentee_persona_id,
  m.status, m.source, m.score, m.explanation, m.run_id, m.requested_by, m.required_approvals, m.pending_approvals, m.request_message,
  ${isoTimestamp('m.expires_at')} AS expires_at, m.declined_by, m.decline_message, m.end_reason, m.other_match_id,
  m.closure_reason, m.mentor_rematch_intent, m.mentee_rematch_intent, ${isoTimestamp('m.created_at')} AS created_at,
  ${isoTimestamp('m.activated_at')} AS activated_at, ${isoTimestamp('m.ends_at')} AS ends_at,
  ${isoTimestamp('m.completed_at')} AS completed_at, ${isoTimestamp('m.closed_at')} AS closed_at,
  ${isoTimestamp('m.ended_at')} AS ended_at, ${isoTimestamp('m.updated_at')} AS updated_at`;

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

/** Queries on the matches table alone. Reads only: it sees whatever the runner has applied so far. */
export class SqlMatchQueries {
  constructor(private readonly db: SqlExecutor) {}

  async matchesByIds(matchIds: readonly string[]): Promise<readonly MatchView[]> {
    if (matchIds.length === 0) return [];
    const { rows } = await this.db.query<MatchRow>(
      `SELECT ${MATCH_COLUMNS} FROM ${MATCHES_TABLE} m WHERE m.match_id = ANY($1::text[]) ORDER BY m.match_id`,
      [[...matchIds]],
    );
    return rows.map(toMatch);
  }
}
