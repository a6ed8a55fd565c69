import { assertNever } from '../src/domain/shared/decider';
import { MATCH_EVENT_TYPES, MATCH_LIFECYCLE_STATUSES, type MatchEvent } from '../src/domain';
import { projection } from '../src/projections/projection';
import { LAST_POSITION_COLUMNS, asDomainEvent, jsonParam, notYetApplied, positionParams } from './shared';

const STATUS_CHECK = `CHECK (status IN (${MATCH_LIFECYCLE_STATUSES.map((status) => `'${status}'`).join(', ')}))`;

/**
 * One row per match: its pair, where it stands in its lifecycle, how it started (staged, direct or
 * requested) and how it ended. Closure fields are cleared when it reopens.
 *
 * Databases created before the matching workflows had only ACTIVE and CLOSED and fewer columns:
 * the statements after CREATE TABLE bring such a table up to date, and do nothing on a current one.
 * Their rows stay as they were (activated_at is null for them until a rebuild; readers fall back
 * to created_at).
 */
export const MATCHES_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS rm_matches (
  match_id text PRIMARY KEY,
  program_id text NOT NULL,
  mentor_user_id text NOT NULL,
  mentor_persona_id text NOT NULL,
  mentee_user_id text NOT NULL,
  mentee_persona_id text NOT NULL,
  status text NOT NULL ${STATUS_CHECK},
  closure_reason text,
  mentor_rematch_intent text,
  mentee_rematch_intent text,
  created_at timestamptz NOT NULL,
  closed_at timestamptz,
  updated_at timestamptz NOT NULL,${LAST_POSITION_COLUMNS}
);
ALTER TABLE rm_matches
  ADD COLUMN IF NOT EXISTS explanation jsonb,
  ADD COLUMN IF NOT EXISTS run_id text,
  ADD COLUMN IF NOT EXISTS criteria_version integer,
  ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'ADMIN',
  ADD COLUMN IF NOT EXISTS score double precision,
  ADD COLUMN IF NOT EXISTS requested_by text,
  ADD COLUMN IF NOT EXISTS required_approvals jsonb,
  ADD COLUMN IF NOT EXISTS pending_approvals jsonb,
  ADD COLUMN IF NOT EXISTS request_message text,
  ADD COLUMN IF NOT EXISTS expires_at timestamptz,
  ADD COLUMN IF NOT EXISTS declined_by text,
  ADD COLUMN IF NOT EXISTS decline_message text,
  ADD COLUMN IF NOT EXISTS end_reason text,
  ADD COLUMN IF NOT EXISTS other_match_id text,
  ADD COLUMN IF NOT EXISTS activated_at timestamptz,
  ADD COLUMN IF NOT EXISTS ends_at timestamptz,
  ADD COLUMN IF NOT EXISTS completed_at timestamptz,
  ADD COLUMN IF NOT EXISTS ended_at timestamptz;
DO $$
BEGIN
  -- The check of a table made before the matching workflows allows ACTIVE and CLOSED only.
  IF EXISTS (SELECT 1 FROM pg_constraint
              WHERE conrelid = 'rm_matches'::regclass AND conname = 'rm_matches_status_check'
                AND pg_get_constraintdef(oid) NOT LIKE '%WITHDRAWN%') THEN
    ALTER TABLE rm_matches DROP CONSTRAINT rm_matches_status_check;
    ALTER TABLE rm_matches ADD CONSTRAINT rm_matches_status_check ${STATUS_CHECK};
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS rm_matches_by_mentor ON rm_matches (mentor_user_id);
CREATE INDEX IF NOT EXISTS rm_matches_by_mentee ON rm_matches (mentee_user_id);
CREATE INDEX IF NOT EXISTS rm_matches_by_program_status ON rm_matches (program_id, status, created_at DESC, match_id DESC);
CREATE INDEX IF NOT EXISTS rm_matches_by_mentee_persona ON rm_matches (mentee_persona_id);
CREATE INDEX IF NOT EXISTS rm_matches_requests_due ON rm_matches (expires_at) WHERE status = 'REQUESTED';
CREATE INDEX IF NOT EXISTS rm_matches_completions_due ON rm_matches (ends_at) WHERE status = 'ACTIVE';
`;

/** `$1` match id, `$2` occurredAt, `$3`/`$4` position; `set` may use `$5` on. */
const UPDATE = (set: string) => /* sql */ `
  UPDATE rm_matches
     SET ${set}, updated_at = $2::timestamptz, last_position_major = $3::numeric, last_position_minor = $4::numeric
   WHERE match_id = $1 AND ${notYetApplied('rm_matches', 3, 4)}`;

/** `$1`..`$6` the pair, `$7` occurredAt, `$8`/`$9` position; `columns`/`values` add the rest from `$10` on. */
const INSERT = (status: string, columns: string, values: string) => /* sql */ `
  INSERT INTO rm_matches (match_id, program_id, mentor_user_id, mentor_persona_id, mentee_user_id, mentee_persona_id,
                          status, created_at, updated_at, last_position_major, last_position_minor, ${columns})
  VALUES ($1, $2, $3, $4, $5, $6, '${status}', $7::timestamptz, $7::timestamptz, $8::numeric, $9::numeric, ${values})
  ON CONFLICT (match_id) DO NOTHING`;

export const matchesProjection = projection<MatchEvent>({
  name: 'matches',
  handles: MATCH_EVENT_TYPES,
  schema: MATCHES_SCHEMA,
  tables: ['rm_matches'],
  apply: async (tx, recorded) => {
    const event = asDomainEvent(recorded);
    const at = recorded.metadata.occurredAt;
    const [major, minor] = positionParams(recorded);
    const update = (set: string, ...extra: unknown[]) => tx.query(UPDATE(set), [event.data.matchId, at, major, minor, ...extra]);
    switch (event.type) {
      case 'MatchCreated': {
        // STAGED until MatchActivated, which a direct match appends together with this event.
        const { matchId, programId, mentorUserId, mentorPersonaId, menteeUserId, menteePersonaId } = event.data;
        await tx.query(INSERT('STAGED', 'source, score, explanation, run_id, criteria_version', '$10, $11::double precision, $12::jsonb, $13, $14::integer'), [
          matchId,
          programId,
          mentorUserId,
          mentorPersonaId,
          menteeUserId,
          menteePersonaId,
          at,
          major,
          minor,
          event.data.source ?? 'ADMIN',
          event.data.score ?? null,
          event.data.explanation ? jsonParam(event.data.explanation) : null,
          event.data.runId ?? null,
          event.data.criteriaVersion ?? null,
        ]);
        return;
      }
      case 'MatchRequested': {
        const { matchId, programId, mentorUserId, mentorPersonaId, menteeUserId, menteePersonaId } = event.data;
        const { requestedBy, requiredApprovals, pendingApprovals, expiresAt, message } = event.data;
        await tx.query(
          INSERT(
            'REQUESTED',
            'source, requested_by, required_approvals, pending_approvals, expires_at, request_message',
            `'REQUEST', $10, $11::jsonb, $12::jsonb, $13::timestamptz, $14`,
          ),
          [
            matchId,
            programId,
            mentorUserId,
            mentorPersonaId,
            menteeUserId,
            menteePersonaId,
            at,
            major,
            minor,
            requestedBy,
            jsonParam(requiredApprovals),
            jsonParam(pendingApprovals),
            expiresAt,
            message,
          ],
        );
        return;
      }
      case 'MatchRequestApproved':
        await update('pending_approvals = $5::jsonb', jsonParam(event.data.pendingApprovals));
        return;
      case 'MatchRequestDeclined':
        await update(
          `status = 'DECLINED', declined_by = $5, decline_message = $6, ended_at = $2::timestamptz`,
          event.data.party,
          event.data.message,
        );
        return;
      case 'MatchRequestExpired':
        await update(`status = 'EXPIRED', ended_at = $2::timestamptz`);
        return;
      case 'MatchRequestWithdrawn':
        await update(`status = 'WITHDRAWN', end_reason = $5, other_match_id = $6, ended_at = $2::timestamptz`, event.data.reason, event.data.otherMatchId);
        return;
      case 'MatchDiscarded':
        await update(`status = 'DISCARDED', end_reason = $5, other_match_id = $6, ended_at = $2::timestamptz`, event.data.reason, event.data.otherMatchId);
        return;
      case 'MatchActivated':
        // A mentor with capacity for several mentees goes live through a new persona.
        await update(
          `status = 'ACTIVE', mentor_persona_id = $5, mentee_persona_id = $6, activated_at = $2::timestamptz, ends_at = $7::timestamptz`,
          event.data.mentorPersonaId,
          event.data.menteePersonaId,
          event.data.endsAt ?? null,
        );
        return;
      case 'MatchCompleted':
        await update(`status = 'COMPLETED', completed_at = $2::timestamptz, ends_at = $5::timestamptz`, event.data.endsAt);
        return;
      case 'MatchClosed': {
        const { closureReason, mentorRematchIntent, menteeRematchIntent } = event.data;
        await update(
          `status = 'CLOSED', closure_reason = $5::text, mentor_rematch_intent = $6::text, mentee_rematch_intent = $7::text,
           closed_at = $2::timestamptz`,
          closureReason,
          mentorRematchIntent,
          menteeRematchIntent,
        );
        return;
      }
      case 'MatchReopened':
        await update(
          `status = 'ACTIVE', closure_reason = NULL, mentor_rematch_intent = NULL, mentee_rematch_intent = NULL, closed_at = NULL,
           completed_at = NULL`,
        );
        return;
      default:
        assertNever(event);
    }
  },
});
