import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { countingDatabase, type CountingDatabase } from '../support/countingDatabase';
import { startTestApp, type TestApp } from '../support/testApp';

/*
 * X-Consistent-With parks a query until the read models reach a position. A position beyond the
 * log's head is refused at once; a real one that the projections do not reach is answered at its
 * deadline, every parked request together, and the parked requests never slow anybody else down.
 */

announcePostgresSkip('bounded waiting');

const USERS = `query { users(first: 5) { totalCount } }`;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe.each(sqlBackends())('waiting for the read models on $name', ({ open }) => {
  let t: TestApp;
  let db: CountingDatabase;
  let admin: string;

  beforeAll(async () => {
    const database = await open();
    db = countingDatabase(database.db);
    t = await startTestApp({ ...database, db });
    admin = await t.token('admin', 'alice.admin');
    const created = await t.gql(`mutation { createProgram(input: { name: "Waiting 2026", timeZone: "UTC" }) { errors { code } position } }`, {}, { token: admin });
    expect(created.data!.createProgram.errors).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  const timed = async <T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> => {
    const began = performance.now();
    const value = await work();
    return { ms: performance.now() - began, value };
  };

  test('a position beyond the log head is refused at once with VALIDATION_FAILED', async () => {
    await t.gql(USERS, {}, { token: admin });
    const { ms, value } = await timed(() => t.gql(USERS, {}, { token: admin, headers: { 'x-consistent-with': '99999999999.1' } }));
    expect(value.errors?.map((error) => error.extensions?.code)).toEqual(['VALIDATION_FAILED']);
    expect(value.errors![0]!.message).toContain('X-Consistent-With names position 99999999999.1, beyond the last committed event');
    // Not after the 5 s deadline (the bound is loose for a loaded machine; unloaded it takes milliseconds).
    expect(ms).toBeLessThan(2500);
  });

  test('30 parked requests end together at their deadline, ask the database what one shared poller does, and leave a victim request near its unloaded latency', async () => {
    const victim = async () => (await timed(() => t.gql(USERS, {}, { token: admin }))).ms;
    // Warm up, then the unloaded latency.
    for (let i = 0; i < 5; i += 1) await victim();
    const unloaded: number[] = [];
    for (let i = 0; i < 15; i += 1) unloaded.push(await victim());

    // Projections that cannot move: the runner is stopped, and a write moves the head past them.
    await t.app.runner.stop();
    const written = await t.gql(`mutation { createProgram(input: { name: "Parked 2026", timeZone: "UTC" }) { errors { code } position } }`, {}, { token: admin });
    const position = written.data!.createProgram.position as string;
    try {
      const began = performance.now();
      const parked = Array.from({ length: 30 }, () =>
        t.gql(USERS, {}, { token: admin, headers: { 'x-consistent-with': position } }).then((response) => ({ response, at: performance.now() - began })),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      // What 30 parked requests ask of the database in a second: one shared poller reads the
      // checkpoints about every 50 ms, whatever the number of requests (one poller each: ~600).
      db.reset();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const whileParked = db.sent.length;
      expect(whileParked).toBeLessThanOrEqual(40);
      const loaded: number[] = [];
      for (let i = 0; i < 15; i += 1) loaded.push(await victim());
      const answers = await Promise.all(parked);

      for (const { response } of answers) expect(response.errors?.map((error) => error.extensions?.code)).toEqual(['CONCURRENCY_CONFLICT']);
      const finished = answers.map(({ at }) => at);
      // The deadline is 5 s; all 30 are answered by it, not one after another.
      expect(Math.min(...finished)).toBeGreaterThanOrEqual(4900);
      expect(Math.max(...finished)).toBeLessThan(7000);
      // Unloaded again, now that nobody waits: on a shared machine the baseline drifts, so the loaded
      // median is compared with the slower of the two unloaded ones around it.
      const unloadedAfter: number[] = [];
      for (let i = 0; i < 15; i += 1) unloadedAfter.push(await victim());
      // Loose on purpose (the statement count above is the exact check): a fresh-clone CI beside other
      // work on this 2-core machine saw 10.8 ms against a 2x bound of 8.8 with nothing wrong.
      expect(median(loaded)).toBeLessThanOrEqual(3 * Math.max(median(unloaded), median(unloadedAfter)));
    } finally {
      t.app.runner.start();
    }
    // Once the projections move again, the same position is served.
    const served = await t.gql(USERS, {}, { token: admin, headers: { 'x-consistent-with': position } });
    expect(served.errors).toBeUndefined();
    expect(served.data!.users.totalCount).toEqual(expect.any(Number));
  }, 60_000);
});
