import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import type { Projection } from '../../src/projectionEngine/projection';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import { lifecycleProjections } from '../../projections';
import { QUEUES_ONLY, notificationsProjection } from '../../projections/notifications/notifications.projection';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { readModelRows } from '../support/readModelRows';
import { seededRandom } from '../../bench/schemaFuzzer';
import { generateLifecycle } from './randomLifecycle';

/**
 * The read models with a replay in SQL (`replayInDatabase`: users, matches, user history,
 * notifications) say the same thing twice: once as `evolve`, once as SQL over es_events. This
 * property test runs random command sequences through the real deciders (randomLifecycle.ts),
 * applies the events as the server does (the runner, catching up at random points so batches split
 * differently), then replays in SQL, and in Node.js with an odd batch size, and compares every table
 * row by row. An event type handled on one side and forgotten on the other leaves a row that differs.
 * A last test fails when the sequences never produced an event type one of those read models
 * handles, so a new event type makes the generator learn the command that decides it.
 *
 * REPLAY_PROPERTY_SEED (default below), REPLAY_PROPERTY_RUNS and REPLAY_PROPERTY_STEPS widen or
 * reproduce a run; a failure names its seed.
 */
announcePostgresSkip('replay equivalence');

const numberFromEnv = (name: string, fallback: number): number => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value)) throw new Error(`${name} must be a whole number (got "${value}")`);
  return Number(value);
};

const BASE_SEED = numberFromEnv('REPLAY_PROPERTY_SEED', 1205);
const RUNS = numberFromEnv('REPLAY_PROPERTY_RUNS', 3);
const STEPS = numberFromEnv('REPLAY_PROPERTY_STEPS', 300);
const SEEDS = Array.from({ length: RUNS }, (_, i) => BASE_SEED + i);

const projections = [...lifecycleProjections, notificationsProjection];
const replayedInSql = projections.filter((projection) => projection.replayInDatabase !== undefined);

/**
 * The event types whose handling both sides must agree on: all a projection handles, less those the
 * notification read model only turns into e-mails (its outbox is never replayed).
 */
const typesToReach = (projection: Projection): string[] =>
  projection.handles.filter((type) => !(projection === notificationsProjection && QUEUES_ONLY.has(type)));

/** Rows of each table only one side has (as JSON), a few of each: what a failure shows. */
const differences = (expected: Record<string, unknown[]>, actual: Record<string, unknown[]>): string[] =>
  Object.keys(expected).flatMap((table) => {
    const left = (expected[table] ?? []).map((row) => JSON.stringify(row));
    const right = new Set((actual[table] ?? []).map((row) => JSON.stringify(row)));
    const leftSet = new Set(left);
    const onlyLive = left.filter((row) => !right.has(row));
    const onlyReplay = [...right].filter((row) => !leftSet.has(row));
    if (onlyLive.length === 0 && onlyReplay.length === 0 && left.length === right.size) return [];
    return [
      `${table}: ${left.length} rows live, ${right.size} replayed`,
      ...onlyLive.slice(0, 3).map((row) => `  live only:   ${row}`),
      ...onlyReplay.slice(0, 3).map((row) => `  replay only: ${row}`),
    ];
  });

describe.each(sqlBackends())('replays equal evolve over decided command sequences, on $name', ({ open }) => {
  const reached = new Map<string, number>();
  const refusals = new Map<string, number>();

  test.each(SEEDS)('seed %i', async (seed) => {
    const database = await open();
    try {
      const store = await SqlEventStore.create(database.db);
      const runner = await ProjectionRunner.create(store, database.db, projections);
      const random = seededRandom(seed ^ 0x5eed);
      const log = await generateLifecycle(store, { seed, steps: STEPS, afterAppend: () => (random() < 0.1 ? runner.catchUp() : Promise.resolve()) });
      await runner.catchUp();
      for (const [type, count] of log.types) reached.set(type, (reached.get(type) ?? 0) + count);
      for (const [refusal, count] of log.refusals) refusals.set(refusal, (refusals.get(refusal) ?? 0) + count);

      const live = await readModelRows(database.db, projections);
      expect(live.rm_users!.length).toBeGreaterThan(10);
      expect(live.rm_matches!.length).toBeGreaterThan(3);

      // In SQL both ways: in place (one transaction in the live tables, what a small log takes) and
      // beside the live tables with a swap (what a large one takes).
      await runner.replay([], undefined, undefined, { inDatabase: true, inPlace: true });
      const inPlace = await readModelRows(database.db, projections);
      await runner.replay([], undefined, undefined, { inDatabase: true, inPlace: false });
      const inSql = await readModelRows(database.db, projections);
      await runner.replay([], undefined, 1 + Math.floor(random() * 40), { inDatabase: false });
      const inNode = await readModelRows(database.db, projections);
      const problems = [
        ...differences(live, inPlace).map((line) => `replay in SQL, in place: ${line}`),
        ...differences(live, inSql).map((line) => `replay in SQL: ${line}`),
        ...differences(live, inNode).map((line) => `replay in Node.js: ${line}`),
      ];
      if (problems.length > 0) {
        throw new Error(
          `Seed ${seed} (${log.commands} commands, ${log.refused} refused): a replay differs from live projection; ` +
            `REPLAY_PROPERTY_SEED=${seed} REPLAY_PROPERTY_RUNS=1 runs it alone.\n${problems.join('\n')}`,
        );
      }
      expect(inPlace).toEqual(live);
      expect(inSql).toEqual(live);
      expect(inNode).toEqual(live);
    } finally {
      await database.close();
    }
  });

  test('the sequences reached every event type the replayed read models handle', () => {
    expect(reached.size).toBeGreaterThan(0);
    const missing = replayedInSql.flatMap((projection) => typesToReach(projection).filter((type) => !reached.has(type)).map((type) => `${projection.name}: ${type}`));
    if (missing.length > 0) {
      const common = [...refusals].sort((a, b) => b[1] - a[1]).slice(0, 15);
      throw new Error(
        `No sequence produced ${missing.join(', ')}: teach randomLifecycle.ts the command that decides it ` +
          `(or give it more weight). The commonest refusals:\n${common.map(([refusal, count]) => `  ${count} × ${refusal}`).join('\n')}`,
      );
    }
  });
});
