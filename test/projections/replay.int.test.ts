import { randomUUID } from 'node:crypto';
import { registerWithLegacyId } from '../support/identity';
import { CommandPipeline } from '../../src/commands/pipeline';
import * as define from '../../src/application/lifecycleDefinitions';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import type { Projection } from '../../src/projectionEngine/projection';
import { replayProjections, type ReplayProgress } from '../../src/projectionEngine/replay';
import { lifecycleProjections } from '../../projections';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';

/**
 * The replay schemas (`replay_<random>`) in the database. On PostgreSQL they are database-wide, not
 * in the test's own schema, so a test compares them with what was there before it began: a run
 * killed in the middle of a replay elsewhere must not fail this one.
 */
const replaySchemas = async (db: SqlDatabase): Promise<string[]> =>
  (await db.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'replay\\_%' ORDER BY nspname`)).rows.map((row) => row.nspname);

/**
 * Replaying a projection while the server keeps writing and reading: the new read model is built
 * beside the old one, swapped in, and ends up exactly as a rebuild from zero would leave it.
 */
describe.each(sqlBackends())('replay beside the live read model on $name', ({ open }) => {
  // A log this small is replayed in place unless told otherwise: both ways are run.
  test.each([
    { way: 'beside the live tables', inPlace: false },
    { way: 'in place', inPlace: true },
  ])('a replay $way during live writes swaps in with nothing lost, and reads never see an empty table meanwhile', async ({ inPlace }) => {
    const database = await open();
    const schemasBefore = await replaySchemas(database.db);
    const store = await SqlEventStore.create(database.db);
    const runner = await ProjectionRunner.create(store, database.db, lifecycleProjections, { idleMs: 20 });
    const pipeline = new CommandPipeline(store, { onAppended: () => runner.notify() });
    const admin = { id: 'admin', role: 'admin' as const };
    let clock = Date.UTC(2026, 0, 5, 9);
    const context = () => ({ actor: admin, now: new Date((clock += 60_000)).toISOString(), correlationId: randomUUID() });
    const programId = 'program-replay';
    const register = (n: number) =>
      pipeline.execute(context(), registerWithLegacyId({ email: `person${n}@example.org`, name: `Person ${n}`, programId, role: n % 2 ? 'MENTOR' : 'MENTEE' }));
    try {
      runner.start();
      await pipeline.execute(context(), define.programCommand({ type: 'CreateProgram', data: { programId, name: 'Replay', timeZone: 'Europe/Paris' } }));
      for (let n = 0; n < 40; n++) await register(n);
      await runner.catchUp();
      const countUsers = async () => Number((await database.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM rm_users`)).rows[0]!.n);
      expect(await countUsers()).toBe(40);

      // Writers and readers keep going while the replay runs.
      let writing = true;
      let written = 40;
      const seen: number[] = [];
      const writer = (async () => {
        while (writing) {
          await register(written++);
          seen.push(await countUsers());
        }
      })();
      const progress: ReplayProgress[] = [];
      const result = await runner.replay(['users'], (p) => progress.push(p), undefined, { inPlace });
      // A few more after the swap, then stop.
      for (let i = 0; i < 5; i++) await register(written++);
      writing = false;
      await writer;
      // The running runner carries on from the swap: wait until it has everything.
      expect(await runner.waitFor(await store.readCommittedHead(), 30_000)).toBe(true);

      expect(result.applied).toBeGreaterThanOrEqual(41);
      expect(progress.at(-1)).toMatchObject({ projection: 'users', applied: result.applied });
      expect(progress.every((p) => p.eventsPerSecond > 0)).toBe(true);
      expect(Math.min(...seen)).toBeGreaterThanOrEqual(40);
      expect(await countUsers()).toBe(written);

      // The same as a rebuild from zero.
      const snapshot = async () =>
        (
          await database.db.query(
            `SELECT u.user_id, u.email, u.user_status, u.last_position_major::text AS major, u.last_position_minor::text AS minor,
                    p.persona_id, p.match_status
               FROM rm_users u JOIN rm_personas p ON p.user_id = u.user_id ORDER BY u.user_id, p.persona_id`,
          )
        ).rows;
      const replayed = await snapshot();
      await runner.rebuild('users');
      expect(await snapshot()).toEqual(replayed);
      // No replay schema is left behind.
      expect(await replaySchemas(database.db)).toEqual(schemasBefore);
    } finally {
      await runner.stop();
      await database.close();
    }
  });

  test('a replay whose DDL fails leaves no schema and the live tables as they were', async () => {
    const database = await open();
    const schemasBefore = await replaySchemas(database.db);
    const store = await SqlEventStore.create(database.db);
    const runner = await ProjectionRunner.create(store, database.db, lifecycleProjections, { idleMs: 20 });
    const pipeline = new CommandPipeline(store);
    const admin = { id: 'admin', role: 'admin' as const };
    let clock = Date.UTC(2026, 0, 5, 9);
    const context = () => ({ actor: admin, now: new Date((clock += 60_000)).toISOString(), correlationId: randomUUID() });
    const programId = 'program-broken-replay';
    try {
      await pipeline.execute(context(), define.programCommand({ type: 'CreateProgram', data: { programId, name: 'Broken', timeZone: 'Europe/Paris' } }));
      for (let n = 0; n < 10; n++) {
        await pipeline.execute(context(), registerWithLegacyId({ email: `broken${n}@example.org`, name: `Broken ${n}`, programId, role: n % 2 ? 'MENTOR' : 'MENTEE' }));
      }
      await runner.catchUp();
      const users = async () => (await database.db.query(`SELECT user_id, email FROM rm_users ORDER BY user_id`)).rows;
      const before = await users();
      expect(before).toHaveLength(10);
      // Its DDL fails after creating a table, in the replay's own schema.
      const broken: Projection = {
        name: 'broken',
        handles: ['ProgramCreated'],
        schema: 'CREATE TABLE rm_broken (x integer); SELECT 1 / 0',
        tables: ['rm_broken'],
        applyBatch: async () => undefined,
      };
      await expect(replayProjections({ db: database.db, store, projections: [...lifecycleProjections, broken], inPlace: false })).rejects.toThrow(/division by zero/);
      expect(await replaySchemas(database.db)).toEqual(schemasBefore);
      expect(await users()).toEqual(before);
    } finally {
      await database.close();
    }
  });
});

announcePostgresSkip('projection replay');
