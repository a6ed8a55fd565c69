import type { UserEvent } from '../../src/domain';
import type { GlobalPosition } from '../../src/eventstore/eventStore';
import { FEW_EVENTS, type InDatabaseReplay } from '../../src/projectionEngine/projection';
import { AT, LATEST_STAMP, STAMP_COLUMNS, earliestOf, inList, latestOf, latestWrittenEncoded, upToCondition, written, writtenValue, LOG } from '../shared/replaySql';

/**
 * rm_users, rm_personas and rm_mentor_capacities replayed in SQL, straight from es_events: the rows
 * `evolve` in users.projection.ts leaves, each made by one aggregate over the events of its key.
 *
 * A user's and their personas' events are all in the user's stream, so "the latest" of something
 * is the one with the highest stream revision (`latestOf`).
 *
 * Each event type's part is said below keyed by the type, so a new user event type fails to compile
 * until it is placed here. The read-model tests replay with and without this and compare every row.
 */

/** Which table's row an event of each type makes or changes (as `evolve` does). */
const TARGET: Record<UserEvent['type'], 'user' | 'persona' | 'capacity'> = {
  UserRegistered: 'user',
  UserEmailChanged: 'user',
  UserProfileUpdated: 'user',
  ApplicationCompleted: 'user',
  UserStatusChanged: 'user',
  UserStatusChangeReverted: 'user',
  ProfileAttributesSet: 'user',
  PersonalDataErased: 'user',
  PersonaCreated: 'persona',
  PersonaMatchStatusChanged: 'persona',
  PersonaInactivated: 'persona',
  PersonaAssignedToSite: 'persona',
  MenteeInvitedToMatch: 'persona',
  PersonaMatchCompleted: 'persona',
  MentorCapacitySet: 'capacity',
};
const typesOf = (target: 'user' | 'persona' | 'capacity') =>
  inList(Object.entries(TARGET).flatMap(([type, of]) => (of === target ? [type] : [])));

/** Of the creating event (there is one). */
const created = (value: string, type: string) => `max(${value}) FILTER (WHERE e.event_type = '${type}')`;
const is = (type: string) => `e.event_type = '${type}'`;

/**
 * What an aggregate costs is mostly per event it sees (its filter, its transition), whatever the
 * event: the values that only the creating event gives are taken in one aggregate, as an array
 * (`created` of each would be one aggregate per column, each evaluated for every event).
 */
const creation = (values: readonly string[], type: string) => created(`ARRAY[${values.join(', ')}]`, type);

/**
 * The registration's values in one array (the order of REGISTRATION_VALUES): those a later event can
 * change encoded as `written` (revision and value), to be compared with the latest change's.
 */
const REGISTRATION_VALUES = {
  email: written(`e.data->>'email'`),
  normalized_email: written(`e.data->>'normalizedEmail'`),
  name: written(`e.data->>'name'`),
  company: written(`e.data->>'company'`),
  manager_name: written(`e.data->'manager'->>'name'`),
  manager_email: written(`e.data->'manager'->>'email'`),
  program_id: `e.data->>'programId'`,
  role: `e.data->>'role'`,
  registered_at: AT,
} as const;
const registered = (column: keyof typeof REGISTRATION_VALUES) => `u.registration[${Object.keys(REGISTRATION_VALUES).indexOf(column) + 1}]`;

/**
 * The changes of a registration's values, from the replay's copy of the few events of their types:
 * UserEmailChanged always writes the address, a UserProfileUpdated writes only the fields it has (a
 * field present as null clears it). Encoded (`written`): the latest of a change and the
 * registration is the value now.
 */
const CHANGE_TYPES = ['UserEmailChanged', 'UserProfileUpdated'] as const;
const changed = (upTo: GlobalPosition) => {
  const profile = (field: string) => latestWrittenEncoded({ UserProfileUpdated: `e.data->>'${field}'` }, { UserProfileUpdated: `e.data->'${field}' IS NOT NULL` });
  return /* sql */ `
  SELECT e.data->>'userId' AS user_id,
         ${latestWrittenEncoded({ UserEmailChanged: `e.data->>'email'` })} AS email,
         ${latestWrittenEncoded({ UserEmailChanged: `e.data->>'normalizedEmail'` })} AS normalized_email,
         ${profile('name')} AS name, ${profile('company')} AS company, ${profile('managerName')} AS manager_name, ${profile('managerEmail')} AS manager_email
    FROM ${FEW_EVENTS} e
   WHERE e.event_type IN ${inList(CHANGE_TYPES)} AND ${upToCondition(upTo)}
   GROUP BY e.data->>'userId'`;
};
/** A registration's value, or the latest change's. */
const now = (column: 'email' | 'normalized_email' | 'name' | 'company' | 'manager_name' | 'manager_email') =>
  writtenValue(`GREATEST(${registered(column)} COLLATE "C", c.${column} COLLATE "C")`);

const usersSelect = (upTo: GlobalPosition) => /* sql */ `
WITH changed AS (${changed(upTo)}
)
SELECT u.user_id, ${now('email')}, ${now('normalized_email')}, ${now('name')}, ${registered('program_id')}, ${registered('role')},
       ${now('company')}, ${now('manager_name')},
       /* An erased UserProfileUpdated reads managerEmail '[erased]' (ERASED_VALUES): no manager then, as in evolve. */
       NULLIF(${now('manager_email')}, '[erased]'),
       u.user_status, u.application_completed, ${registered('registered_at')}::timestamptz, COALESCE(u.profile::jsonb, '{}'), ${STAMP_COLUMNS}
  FROM (
    SELECT e.data->>'userId' AS user_id,
           ${creation(Object.values(REGISTRATION_VALUES), 'UserRegistered')} AS registration,
           ${latestOf(`e.data->>CASE WHEN ${is('UserRegistered')} THEN 'userStatus' ELSE 'to' END`, `e.event_type IN ('UserRegistered', 'UserStatusChanged', 'UserStatusChangeReverted')`)} AS user_status,
           bool_or(${is('ApplicationCompleted')}) AS application_completed,
           ${latestOf(`(e.data->'attributes')::text`, is('ProfileAttributesSet'))} AS profile,
           ${LATEST_STAMP} AS stamp
      FROM ${LOG} e
     WHERE e.event_type IN ${typesOf('user')} AND ${upToCondition(upTo)}
     GROUP BY e.data->>'userId'
  ) u
  LEFT JOIN changed c ON c.user_id = u.user_id
 WHERE u.registration IS NOT NULL`;

/**
 * A persona's number, the digits after the last ':p' of its id (\`personaIdFor\`, \`personaNumber\`):
 * cut with split_part, which costs a small part of what a regular expression does (that was a tenth
 * of this load).
 */
const PERSONA_NUMBER = `reverse(split_part(reverse(persona_id), 'p:', 1))::integer`;

/** The values only PersonaCreated gives, in one array (`creation`), in this order. */
const PERSONA_CREATION = [`e.data->>'userId'`, `e.data->>'programId'`, `e.data->>'role'`, `e.data->'origin'->>'kind'`, AT];

const personasSelect = (upTo: GlobalPosition) => /* sql */ `
SELECT persona_id, made[1], ${PERSONA_NUMBER}, made[2], made[3],
       CASE WHEN inactivated THEN 'INACTIVE' ELSE 'ACTIVE' END, match_status, match_id,
       (site::jsonb)->>0, (site::jsonb)->>1, made[4], invited_at::timestamptz, COALESCE(match_completed = 'true', false),
       made[5]::timestamptz, ${STAMP_COLUMNS}
  FROM (
    SELECT e.data->>'personaId' AS persona_id,
           ${creation(PERSONA_CREATION, 'PersonaCreated')} AS made,
           bool_or(${is('PersonaInactivated')}) AS inactivated,
           ${latestOf(`e.data->>CASE WHEN ${is('PersonaCreated')} THEN 'matchStatus' ELSE 'to' END`, `e.event_type IN ('PersonaCreated', 'PersonaMatchStatusChanged')`)} AS match_status,
           -- A persona's match is set when it is matched and never cleared.
           ${latestOf(`e.data->'cause'->>'matchId'`, `${is('PersonaMatchStatusChanged')} AND e.data->'cause'->>'kind' = 'MATCH_ACTIVATED'`)} AS match_id,
           ${latestOf(`jsonb_build_array(e.data->'partnerSiteId', e.data->'mentorSiteListId')::text`, is('PersonaAssignedToSite'))} AS site,
           ${earliestOf(AT, is('MenteeInvitedToMatch'))} AS invited_at,
           -- Completed when its match ran its duration; live again (not completed) when the match reopens.
           ${latestOf(`(${is('PersonaMatchCompleted')})::text`, `${is('PersonaMatchCompleted')} OR (${is('PersonaMatchStatusChanged')} AND e.data->'cause'->>'kind' = 'MATCH_REOPENED')`)} AS match_completed,
           ${LATEST_STAMP} AS stamp
      FROM ${LOG} e
     WHERE e.event_type IN ${typesOf('persona')} AND ${upToCondition(upTo)}
     GROUP BY e.data->>'personaId'
  ) p
 WHERE made IS NOT NULL`;

const capacitiesSelect = (upTo: GlobalPosition) => /* sql */ `
SELECT user_id, program_id, capacity::integer, ${STAMP_COLUMNS}
  FROM (
    SELECT e.data->>'userId' AS user_id, e.data->>'programId' AS program_id,
           ${latestOf(`e.data->>'capacity'`, 'true')} AS capacity, ${LATEST_STAMP} AS stamp
      FROM ${FEW_EVENTS} e
     WHERE e.event_type IN ${typesOf('capacity')} AND ${upToCondition(upTo)}
     GROUP BY e.data->>'userId', e.data->>'programId'
  ) c`;

const POSITION = ['last_position_major', 'last_position_minor'];

export const usersInDatabase = (upTo: GlobalPosition): InDatabaseReplay => ({
  loads: [
    {
      table: 'rm_users',
      columns: ['user_id', 'email', 'normalized_email', 'name', 'program_id', 'role', 'company', 'manager_name', 'manager_email', 'user_status',
        'application_completed', 'registered_at', 'profile', 'updated_at', ...POSITION],
      select: usersSelect(upTo),
      weight: 14,
      readsFewEvents: true,
    },
    {
      table: 'rm_personas',
      columns: ['persona_id', 'user_id', 'number', 'program_id', 'role', 'persona_status', 'match_status', 'match_id', 'partner_site_id',
        'mentor_site_list_id', 'origin_kind', 'invited_at', 'match_completed', 'created_at', 'updated_at', ...POSITION],
      select: personasSelect(upTo),
      weight: 20,
    },
    { table: 'rm_mentor_capacities', columns: ['user_id', 'program_id', 'capacity', 'updated_at', ...POSITION], select: capacitiesSelect(upTo), weight: 1, readsFewEvents: true },
  ],
  fewTypes: ['MentorCapacitySet', ...CHANGE_TYPES],
});
