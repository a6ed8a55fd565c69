import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { runEventsCli } from '../../src/cli/events';
import { serverProjections } from '../../projections';
import { migrateAuditIndexes } from '../../src/audit/eventLog';
import { Pseudonyms } from '../../src/audit/pseudonyms';
import { ensureReadAuditSchema } from '../../src/audit/readAudit';
import { TokenRevocations } from '../../src/auth/revocations';
import { EVENT_STORE_MIGRATIONS, SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { loadEmailReservationKey } from '../../src/identity/emailStreams';
import { createLogger } from '../../src/log';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import type { Projection } from '../../src/projectionEngine/projection';
import { serverMigrationSets } from '../../src/schemaMigrations';
import { MigrationRefusedError, migrate, migrationSet, migrationStatus } from '../../src/sql/migrations';
import { openPostgres } from '../../src/sql/postgres';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { comparePositions, type GlobalPosition } from '../../src/eventstore/eventStore';
import { announcePostgresSkip, postgresUrl, sqlBackends, type TestDatabase } from '../support/databases';
import { userIdForEmail } from '../../src/domain';
import { ADMIN, Scenario, onProgram, self } from '../readmodels/lifecycleScenario';
import { registerWithLegacyId } from '../support/identity';
import { startTestApp } from '../support/testApp';

const P1 = 'prog-migrations';
const OLD = userIdForEmail('old.user@example.org');

const logger = createLogger({ level: 'silent' });
const ALL_SETS = serverMigrationSets({ logInDatabase: true, projections: serverProjections });

/** Everything the server migrates at start-up against its SQL database, component by component, as `createApp` does. */
const startComponents = async (db: SqlDatabase): Promise<SqlEventStore> => {
  const store = await SqlEventStore.create(db);
  await Pseudonyms.load(db);
  await migrateAuditIndexes(db);
  await ensureReadAuditSchema(db);
  const runner = await ProjectionRunner.create(store, db, serverProjections);
  await loadEmailReservationKey(db);
  await TokenRevocations.create(db, { now: () => new Date(), maxLifetimeSeconds: 3600, clockSkewSeconds: 60, pollMs: 60_000, logger });
  await runner.catchUp();
  return store;
};

/**
 * Until the log's readers see `position`: the SQL store shows an event once no older transaction is
 * open anywhere on the server, and other databases' long transactions (a benchmark's load) hold it back.
 */
const untilVisible = async (store: SqlEventStore, position: GlobalPosition): Promise<void> => {
  for (let i = 0; i < 600 && comparePositions(await store.readHead(), position) < 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
};

const tableExists = async (db: SqlDatabase, name: string): Promise<boolean> =>
  (await db.query<{ found: string | null }>(`SELECT to_regclass($1)::text AS found`, [name])).rows[0]!.found !== null;

const columnsOf = async (db: SqlDatabase, table: string): Promise<string[]> =>
  (
    await db.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    )
  ).rows.map((row) => row.column_name);

const refusal = async (work: Promise<unknown>): Promise<MigrationRefusedError> => {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MigrationRefusedError);
  return error as MigrationRefusedError;
};

announcePostgresSkip('schema migrations');

test('migration lists must be numbered in order', () => {
  expect(() => migrationSet('x', [{ name: 'baseline', sql: '' }])).toThrow(/four digits/);
  expect(() =>
    migrationSet('x', [
      { name: '0002_b', sql: '' },
      { name: '0001_a', sql: '' },
    ]),
  ).toThrow(/must come after/);
});

describe.each(sqlBackends())('schema migrations on $name', ({ open }) => {
  let database: TestDatabase;
  let db: SqlDatabase;
  beforeEach(async () => {
    database = await open();
    db = database.db;
  });
  afterEach(async () => {
    await database.close();
  });

  it('applies each migration once, in order, and records it with its checksum', async () => {
    const set = migrationSet('test-widgets', [
      { name: '0001_baseline', sql: `CREATE TABLE widgets (id integer PRIMARY KEY)` },
      { name: '0002_add_label', sql: `ALTER TABLE widgets ADD COLUMN label text NOT NULL DEFAULT 'none'` },
    ]);
    expect(await migrate(db, set)).toEqual(['0001_baseline', '0002_add_label']);
    // Not IF NOT EXISTS: run twice, these scripts would fail. They are not run again.
    expect(await migrate(db, set)).toEqual([]);
    expect(await columnsOf(db, 'widgets')).toEqual(['id', 'label']);
    const { rows } = await db.query<{ name: string; checksum: string; applied_at: unknown }>(
      `SELECT name, checksum, applied_at FROM schema_migrations WHERE component = 'test-widgets' ORDER BY name`,
    );
    expect(rows.map((row) => row.name)).toEqual(['0001_baseline', '0002_add_label']);
    for (const row of rows) expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(rows.every((row) => row.applied_at !== null)).toBe(true);

    // The code grows by one migration: only that one runs.
    const grown = migrationSet('test-widgets', [...set.migrations, { name: '0003_index_label', sql: `CREATE INDEX widgets_by_label ON widgets (label)` }]);
    expect(await migrate(db, grown)).toEqual(['0003_index_label']);
    expect((await migrationStatus(db, [grown])).map((row) => `${row.name}:${row.state}`)).toEqual([
      '0001_baseline:applied',
      '0002_add_label:applied',
      '0003_index_label:applied',
    ]);
  });

  it('applies none of the pending migrations and records none when one fails', async () => {
    const set = migrationSet('test-broken', [
      { name: '0001_baseline', sql: `CREATE TABLE gadgets (id integer PRIMARY KEY)` },
      { name: '0002_broken', sql: `ALTER TABLE no_such_table ADD COLUMN x integer` },
    ]);
    await expect(migrate(db, set)).rejects.toThrow(/no_such_table/);
    expect(await tableExists(db, 'gadgets')).toBe(false);
    expect((await migrationStatus(db, [set])).map((row) => row.state)).toEqual(['pending', 'pending']);
  });

  it('refuses a database newer than the code, naming the versions, and changes nothing', async () => {
    await startComponents(db);
    await db.query(`INSERT INTO schema_migrations (component, name, checksum) VALUES ('event-store', '9999_from_a_newer_release', 'x')`);
    const error = await refusal(SqlEventStore.create(db));
    expect(error.code).toBe('SCHEMA_NEWER_THAN_CODE');
    expect(error.message).toContain('event-store');
    expect(error.message).toContain('9999_from_a_newer_release');
    expect(error.message).toContain(`its last is ${EVENT_STORE_MIGRATIONS.migrations.at(-1)!.name}`);
    const status = await migrationStatus(db, ALL_SETS);
    expect(status.filter((row) => row.state !== 'applied')).toEqual([
      { component: 'event-store', name: '9999_from_a_newer_release', state: 'unknown', appliedAt: expect.any(String) },
    ]);
  });

  it('refuses a migration edited after it was applied, and one numbered before an applied one', async () => {
    const first = migrationSet('test-edits', [
      { name: '0001_baseline', sql: `CREATE TABLE sprockets (id integer PRIMARY KEY)` },
      { name: '0003_later', sql: `ALTER TABLE sprockets ADD COLUMN size integer` },
    ]);
    await migrate(db, first);
    const edited = migrationSet('test-edits', [{ name: '0001_baseline', sql: `CREATE TABLE sprockets (id bigint PRIMARY KEY)` }, first.migrations[1]!]);
    const changed = await refusal(migrate(db, edited));
    expect(changed.code).toBe('MIGRATION_CHANGED');
    expect(changed.message).toContain('test-edits/0001_baseline');
    const inserted = migrationSet('test-edits', [first.migrations[0]!, { name: '0002_in_between', sql: `SELECT 1` }, first.migrations[1]!]);
    const early = await refusal(migrate(db, inserted));
    expect(early.code).toBe('MIGRATION_OUT_OF_ORDER');
    expect(early.message).toContain('0002_in_between');
    expect((await migrationStatus(db, [inserted])).find((row) => row.name === '0002_in_between')?.state).toBe('pending');
  });

  it('migrates a fresh database and records every component, then starts again with nothing to do', async () => {
    await startComponents(db);
    const status = await migrationStatus(db, ALL_SETS);
    expect(status.length).toBe(ALL_SETS.reduce((n, set) => n + set.migrations.length, 0));
    expect(status.filter((row) => row.state !== 'applied')).toEqual([]);
    const before = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM schema_migrations`)).rows[0]!.n;
    await startComponents(db);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM schema_migrations`)).rows[0]!.n).toBe(before);
  });

  it('recognises a database made by the code before migrations were recorded, and keeps its data', async () => {
    // What the old code left: every start-up script applied (CREATE ... IF NOT EXISTS, run at every
    // start), events, keys and read models in place, and no record.
    const oldStore = await startComponents(db);
    const scenario = new Scenario(oldStore);
    await scenario.run(ADMIN, onProgram({ type: 'CreateProgram', data: { programId: P1, name: 'Before 2026', timeZone: 'Europe/Berlin' } }), 'Old');
    const registered = await scenario.run(self(OLD, 'MENTOR'), registerWithLegacyId({ email: 'old.user@example.org', name: 'Old User', programId: P1, role: 'MENTOR' }));
    await untilVisible(oldStore, registered.outcome.position);
    const key = await loadEmailReservationKey(db);
    const events = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM es_events`)).rows[0]!.n;
    await db.query(`DROP TABLE schema_migrations`);
    expect((await migrationStatus(db, ALL_SETS)).every((row) => row.state === 'pending')).toBe(true);

    await startComponents(db);
    expect((await migrationStatus(db, ALL_SETS)).filter((row) => row.state !== 'applied')).toEqual([]);
    expect((await loadEmailReservationKey(db)).equals(key)).toBe(true);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM es_events`)).rows[0]!.n).toBe(events);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM rm_users`)).rows[0]!.n).toBe(1);
    // The store still appends and chains after the upgrade.
    await scenario.run(ADMIN, onProgram({ type: 'TurnMatchingOn', data: { programId: P1 } }));
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM es_events`)).rows[0]!.n).toBe(events + 1);
  });

  it('lists and applies them from the command line (mentoring-events migrate)', async () => {
    const cli = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const stdout = new PassThrough().on('data', (chunk: Buffer) => out.push(chunk.toString()));
      const stderr = new PassThrough().on('data', (chunk: Buffer) => err.push(chunk.toString()));
      const code = await runEventsCli(argv, { stdout, stderr, database: async () => db, schemaDatabase: async () => ({ db, logInDatabase: true }) });
      return { code, lines: out.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { component: string; name: string; state: string }), stderr: err.join('') };
    };
    const total = ALL_SETS.reduce((n, set) => n + set.migrations.length, 0);
    const before = await cli('migrate', '--status');
    expect(before.code).toBe(1);
    expect(before.lines.length).toBe(total);
    expect(before.lines.every((row) => row.state === 'pending')).toBe(true);
    expect(await tableExists(db, 'es_events')).toBe(false);

    const applied = await cli('migrate');
    expect(applied.code).toBe(0);
    expect(applied.lines.every((row) => row.state === 'applied')).toBe(true);
    expect(applied.stderr).toContain(`All ${total} migrations applied.`);
    expect(await tableExists(db, 'rm_users')).toBe(true);
    expect((await cli('migrate', '--status')).code).toBe(0);

    await db.query(`INSERT INTO schema_migrations (component, name, checksum) VALUES ('projection:users', '0007_from_the_future', 'x')`);
    const refused = await cli('migrate');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('projection:users schema is newer than this code');
    const status = await cli('migrate', '--status');
    expect(status.code).toBe(1);
    expect(status.lines.filter((row) => row.state !== 'applied')).toEqual([
      { component: 'projection:users', name: '0007_from_the_future', state: 'unknown', appliedAt: expect.any(String) },
    ]);
  });

  it('takes turns when components of one process migrate at once', async () => {
    const sets = [0, 1, 2, 3].map((i) =>
      migrationSet('test-turns', [
        { name: '0001_baseline', sql: `CREATE TABLE turns (id integer PRIMARY KEY)` },
        { name: '0002_add_who', sql: `ALTER TABLE turns ADD COLUMN who integer DEFAULT ${i}` },
      ]),
    );
    const results = await Promise.allSettled(sets.map((set) => migrate(db, set)));
    // The lists differ in 0002's script: the first applies both, the others find them recorded and
    // refuse the edited one (or find nothing to do, for the one whose script matches).
    const applied = results.filter((r) => r.status === 'fulfilled' && r.value.length > 0);
    expect(applied.length).toBe(1);
    expect(await columnsOf(db, 'turns')).toEqual(['id', 'who']);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM schema_migrations WHERE component = 'test-turns'`)).rows[0]!.n).toBe(2);
  });

  it('rebuilds a read model with the tables its whole list makes', async () => {
    const store = await SqlEventStore.create(db);
    const counting: Projection = {
      name: 'migrated_counts',
      handles: ['ProgramCreated'],
      schema: `CREATE TABLE IF NOT EXISTS migrated_counts (program_id text PRIMARY KEY);`,
      migrations: [{ name: '0002_add_name', sql: `ALTER TABLE migrated_counts ADD COLUMN name text` }],
      tables: ['migrated_counts'],
      applyBatch: async (tx, events) => {
        for (const event of events) {
          const data = event.data as { programId: string; name: string };
          await tx.query(`INSERT INTO migrated_counts (program_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [data.programId, data.name]);
        }
      },
    };
    const runner = await ProjectionRunner.create(store, db, [counting]);
    const created = await new Scenario(store).run(ADMIN, onProgram({ type: 'CreateProgram', data: { programId: P1, name: 'Counted', timeZone: 'Europe/Berlin' } }));
    await untilVisible(store, created.outcome.position);
    await runner.catchUp();
    await runner.rebuild('migrated_counts');
    expect(await columnsOf(db, 'migrated_counts')).toEqual(['program_id', 'name']);
    expect((await db.query(`SELECT program_id, name FROM migrated_counts`)).rows).toEqual([{ program_id: P1, name: 'Counted' }]);
    // Recorded once; a restart finds nothing to do.
    await ProjectionRunner.create(store, db, [counting]);
    expect((await migrationStatus(db, [migrationSet('projection:migrated_counts', [{ name: '0001_baseline', sql: counting.schema }, ...counting.migrations!])])).map((r) => r.state)).toEqual([
      'applied',
      'applied',
    ]);
  });
});

describe('schema migrations with several PostgreSQL instances starting at once', () => {
  const url = postgresUrl();
  const maybe = url ? it : it.skip;
  let schema: string;
  let admin: SqlDatabase;
  const pools: SqlDatabase[] = [];
  beforeAll(async () => {
    if (!url) return;
    schema = `t_${randomBytes(6).toString('hex')}`;
    admin = openPostgres(url, { max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
  });
  afterAll(async () => {
    if (!url) return;
    for (const pool of pools) await pool.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.close();
  });

  maybe('migrates once: every instance starts, each migration is recorded once', async () => {
    for (let i = 0; i < 4; i++) pools.push(openPostgres(url!, { max: 4, options: `-c search_path=${schema}` }));
    const results = await Promise.allSettled(pools.map((pool) => startComponents(pool)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const { rows } = await admin.query<{ component: string; name: string; n: number }>(
      `SELECT component, name, count(*)::int AS n FROM ${schema}.schema_migrations GROUP BY component, name`,
    );
    expect(rows.length).toBe(ALL_SETS.reduce((n, set) => n + set.migrations.length, 0));
    expect(rows.every((row) => row.n === 1)).toBe(true);
    expect((await migrationStatus(pools[0]!, ALL_SETS)).filter((row) => row.state !== 'applied')).toEqual([]);
  });
});

describe.each(sqlBackends())('the server and its migrations on $name', ({ open }) => {
  it('is ready once every migration is recorded, builds the audit indexes after it listens, and says when the database is newer', async () => {
    const database = await open();
    const t = await startTestApp(database);
    try {
      const schemaCheck = async () => (await t.app.readiness()).checks.schema as { ok: boolean; detail: { migrations: number; notApplied?: unknown; notThisRelease?: unknown; buildingInBackground?: string[] } };
      // On PostgreSQL the audit indexes are built in the background after the server listens
      // (instantly on a test's short log); readiness does not wait for them, and they end up recorded.
      for (let i = 0; i < 100 && (await schemaCheck()).detail.buildingInBackground; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      const ready = await schemaCheck();
      expect(ready.ok).toBe(true);
      expect(ready.detail.buildingInBackground).toBeUndefined();
      expect(ready.detail.migrations).toBe(ALL_SETS.reduce((n, set) => n + set.migrations.length, 0));
      const { rows } = await t.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM schema_migrations WHERE component = 'event-log-indexes'`);
      expect(rows[0]!.n).toBe(1);

      // Another instance of a newer release applied a migration this one does not have (a rolling
      // upgrade): reported, and this instance stays in service.
      await t.app.db.query(`INSERT INTO schema_migrations (component, name, checksum) VALUES ('read-audit', '0002_from_a_newer_release', 'x')`);
      const newer = await schemaCheck();
      expect(newer.ok).toBe(true);
      expect(newer.detail.notThisRelease).toEqual([{ migration: 'read-audit/0002_from_a_newer_release', state: 'unknown' }]);
      // A migration of this release gone from the record (someone deleted the row): not ready.
      await t.app.db.query(`DELETE FROM schema_migrations WHERE component = 'token-revocations'`);
      const missing = await schemaCheck();
      expect(missing.ok).toBe(false);
      expect(missing.detail.notApplied).toEqual(['token-revocations/0001_baseline']);
    } finally {
      await t.app.stop();
    }
    // And an instance of this release starting now is refused, naming the versions.
    const refused = await startTestApp({ db: database.db, close: async () => undefined }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(MigrationRefusedError);
    expect((refused as Error).message).toMatch(/read-audit schema is newer than this code: it records migration 0002_from_a_newer_release/);
    await database.close();
  });
});
