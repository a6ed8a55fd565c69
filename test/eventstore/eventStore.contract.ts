import { randomUUID } from 'node:crypto';
import {
  START,
  WrongExpectedRevisionError,
  appendToStream,
  comparePositions,
  formatPosition,
  readAllForward,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
} from '../../src/eventstore/eventStore';
import { logVisible } from '../support/databases';

export interface ContractOptions {
  /** Whether the adapter supports atomic appends to several streams at once. */
  readonly multiStream?: boolean;
  /**
   * Whether the adapter can check, in the same atomic append, a stream it does not write (KurrentDB
   * 25.1 and 26.0 cannot, and refuse such appends).
   */
  readonly checks?: boolean;
  /** Concurrent writers in the catch-up test (the issue asks for 20). */
  readonly writers?: number;
}

export const newEvent = (type = 'ThingHappened', data: object = { n: 1 }, reason?: string): NewEvent => ({
  id: randomUUID(),
  type,
  schemaVersion: 1,
  data,
  metadata: {
    occurredAt: '2026-11-23T10:00:00.000Z',
    actor: { id: 'alice', role: 'admin' },
    ...(reason ? { reason } : {}),
    correlationId: randomUUID(),
    causationId: randomUUID(),
    command: 'DoThing',
  },
});

const stream = (prefix = 'contract') => `${prefix}-${randomUUID()}`;

const readEverything = async (store: EventStore): Promise<RecordedEvent[]> => {
  const all: RecordedEvent[] = [];
  for await (const event of readAllForward(store, { batchSize: 50 })) all.push(event);
  return all;
};

/**
 * The event-store contract: run unchanged against every adapter. Stream names are random, so the
 * suite can share a server with other data; global-log checks only look at their own streams.
 */
export const eventStoreContract = (
  name: string,
  open: () => Promise<{ store: EventStore; close: () => Promise<void> }>,
  options: ContractOptions = {},
): void => {
  describe(`event store contract: ${name}`, () => {
    let store: EventStore;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, close } = await open());
    });
    afterAll(async () => {
      await close();
    });

    test('appends to a new stream and reads back every field, revisions from 0', async () => {
      const id = stream();
      const events = [newEvent('A', { a: 1 }, 'because'), newEvent('B', { b: [1, 2] })];
      const result = await appendToStream(store, id, 'no_stream', events);
      expect(result.duplicate).toBe(false);
      expect(result.streamRevisions).toEqual({ [id]: 1 });
      const read = await store.readStream(id);
      expect(read.currentRevision).toBe(1);
      expect(read.events.map((e) => [e.id, e.type, e.revision, e.schemaVersion, e.data, e.metadata])).toEqual(
        events.map((e, i) => [e.id, e.type, i, 1, e.data, e.metadata]),
      );
      expect(read.events.map((e) => formatPosition(e.position))).toEqual(result.events.map((e) => formatPosition(e.position)));
      expect(comparePositions(read.events[0]!.position, read.events[1]!.position)).toBe(-1);
    });

    test('a stream that does not exist reads as empty with no revision', async () => {
      expect(await store.readStream(stream())).toEqual({ events: [], currentRevision: null });
    });

    test('reads a stream from a revision, with a maximum count', async () => {
      const id = stream();
      await appendToStream(store, id, 'no_stream', [newEvent(), newEvent(), newEvent(), newEvent()]);
      const read = await store.readStream(id, { fromRevision: 1, maxCount: 2 });
      expect(read.events.map((e) => e.revision)).toEqual([1, 2]);
      expect(read.currentRevision).toBe(3);
    });

    test('expected revision: no_stream on an existing stream is refused and writes nothing', async () => {
      const id = stream();
      await appendToStream(store, id, 'no_stream', [newEvent()]);
      const error = await appendToStream(store, id, 'no_stream', [newEvent()]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId: id, expected: 'no_stream', actual: 0 });
      expect((await store.readStream(id)).events).toHaveLength(1);
    });

    test('expected revision: exact revision appends; a stale one is refused and writes nothing', async () => {
      const id = stream();
      await appendToStream(store, id, 'no_stream', [newEvent()]);
      await appendToStream(store, id, 0, [newEvent(), newEvent()]);
      const error = await appendToStream(store, id, 0, [newEvent()]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONCURRENCY_CONFLICT', expected: 0, actual: 2 });
      const missing = await appendToStream(store, stream(), 3, [newEvent()]).catch((e: unknown) => e);
      expect(missing).toMatchObject({ code: 'CONCURRENCY_CONFLICT', expected: 3, actual: null });
      expect((await store.readStream(id)).events.map((e) => e.revision)).toEqual([0, 1, 2]);
    });

    test('expected revision: any appends to new and existing streams', async () => {
      const id = stream();
      await appendToStream(store, id, 'any', [newEvent()]);
      const result = await appendToStream(store, id, 'any', [newEvent(), newEvent()]);
      expect(result.streamRevisions[id]).toBe(2);
      expect((await store.readStream(id)).events.map((e) => e.revision)).toEqual([0, 1, 2]);
    });

    test('concurrent conflicting appends to one stream: exactly one wins per revision, no gap, no duplicate', async () => {
      const id = stream();
      await appendToStream(store, id, 'no_stream', [newEvent()]);
      const rounds = 10;
      const contenders = 8;
      for (let revision = 0; revision < rounds; revision++) {
        const outcomes = await Promise.allSettled(
          Array.from({ length: contenders }, (_, i) => appendToStream(store, id, revision, [newEvent('Race', { revision, i })])),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) {
          if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(WrongExpectedRevisionError);
        }
      }
      const read = await store.readStream(id);
      expect(read.events.map((e) => e.revision)).toEqual(Array.from({ length: rounds + 1 }, (_, i) => i));
      expect(new Set(read.events.map((e) => e.id)).size).toBe(rounds + 1);
    });

    test('a stream read under concurrent appends: its revision always matches the events it returns', async () => {
      const id = stream();
      let writing = true;
      const writer = (async () => {
        for (let i = 0; i < 60; i++) await appendToStream(store, id, 'any', [newEvent('Tick', { i })]);
        writing = false;
      })();
      const readers = Array.from({ length: 4 }, async () => {
        let reads = 0;
        while (writing || reads === 0) {
          const read = await store.readStream(id);
          expect(read.currentRevision).toBe(read.events.at(-1)?.revision ?? null);
          reads += 1;
        }
        return reads;
      });
      await writer;
      expect((await Promise.all(readers)).every((reads) => reads > 0)).toBe(true);
    });

    test('concurrent creations of one stream: exactly one wins', async () => {
      const id = stream();
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => appendToStream(store, id, 'no_stream', [newEvent('Created', { i })])),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect((await store.readStream(id)).events).toHaveLength(1);
    });

    test('a burst of concurrent single-stream appends: each caller gets its own outcome, as if they ran one at a time', async () => {
      // Adapters may send concurrent appends together (SqlEventStore's group commit): a broken
      // expectation must fail that append alone, and appends to one stream must still chain up.
      const existing = stream();
      await appendToStream(store, existing, 'no_stream', [newEvent('Created')]);
      const shared = stream();
      const contested = stream();
      const fresh = Array.from({ length: 12 }, () => stream());
      const outcomes = await Promise.allSettled([
        ...fresh.map((id, i) => appendToStream(store, id, 'no_stream', i % 3 === 0 ? [newEvent('A', { i }), newEvent('B', { i })] : [newEvent('A', { i }, 'why')])),
        ...Array.from({ length: 5 }, (_, i) => appendToStream(store, shared, 'any', [newEvent('Tick', { i })])),
        ...Array.from({ length: 4 }, (_, i) => appendToStream(store, contested, 'no_stream', [newEvent('Created', { i })])),
        appendToStream(store, existing, 5, [newEvent('Stale')]),
        appendToStream(store, existing, 'no_stream', [newEvent('Stale')]),
        appendToStream(store, existing, 0, [newEvent('Next')]),
      ]);
      const [freshOutcomes, sharedOutcomes, contestedOutcomes, [stale, staleNoStream, next]] = [
        outcomes.slice(0, 12),
        outcomes.slice(12, 17),
        outcomes.slice(17, 21),
        outcomes.slice(21),
      ];
      for (const [i, outcome] of freshOutcomes.entries()) {
        expect(outcome.status).toBe('fulfilled');
        const result = (outcome as PromiseFulfilledResult<Awaited<ReturnType<typeof appendToStream>>>).value;
        expect(result.events.map((e) => [e.streamId, e.revision])).toEqual(result.events.map((_, r) => [fresh[i], r]));
        expect((await store.readStream(fresh[i]!)).events.map((e) => e.id)).toEqual(result.events.map((e) => e.id));
      }
      expect(sharedOutcomes.every((o) => o.status === 'fulfilled')).toBe(true);
      const sharedRevisions = sharedOutcomes.map((o) => (o as PromiseFulfilledResult<Awaited<ReturnType<typeof appendToStream>>>).value.events[0]!.revision);
      expect([...sharedRevisions].sort()).toEqual([0, 1, 2, 3, 4]);
      const sharedRead = await store.readStream(shared);
      expect(sharedRead.events.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4]);
      expect(sharedRead.events.map((e) => (e.data as { i: number }).i).sort()).toEqual([0, 1, 2, 3, 4]);
      expect(contestedOutcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of contestedOutcomes.filter((o) => o.status === 'rejected')) {
        expect((o as PromiseRejectedResult).reason).toMatchObject({ streamId: contested, expected: 'no_stream', actual: 0 });
      }
      expect((await store.readStream(contested)).events).toHaveLength(1);
      expect(next.status).toBe('fulfilled');
      // Whichever ran first, the stale expectations were refused with the stream's revision at that moment.
      for (const refused of [stale, staleNoStream]) {
        expect(refused.status).toBe('rejected');
        expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect((refused as PromiseRejectedResult).reason).toMatchObject({ streamId: existing });
        expect([0, 1]).toContain((refused as PromiseRejectedResult).reason.actual);
      }
      expect((stale as PromiseRejectedResult).reason).toMatchObject({ expected: 5 });
      expect((await store.readStream(existing)).events.map((e) => e.type)).toEqual(['Created', 'Next']);
    });

    test('idempotent retry: the same key appends nothing new and returns the first result', async () => {
      const id = stream();
      const key = `key-${randomUUID()}`;
      const first = await appendToStream(store, id, 'no_stream', [newEvent('Once', { v: 1 })], { idempotencyKey: key });
      const retry = await appendToStream(store, id, 'no_stream', [newEvent('Once', { v: 1 })], { idempotencyKey: key });
      expect(first.duplicate).toBe(false);
      expect(retry.duplicate).toBe(true);
      expect(retry.events.map((e) => [e.id, e.revision, formatPosition(e.position)])).toEqual(
        first.events.map((e) => [e.id, e.revision, formatPosition(e.position)]),
      );
      expect((await store.readStream(id)).events).toHaveLength(1);
      expect((await store.readIdempotencyKey(key))?.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
      expect(await store.readIdempotencyKey(`unused-${randomUUID()}`)).toBeNull();
    });

    test('idempotent retry under concurrency: one append, every caller gets the same events', async () => {
      const id = stream();
      const key = `key-${randomUUID()}`;
      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, () => appendToStream(store, id, 'any', [newEvent('Once')], { idempotencyKey: key })),
      );
      const fulfilled = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      expect(fulfilled).toHaveLength(6);
      expect(fulfilled.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(fulfilled.map((r) => r.events[0]!.id)).size).toBe(1);
      expect((await store.readStream(id)).events).toHaveLength(1);
    });

    if (options.multiStream !== false) {
      test('multi-stream append is atomic: one stale expectation writes nothing anywhere', async () => {
        const a = stream();
        const b = stream();
        await appendToStream(store, b, 'no_stream', [newEvent()]);
        const error = await store
          .appendToStreams([
            { streamId: a, expectedRevision: 'no_stream', events: [newEvent()] },
            { streamId: b, expectedRevision: 'no_stream', events: [newEvent()] },
          ])
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId: b });
        expect((await store.readStream(a)).currentRevision).toBeNull();
        const ok = await store.appendToStreams([
          { streamId: a, expectedRevision: 'no_stream', events: [newEvent()] },
          { streamId: b, expectedRevision: 0, events: [newEvent(), newEvent()] },
        ]);
        expect(ok.streamRevisions).toEqual({ [a]: 0, [b]: 2 });
      });
    }

    if (options.multiStream !== false && options.checks !== false) {
      test('a no_stream check (no events) passes while the stream does not exist, leaves it absent, and is refused once it exists', async () => {
        const checked = stream();
        const written = stream();
        const passed = await store.appendToStreams([
          { streamId: written, expectedRevision: 'no_stream', events: [newEvent()] },
          { streamId: checked, expectedRevision: 'no_stream', events: [] },
        ]);
        expect(passed.events.map((e) => e.streamId)).toEqual([written]);
        expect(await store.readStream(checked)).toEqual({ events: [], currentRevision: null });
        await appendToStream(store, checked, 'no_stream', [newEvent()]);
        const other = stream();
        const error = await store
          .appendToStreams([
            { streamId: other, expectedRevision: 'no_stream', events: [newEvent()] },
            { streamId: checked, expectedRevision: 'no_stream', events: [] },
          ])
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId: checked, expected: 'no_stream', actual: 0 });
        expect((await store.readStream(other)).currentRevision).toBeNull();
      });
    }

    test('reads the global log forward from a position in batches, in append order', async () => {
      const ids = [stream('log'), stream('log'), stream('log')];
      const before = await store.readHead();
      for (const id of ids) await appendToStream(store, id, 'no_stream', [newEvent(), newEvent()]);
      // On a SQL store a transaction open elsewhere on the server holds back what readers may see.
      await logVisible(store);
      const head = await store.readHead();
      expect(comparePositions(head, before)).toBe(1);
      // The committed head is never behind the visible one (they differ only while an older transaction runs).
      expect(comparePositions(await store.readCommittedHead(), head)).toBeGreaterThanOrEqual(0);
      const mine: RecordedEvent[] = [];
      let after = before;
      for (;;) {
        const batch = await store.readAll({ after, maxCount: 2 });
        if (batch.length === 0) break;
        expect(batch.length).toBeLessThanOrEqual(2);
        mine.push(...batch.filter((e) => ids.includes(e.streamId)));
        after = batch.at(-1)!.position;
      }
      expect(mine.map((e) => `${e.streamId}/${e.revision}`)).toEqual(ids.flatMap((id) => [`${id}/0`, `${id}/1`]));
      expect(await store.readAll({ after: head, maxCount: 10 })).toEqual([]);
    });

    test('reads the events at given positions, in the order asked for, leaving out positions with no event', async () => {
      const id = stream('at');
      await appendToStream(store, id, 'no_stream', [newEvent('First', { n: 1 }), newEvent('Second', { n: 2 }), newEvent('Third', { n: 3 })]);
      const [first, second, third] = (await store.readStream(id)).events.map((e) => e.position);
      // Read back at the third, the first, nowhere, the second.
      const nowhere = { major: third!.major + 1_000_000n, minor: third!.minor + 1_000_000n };
      const read = await store.readAt([third!, first!, nowhere, second!]);
      expect(read.map((e) => [e.type, e.data, e.streamId, e.revision])).toEqual([
        ['Third', { n: 3 }, id, 2],
        ['First', { n: 1 }, id, 0],
        ['Second', { n: 2 }, id, 1],
      ]);
      expect(read.map((e) => formatPosition(e.position))).toEqual([third!, first!, second!].map(formatPosition));
      expect(await store.readAt([])).toEqual([]);
    });

    test(`${options.writers ?? 20} concurrent writers on many streams: a concurrent catch-up reader sees every event exactly once`, async () => {
      const writers = options.writers ?? 20;
      const perWriter = 25;
      const prefix = `catchup${randomUUID().slice(0, 8)}`;
      const start = await store.readHead();
      const seen: RecordedEvent[] = [];
      let writing = true;
      // The last acknowledged position: once the writers are done, the reader must get there. (An empty
      // batch alone does not mean it has: on the SQL stores, a transaction open anywhere on the server,
      // another test's for one, holds back what readers may see until it ends.)
      let last: RecordedEvent['position'] = start;
      const reader = (async () => {
        let after = start;
        for (;;) {
          const stillWriting = writing;
          const batch = await store.readAll({ after, maxCount: 37 });
          for (const event of batch) {
            expect(comparePositions(event.position, after)).toBe(1);
            if (event.streamId.startsWith(prefix)) seen.push(event);
          }
          if (batch.length > 0) after = batch.at(-1)!.position;
          else if (!stillWriting && comparePositions(after, last) >= 0) return;
          else await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      const written: string[] = [];
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) {
            const id = `${prefix}-${w}-${i % 5}`;
            const result = await appendToStream(store, id, 'any', [newEvent('Tick', { w, i })]);
            written.push(result.events[0]!.id);
            if (comparePositions(result.events[0]!.position, last) > 0) last = result.events[0]!.position;
          }
        }),
      );
      writing = false;
      await reader;
      expect(seen).toHaveLength(writers * perWriter);
      expect(new Set(seen.map((e) => e.id))).toEqual(new Set(written));
      const everything = (await readEverything(store)).filter((e) => e.streamId.startsWith(prefix));
      expect(seen.map((e) => e.id)).toEqual(everything.map((e) => e.id));
    });

    test('readAll from START begins at the first event', async () => {
      const first = await store.readAll({ after: START, maxCount: 1 });
      expect(first).toHaveLength(1);
    });
  });
};
