import { MATCH_EVENT_TYPES, USER_EVENT_TYPES, type MatchEvent, type UserEvent } from '../../src/domain';
import type { GlobalPosition } from '../../src/eventstore/eventStore';
import { FEW_EVENTS, type InDatabaseReplay } from '../../src/projectionEngine/projection';
import { AT, MAJOR, MINOR, inList, latestOf, upToCondition, LOG } from '../shared/replaySql';

/**
 * The user history replayed in SQL, straight from es_events: the same rows `historyEntriesOf` and
 * the projection's `applyBatch` make, without the sentences (those are read from the event when a
 * page is shown). A replay of a million events spent most of its time building these rows in
 * Node.js and sending them back; here the database reads the log and writes the history itself
 * (INSERT ... SELECT: the rows never leave the server).
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

/** As `userEntry` in userHistory.entries.ts; ProfileAttributesSet makes no entry. */
const USER_ENTRIES: Record<UserEvent['type'], UserEntrySql | null> = {
  PersonalDataErased: null,
  UserRegistered: { field: 'REGISTRATION', to: text('userStatus') },
  UserEmailChanged: { field: 'EMAIL' },
  UserProfileUpdated: { field: 'PROFILE' },
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
if ([...USER_EVENT_TYPES].some((type) => !(type in USER_ENTRIES))) throw new Error('userHistory.replay: a user event type has no entry');

/**
 * The user id a persona id carries (\`userIdOfPersona\`): all before its last ':p' (the number after it
 * cut off with split_part; a regular expression here was a quarter of the match entries' load).
 */
const ownerOf = (personaId: string) =>
  `CASE WHEN strpos(${personaId}, ':p') > 0 THEN left(${personaId}, -(length(split_part(reverse(${personaId}), 'p:', 1)) + 2)) END`;

const MATCH_TYPES = inList(MATCH_EVENT_TYPES);
const USER_TYPES_WITH_ENTRIES = inList(WITH_ENTRIES);

const CREATIONS = inList(['MatchCreated', 'MatchRequested']);
const toStatusOf = (typeColumn: string) => caseOf(typeColumn, Object.fromEntries(Object.entries(MATCH_ENTRIES).map(([type, { to }]) => [type, to])));
const fromStatusOf = (typeColumn: string) => caseOf(typeColumn, Object.fromEntries(Object.entries(MATCH_ENTRIES).map(([type, { from }]) => [type, from])));
/** The creation or request that opened a match's stream (`e` one of its events), or null. */
const creationOf = (column: string) =>
  `(SELECT c.${column} FROM ${LOG} c WHERE c.stream_id = e.stream_id AND c.revision = 0 AND c.event_type IN ${CREATIONS})`;

/**
 * One row per participant of every match event (mentor and mentee), as \`matchEntries\` makes them:
 * the participants from the event where it names their personas (and, in creations and requests,
 * their users), else from the creation or request that opened the match's stream (approvals and
 * discards), as \`MatchContext\` does. A closure right after a completion closes a COMPLETED match.
 */
const matchEntriesSelect = (upTo: GlobalPosition) => /* sql */ `
SELECT unnest(ARRAY[COALESCE(m.mentor_user, ${ownerOf('m.mentor_persona')}), COALESCE(m.mentee_user, ${ownerOf('m.mentee_persona')})]),
       m.major, m.minor, m.type, 'MATCH', unnest(ARRAY[m.mentor_persona, m.mentee_persona]), m.match_id, NULL,
       ${fromStatusOf('m.type')}, ${toStatusOf('m.type')}, NULL, NULL
  FROM (
    SELECT n.major, n.minor, n.type, n.match_id, n.previous_type,
           n.named->>'mentorUserId' AS mentor_user, n.named->>'mentorPersonaId' AS mentor_persona,
           n.named->>'menteeUserId' AS mentee_user, n.named->>'menteePersonaId' AS mentee_persona
      FROM (
        SELECT ${MAJOR} AS major, ${MINOR} AS minor, e.event_type AS type, e.data->>'matchId' AS match_id,
               CASE WHEN e.data ? 'mentorPersonaId' THEN e.data ELSE ${creationOf('data')} END AS named,
               CASE WHEN e.event_type = 'MatchClosed'
                    THEN (SELECT b.event_type FROM es_events b WHERE b.stream_id = e.stream_id AND b.revision = e.revision - 1) END AS previous_type
          FROM ${FEW_EVENTS} e
         WHERE e.event_type IN ${MATCH_TYPES} AND ${upToCondition(upTo)}
        -- Keeps the planner from inlining these columns into every place the rows below use them:
        -- each event's participants and previous event are looked up once, not once per use.
        OFFSET 0
      ) n
     WHERE n.named IS NOT NULL
  ) m`;

/** One row per user-stream event that makes an entry, marked with the latest revert that names its change. */
const userEntriesSelect = (upTo: GlobalPosition) => /* sql */ `
WITH reverts AS (
  SELECT DISTINCT ON (e.data->>'userId', e.data->>'revertedChangeId')
         e.data->>'userId' AS user_id, e.data->>'revertedChangeId' AS reverted, e.data->>'changeId' AS change_id,
         (${AT})::timestamptz AS at
    FROM ${FEW_EVENTS} e
   WHERE e.event_type = 'UserStatusChangeReverted' AND ${upToCondition(upTo)}
   ORDER BY e.data->>'userId', e.data->>'revertedChangeId', e.transaction_id DESC, e.global_position DESC
)
SELECT x.user_id, x.major, x.minor, x.type, x.field, x.persona_id, x.match_id, x.change_id, x.from_value, x.to_value, r.change_id, r.at
  FROM (
    SELECT e.data->>'userId' AS user_id, ${MAJOR} AS major, ${MINOR} AS minor, e.event_type AS type,
           ${userEntryColumn('field')} AS field, ${userEntryColumn('personaId')} AS persona_id, ${userEntryColumn('matchId')} AS match_id,
           ${userEntryColumn('changeId')} AS change_id, ${userEntryColumn('from')} AS from_value, ${userEntryColumn('to')} AS to_value
      FROM ${LOG} e
     WHERE e.event_type IN ${USER_TYPES_WITH_ENTRIES} AND ${upToCondition(upTo)}
    -- Each column worked out once: inlined, the user and change id would be again for the join.
    OFFSET 0
  ) x
  LEFT JOIN reverts r ON r.user_id = x.user_id AND r.reverted = x.change_id`;

/**
 * Per match: the participants the creation or request that opened its stream named (by user id),
 * the status its latest entry left it in (its latest event but MatchCreated, which moves none; only
 * events that name their personas make entries when nothing opened the stream), and its latest
 * event's position. All from one pass: the opening event is the group's revision 0 (a match's events
 * are its stream's), so what it named is aggregated with the rest instead of joined back.
 */
const matchContextsSelect = (upTo: GlobalPosition) => {
  const opening = `e.revision = 0 AND e.event_type IN ${CREATIONS}`;
  const named = (field: string) => `max(e.data->>'${field}') FILTER (WHERE ${opening}) AS "${field}"`;
  return /* sql */ `
SELECT g.match_id,
       CASE WHEN g.opened
            THEN (SELECT jsonb_agg(jsonb_build_object('userId', v.user_id, 'personaId', v.persona_id) ORDER BY v.user_id COLLATE "C")
                    FROM (VALUES (COALESCE(g."mentorUserId", ${ownerOf(`g."mentorPersonaId"`)}), g."mentorPersonaId"),
                                 (COALESCE(g."menteeUserId", ${ownerOf(`g."menteePersonaId"`)}), g."menteePersonaId")) v(user_id, persona_id))
            ELSE '[]'::jsonb END,
       ${toStatusOf(`CASE WHEN g.opened THEN g.latest_type ELSE g.latest_naming_type END`)},
       split_part(g.latest, ' ', 1)::bigint, split_part(g.latest, ' ', 2)::bigint
  FROM (
    SELECT e.data->>'matchId' AS match_id,
           bool_or(${opening}) AS opened,
           ${named('mentorUserId')}, ${named('mentorPersonaId')}, ${named('menteeUserId')}, ${named('menteePersonaId')},
           ${latestOf('e.event_type', `e.event_type <> 'MatchCreated'`)} AS latest_type,
           ${latestOf('e.event_type', `e.event_type <> 'MatchCreated' AND e.data ? 'mentorPersonaId'`)} AS latest_naming_type,
           ${latestOf(`${MAJOR}::text || ' ' || ${MINOR}::text`, 'true')} AS latest
      FROM ${FEW_EVENTS} e
     WHERE e.event_type IN ${MATCH_TYPES} AND ${upToCondition(upTo)}
     GROUP BY e.data->>'matchId'
  ) g`;
};

// The tables' columns in the order the queries above give them.
const HISTORY_COLUMNS = ['user_id', 'position_major', 'position_minor', 'event_type', 'field', 'persona_id', 'match_id', 'change_id',
  'from_value', 'to_value', 'reverted_by_change_id', 'reverted_at'];
const MATCH_CONTEXT_COLUMNS = ['match_id', 'participants', 'status', 'last_position_major', 'last_position_minor'];

export const userHistoryInDatabase = (upTo: GlobalPosition): InDatabaseReplay => ({
  loads: [
    { table: 'rm_user_history', columns: HISTORY_COLUMNS, select: userEntriesSelect(upTo), weight: 22, readsFewEvents: true },
    { table: 'rm_user_history', columns: HISTORY_COLUMNS, select: matchEntriesSelect(upTo), weight: 15, readsFewEvents: true },
    { table: 'rm_user_history_matches', columns: MATCH_CONTEXT_COLUMNS, select: matchContextsSelect(upTo), weight: 12, readsFewEvents: true },
  ],
  // The reverts the user entries are marked with, and the match events (a tenth of a log, which two
  // loads here and the matches' read: one pass over the log copies them, instead of one pass each).
  fewTypes: ['UserStatusChangeReverted', ...MATCH_EVENT_TYPES],
});
