import { MATCH_EVENT_TYPES, USER_EVENT_TYPES, type MatchEvent, type UserEvent } from '../src/domain';
import { projection } from '../src/projections/projection';
import { historyEntriesOf, needsMatchContext, type MatchContext } from './historyEntries';
import type { SqlExecutor } from '../src/sql/sqlDatabase';
import { asDomainEvent, positionParams } from './shared';

/**
 * One row per (event, user) for every event that touched the user or one of their personas: the
 * user's own stream, and the match-stream events of every match they are in. Rows are keyed by
 * event id, so a replayed event inserts nothing; a revert marks the entry it undoes by setting
 * (never toggling) its `reverted_by_change_id`.
 */
export const USER_HISTORY_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS rm_user_history (
  event_id text NOT NULL,
  user_id text NOT NULL,
  position_major numeric(20) NOT NULL,
  position_minor numeric(20) NOT NULL,
  event_type text NOT NULL,
  occurred_at timestamptz NOT NULL,
  field text NOT NULL,
  persona_id text,
  match_id text,
  change_id text,
  from_value text,
  to_value text,
  summary text NOT NULL,
  actor_id text NOT NULL,
  actor_role text NOT NULL,
  reason text,
  command text,
  correlation_id text NOT NULL,
  reverted_by_change_id text,
  reverted_at timestamptz,
  PRIMARY KEY (event_id, user_id)
);
CREATE INDEX IF NOT EXISTS rm_user_history_newest_first ON rm_user_history (user_id, position_major DESC, position_minor DESC);
CREATE INDEX IF NOT EXISTS rm_user_history_by_change ON rm_user_history (user_id, change_id) WHERE change_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS rm_user_history_by_match ON rm_user_history (match_id, position_major, position_minor) WHERE match_id IS NOT NULL;
`;

type HistoryEvent = UserEvent | MatchEvent;

/**
 * The match's entries before this event (by position, so a replay reads what the first pass read):
 * who its participants are (from its creation or request) and the status its latest entry left.
 */
const matchContext = async (tx: SqlExecutor, matchId: string, major: string, minor: string): Promise<MatchContext> => {
  const before = `match_id = $1 AND field = 'MATCH' AND (position_major, position_minor) < ($2::numeric, $3::numeric)`;
  // One after the other: a transaction is one connection.
  const participants = await tx.query<{ user_id: string; persona_id: string }>(
    `SELECT user_id, persona_id FROM rm_user_history
      WHERE ${before} AND event_type IN ('MatchCreated', 'MatchRequested') ORDER BY user_id`,
    [matchId, major, minor],
  );
  const status = await tx.query<{ to_value: string }>(
    `SELECT to_value FROM rm_user_history WHERE ${before} AND to_value IS NOT NULL
      ORDER BY position_major DESC, position_minor DESC LIMIT 1`,
    [matchId, major, minor],
  );
  return {
    participants: participants.rows.map((row) => ({ userId: row.user_id, personaId: row.persona_id })),
    status: status.rows[0]?.to_value ?? null,
  };
};

// Every event of a user's stream, and match events (they touch both participants' personas).
const HISTORY_EVENT_TYPES = [...USER_EVENT_TYPES, ...MATCH_EVENT_TYPES] as const satisfies readonly HistoryEvent['type'][];

export const userHistoryProjection = projection<HistoryEvent>({
  name: 'user_history',
  handles: HISTORY_EVENT_TYPES,
  schema: USER_HISTORY_SCHEMA,
  tables: ['rm_user_history'],
  apply: async (tx, recorded) => {
    const event = asDomainEvent(recorded);
    const { occurredAt, actor, reason, command, correlationId } = recorded.metadata;
    const [major, minor] = positionParams(recorded);
    const context = needsMatchContext(event) ? await matchContext(tx, event.data.matchId, major, minor) : undefined;
    for (const entry of historyEntriesOf(event, context)) {
      await tx.query(
        `INSERT INTO rm_user_history (event_id, user_id, position_major, position_minor, event_type, occurred_at, field, persona_id,
                                      match_id, change_id, from_value, to_value, summary, actor_id, actor_role, reason, command,
                                      correlation_id)
         VALUES ($1, $2, $3::numeric, $4::numeric, $5, $6::timestamptz, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (event_id, user_id) DO NOTHING`,
        [
          recorded.id,
          entry.userId,
          major,
          minor,
          recorded.type,
          occurredAt,
          entry.field,
          entry.personaId,
          entry.matchId,
          entry.changeId,
          entry.from,
          entry.to,
          entry.summary,
          actor.id,
          actor.role,
          reason ?? null,
          command ?? null,
          correlationId,
        ],
      );
    }
    if (event.type === 'UserStatusChangeReverted') {
      // The undone entry may itself be a revert: reverts are entries with change ids like any change.
      await tx.query(
        `UPDATE rm_user_history SET reverted_by_change_id = $3, reverted_at = $4::timestamptz
          WHERE user_id = $1 AND change_id = $2`,
        [event.data.userId, event.data.revertedChangeId, event.data.changeId, occurredAt],
      );
    }
  },
});
