import { MATCH_EVENT_TYPES, USER_EVENT_TYPES, type MatchEvent, type UserEvent } from '../src/domain';
import type { GlobalPosition } from '../src/eventstore/eventStore';
import type { InDatabaseReplay } from '../src/projections/projection';

/**
 * The user history replayed in SQL, straight from es_events: the same rows `historyEntriesOf` and
 * the projection's `applyBatch` make, without the sentences (those are read from the event when a
 * page is shown). A replay of a million events spent most of its time building these rows in
 * Node.js and sending them back; here the database reads the log and writes the history in one
 * statement, on a core of its own.
 *
 * Each event type's entry is written down once below, keyed by the type, so adding an event type
 * to the domain fails to compile until its entry is said here too. The read-model tests replay with
 * and without this and compare every row.
 */

/** SQL expressions over `e.data` (jsonb) for one user-stream event's entry; null columns are left out. */
interface UserEntrySql {
  readonly field: string;
  readonly personaId?: string;
  readonly matchId?: string;
  readonly changeId?: string;
  readonly from?: string;
  readonly to?: string;
}

const text = (path: string) => `e.data->>'${path}'`;
const literal = (value: string) => `'${value}'`;

/** As `userEntry` in historyEntries.ts; ProfileAttributesSet makes no entry. */
const USER_ENTRIES: Record<UserEvent['type'], UserEntrySql | null> = {
  UserRegistered: { field: 'REGISTRATION', to: text('userStatus') },
  PersonaCreated: {
    field: 'PERSONA',
    personaId: text('personaId'),
    matchId: `CASE WHEN e.data->'origin'->>'kind' IN ('REMATCH_REQUESTED', 'ADDITIONAL_MATCH') THEN e.data->'origin'->>'matchId' END`,
    to: text('matchStatus'),
  },
  ApplicationCompleted: { field: 'APPLICATION', from: literal('INCOMPLETE'), to: literal('COMPLETED') },
  UserStatusChanged: { field: 'USER_STATUS', changeId: text('changeId'), from: text('from'), to: text('to') },
  UserStatusChangeReverted: { field: 'USER_STATUS', changeId: text('changeId'), from: text('from'), to: text('to') },
  PersonaMatchStatusChanged: {
    field: 'MATCH_STATUS',
    personaId: text('personaId'),
    matchId: `COALESCE(e.data->>'matchId', e.data->'cause'->>'matchId')`,
    from: text('from'),
    to: text('to'),
  },
  PersonaInactivated: {
    field: 'PERSONA_STATUS',
    personaId: text('personaId'),
    matchId: `COALESCE(e.data->>'matchId', CASE WHEN e.data->'cause'->>'kind' = 'SUPERSEDED_BY_REOPENED_MATCH' THEN e.data->'cause'->>'matchId' END)`,
    from: literal('ACTIVE'),
    to: literal('INACTIVE'),
  },
  PersonaAssignedToSite: { field: 'SITE', personaId: text('personaId'), from: text('previousPartnerSiteId'), to: text('partnerSiteId') },
  MenteeInvitedToMatch: { field: 'INVITATION', personaId: text('personaId'), to: literal('INVITED') },
  MentorCapacitySet: { field: 'MENTOR_CAPACITY', from: text('previous'), to: text('capacity') },
  PersonaMatchCompleted: { field: 'MATCH_COMPLETION', personaId: text('personaId'), matchId: text('matchId'), to: literal('COMPLETED') },
  ProfileAttributesSet: null,
};

/**
 * As `matchEntries`: the status each match event moves the match from and to, as SQL over the
 * event's row `m` (`m.previous_type` is the type of the match's event before it, MatchCreated
 * aside: a closure after a completion closes a COMPLETED match).
 */
const MATCH_ENTRIES: Record<MatchEvent['type'], { readonly from: string; readonly to: string }> = {
  MatchCreated: { from: 'NULL', to: 'NULL' },
  MatchRequested: { from: 'NULL', to: literal('REQUESTED') },
  MatchRequestApproved: { from: literal('REQUESTED'), to: literal('REQUESTED') },
  MatchRequestDeclined: { from: literal('REQUESTED'), to: literal('DECLINED') },
  MatchRequestExpired: { from: literal('REQUESTED'), to: literal('EXPIRED') },
  MatchRequestWithdrawn: { from: literal('REQUESTED'), to: literal('WITHDRAWN') },
  MatchDiscarded: { from: literal('STAGED'), to: literal('DISCARDED') },
  MatchActivated: { from: 'NULL', to: literal('ACTIVE') },
  MatchCompleted: { from: literal('ACTIVE'), to: literal('COMPLETED') },
  MatchClosed: { from: `CASE WHEN m.previous_type = 'MatchCompleted' THEN 'COMPLETED' ELSE 'ACTIVE' END`, to: literal('CLOSED') },
  MatchReopened: { from: literal('CLOSED'), to: literal('ACTIVE') },
};

const caseOf = <T extends string>(typeColumn: string, table: Record<T, string | null>): string => {
  const arms = (Object.entries(table) as [T, string | null][]).filter(([, sql]) => sql !== null && sql !== 'NULL');
  return arms.length === 0 ? 'NULL' : `CASE ${typeColumn} ${arms.map(([type, sql]) => `WHEN '${type}' THEN ${sql}`).join(' ')} END`;
};

const userEntryColumn = (column: keyof UserEntrySql): string =>
  caseOf(
    'e.event_type',
    Object.fromEntries(
      Object.entries(USER_ENTRIES).map(([type, entry]) => {
        const value = entry?.[column];
        return [type, value === undefined ? null : column === 'field' ? literal(value) : value];
      }),
    ),
  );

const WITH_ENTRIES = Object.entries(USER_ENTRIES).flatMap(([type, entry]) => (entry ? [type] : []));
const MATCH_TYPES = [...MATCH_EVENT_TYPES];
const USER_TYPES = [...USER_EVENT_TYPES];
if (USER_TYPES.some((type) => !(type in USER_ENTRIES))) throw new Error('userHistory.replay: a user event type has no entry');

/** The user id a persona id carries (`userIdOfPersona`). */
const ownerOf = (personaId: string) => `substring(${personaId} FROM '^(.+):p[1-9][0-9]*$')`;

// Events up to and including the replay's end ($1, $2); positions written as the projection writes them.
const UP_TO = `(e.transaction_id, e.global_position) <= ($1::text::xid8, $2::bigint)`;
const MAJOR = `e.transaction_id::text::bigint`;
const MINOR = `e.global_position`;

/**
 * Match events with the ids of their participants: from the event where it names their personas
 * (and, in creations and requests, their users), else from the match's latest creation or request
 * before it (approvals and discards), as `MatchContext` does.
 */
const MATCH_EVENTS = /* sql */ `
  match_events AS MATERIALIZED (
    SELECT ${MAJOR} AS major, ${MINOR} AS minor, e.event_type AS type, e.data, e.data->>'matchId' AS match_id
      FROM es_events e
     WHERE e.event_type = ANY($3::text[]) AND ${UP_TO}
  ),
  creations AS (
    SELECT DISTINCT ON (match_id) match_id, major, minor, data
      FROM match_events WHERE type IN ('MatchCreated', 'MatchRequested') ORDER BY match_id, major DESC, minor DESC
  ),
  with_previous AS (
    SELECT m.*, lag(m.type) OVER (PARTITION BY m.match_id ORDER BY m.major, m.minor) AS previous_type
      FROM match_events m WHERE m.type <> 'MatchCreated'
    UNION ALL
    SELECT m.*, NULL FROM match_events m WHERE m.type = 'MatchCreated'
  ),
  match_entries AS (
    SELECT p.user_id, m.major, m.minor, m.type, p.persona_id, m.match_id,
           ${caseOf('m.type', Object.fromEntries(Object.entries(MATCH_ENTRIES).map(([type, { from }]) => [type, from])))} AS from_value,
           ${caseOf('m.type', Object.fromEntries(Object.entries(MATCH_ENTRIES).map(([type, { to }]) => [type, to])))} AS to_value
      FROM with_previous m
      LEFT JOIN creations c ON c.match_id = m.match_id AND (c.major, c.minor) < (m.major, m.minor) AND NOT m.data ? 'mentorPersonaId'
      CROSS JOIN LATERAL (SELECT CASE WHEN m.data ? 'mentorPersonaId' THEN m.data ELSE c.data END AS named) s
      CROSS JOIN LATERAL (
        SELECT COALESCE(s.named->>'mentorUserId', ${ownerOf(`s.named->>'mentorPersonaId'`)}) AS user_id, s.named->>'mentorPersonaId' AS persona_id
        UNION ALL
        SELECT COALESCE(s.named->>'menteeUserId', ${ownerOf(`s.named->>'menteePersonaId'`)}), s.named->>'menteePersonaId'
      ) p
     WHERE s.named IS NOT NULL
  )`;

/** Every entry, each marked with the latest revert that names its change. */
const HISTORY_ROWS = /* sql */ `
WITH ${MATCH_EVENTS.trim()},
  reverts AS (
    SELECT DISTINCT ON (e.data->>'userId', e.data->>'revertedChangeId')
           e.data->>'userId' AS user_id, e.data->>'revertedChangeId' AS reverted, e.data->>'changeId' AS change_id,
           (e.metadata->>'occurredAt')::timestamptz AS at
      FROM es_events e
     WHERE e.event_type = 'UserStatusChangeReverted' AND ${UP_TO}
     ORDER BY e.data->>'userId', e.data->>'revertedChangeId', e.transaction_id DESC, e.global_position DESC
  ),
  entries AS (
    SELECT e.data->>'userId' AS user_id, ${MAJOR} AS major, ${MINOR} AS minor, e.event_type AS type,
           ${userEntryColumn('field')} AS field, ${userEntryColumn('personaId')} AS persona_id, ${userEntryColumn('matchId')} AS match_id,
           ${userEntryColumn('changeId')} AS change_id, ${userEntryColumn('from')} AS from_value, ${userEntryColumn('to')} AS to_value
      FROM es_events e
     WHERE e.event_type = ANY($4::text[]) AND ${UP_TO}
    UNION ALL
    SELECT user_id, major, minor, type, 'MATCH', persona_id, match_id, NULL, from_value, to_value FROM match_entries
  )
INSERT INTO rm_user_history (user_id, position_major, position_minor, event_type, field, persona_id, match_id, change_id,
                             from_value, to_value, reverted_by_change_id, reverted_at)
SELECT x.user_id, x.major, x.minor, x.type, x.field, x.persona_id, x.match_id, x.change_id, x.from_value, x.to_value, r.change_id, r.at
  FROM entries x
  LEFT JOIN reverts r ON r.user_id = x.user_id AND r.reverted = x.change_id`;

/**
 * Per match: the participants its latest creation or request named (mentor and mentee, by user id),
 * the status its latest entry left it in, and its latest event's position.
 */
const MATCH_CONTEXT_ROWS = /* sql */ `
WITH ${MATCH_EVENTS.trim()}
INSERT INTO rm_user_history_matches (match_id, participants, status, last_position_major, last_position_minor)
SELECT l.match_id,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('userId', v.user_id, 'personaId', v.persona_id) ORDER BY v.user_id COLLATE "C")
                   FROM (VALUES (COALESCE(c.data->>'mentorUserId', ${ownerOf(`c.data->>'mentorPersonaId'`)}), c.data->>'mentorPersonaId'),
                                (COALESCE(c.data->>'menteeUserId', ${ownerOf(`c.data->>'menteePersonaId'`)}), c.data->>'menteePersonaId')) v(user_id, persona_id)
                  WHERE c.data IS NOT NULL), '[]'::jsonb),
       st.to_value, l.major, l.minor
  FROM (SELECT DISTINCT ON (match_id) match_id, major, minor FROM match_events ORDER BY match_id, major DESC, minor DESC) l
  LEFT JOIN creations c ON c.match_id = l.match_id
  LEFT JOIN (
    SELECT DISTINCT ON (match_id) match_id, to_value FROM match_entries WHERE to_value IS NOT NULL ORDER BY match_id, major DESC, minor DESC
  ) st ON st.match_id = l.match_id`;

export const userHistoryInDatabase = (upTo: GlobalPosition): InDatabaseReplay => {
  const bound = [upTo.major.toString(), upTo.minor.toString()];
  return {
    statements: [
      { sql: HISTORY_ROWS, params: [...bound, MATCH_TYPES, WITH_ENTRIES] },
      { sql: MATCH_CONTEXT_ROWS, params: [...bound, MATCH_TYPES] },
    ],
  };
};
