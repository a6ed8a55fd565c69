import { randomUUID } from 'node:crypto';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { START, appendToStream, comparePositions, formatPosition } from '../../src/eventstore/eventStore';
import { openPostgres } from '../../src/sql/postgres';
import { eventByEvent, projection } from '../../src/projectionEngine/projection';
import { ProjectionRunner, type ProjectionFailure } from '../../src/projectionEngine/runner';
import { announcePostgresSkip, openTestPostgres, postgresUrl, sqlBackends } from '../support/databases';
import { newEvent } from '../eventstore/eventStore.contract';
import { countingProjection, readCounts } from './countingProjection';

const tick = (n: number) => newEvent('Tick', { n });

describe.each(sqlBackends())('projection runner on $name', ({ open }) => {
  test('applies every event once, skips types it does not handle, and a rebuild gives the same state', async () => {
    const { db, close } = await open();
    try {
      const store = await SqlEventStore.create(db);
      for (let i = 0; i < 30; i++) await appendToStream(store, `s-${i % 4}`, 'any', [tick(i), newEvent('Other')]);
      const runner = await ProjectionRunner.create(store, db, [countingProjection()], { batchSize: 7 });
      await runner.catchUp();
      const first = await readCounts(db);
      expect(first).toEqual([
        { stream_id: 's-0', events: 8, total: String([0, 4, 8, 12, 16, 20, 24, 28].reduce((a, b) => a + b)) },
        { stream_id: 's-1', events: 8, total: String([1, 5, 9, 13, 17, 21, 25, 29].reduce((a, b) => a + b)) },
        { stream_id: 's-2', events: 7, total: String([2, 6, 10, 14, 18, 22, 26].reduce((a, b) => a + b)) },
        { stream_id: 's-3', events: 7, total: String([3, 7, 11, 15, 19, 23, 27].reduce((a, b) => a + b)) },
      ]);
      await runner.catchUp();
      expect(await readCounts(db)).toEqual(first);
      await runner.rebuild('stream_counts');
      expect(await readCounts(db)).toEqual(first);
    } finally {
      await close();
    }
  });

  test('a batch that fails midway leaves nothing behind; the restarted runner ends as a rebuild does', async () => {
    const { db, close } = await open();
    try {
      const store = await SqlEventStore.create(db);
      for (let i = 0; i < 40; i++) await appendToStream(store, `s-${i % 3}`, 'any', [tick(i)]);
      const crashing = await ProjectionRunner.create(store, db, [countingProjection({ failOn: (n) => n === 25 })], { batchSize: 10 });
      await expect(crashing.catchUp()).rejects.toThrow('injected failure at event 25');
      const partial = await readCounts(db);
      expect(partial.reduce((sum, row) => sum + row.events, 0)).toBe(20);
      const restarted = await ProjectionRunner.create(store, db, [countingProjection()], { batchSize: 10 });
      await restarted.catchUp();
      const resumed = await readCounts(db);
      await restarted.rebuild('stream_counts');
      expect(await readCounts(db)).toEqual(resumed);
      expect(resumed.reduce((sum, row) => sum + row.events, 0)).toBe(40);
    } finally {
      await close();
    }
  });

  test('one read model that keeps failing holds back neither the others nor their batches, and is reported', async () => {
    const { db, close } = await open();
    try {
      const store = await SqlEventStore.create(db);
      for (let i = 0; i < 40; i++) await appendToStream(store, `s-${i % 3}`, 'any', [tick(i)]);
      // Fails on every event from the 15th it sees on: its first batch (10 events) goes in, then none.
      const broken = { ...countingProjection({ failOn: (n) => n >= 15 }), name: 'broken_counts', schema: '', tables: [] };
      const errors: string[] = [];
      const runner = await ProjectionRunner.create(store, db, [countingProjection(), broken], {
        batchSize: 10,
        idleMs: 5,
        onError: (_error, projection) => errors.push(projection),
      });
      runner.start();
      const head = await store.readCommittedHead();
      // The healthy one reaches the head although the broken one shares its batches at first.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const status = await runner.status();
        if (status.find((p) => p.projection === 'stream_counts')!.position.minor === head.minor) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await runner.stop();
      const status = Object.fromEntries((await runner.status()).map((p) => [p.projection, p.position]));
      expect(status.stream_counts).toEqual(head);
      expect(status.broken_counts!.minor < head.minor).toBe(true);
      expect(errors.length).toBeGreaterThan(0);
      expect(new Set(errors)).toEqual(new Set(['broken_counts']));
      // Both count into the same table: 40 from the healthy one, 10 from the broken one's first batch.
      expect((await readCounts(db)).reduce((sum, row) => sum + row.events, 0)).toBe(50);
    } finally {
      await close();
    }
  });

  test('a projection that throws on one event stops just before it, says which, backs off, and recovers; the others go on', async () => {
    const { db, close } = await open();
    try {
      const store = await SqlEventStore.create(db);
      for (let i = 0; i < 30; i++) await appendToStream(store, `s-${i % 3}`, 'any', [tick(i)]);
      const poison = (await store.readAll({ maxCount: 100 })).find((event) => (event.data as { n: number }).n === 17)!;
      let poisoned = true;
      // A real read model (its own table) that throws on the event with n = 17 for as long as `poisoned`.
      const picky = projection({
        name: 'picky_counts',
        handles: ['Tick'],
        schema: `CREATE TABLE IF NOT EXISTS picky_counts (n integer PRIMARY KEY);`,
        tables: ['picky_counts'],
        applyBatch: eventByEvent(async (tx, event) => {
          const { n } = event.data as { n: number };
          if (poisoned && n === 17) throw new Error('picky_counts cannot take 17');
          await tx.query(`INSERT INTO picky_counts (n) VALUES ($1)`, [n]);
        }),
      });
      const clock = { now: Date.parse('2026-01-05T09:00:00.000Z') };
      const reported: (ProjectionFailure | undefined)[] = [];
      const recovered: string[] = [];
      const runner = await ProjectionRunner.create(store, db, [countingProjection(), picky], {
        batchSize: 10,
        idleMs: 5,
        retryBaseMs: 1000,
        retryMaxMs: 4000,
        now: () => clock.now,
        onError: (_error, name, failure) => reported.push(name === 'picky_counts' ? failure : undefined),
        onRecovered: (name) => recovered.push(name),
      });
      const head = await store.readCommittedHead();
      const until = async (done: () => Promise<boolean> | boolean) => {
        const deadline = Date.now() + 20_000;
        while (!(await done())) {
          if (Date.now() > deadline) throw new Error('timed out');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };
      const positionOf = async (name: string) => (await runner.status()).find((p) => p.projection === name)!.position;
      runner.start();
      try {
        await until(async () => comparePositions(await positionOf('stream_counts'), head) === 0 && reported.length > 0);
        // Everything before the poisoned event is applied, nothing after it; the failure names it.
        const failure = {
          projection: 'picky_counts',
          event: { position: formatPosition(poison.position), type: 'Tick', id: poison.id, streamId: poison.streamId },
          error: 'picky_counts cannot take 17',
          attempts: 1,
          since: '2026-01-05T09:00:00.000Z',
          retryAt: '2026-01-05T09:00:01.000Z',
        };
        expect(runner.failures()).toEqual([failure]);
        expect(reported).toEqual([failure]);
        expect(comparePositions(await positionOf('picky_counts'), poison.position)).toBeLessThan(0);
        const picked = (await db.query<{ n: number }>(`SELECT n FROM picky_counts ORDER BY n`)).rows.map((row) => row.n);
        expect(picked).toEqual(Array.from({ length: 17 }, (_, n) => n));

        // Not a hot loop: new events and wake-ups do not make it try again before its time.
        for (let i = 0; i < 20; i++) {
          runner.notify();
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        expect(reported).toHaveLength(1);
        // Each due try that fails doubles the wait, up to the bound.
        for (const [attempts, wait] of [[2, 2000], [3, 4000], [4, 4000]] as const) {
          clock.now += 4000;
          await until(() => reported.length === attempts);
          expect(runner.failures()[0]).toMatchObject({ attempts, since: failure.since, retryAt: new Date(clock.now + wait).toISOString() });
        }

        // Fixed (a new release, a constraint dropped): its next due try applies the rest, and it is no longer failing.
        poisoned = false;
        clock.now += 4000;
        await until(async () => comparePositions(await positionOf('picky_counts'), head) === 0);
        expect(runner.failures()).toEqual([]);
        expect(recovered).toEqual(['picky_counts']);
        expect((await db.query<{ c: number }>(`SELECT count(*)::int AS c FROM picky_counts`)).rows[0]!.c).toBe(30);
        expect((await readCounts(db)).reduce((sum, row) => sum + row.events, 0)).toBe(30);
      } finally {
        await runner.stop();
      }
    } finally {
      await close();
    }
  });

  test('waitFor resolves once the background runner has processed a just-written position', async () => {
    const { db, close } = await open();
    try {
      const store = await SqlEventStore.create(db);
      const runner = await ProjectionRunner.create(store, db, [countingProjection()], { idleMs: 10_000 });
      runner.start();
      const result = await appendToStream(store, `s-${randomUUID()}`, 'no_stream', [tick(5)]);
      expect(await runner.waitFor(result.lastPosition, 10_000)).toBe(true);
      expect(await readCounts(db)).toEqual([{ stream_id: result.events[0]!.streamId, events: 1, total: '5' }]);
      await runner.stop();
    } finally {
      await close();
    }
  });
});

const url = postgresUrl();
/** One plain connection to the cluster, outside the test's schema. */
const openTestPostgresSession = (url: string) => openPostgres(url, { max: 1 });
if (url) {
  test('PostgreSQL: two runners on one database with concurrent writers apply each event exactly once', async () => {
    const { db, close } = await openTestPostgres(url);
    try {
      const store = await SqlEventStore.create(db);
      const a = await ProjectionRunner.create(store, db, [countingProjection()], { batchSize: 5, idleMs: 5 });
      const b = await ProjectionRunner.create(store, db, [countingProjection()], { batchSize: 5, idleMs: 5 });
      a.start();
      b.start();
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < 25; i++) await appendToStream(store, `w-${w}`, 'any', [tick(1)]);
        }),
      );
      const head = await store.readCommittedHead();
      expect(await a.waitFor(head, 20_000)).toBe(true);
      await Promise.all([a.stop(), b.stop()]);
      const counts = await readCounts(db);
      expect(counts).toEqual(Array.from({ length: 8 }, (_, w) => ({ stream_id: `w-${w}`, events: 25, total: '25' })));
    } finally {
      await close();
    }
  });

  test('PostgreSQL: catchUp takes every event committed before it, even one an open transaction elsewhere still hides', async () => {
    const { db, close } = await openTestPostgres(url);
    // Another session of the cluster with a transaction id: until it ends, events appended after it
    // began are committed but not yet visible to readers of the log (they read below its xmin).
    const other = openTestPostgresSession(url);
    try {
      const store = await SqlEventStore.create(db);
      const runner = await ProjectionRunner.create(store, db, [countingProjection()], {});
      await other.query('BEGIN');
      await other.query('SELECT pg_current_xact_id()');
      await appendToStream(store, 's-held', 'no_stream', [tick(5)]);
      expect(await store.readHead()).toEqual(START);
      const ended = new Promise((resolve) => setTimeout(resolve, 300)).then(() => other.query('COMMIT'));
      await runner.catchUp();
      await ended;
      expect(await readCounts(db)).toEqual([{ stream_id: 's-held', events: 1, total: '5' }]);
    } finally {
      await other.close();
      await close();
    }
  });
} else {
  announcePostgresSkip('projection runner');
}
