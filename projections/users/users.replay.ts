import type { UserEvent } from '../../src/domain';
import type { GlobalPosition } from '../../src/eventstore/eventStore';
import { FEW_EVENTS, type InDatabaseReplay } from '../../src/projectionEngine/projection';
import { AT, LATEST_STAMP, STAMP_COLUMNS, earliestOf, inList, latestOf, latestWritten, upToCondition, LOG } from '../shared/replaySql';

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
 * A registration's value, or the latest change's: UserEmailChanged always writes the address, a
 * UserProfileUpdated writes only the fields it has (a field present as null clears it).
 */
const emailNow = (field: string) => latestWritten({ UserRegistered: `e.data->>'${field}'`, UserEmailChanged: `e.data->>'${field}'` });
const profileNow = (registered: string, updatedField: string) =>
  latestWritten({ UserRegistered: registered, UserProfileUpdated: `e.data->>'${updatedField}'` }, { UserProfileUpdated: `e.data->'${updatedField}' IS NOT NULL` });

const usersSelect = (upTo: GlobalPosition) => /* sql */ `
SELECT user_id, email, normalized_email, name, program_id, role, company, manager_name, manager_email, user_status,
       application_completed, registered_at::timestamptz, COALESCE(profile::jsonb, '{}'), ${STAMP_COLUMNS}
  FROM (
    SELECT e.data->>'userId' AS user_id,
           ${emailNow('email')} AS email,
           ${emailNow('normalizedEmail')} AS normalized_email,
           ${profileNow(`e.data->>'name'`, 'name')} AS name,
           ${created(`e.data->>'programId'`, 'UserRegistered')} AS program_id,
           ${created(`e.data->>'role'`, 'UserRegistered')} AS role,
           ${profileNow(`e.data->>'company'`, 'company')} AS company,
           ${profileNow(`e.data->'manager'->>'name'`, 'managerName')} AS manager_name,
           /* An erased UserProfileUpdated reads managerEmail '[erased]' (ERASED_VALUES): no manager then, as in evolve. */
           NULLIF(${profileNow(`e.data->'manager'->>'email'`, 'managerEmail')}, '[erased]') AS manager_email,
           ${latestOf(`e.data->>CASE WHEN ${is('UserRegistered')} THEN 'userStatus' ELSE 'to' END`, `e.event_type IN ('UserRegistered', 'UserStatusChanged', 'UserStatusChangeReverted')`)} AS user_status,
           bool_or(${is('ApplicationCompleted')}) AS application_completed,
           ${created(AT, 'UserRegistered')} AS registered_at,
           ${latestOf(`(e.data->'attributes')::text`, is('ProfileAttributesSet'))} AS profile,
           ${LATEST_STAMP} AS stamp,
           bool_or(${is('UserRegistered')}) AS registered
      FROM ${LOG} e
     WHERE e.event_type IN ${typesOf('user')} AND ${upToCondition(upTo)}
     GROUP BY e.data->>'userId'
  ) u
 WHERE registered`;

const personasSelect = (upTo: GlobalPosition) => /* sql */ `
SELECT persona_id, user_id, substring(persona_id FROM ':p([1-9][0-9]*)$')::integer, program_id, role,
       CASE WHEN inactivated THEN 'INACTIVE' ELSE 'ACTIVE' END, match_status, match_id,
       (site::jsonb)->>0, (site::jsonb)->>1, origin_kind, invited_at::timestamptz, COALESCE(match_completed = 'true', false),
       created_at::timestamptz, ${STAMP_COLUMNS}
  FROM (
    SELECT e.data->>'personaId' AS persona_id,
           ${created(`e.data->>'userId'`, 'PersonaCreated')} AS user_id,
           ${created(`e.data->>'programId'`, 'PersonaCreated')} AS program_id,
           ${created(`e.data->>'role'`, 'PersonaCreated')} AS role,
           ${created(`e.data->'origin'->>'kind'`, 'PersonaCreated')} AS origin_kind,
           ${created(AT, 'PersonaCreated')} AS created_at,
           bool_or(${is('PersonaInactivated')}) AS inactivated,
           ${latestOf(`e.data->>CASE WHEN ${is('PersonaCreated')} THEN 'matchStatus' ELSE 'to' END`, `e.event_type IN ('PersonaCreated', 'PersonaMatchStatusChanged')`)} AS match_status,
           -- A persona's match is set when it is matched and never cleared.
           ${latestOf(`e.data->'cause'->>'matchId'`, `${is('PersonaMatchStatusChanged')} AND e.data->'cause'->>'kind' = 'MATCH_ACTIVATED'`)} AS match_id,
           ${latestOf(`jsonb_build_array(e.data->'partnerSiteId', e.data->'mentorSiteListId')::text`, is('PersonaAssignedToSite'))} AS site,
           ${earliestOf(AT, is('MenteeInvitedToMatch'))} AS invited_at,
           -- Completed when its match ran its duration; live again (not completed) when the match reopens.
           ${latestOf(`(${is('PersonaMatchCompleted')})::text`, `${is('PersonaMatchCompleted')} OR (${is('PersonaMatchStatusChanged')} AND e.data->'cause'->>'kind' = 'MATCH_REOPENED')`)} AS match_completed,
           ${LATEST_STAMP} AS stamp,
           bool_or(${is('PersonaCreated')}) AS made
      FROM ${LOG} e
     WHERE e.event_type IN ${typesOf('persona')} AND ${upToCondition(upTo)}
     GROUP BY e.data->>'personaId'
  ) p
 WHERE made`;

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
  fewTypes: ['MentorCapacitySet'],
});
