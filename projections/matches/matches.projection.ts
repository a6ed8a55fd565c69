import { assertNever } from '../../src/domain/shared/decider';
import {
  MATCH_EVENT_TYPES,
  MATCH_LIFECYCLE_STATUSES,
  type ApprovingParty,
  type MatchCreated,
  type MatchEvent,
  type MatchRequested,
  type PersonalDataErased,
  type ScorePart,
} from '../../src/domain';
import type { RecordedEvent } from '../../src/eventstore/eventStore';
import { projection } from '../../src/projectionEngine/projection';
import { POSITION_COLUMNS, RowSet, markApplied, notYetAppliedTo, tableSpec, type PositionedRow } from '../../src/projectionEngine/rows';
import { LAST_POSITION_COLUMNS, asDomainEvent } from '../shared/projectionSupport';
import { matchesInDatabase } from './matches.replay';

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

/** A row of rm_matches; the queries read it less its bookkeeping columns. */
export interface MatchRow extends PositionedRow {
  match_id: string;
  program_id: string;
  mentor_user_id: string;
  mentor_persona_id: string;
  mentee_user_id: string;
  mentee_persona_id: string;
  status: string;
  closure_reason: string | null;
  mentor_rematch_intent: string | null;
  mentee_rematch_intent: string | null;
  created_at: string;
  closed_at: string | null;
  updated_at: string;
  explanation: readonly ScorePart[] | null;
  run_id: string | null;
  criteria_version: number | null;
  source: string;
  score: number | null;
  requested_by: string | null;
  required_approvals: readonly ApprovingParty[] | null;
  pending_approvals: readonly ApprovingParty[] | null;
  request_message: string | null;
  expires_at: string | null;
  declined_by: string | null;
  decline_message: string | null;
  end_reason: string | null;
  other_match_id: string | null;
  activated_at: string | null;
  ends_at: string | null;
  completed_at: string | null;
  ended_at: string | null;
}

const typed = (type: string, ...names: (keyof MatchRow & string)[]) => names.map((name) => ({ name, type }));

const MATCHES = tableSpec<MatchRow>({
  table: 'rm_matches',
  key: ['match_id'],
  columns: [
    ...typed('text', 'match_id', 'program_id', 'mentor_user_id', 'mentor_persona_id', 'mentee_user_id', 'mentee_persona_id', 'status'),
    ...typed('text', 'closure_reason', 'mentor_rematch_intent', 'mentee_rematch_intent', 'run_id', 'source', 'requested_by', 'request_message'),
    ...typed('text', 'declined_by', 'decline_message', 'end_reason', 'other_match_id'),
    ...typed('timestamptz', 'created_at', 'closed_at', 'updated_at', 'expires_at', 'activated_at', 'ends_at', 'completed_at', 'ended_at'),
    ...typed('jsonb', 'explanation', 'required_approvals', 'pending_approvals'),
    { name: 'criteria_version', type: 'integer' },
    { name: 'score', type: 'double precision' },
    ...POSITION_COLUMNS,
  ],
});

/** A new row: its pair and status, what the creating event says, and nothing of how it went on yet. */
const newMatch = (data: MatchCreated['data'] | MatchRequested['data'], status: string, at: string, recorded: RecordedEvent): MatchRow => ({
  match_id: data.matchId,
  program_id: data.programId,
  mentor_user_id: data.mentorUserId,
  mentor_persona_id: data.mentorPersonaId,
  mentee_user_id: data.menteeUserId,
  mentee_persona_id: data.menteePersonaId,
  status,
  closure_reason: null,
  mentor_rematch_intent: null,
  mentee_rematch_intent: null,
  created_at: at,
  closed_at: null,
  updated_at: at,
  explanation: null,
  run_id: null,
  criteria_version: null,
  source: 'ADMIN',
  score: null,
  requested_by: null,
  required_approvals: null,
  pending_approvals: null,
  request_message: null,
  expires_at: null,
  declined_by: null,
  decline_message: null,
  end_reason: null,
  other_match_id: null,
  activated_at: null,
  ends_at: null,
  completed_at: null,
  ended_at: null,
  last_position_major: recorded.position.major.toString(),
  last_position_minor: recorded.position.minor.toString(),
});

const evolve = (matches: RowSet<MatchRow>, recorded: RecordedEvent<MatchEvent>): void => {
  const event = asDomainEvent(recorded);
  const at = recorded.metadata.occurredAt;
  const update = (apply: (row: MatchRow) => void) => {
    const row = matches.get(event.data.matchId);
    if (!row || !notYetAppliedTo(row, recorded)) return;
    apply(row);
    markApplied(row, recorded);
    row.updated_at = at;
    matches.touch(row.match_id);
  };
  switch (event.type) {
    case 'MatchCreated': {
      // STAGED until MatchActivated, which a direct match appends together with this event.
      const row = newMatch(event.data, 'STAGED', at, recorded);
      row.source = event.data.source ?? 'ADMIN';
      row.score = event.data.score ?? null;
      row.explanation = event.data.explanation ?? null;
      row.run_id = event.data.runId ?? null;
      row.criteria_version = event.data.criteriaVersion ?? null;
      matches.insert(row);
      return;
    }
    case 'MatchRequested': {
      const { requestedBy, requiredApprovals, pendingApprovals, expiresAt, message } = event.data;
      const row = newMatch(event.data, 'REQUESTED', at, recorded);
      row.source = 'REQUEST';
      row.requested_by = requestedBy;
      row.required_approvals = requiredApprovals;
      row.pending_approvals = pendingApprovals;
      row.expires_at = expiresAt;
      row.request_message = message ?? null;
      matches.insert(row);
      return;
    }
    case 'MatchRequestApproved':
      update((row) => (row.pending_approvals = event.data.pendingApprovals));
      return;
    case 'MatchRequestDeclined':
      update((row) => Object.assign(row, { status: 'DECLINED', declined_by: event.data.party, decline_message: event.data.message ?? null, ended_at: at }));
      return;
    case 'MatchRequestExpired':
      update((row) => Object.assign(row, { status: 'EXPIRED', ended_at: at }));
      return;
    case 'MatchRequestWithdrawn':
    case 'MatchDiscarded':
      update((row) =>
        Object.assign(row, {
          status: event.type === 'MatchDiscarded' ? 'DISCARDED' : 'WITHDRAWN',
          end_reason: event.data.reason,
          other_match_id: event.data.otherMatchId ?? null,
          ended_at: at,
        }),
      );
      return;
    case 'MatchActivated':
      // A mentor with capacity for several mentees goes live through a new persona.
      update((row) =>
        Object.assign(row, {
          status: 'ACTIVE',
          mentor_persona_id: event.data.mentorPersonaId,
          mentee_persona_id: event.data.menteePersonaId,
          activated_at: at,
          ends_at: event.data.endsAt ?? null,
        }),
      );
      return;
    case 'MatchCompleted':
      update((row) => Object.assign(row, { status: 'COMPLETED', completed_at: at, ends_at: event.data.endsAt }));
      return;
    case 'MatchClosed': {
      const { closureReason, mentorRematchIntent, menteeRematchIntent } = event.data;
      update((row) =>
        Object.assign(row, {
          status: 'CLOSED',
          closure_reason: closureReason,
          mentor_rematch_intent: mentorRematchIntent,
          mentee_rematch_intent: menteeRematchIntent,
          closed_at: at,
        }),
      );
      return;
    }
    case 'MatchReopened':
      update((row) =>
        Object.assign(row, { status: 'ACTIVE', closure_reason: null, mentor_rematch_intent: null, mentee_rematch_intent: null, closed_at: null, completed_at: null }),
      );
      return;
    default:
      assertNever(event);
  }
};

const isMatchEvent = (event: RecordedEvent<MatchEvent | PersonalDataErased>): event is RecordedEvent<MatchEvent> => event.type !== 'PersonalDataErased';

export const matchesProjection = projection<MatchEvent | PersonalDataErased>({
  name: 'matches',
  handles: [...MATCH_EVENT_TYPES, 'PersonalDataErased'],
  schema: MATCHES_SCHEMA,
  tables: ['rm_matches'],
  applyBatch: async (tx, events) => {
    const matchEvents = events.filter(isMatchEvent);
    const matches = await RowSet.load(tx, MATCHES, (row) => row.match_id, matchEvents.map((event) => [event.data.matchId]));
    for (const event of matchEvents) evolve(matches, event);
    await matches.flush(tx);
    // A participant's erasure takes the messages of their requests and auto-matching's reasons (which
    // name their profile), as a replay reads them from the erased events (which is why a replay has
    // nothing to do for it). Not a change of the match: its position and updated_at stay.
    for (const event of events) {
      if (event.type !== 'PersonalDataErased') continue;
      await tx.query(
        `UPDATE rm_matches SET request_message = NULL, decline_message = NULL,
                explanation = CASE WHEN explanation IS NULL THEN NULL ELSE '[]'::jsonb END
          WHERE (mentor_user_id = $1 OR mentee_user_id = $1)
            AND (request_message IS NOT NULL OR decline_message IS NOT NULL OR explanation <> '[]'::jsonb)`,
        [(event.data as PersonalDataErased['data']).userId],
      );
    }
  },
  replayInDatabase: matchesInDatabase,
  replayApplier: () => {
    const matches = RowSet.empty(MATCHES, (row) => row.match_id);
    return {
      apply: (events) => {
        for (const event of events) if (isMatchEvent(event)) evolve(matches, event);
      },
      takeWrites: () => matches.takeWrites(),
      writesOnceAtEnd: true,
    };
  },
});
