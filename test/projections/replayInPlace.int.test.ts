import { randomUUID } from 'node:crypto';
import { registerWithLegacyId } from '../support/identity';
import { CommandPipeline } from '../../src/commands/pipeline';
import * as define from '../../src/application/lifecycleDefinitions';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { projectionMigrations } from '../../src/projectionEngine/projection';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import { serverProjections } from '../../projections';
import { eventLogIndexProjection } from '../../projections/eventLogIndex/eventLogIndex.projection';
import { announcePostgresSkip, openTestPostgres, postgresUrl, sqlBackends } from '../support/databases';
import { readModelRows } from '../support/readModelRows';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';

/**
 * A store and its runner over `db`, with a program and `count` people registered in it through the
 * commands, every event readable (a busy server's older transactions can hold the last ones back).
 */
const programWithPeople = async (
  db: SqlDatabase,
  programId: string,
  count: number,
  person: (n: number) => { email: string; name: string; role: 'MENTOR' | 'MENTEE' },
): Promise<{ store: SqlEventStore; runner: ProjectionRunner }> => {
  const store = await SqlEventStore.create(db);
  const runner = await ProjectionRunner.create(store, db, serverProjections);
  const pipeline = new CommandPipeline(store);
  const admin = { id: 'admin', role: 'admin' as const };
  let clock = Date.UTC(2026, 0, 5, 9);
  const context = () => ({ actor: admin, now: new Date((clock += 60_000)).toISOString(), correlationId: randomUUID() });
  await pipeline.execute(context(), define.programCommand({ type: 'CreateProgram', data: { programId, name: programId, timeZone: 'Europe/Paris' } }));
  for (let n = 0; n < count; n++) await pipeline.execute(context(), registerWithLegacyId({ ...person(n), programId }));
  await runner.catchUp();
  return { store, runner };
};

/**
 * A small log's replay rebuilds the live tables in place, in one transaction (replayInPlace): it
 * must touch no table but the ones a projection lists, end at the log's head, and let readers see
 * the old rows until it commits.
 */
describe.each(sqlBackends())('replay in place on $name', ({ open }) => {
  test("every table a projection's DDL makes is one it rebuilds or one it declares a side table", async () => {
    const database = await open();
    try {
      for (const projection of [...serverProjections, eventLogIndexProjection]) {
        const schema = `ddl_${projection.name}`;
        const ddl = projectionMigrations(projection).migrations.map((migration) => migration.sql);
        const live = (await database.db.query<{ schema: string }>(`SELECT current_schema() AS schema`)).rows[0]!.schema;
        await database.db.transaction(async (tx) => {
          await tx.exec(`CREATE SCHEMA ${schema}; SET LOCAL search_path TO ${schema}, ${live}; ${ddl.join('\n;\n')}`);
        });
        const { rows } = await database.db.query<{ table: string }>(
          `SELECT c.relname AS "table" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`,
          [schema],
        );
        // A table outside both lists would be written live by a replay in place (an outbox sending again).
        expect({ projection: projection.name, tables: rows.map((row) => row.table) }).toEqual({
          projection: projection.name,
          tables: [...projection.tables, ...(projection.sideTables ?? [])].sort(),
        });
        await database.db.exec(`DROP SCHEMA ${schema} CASCADE`);
      }
    } finally {
      await database.close();
    }
  });

  test('gives the rows a replay beside the live tables gives, and moves the checkpoints to the head', async () => {
    const database = await open();
    try {
      const { store, runner } = await programWithPeople(database.db, 'p-in-place', 12, (n) => ({ email: `p${n}@example.org`, name: `P ${n}`, role: n % 2 ? 'MENTOR' : 'MENTEE' }));
      const live = await readModelRows(database.db, serverProjections);
      const outbox = async () => (await database.db.query(`SELECT event_id, recipient_user_id, state FROM notification_outbox ORDER BY 1, 2`)).rows;
      const queued = await outbox();
      const steps: string[] = [];
      const result = await runner.replay([], undefined, undefined, { inPlace: true, onStep: (step) => steps.push(step) });
      const events = Number((await database.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events`)).rows[0]!.n);
      expect(result.applied).toBe(events);
      // The in-place path: no replay schema, no swap.
      expect(steps).not.toContain('swap');
      expect(await readModelRows(database.db, serverProjections)).toEqual(live);
      expect(await outbox()).toEqual(queued);
      const head = await store.readHead();
      const checkpoints = await database.db.query<{ projection: string; major: string; minor: string }>(
        `SELECT projection, position_major::text AS major, position_minor::text AS minor FROM projection_checkpoints ORDER BY 1`,
      );
      expect(checkpoints.rows).toEqual(serverProjections.map((p) => ({ projection: p.name, major: head.major.toString(), minor: head.minor.toString() })).sort((a, b) => a.projection.localeCompare(b.projection)));
      // Beside the live tables: the same rows.
      await runner.replay([], undefined, undefined, { inPlace: false });
      expect(await readModelRows(database.db, serverProjections)).toEqual(live);
    } finally {
      await database.close();
    }
  });
});

const url = postgresUrl();
(url ? describe : describe.skip)('replay in place on PostgreSQL, seen from another transaction', () => {
  test('a reader sees the old rows, not an emptied table, until the replay commits, then the new ones', async () => {
    const database = await openTestPostgres(url!);
    try {
      const { runner } = await programWithPeople(database.db, 'p-seen', 6, (n) => ({ email: `s${n}@example.org`, name: `S ${n}`, role: 'MENTEE' }));
      // A REPEATABLE READ reader whose snapshot is older than the replay: it keeps its rows throughout.
      const { rows: counted } = await database.db.transaction(async (reader) => {
        await reader.query(`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`);
        const before = Number((await reader.query<{ n: string }>(`SELECT count(*)::text AS n FROM rm_users`)).rows[0]!.n);
        // A READ COMMITTED reader polling while the replay runs never sees an empty table.
        let polling = true;
        const seen: number[] = [];
        const poll = (async () => {
          while (polling) seen.push(Number((await database.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM rm_users`)).rows[0]!.n));
        })();
        await runner.replay([], undefined, undefined, { inPlace: true });
        polling = false;
        await poll;
        const after = Number((await reader.query<{ n: string }>(`SELECT count(*)::text AS n FROM rm_users`)).rows[0]!.n);
        return { rows: { before, after, seen } };
      });
      expect(counted.before).toBe(6);
      expect(counted.after).toBe(6);
      expect(counted.seen.length).toBeGreaterThan(0);
      expect(Math.min(...counted.seen)).toBe(6);
    } finally {
      await database.close();
    }
  });
});

announcePostgresSkip('replay in place');
