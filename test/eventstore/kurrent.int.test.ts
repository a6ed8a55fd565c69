import { randomUUID } from 'node:crypto';
import { appendToStream } from '../../src/eventstore/eventStore';
import { KurrentEventStore } from '../../src/eventstore/kurrentEventStore';
import { eventStoreContract, newEvent } from './eventStore.contract';

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING || undefined;

if (connectionString) {
  const open = async () => {
    const store = KurrentEventStore.connect(connectionString);
    return { store, close: () => store.close() };
  };

  eventStoreContract('KurrentDB', open, { multiStream: false });

  describe('KurrentDB adapter specifics', () => {
    let store: KurrentEventStore;
    beforeAll(async () => {
      ({ store } = await open());
    });
    afterAll(() => store.close());

    test('a multi-stream append is refused with MULTI_STREAM_APPEND_UNSUPPORTED and writes nothing', async () => {
      const a = `match-${randomUUID()}`;
      const b = `mentor-${randomUUID()}`;
      const error = await store
        .appendToStreams([
          { streamId: a, expectedRevision: 'no_stream', events: [newEvent()] },
          { streamId: b, expectedRevision: 'no_stream', events: [newEvent()] },
        ])
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'MULTI_STREAM_APPEND_UNSUPPORTED', streamIds: [a, b] });
      expect(await store.readStream(a)).toEqual({ events: [], currentRevision: null });
      expect(await store.readStream(b)).toEqual({ events: [], currentRevision: null });
    });

    test('a conflicting keyed append releases its key, so the retry after a reload can use it', async () => {
      const id = `contract-${randomUUID()}`;
      const key = `key-${randomUUID()}`;
      await appendToStream(store, id, 'no_stream', [newEvent()]);
      const error = await appendToStream(store, id, 'no_stream', [newEvent()], { idempotencyKey: key }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId: id, actual: 0 });
      expect(await store.readIdempotencyKey(key)).toBeNull();
      const retry = await appendToStream(store, id, 0, [newEvent('Second')], { idempotencyKey: key });
      expect(retry).toMatchObject({ duplicate: false, streamRevisions: { [id]: 1 } });
    });

    test('bookkeeping streams of idempotency keys never show in the global log', async () => {
      const before = await store.readHead();
      const id = `contract-${randomUUID()}`;
      await appendToStream(store, id, 'no_stream', [newEvent()], { idempotencyKey: `key-${randomUUID()}` });
      const after = await store.readAll({ after: before, maxCount: 1000 });
      expect(after.filter((e) => e.streamId.startsWith('_idempotency-'))).toEqual([]);
      expect(after.filter((e) => e.streamId === id)).toHaveLength(1);
    });
  });
} else {
  console.warn('\n*** KurrentDB event store suite SKIPPED because EVENTSTORE_CONNECTION_STRING is unset (e.g. esdb://localhost:2113?tls=false). ***\n');
  test.skip('KurrentDB suite skipped: EVENTSTORE_CONNECTION_STRING is unset', () => undefined);
}
