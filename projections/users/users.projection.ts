import { assertNever } from '../../src/domain/shared/decider';
import { ERASED, USER_EVENT_TYPES, type AttributeValue, type UserEvent } from '../../src/domain';
import type { RecordedEvent } from '../../src/eventstore/eventStore';
import { projection } from '../../src/projectionEngine/projection';
import { POSITION_COLUMNS, RowSet, markApplied, notYetAppliedTo, tableSpec, writeAll, type BatchWrite, type PositionedRow } from '../../src/projectionEngine/rows';
import { LAST_POSITION_COLUMNS, asDomainEvent } from '../shared/projectionSupport';
import { usersInDatabase } from './users.replay';

/**
 * rm_users: one row per user with the status every change and revert left. rm_personas: one row
 * per persona with its status, match status, match, site, why it was created, whether its mentee
 * was invited to submit preferences and whether its match ran its duration. rm_mentor_capacities:
 * the capacity set for a mentor in a program (the program's default applies where there is no
 * row). All come from the user stream only. E-mail, name, company and manager are the registration's
 * until a UserEmailChanged or UserProfileUpdated changes them.
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

/** A row of rm_users; the queries read it less its bookkeeping columns. */
export interface UserRow extends PositionedRow {
  user_id: string;
  email: string;
  normalized_email: string;
  name: string;
  program_id: string;
  role: string;
  company: string | null;
  manager_name: string | null;
  manager_email: string | null;
  user_status: string;
  application_completed: boolean;
  registered_at: string;
  updated_at: string;
  profile: Record<string, AttributeValue>;
}

/** A row of rm_personas; the queries read it less its bookkeeping columns. */
export interface PersonaRow extends PositionedRow {
  persona_id: string;
  user_id: string;
  number: number;
  program_id: string;
  role: string;
  persona_status: string;
  match_status: string;
  match_id: string | null;
  partner_site_id: string | null;
  mentor_site_list_id: string | null;
  origin_kind: string | null;
  invited_at: string | null;
  match_completed: boolean;
  created_at: string;
  updated_at: string;
}

interface CapacityRow extends PositionedRow {
  user_id: string;
  program_id: string;
  capacity: number;
  updated_at: string;
}

const text = <Row>(...names: (keyof Row & string)[]) => names.map((name) => ({ name, type: 'text' }));

const USERS = tableSpec<UserRow>({
  table: 'rm_users',
  key: ['user_id'],
  columns: [
    ...text<UserRow>('user_id', 'email', 'normalized_email', 'name', 'program_id', 'role', 'company', 'manager_name', 'manager_email', 'user_status'),
    { name: 'application_completed', type: 'boolean' },
    { name: 'registered_at', type: 'timestamptz' },
    { name: 'updated_at', type: 'timestamptz' },
    { name: 'profile', type: 'jsonb' },
    ...POSITION_COLUMNS,
  ],
});

const PERSONAS = tableSpec<PersonaRow>({
  table: 'rm_personas',
  key: ['persona_id'],
  columns: [
    ...text<PersonaRow>('persona_id', 'user_id'),
    { name: 'number', type: 'integer' },
    ...text<PersonaRow>('program_id', 'role', 'persona_status', 'match_status', 'match_id', 'partner_site_id', 'mentor_site_list_id', 'origin_kind'),
    { name: 'invited_at', type: 'timestamptz' },
    { name: 'match_completed', type: 'boolean' },
    { name: 'created_at', type: 'timestamptz' },
    { name: 'updated_at', type: 'timestamptz' },
    ...POSITION_COLUMNS,
  ],
});

const CAPACITIES = tableSpec<CapacityRow>({
  table: 'rm_mentor_capacities',
  key: ['user_id', 'program_id'],
  columns: [...text<CapacityRow>('user_id', 'program_id'), { name: 'capacity', type: 'integer' }, { name: 'updated_at', type: 'timestamptz' }, ...POSITION_COLUMNS],
});

const capacityKey = (row: { user_id: string; program_id: string }) => `${row.user_id}\u0000${row.program_id}`;

/** Applies one event to the rows it touches; the creation events add a row unless it is there. */
const evolve = (
  users: RowSet<UserRow>,
  personas: RowSet<PersonaRow>,
  capacities: RowSet<CapacityRow>,
  recorded: RecordedEvent<UserEvent>,
): void => {
  const event = asDomainEvent(recorded);
  const at = recorded.metadata.occurredAt;
  const major = recorded.position.major.toString();
  const minor = recorded.position.minor.toString();
  // As `UPDATE ... WHERE <not yet applied>`: nothing happens to a missing row or to one that saw the event.
  const change = <Row extends PositionedRow & { updated_at: string }>(rows: RowSet<Row>, key: string, apply: (row: Row) => void) => {
    const row = rows.get(key);
    if (!row || !notYetAppliedTo(row, recorded)) return;
    apply(row);
    markApplied(row, recorded);
    row.updated_at = at;
    rows.touch(key);
  };
  const changeUser = (apply: (row: UserRow) => void) => change(users, event.data.userId, apply);
  switch (event.type) {
    case 'UserRegistered': {
      const { userId, email, normalizedEmail, name, programId, role, company, manager, userStatus } = event.data;
      users.insert({
        user_id: userId,
        email,
        normalized_email: normalizedEmail,
        name,
        program_id: programId,
        role,
        company: company ?? null,
        manager_name: manager?.name ?? null,
        manager_email: manager?.email ?? null,
        user_status: userStatus,
        application_completed: false,
        registered_at: at,
        updated_at: at,
        profile: {},
        last_position_major: major,
        last_position_minor: minor,
      });
      return;
    }
    case 'PersonaCreated': {
      const { userId, personaId, programId, role, matchStatus, origin } = event.data;
      personas.insert({
        persona_id: personaId,
        user_id: userId,
        number: personaNumber(personaId),
        program_id: programId,
        role,
        persona_status: 'ACTIVE',
        match_status: matchStatus,
        match_id: null,
        partner_site_id: null,
        mentor_site_list_id: null,
        origin_kind: origin.kind,
        invited_at: null,
        match_completed: false,
        created_at: at,
        updated_at: at,
        last_position_major: major,
        last_position_minor: minor,
      });
      return;
    }
    case 'UserEmailChanged':
      changeUser((row) => {
        row.email = event.data.email;
        row.normalized_email = event.data.normalizedEmail;
      });
      return;
    case 'UserProfileUpdated': {
      const { name, company, managerName, managerEmail } = event.data;
      changeUser((row) => {
        if (name !== undefined) row.name = name;
        if (company !== undefined) row.company = company;
        if (managerName !== undefined) row.manager_name = managerName;
        if (managerEmail !== undefined) row.manager_email = managerEmail;
      });
      return;
    }
    case 'ApplicationCompleted':
      changeUser((row) => (row.application_completed = true));
      return;
    case 'UserStatusChanged':
    case 'UserStatusChangeReverted':
      changeUser((row) => (row.user_status = event.data.to));
      return;
    case 'PersonaMatchStatusChanged': {
      const { personaId, to, cause } = event.data;
      change(personas, personaId, (row) => {
        row.match_status = to;
        // As the decider folds it: a persona's match is set when it is matched and never cleared.
        if (cause.kind === 'MATCH_ACTIVATED') row.match_id = cause.matchId;
        // A reopened match is live again, whether or not it had run its duration before it closed.
        if (cause.kind === 'MATCH_REOPENED') row.match_completed = false;
      });
      return;
    }
    case 'PersonaInactivated':
      change(personas, event.data.personaId, (row) => (row.persona_status = 'INACTIVE'));
      return;
    case 'PersonaAssignedToSite': {
      const { personaId, partnerSiteId, mentorSiteListId } = event.data;
      change(personas, personaId, (row) => {
        row.partner_site_id = partnerSiteId;
        row.mentor_site_list_id = mentorSiteListId;
      });
      return;
    }
    case 'MenteeInvitedToMatch':
      change(personas, event.data.personaId, (row) => (row.invited_at ??= at));
      return;
    case 'PersonaMatchCompleted':
      change(personas, event.data.personaId, (row) => (row.match_completed = true));
      return;
    case 'ProfileAttributesSet':
      changeUser((row) => (row.profile = event.data.attributes));
      return;
    case 'PersonalDataErased':
      // As the replay reads the user's events after erasure: each personal field in its erased form.
      changeUser((row) => {
        row.email = ERASED;
        row.normalized_email = ERASED;
        row.name = ERASED;
        row.company = null;
        row.manager_name = null;
        row.manager_email = null;
        row.profile = {};
      });
      return;
    case 'MentorCapacitySet': {
      const { userId, programId, capacity } = event.data;
      const key = capacityKey({ user_id: userId, program_id: programId });
      if (!capacities.get(key)) {
        capacities.insert({ user_id: userId, program_id: programId, capacity, updated_at: at, last_position_major: major, last_position_minor: minor });
        return;
      }
      change(capacities, key, (row) => (row.capacity = capacity));
      return;
    }
    default:
      assertNever(event);
  }
};

const personaIdOf = (event: UserEvent): string | null => ('personaId' in event.data ? event.data.personaId : null);

interface UserRows {
  readonly users: RowSet<UserRow>;
  readonly personas: RowSet<PersonaRow>;
  readonly capacities: RowSet<CapacityRow>;
}

const evolveAll = (rows: UserRows, events: readonly RecordedEvent<UserEvent>[]): void => {
  for (const event of events) evolve(rows.users, rows.personas, rows.capacities, event);
};

const writesOf = (rows: UserRows): BatchWrite => writeAll(rows.users.takeWrites(), rows.personas.takeWrites(), rows.capacities.takeWrites());

/** Migration 0002 of the users read model (after its baseline, USERS_SCHEMA, which shipped and is never edited). */
const USERS_PAGING_AND_SEARCH = /* sql */ `
-- ---- Paging, filtering and searching rm_users at any size (issue 19, item 3) --------------------
-- The \`users\` list is ordered by
-- (name, user_id) and paged by that key (projections/lifecycleQueries.ts, \`usersPage\`):
-- * A status or program filter reads one ordered index range per status and merges them (a LATERAL
--   per status), so a page costs ~20 index entries a status whatever the table holds or how the
--   filter correlates with names. (program_id, user_status, ...) also serves what the former
--   rm_users_by_program_status served (its two leading columns).
-- * The search (\`ILIKE '%fragment%'\` on name or e-mail) is answered from trigram indexes (pg_trgm,
--   in PostgreSQL's contrib; loaded into the embedded store by src/sql/pglite.ts): the rows that can
--   match, not the whole table. They index the columns themselves: no copy of the personal data
--   to erase (an erasure overwrites the columns, and the indexes follow). The extension goes to
--   \`public\` when there is one (a schema per test or replay can be dropped without taking it, and
--   the indexes of every other schema, along), is looked up where it already is, and its absence
--   (a server without contrib, no right to create it) leaves the search working, unindexed.
CREATE INDEX IF NOT EXISTS rm_users_by_status_name ON rm_users (user_status, name, user_id);
CREATE INDEX IF NOT EXISTS rm_users_by_program_status_name ON rm_users (program_id, user_status, name, user_id);
DROP INDEX IF EXISTS rm_users_by_program_status;
DO $$
DECLARE
  trgm_schema text;
BEGIN
  SELECT n.nspname INTO trgm_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
  IF trgm_schema IS NULL THEN
    BEGIN
      IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
      ELSE
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
      END IF;
    EXCEPTION
      -- Another session created it at the same moment: use theirs.
      WHEN unique_violation OR duplicate_object THEN NULL;
      WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
        RAISE NOTICE 'pg_trgm is not available (%): the users search works without its index', SQLERRM;
    END;
    SELECT n.nspname INTO trgm_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
  END IF;
  IF trgm_schema IS NOT NULL THEN
    EXECUTE format('CREATE INDEX IF NOT EXISTS rm_users_name_trigrams ON rm_users USING gin (name %I.gin_trgm_ops)', trgm_schema);
    EXECUTE format('CREATE INDEX IF NOT EXISTS rm_users_email_trigrams ON rm_users USING gin (email %I.gin_trgm_ops)', trgm_schema);
  END IF;
END $$;
-- ---- end of the rm_users paging block --------------------------------------------------------
`;

export const usersProjection = projection<UserEvent>({
  name: 'users',
  handles: USER_EVENT_TYPES,
  schema: USERS_SCHEMA,
  migrations: [{ name: '0002_users_paging_and_search', sql: USERS_PAGING_AND_SEARCH }],
  tables: ['rm_users', 'rm_personas', 'rm_mentor_capacities'],
  applyBatch: async (tx, events) => {
    const domain = events.map(asDomainEvent);
    const rows: UserRows = {
      users: await RowSet.load(tx, USERS, (row) => row.user_id, domain.map((event) => [event.data.userId])),
      personas: await RowSet.load(
        tx,
        PERSONAS,
        (row) => row.persona_id,
        domain.flatMap((event) => {
          const personaId = personaIdOf(event);
          return personaId === null ? [] : [[personaId]];
        }),
      ),
      capacities: await RowSet.load(
        tx,
        CAPACITIES,
        capacityKey,
        domain.flatMap((event) => (event.type === 'MentorCapacitySet' ? [[event.data.userId, event.data.programId]] : [])),
      ),
    };
    evolveAll(rows, events);
    await writesOf(rows)(tx);
  },
  replayInDatabase: usersInDatabase,
  replayApplier: () => {
    const rows: UserRows = {
      users: RowSet.empty(USERS, (row) => row.user_id),
      personas: RowSet.empty(PERSONAS, (row) => row.persona_id),
      capacities: RowSet.empty(CAPACITIES, capacityKey),
    };
    return { apply: (events) => evolveAll(rows, events), takeWrites: () => writesOf(rows), writesOnceAtEnd: true };
  },
});
