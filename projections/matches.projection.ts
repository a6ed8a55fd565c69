import { assertNever } from '../src/domain/shared/decider';
import { MATCH_EVENT_TYPES, type MatchEvent } from '../src/domain';
import { projection } from '../src/projections/projection';
import { LAST_POSITION_COLUMNS, asDomainEvent, notYetApplied, positionParams } from './shared';

/** One row per match: its pair, whether it is live, and how it closed (cleared when it reopens). */
export const MATCHES_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS rm_matches (
  match_id text PRIMARY KEY,
  program_id text NOT NULL,
  mentor_user_id text NOT NULL,
  mentor_persona_id text NOT NULL,
  mentee_user_id text NOT NULL,
  mentee_persona_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('ACTIVE', 'CLOSED')),
  closure_reason text,
  mentor_rematch_intent text,
  mentee_rematch_intent text,
  created_at timestamptz NOT NULL,
  closed_at timestamptz,
  updated_at timestamptz NOT NULL,${LAST_POSITION_COLUMNS}
);
CREATE INDEX IF NOT EXISTS rm_matches_by_mentor ON rm_matches (mentor_user_id);
CREATE INDEX IF NOT EXISTS rm_matches_by_mentee ON rm_matches (mentee_user_id);
`;


/** `$1` match id, `$2` occurredAt, `$3`/`$4` position; `set` may use `$5` on. */
const UPDATE = (set: string) => /* sql */ `
  UPDATE rm_matches
     SET ${set}, updated_at = $2::timestamptz, last_position_major = $3::numeric, last_position_minor = $4::numeric
   WHERE match_id = $1 AND ${notYetApplied('rm_matches', 3, 4)}`;

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
        // The direct match goes live in the same append, so the read side has no staged state.
        const { matchId, programId, mentorUserId, mentorPersonaId, menteeUserId, menteePersonaId } = event.data;
        await tx.query(
          `INSERT INTO rm_matches (match_id, program_id, mentor_user_id, mentor_persona_id, mentee_user_id, mentee_persona_id,
                                   status, created_at, updated_at, last_position_major, last_position_minor)
           VALUES ($1, $2, $3, $4, $5, $6, 'ACTIVE', $7::timestamptz, $7::timestamptz, $8::numeric, $9::numeric)
           ON CONFLICT (match_id) DO NOTHING`,
          [matchId, programId, mentorUserId, mentorPersonaId, menteeUserId, menteePersonaId, at, major, minor],
        );
        return;
      }
      case 'MatchActivated':
        await update(`status = 'ACTIVE'`);
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
        await update(`status = 'ACTIVE', closure_reason = NULL, mentor_rematch_intent = NULL, mentee_rematch_intent = NULL, closed_at = NULL`);
        return;
      default:
        assertNever(event);
    }
  },
});
