import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { announcePostgresSkip, openTestPglite, openTestPostgres, postgresUrl } from '../support/databases';
import { eventStoreContract, newEvent } from './eventStore.contract';

eventStoreContract('embedded (PGlite, in memory)', async () => {
  const { db, close } = await openTestPglite();
  return { store: await SqlEventStore.create(db), close };
});

const url = postgresUrl();
if (url) {
  eventStoreContract('PostgreSQL', async () => {
    const { db, close } = await openTestPostgres(url);
    return { store: await SqlEventStore.create(db), close };
  });
} else {
  announcePostgresSkip('event store contract');
}

// The case that makes position-only readers skip events: a transaction takes its sequence value,
// another commits after it, and the first commits last. Needs two connections, so PostgreSQL only.
if (url) {
  test('PostgreSQL: a reader never skips an event whose transaction commits late', async () => {
    const { db, close } = await openTestPostgres(url);
    try {
      const store = await SqlEventStore.create(db);
      const start = await store.readHead();
      const slow = newEvent('Slow');
      const fast = newEvent('Fast');
      let releaseSlow!: () => void;
      const slowHeld = new Promise<void>((resolve) => (releaseSlow = resolve));
      let slowAppended!: () => void;
      const slowInside = new Promise<void>((resolve) => (slowAppended = resolve));
      const slowTransaction = db.transaction(async (tx) => {
        await tx.query(`SELECT * FROM es_append($1::jsonb, NULL)`, [
          JSON.stringify([{ streamId: 'late-1', expected: 'no_stream', events: [slow] }]),
        ]);
        slowAppended();
        await slowHeld;
      });
      await slowInside;
      const fastAppend = await store.appendToStreams([{ streamId: 'late-2', expectedRevision: 'no_stream', events: [fast] }]);
      // Fast is committed, but Slow (earlier transaction) is still open: the reader must wait for it.
      expect(await store.readAll({ after: start })).toEqual([]);
      // The visible head stays where it was; the committed head names Fast (what "everything before now" must wait for).
      expect(await store.readHead()).toEqual(start);
      expect(await store.readCommittedHead()).toEqual(fastAppend.lastPosition);
      releaseSlow();
      await slowTransaction;
      expect((await store.readAll({ after: start })).map((e) => e.type)).toEqual(['Slow', 'Fast']);
      expect(await store.readHead()).toEqual(fastAppend.lastPosition);
    } finally {
      await close();
    }
  });
}

// A write with no events is a check: the append fails unless that stream is still at the revision
// the writer read (the matching commands read the program stream, matching on, without writing it).
describe.each([
  { name: 'embedded (PGlite)', open: openTestPglite },
  ...(url ? [{ name: 'PostgreSQL', open: () => openTestPostgres(url) }] : []),
])('check-only writes on $name', ({ open }) => {
  test('an append whose checked stream moved on is refused whole; one whose checked stream stayed appends', async () => {
    const { db, close } = await open();
    try {
      const store = await SqlEventStore.create(db);
      await store.appendToStreams([{ streamId: 'program-1', expectedRevision: 'no_stream', events: [newEvent('ProgramCreated')] }]);
      // Someone else changes the program after the writer read it at revision 0.
      await store.appendToStreams([{ streamId: 'program-1', expectedRevision: 0, events: [newEvent('MatchingTurnedOff')] }]);
      await expect(
        store.appendToStreams([
          { streamId: 'match-1', expectedRevision: 'no_stream', events: [newEvent('MatchActivated')] },
          { streamId: 'program-1', expectedRevision: 0, events: [] },
        ]),
      ).rejects.toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId: 'program-1' });
      expect((await store.readStream('match-1')).currentRevision).toBeNull();

      const result = await store.appendToStreams([
        { streamId: 'match-1', expectedRevision: 'no_stream', events: [newEvent('MatchActivated')] },
        { streamId: 'program-1', expectedRevision: 1, events: [] },
      ]);
      expect(result.events.map((e) => e.streamId)).toEqual(['match-1']);
      expect((await store.readStream('program-1')).currentRevision).toBe(1);
    } finally {
      await close();
    }
  });
});

// A `no_stream` check (the legacy stream of an address a registration claims) holds against a first
// append to that stream still in flight: the check waits for it and then fails, whichever comes first.
if (url) {
  test('PostgreSQL: a no_stream check waits for a concurrent first append to the checked stream, then is refused', async () => {
    const { db, close } = await openTestPostgres(url);
    try {
      const store = await SqlEventStore.create(db);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let inside!: () => void;
      const started = new Promise<void>((resolve) => (inside = resolve));
      const creation = db.transaction(async (tx) => {
        await tx.query(`SELECT * FROM es_append($1::jsonb, NULL)`, [
          JSON.stringify([{ streamId: 'legacy-1', expected: 'no_stream', events: [newEvent('UserRegistered')] }]),
        ]);
        inside();
        await held;
      });
      await started;
      const check = store
        .appendToStreams([
          { streamId: 'claim-1', expectedRevision: 'no_stream', events: [newEvent('EmailAddressReserved')] },
          { streamId: 'legacy-1', expectedRevision: 'no_stream', events: [] },
        ])
        .then(
          () => 'appended',
          (error: unknown) => error,
        );
      // The check cannot decide while the creation is open.
      const early = await Promise.race([check, new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
      expect(early).toBe('waiting');
      release();
      await creation;
      expect(await check).toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId: 'legacy-1' });
      expect((await store.readStream('claim-1')).currentRevision).toBeNull();
      expect((await store.readStream('legacy-1')).currentRevision).toBe(0);
    } finally {
      await close();
    }
  });

  test('PostgreSQL: a first append waits for a no_stream check on its stream in flight, then goes ahead', async () => {
    const { db, close } = await openTestPostgres(url);
    try {
      const store = await SqlEventStore.create(db);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let inside!: () => void;
      const started = new Promise<void>((resolve) => (inside = resolve));
      const claim = db.transaction(async (tx) => {
        await tx.query(`SELECT * FROM es_append($1::jsonb, NULL)`, [
          JSON.stringify([
            { streamId: 'claim-2', expected: 'no_stream', events: [newEvent('EmailAddressReserved')] },
            { streamId: 'legacy-2', expected: 'no_stream', events: [] },
          ]),
        ]);
        inside();
        await held;
      });
      await started;
      const creation = store.appendToStreams([{ streamId: 'legacy-2', expectedRevision: 'no_stream', events: [newEvent('UserRegistered')] }]);
      const early = await Promise.race([creation.then(() => 'appended'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
      expect(early).toBe('waiting');
      release();
      await claim;
      expect((await creation).streamRevisions).toEqual({ 'legacy-2': 0 });
      expect((await store.readStream('claim-2')).currentRevision).toBe(0);
    } finally {
      await close();
    }
  });
}
