import type { GlobalPosition } from '../../src/eventstore/eventStore';
import { FEW_EVENTS, type InDatabaseReplay } from '../../src/projectionEngine/projection';
import { MAJOR, MINOR, inList, latestOf, upToCondition, LOG } from '../shared/replaySql';

const PROGRAM_TYPES = ['ProgramCreated', 'InitiativeCreated', 'NotificationTemplateSet', 'ProgramTimeZoneChanged'];
const CONTACT_CHANGE_TYPES = ['UserEmailChanged', 'UserProfileUpdated'];

/**
 * The notification read model's own tables replayed in SQL, straight from es_events: the contacts
 * (each user's current address and name) and the programs (name, time zone, and the
 * templates their NotificationTemplateSet events leave, the zone the latest ProgramTimeZoneChanged set; an initiative is a program of its own with
 * none). The outbox is not replayed (see notifications.projection.ts). The read-model tests replay
 * with and without this and compare every row.
 */


// A user registers once, and the registration opens the user's stream (the decider refuses a second
// one): its revision 0. (RowSet.insert would keep the first of several.) The address is the latest
// UserEmailChanged's and the name the latest UserProfileUpdated's that has one, as `evolve` leaves
// them; a log has few of those, read from the replay's copy.
const contactsSelect = (upTo: GlobalPosition) => /* sql */ `
WITH changes AS (
  SELECT e.stream_id,
         ${latestOf(`e.data->>'email'`, `e.event_type = 'UserEmailChanged'`)} AS email,
         ${latestOf(`e.data->>'name'`, `e.event_type = 'UserProfileUpdated' AND e.data->'name' IS NOT NULL`)} AS name
    FROM ${FEW_EVENTS} e
   WHERE e.event_type IN ${inList(CONTACT_CHANGE_TYPES)} AND ${upToCondition(upTo)}
   GROUP BY e.stream_id
)
SELECT e.data->>'userId', COALESCE(c.email, e.data->>'email'), COALESCE(c.name, e.data->>'name')
  FROM ${LOG} e
  LEFT JOIN changes c ON c.stream_id = e.stream_id
 WHERE e.event_type = 'UserRegistered' AND e.revision = 0 AND ${upToCondition(upTo)}`;

// A template set before its program was created changes nothing (there is no row yet); a null
// template takes the kind out; each program's row records the last event applied to it.
const programsSelect = (upTo: GlobalPosition) => /* sql */ `
WITH events AS MATERIALIZED (
  SELECT e.event_type AS type, e.data, ${MAJOR} AS major, ${MINOR} AS minor
    FROM ${FEW_EVENTS} e
   WHERE e.event_type IN ${inList(PROGRAM_TYPES)} AND ${upToCondition(upTo)}
),
created AS (
  SELECT DISTINCT ON (key) key, name, time_zone, major, minor
    FROM (SELECT CASE WHEN type = 'ProgramCreated' THEN data->>'programId' ELSE data->>'initiativeId' END AS key,
                 data->>'name' AS name, data->>'timeZone' AS time_zone, major, minor
            FROM events WHERE type IN ('ProgramCreated', 'InitiativeCreated')) c
   ORDER BY key, major, minor
),
applied AS (
  SELECT s.type, s.data->>'programId' AS key, s.data->>'kind' AS kind, s.data->'template' AS template, s.data->>'to' AS time_zone,
         s.major, s.minor
    FROM events s
    JOIN created c ON c.key = s.data->>'programId' AND (s.major, s.minor) > (c.major, c.minor)
   WHERE s.type IN ('NotificationTemplateSet', 'ProgramTimeZoneChanged')
),
latest AS (
  SELECT DISTINCT ON (key, kind) key, kind, template FROM applied WHERE type = 'NotificationTemplateSet' ORDER BY key, kind, major DESC, minor DESC
),
zone AS (
  SELECT DISTINCT ON (key) key, time_zone FROM applied WHERE type = 'ProgramTimeZoneChanged' ORDER BY key, major DESC, minor DESC
)
SELECT c.key, c.name, COALESCE((SELECT z.time_zone FROM zone z WHERE z.key = c.key), c.time_zone),
       COALESCE((SELECT jsonb_object_agg(l.kind, l.template) FROM latest l WHERE l.key = c.key AND l.template <> 'null'::jsonb), '{}'::jsonb),
       COALESCE(a.major, c.major)::numeric, COALESCE(a.minor, c.minor)::numeric
  FROM created c
  LEFT JOIN LATERAL (SELECT a.major, a.minor FROM applied a WHERE a.key = c.key ORDER BY a.major DESC, a.minor DESC LIMIT 1) a ON true`;

export const notificationsInDatabase = (upTo: GlobalPosition): InDatabaseReplay => ({
  loads: [
    { table: 'notification_contacts', columns: ['user_id', 'email', 'name'], select: contactsSelect(upTo), weight: 5, readsFewEvents: true },
    {
      table: 'notification_programs',
      columns: ['program_id', 'name', 'time_zone', 'templates', 'last_position_major', 'last_position_minor'],
      select: programsSelect(upTo),
      readsFewEvents: true,
    },
  ],
  fewTypes: [...PROGRAM_TYPES, ...CONTACT_CHANGE_TYPES],
});
