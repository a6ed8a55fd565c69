import { createHash } from 'node:crypto';
import { sqlState, type SqlDatabase, type SqlExecutor, type SqlTransaction } from './sqlDatabase';

/**
 * Versioned schema migrations, recorded in `schema_migrations` and applied once, in order, by umzug
 * over our own SqlDatabase (so PostgreSQL and the embedded store run the same scripts).
 *
 * Each component that owns tables (the event store, each read model, the read audit, ...) keeps its
 * own list beside its code, as a `MigrationSet`, and migrates when it is created. One list per
 * component rather than one for the whole database because the components are composed differently
 * from one deployment to the next (the log in KurrentDB or in this database; the CLI and tests open
 * one component alone; a read model is rebuilt on its own from its own list), and a list that names
 * tables a deployment does not have could not be applied there.
 *
 * A migration that shipped is never edited: a change is a new migration at the end of its list (the
 * runner refuses a database whose recorded script differs from the code's). Every component's first
 * migration, `0001_baseline`, is its schema as the code created it before migrations were recorded
 * (`CREATE ... IF NOT EXISTS`, `CREATE OR REPLACE`), so it also completes a database made by that
 * code, which then carries on recorded.
 */
export interface Migration {
  /** Four digits, an underscore and what it does (`0002_users_by_email`): the list is in this order. */
  readonly name: string;
  /** The script: several statements, no parameters. */
  readonly sql: string;
}

export interface MigrationSet {
  /** Who owns the tables (`event-store`, `projection:users`): the record's key with the migration's name. */
  readonly component: string;
  readonly migrations: readonly Migration[];
}

/** A migration as the database and the code see it (`mentoring-events migrate --status`, readiness). */
export interface MigrationState {
  readonly component: string;
  readonly name: string;
  /**
   * applied: recorded with the code's script; pending: not recorded yet; unknown: recorded, but this
   * code does not have it (the database is newer); changed: recorded with another script.
   */
  readonly state: 'applied' | 'pending' | 'unknown' | 'changed';
  readonly appliedAt: string | null;
}

/** Refused to migrate: the database and the code disagree about what was applied. */
export class MigrationRefusedError extends Error {
  constructor(
    readonly code: 'SCHEMA_NEWER_THAN_CODE' | 'MIGRATION_CHANGED' | 'MIGRATION_OUT_OF_ORDER',
    message: string,
  ) {
    super(message);
    this.name = 'MigrationRefusedError';
  }
}

/** The advisory lock migrations take on PostgreSQL, so instances starting together take turns. */
const SCHEMA_LOCK = 727276;

const RECORD_TABLE = /* sql */ `
CREATE TABLE IF NOT EXISTS schema_migrations (
  component text NOT NULL,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (component, name)
)`;

const NAME = /^\d{4}_[a-z0-9_]+$/;

/** sha256 of the script, so an edit to a shipped migration is seen. */
export const checksumOf = (migration: Migration): string => createHash('sha256').update(migration.sql, 'utf8').digest('hex');

/** A component's list, checked: names numbered, unique and in order. */
export const migrationSet = (component: string, migrations: readonly Migration[]): MigrationSet => {
  migrations.forEach((migration, i) => {
    if (!NAME.test(migration.name)) throw new Error(`Migration ${component}/${migration.name}: a name is four digits, an underscore and lower-case words (0002_add_x)`);
    if (i > 0 && migration.name <= migrations[i - 1]!.name) throw new Error(`Migration ${component}/${migration.name} must come after ${migrations[i - 1]!.name} (names in order, none twice)`);
  });
  return { component, migrations };
};

interface Recorded {
  readonly name: string;
  readonly checksum: string;
  readonly applied_at: string | Date;
}

const recordedOf = async (db: SqlExecutor, component: string): Promise<Recorded[]> =>
  (await db.query<Recorded>(`SELECT name, checksum, applied_at FROM schema_migrations WHERE component = $1 ORDER BY name`, [component])).rows;

/** Refuses when the record and the code disagree; otherwise what is still to apply. */
const pendingAfterChecks = (set: MigrationSet, recorded: readonly Recorded[]): Migration[] => {
  const known = new Map(set.migrations.map((migration) => [migration.name, migration]));
  const unknown = recorded.filter((row) => !known.has(row.name));
  if (unknown.length > 0) {
    const last = set.migrations.at(-1)?.name ?? 'none';
    throw new MigrationRefusedError(
      'SCHEMA_NEWER_THAN_CODE',
      `The database's ${set.component} schema is newer than this code: it records migration ${unknown.map((row) => row.name).join(', ')}, ` +
        `which this code does not have (its last is ${last}). Run the version of the service that applied it, or a newer one.`,
    );
  }
  for (const row of recorded) {
    const expected = checksumOf(known.get(row.name)!);
    if (row.checksum !== expected) {
      throw new MigrationRefusedError(
        'MIGRATION_CHANGED',
        `Migration ${set.component}/${row.name} was applied with a different script than this code's (checksum ${row.checksum.slice(0, 12)} in the database, ` +
          `${expected.slice(0, 12)} in the code). A migration that shipped must not be edited: put the change in a new migration after it.`,
      );
    }
  }
  const done = new Set(recorded.map((row) => row.name));
  const pending = set.migrations.filter((migration) => !done.has(migration.name));
  const lastApplied = recorded.at(-1)?.name;
  const early = lastApplied === undefined ? [] : pending.filter((migration) => migration.name < lastApplied);
  if (early.length > 0) {
    throw new MigrationRefusedError(
      'MIGRATION_OUT_OF_ORDER',
      `Migration ${set.component}/${early.map((m) => m.name).join(', ')} comes before ${lastApplied}, which this database already applied: ` +
        `number it after the last one that shipped.`,
    );
  }
  return pending;
};

/**
 * The whole record of schema_migrations as one read found it, per database, while a composition
 * root starts its components (see `readMigrationRecords`). Each component's `migrate` then checks
 * its list against this instead of reading the record itself: on an up-to-date database a start
 * costs one statement for its dozen components instead of two each (BENCHMARKS.md, embedded-rest).
 * Used once per component and only to learn that nothing is pending: anything else takes the usual
 * locked path, which reads the record again.
 */
const knownRecords = new WeakMap<SqlDatabase, Map<string, Recorded[]>>();

/**
 * Reads every component's record in one statement for the `migrate` calls that follow (a start).
 * Nothing is read when the record table does not exist yet (a new database: every component has
 * work to do and takes the usual path). `forgetMigrationRecords` ends it.
 */
export const readMigrationRecords = async (db: SqlDatabase): Promise<void> => {
  let rows: (Recorded & { component: string })[];
  try {
    rows = (await db.query<Recorded & { component: string }>(`SELECT component, name, checksum, applied_at FROM schema_migrations ORDER BY component, name`)).rows;
  } catch (error) {
    if (sqlState(error) === '42P01') return;
    throw error;
  }
  const byComponent = new Map<string, Recorded[]>();
  for (const row of rows) {
    const list = byComponent.get(row.component) ?? [];
    list.push(row);
    byComponent.set(row.component, list);
  }
  knownRecords.set(db, byComponent);
};

/** Ends what `readMigrationRecords` read: later `migrate` calls read the record themselves. */
export const forgetMigrationRecords = (db: SqlDatabase): void => {
  knownRecords.delete(db);
};

/** Whether the record read at start shows every migration of the set applied (after the same refusals). */
const knownUpToDate = (db: SqlDatabase, set: MigrationSet): boolean => {
  const known = knownRecords.get(db);
  const recorded = known?.get(set.component);
  if (!known || !recorded) return false;
  known.delete(set.component);
  return pendingAfterChecks(set, recorded).length === 0;
};

/**
 * Applies the set's migrations this database has not recorded, in order, and records each; returns
 * their names. All of one component's pending migrations run in one transaction with their records
 * (PostgreSQL and the embedded store both have transactional DDL): a failure applies and records
 * none of them. On PostgreSQL the transaction first takes an advisory lock, so instances starting
 * together take turns and the later ones find the work recorded. An up-to-date database costs one
 * short transaction: the lock and one read of the record.
 */
export const migrate = async (db: SqlDatabase, set: MigrationSet): Promise<readonly string[]> => {
  if (knownUpToDate(db, set)) return [];
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (tx) => {
        if (db.kind === 'postgres') await tx.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`);
        await tx.query(RECORD_TABLE);
        const pending = pendingAfterChecks(set, await recordedOf(tx, set.component));
        if (pending.length === 0) return [];
        const byName = new Map(set.migrations.map((migration) => [migration.name, migration]));
        // Loaded only when there is something to apply: it takes a quarter of a second, which every
        // start-up and tool run on an up-to-date database is spared.
        const { Umzug } = await import('umzug');
        const umzug = new Umzug<SqlTransaction>({
          migrations: pending.map((migration) => ({ name: migration.name, up: async ({ context }) => context.exec(migration.sql) })),
          context: tx,
          storage: {
            // What this transaction read under the lock (umzug asks before and after applying).
            executed: async ({ context }) => (await recordedOf(context, set.component)).map((row) => row.name),
            logMigration: async ({ name, context }) => {
              await context.query(`INSERT INTO schema_migrations (component, name, checksum) VALUES ($1, $2, $3)`, [set.component, name, checksumOf(byName.get(name)!)]);
            },
            unlogMigration: async ({ name, context }) => {
              await context.query(`DELETE FROM schema_migrations WHERE component = $1 AND name = $2`, [set.component, name]);
            },
          },
          logger: undefined,
        });
        return (await umzug.up()).map((migration) => migration.name);
      });
    } catch (error) {
      // A migration's DDL can deadlock with another session's lock on the same table (an older
      // instance's start-up script, a concurrent index build); the transaction left nothing behind.
      if (sqlState(error) !== '40P01' || attempt === 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt + Math.floor(Math.random() * 200)));
    }
  }
};

/**
 * Records a migration that was applied outside `migrate` (an index built CONCURRENTLY, which
 * PostgreSQL cannot do in a transaction), after the same checks. Recording it twice is harmless.
 */
export const recordMigration = async (db: SqlDatabase, set: MigrationSet, name: string): Promise<void> => {
  const migration = set.migrations.find((m) => m.name === name);
  if (!migration) throw new Error(`No migration ${set.component}/${name}`);
  await db.transaction(async (tx) => {
    await tx.query(RECORD_TABLE);
    await tx.query(`INSERT INTO schema_migrations (component, name, checksum) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
      set.component,
      name,
      checksumOf(migration),
    ]);
  });
};

/** The set's migrations not yet recorded, after the refusals `migrate` would make (no lock, nothing written). */
export const pendingMigrations = async (db: SqlDatabase, set: MigrationSet): Promise<readonly Migration[]> => {
  const exists = await db.query<{ found: string | null }>(`SELECT to_regclass('schema_migrations')::text AS found`);
  return pendingAfterChecks(set, exists.rows[0]?.found ? await recordedOf(db, set.component) : []);
};

/**
 * Every migration of these sets and every one recorded, as the database and the code see them:
 * what `migrate --status` prints and readiness checks. A recorded migration of one of these components
 * that the code does not have is listed `unknown`; components none of the sets names are left out.
 */
export const migrationStatus = async (db: SqlExecutor, sets: readonly MigrationSet[]): Promise<MigrationState[]> => {
  const exists = await db.query<{ found: string | null }>(`SELECT to_regclass('schema_migrations')::text AS found`);
  const rows = exists.rows[0]?.found
    ? (await db.query<Recorded & { component: string }>(`SELECT component, name, checksum, applied_at FROM schema_migrations ORDER BY component, name`)).rows
    : [];
  const iso = (value: string | Date) => (value instanceof Date ? value : new Date(value)).toISOString();
  const recorded = new Map(rows.map((row) => [`${row.component}\u0000${row.name}`, row]));
  const states: MigrationState[] = [];
  const coded = new Set<string>();
  for (const set of sets) {
    for (const migration of set.migrations) {
      const key = `${set.component}\u0000${migration.name}`;
      coded.add(key);
      const row = recorded.get(key);
      states.push({
        component: set.component,
        name: migration.name,
        state: !row ? 'pending' : row.checksum === checksumOf(migration) ? 'applied' : 'changed',
        appliedAt: row ? iso(row.applied_at) : null,
      });
    }
  }
  const codedComponents = new Set(sets.map((set) => set.component));
  for (const row of rows) {
    const key = `${row.component}\u0000${row.name}`;
    // A component no set names (a read model this deployment does not run) is not this code's to judge.
    if (!coded.has(key) && codedComponents.has(row.component)) states.push({ component: row.component, name: row.name, state: 'unknown', appliedAt: iso(row.applied_at) });
  }
  return states;
};
