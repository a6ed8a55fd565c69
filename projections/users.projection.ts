import { assertNever } from '../src/domain/shared/decider';
import { USER_EVENT_TYPES, type UserEvent } from '../src/domain';
import { projection } from '../src/projections/projection';
import { LAST_POSITION_COLUMNS, asDomainEvent, jsonParam, notYetApplied, positionParams } from './shared';

/**
 * rm_users: one row per user with the status every change and revert left. rm_personas: one row
 * per persona with its status, match status, match, site, why it was created, whether its mentee
 * was invited to submit preferences and whether its match ran its duration. rm_mentor_capacities:
 * the capacity set for a mentor in a program (the program's default applies where there is no
 * row). All come from the user stream only.
 */
export const USERS_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS rm_users (
  user_id text PRIMARY KEY,
  email text NOT NULL,
  normalized_email text NOT NULL,
  name text NOT NULL,
  program_id text NOT NULL,
  role text NOT NULL,
  company text,
  manager_name text,
  manager_email text,
  user_status text NOT NULL,
  application_completed boolean NOT NULL,
  registered_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,${LAST_POSITION_COLUMNS}
);
CREATE INDEX IF NOT EXISTS rm_users_by_name ON rm_users (name, user_id);
CREATE INDEX IF NOT EXISTS rm_users_by_program_status ON rm_users (program_id, user_status);

CREATE TABLE IF NOT EXISTS rm_personas (
  persona_id text PRIMARY KEY,
  user_id text NOT NULL,
  number integer NOT NULL,
  program_id text NOT NULL,
  role text NOT NULL,
  persona_status text NOT NULL,
  match_status text NOT NULL,
  match_id text,
  partner_site_id text,
  mentor_site_list_id text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,${LAST_POSITION_COLUMNS},
  UNIQUE (user_id, number)
);
CREATE INDEX IF NOT EXISTS rm_personas_by_partner_site ON rm_personas (partner_site_id, user_id);
-- Added with the matching workflows; null/false on rows projected before (a rebuild fills origin_kind).
ALTER TABLE rm_users ADD COLUMN IF NOT EXISTS profile jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE rm_personas
  ADD COLUMN IF NOT EXISTS origin_kind text,
  ADD COLUMN IF NOT EXISTS invited_at timestamptz,
  ADD COLUMN IF NOT EXISTS match_completed boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS rm_personas_by_program_role ON rm_personas (program_id, role, match_status);

CREATE TABLE IF NOT EXISTS rm_mentor_capacities (
  user_id text NOT NULL,
  program_id text NOT NULL,
  capacity integer NOT NULL,
  updated_at timestamptz NOT NULL,${LAST_POSITION_COLUMNS},
  PRIMARY KEY (user_id, program_id)
);
`;


/** n in `${userId}:p${n}`; persona ids carry their number, so nothing has to be counted. */
export const personaNumber = (personaId: string): number => {
  const match = /:p([1-9]\d*)$/.exec(personaId);
  if (!match) throw new Error(`"${personaId}" is not a persona id (<userId>:p<n>).`);
  return Number(match[1]);
};

/** `$1` user id, `$2` occurredAt, `$3`/`$4` position; `set` may use `$5` on. */
const UPDATE_USER = (set: string) => /* sql */ `
  UPDATE rm_users
     SET ${set}, updated_at = $2::timestamptz, last_position_major = $3::numeric, last_position_minor = $4::numeric
   WHERE user_id = $1 AND ${notYetApplied('rm_users', 3, 4)}`;

/** `$1` persona id, `$2` occurredAt, `$3`/`$4` position; `set` may use `$5` on. */
const UPDATE_PERSONA = (set: string) => /* sql */ `
  UPDATE rm_personas
     SET ${set}, updated_at = $2::timestamptz, last_position_major = $3::numeric, last_position_minor = $4::numeric
   WHERE persona_id = $1 AND ${notYetApplied('rm_personas', 3, 4)}`;

export const usersProjection = projection<UserEvent>({
  name: 'users',
  handles: USER_EVENT_TYPES,
  schema: USERS_SCHEMA,
  tables: ['rm_users', 'rm_personas', 'rm_mentor_capacities'],
  apply: async (tx, recorded) => {
    const event = asDomainEvent(recorded);
    const at = recorded.metadata.occurredAt;
    const [major, minor] = positionParams(recorded);
    const updateUser = (set: string, ...extra: unknown[]) => tx.query(UPDATE_USER(set), [event.data.userId, at, major, minor, ...extra]);
    const updatePersona = (personaId: string, set: string, ...extra: unknown[]) =>
      tx.query(UPDATE_PERSONA(set), [personaId, at, major, minor, ...extra]);
    switch (event.type) {
      case 'UserRegistered': {
        const { userId, email, normalizedEmail, name, programId, role, company, manager, userStatus } = event.data;
        await tx.query(
          `INSERT INTO rm_users (user_id, email, normalized_email, name, program_id, role, company, manager_name, manager_email,
                                 user_status, application_completed, registered_at, updated_at, last_position_major, last_position_minor)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, false, $11::timestamptz, $11::timestamptz, $12::numeric, $13::numeric)
           ON CONFLICT (user_id) DO NOTHING`,
          [
            userId,
            email,
            normalizedEmail,
            name,
            programId,
            role,
            company,
            manager?.name ?? null,
            manager?.email ?? null,
            userStatus,
            at,
            major,
            minor,
          ],
        );
        return;
      }
      case 'PersonaCreated': {
        const { userId, personaId, programId, role, matchStatus, origin } = event.data;
        await tx.query(
          `INSERT INTO rm_personas (persona_id, user_id, number, program_id, role, persona_status, match_status, match_id,
                                    partner_site_id, mentor_site_list_id, origin_kind, created_at, updated_at,
                                    last_position_major, last_position_minor)
           VALUES ($1, $2, $3, $4, $5, 'ACTIVE', $6, NULL, NULL, NULL, $7, $8::timestamptz, $8::timestamptz, $9::numeric, $10::numeric)
           ON CONFLICT (persona_id) DO NOTHING`,
          [personaId, userId, personaNumber(personaId), programId, role, matchStatus, origin.kind, at, major, minor],
        );
        return;
      }
      case 'ApplicationCompleted':
        await updateUser('application_completed = true');
        return;
      case 'UserStatusChanged':
      case 'UserStatusChangeReverted':
        await updateUser('user_status = $5', event.data.to);
        return;
      case 'PersonaMatchStatusChanged': {
        const { personaId, to, cause } = event.data;
        // As the decider folds it: a persona's match is set when it is matched and never cleared.
        const matchedIn = cause.kind === 'MATCH_ACTIVATED' ? cause.matchId : null;
        // A reopened match is live again, whether or not it had run its duration before it closed.
        await updatePersona(
          personaId,
          'match_status = $5, match_id = COALESCE($6::text, match_id), match_completed = match_completed AND NOT $7::boolean',
          to,
          matchedIn,
          cause.kind === 'MATCH_REOPENED',
        );
        return;
      }
      case 'PersonaInactivated':
        await updatePersona(event.data.personaId, `persona_status = 'INACTIVE'`);
        return;
      case 'PersonaAssignedToSite': {
        const { personaId, partnerSiteId, mentorSiteListId } = event.data;
        await updatePersona(personaId, 'partner_site_id = $5, mentor_site_list_id = $6', partnerSiteId, mentorSiteListId);
        return;
      }
      case 'MenteeInvitedToMatch':
        await updatePersona(event.data.personaId, 'invited_at = COALESCE(invited_at, $2::timestamptz)');
        return;
      case 'PersonaMatchCompleted':
        await updatePersona(event.data.personaId, 'match_completed = true');
        return;
      case 'ProfileAttributesSet':
        await updateUser('profile = $5::jsonb', jsonParam(event.data.attributes));
        return;
      case 'MentorCapacitySet': {
        const { userId, programId, capacity } = event.data;
        await tx.query(
          `INSERT INTO rm_mentor_capacities AS c (user_id, program_id, capacity, updated_at, last_position_major, last_position_minor)
           VALUES ($1, $2, $3, $4::timestamptz, $5::numeric, $6::numeric)
           ON CONFLICT (user_id, program_id) DO UPDATE
             SET capacity = EXCLUDED.capacity, updated_at = EXCLUDED.updated_at,
                 last_position_major = EXCLUDED.last_position_major, last_position_minor = EXCLUDED.last_position_minor
           WHERE ${notYetApplied('c', 5, 6)}`,
          [userId, programId, capacity, at, major, minor],
        );
        return;
      }
      default:
        assertNever(event);
    }
  },
});
