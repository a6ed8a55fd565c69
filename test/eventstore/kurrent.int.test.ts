import { randomUUID } from 'node:crypto';
import { appendToStream } from '../../src/eventstore/eventStore';
import { KurrentEventStore, serverHas } from '../../src/eventstore/kurrentEventStore';
import { eventStoreContract, newEvent } from './eventStore.contract';

/*
 * Against a real KurrentDB server, when EVENTSTORE_CONNECTION_STRING names one
 * (e.g. `kurrentdb://127.0.0.1:2113?tls=false`; `docker compose up kurrentdb` starts one). The
 * shared contract runs unchanged; the checks of streams a command does not write are tested below,
 * by server version (26.1+ does them, older servers refuse them).
 */
const connectionString = process.env.EVENTSTORE_CONNECTION_STRING || undefined;

if (connectionString) {
  const open = async () => {
    const store = KurrentEventStore.connect(connectionString);
    return { store, close: () => store.close() };
  };

  eventStoreContract('KurrentDB', open, { checks: false });

  describe('KurrentDB adapter specifics', () => {
    let store: KurrentEventStore;
    let version: string;
    beforeAll(async () => {
      ({ store } = await open());
      version = await store.serverVersion();
      console.info(`KurrentDB suite: server version ${version}`);
    });
    afterAll(() => store.close());

    test('the server has multi-stream appends (KurrentDB 25.1 or newer)', () => {
      expect(serverHas(version, 'multiStreamAppend')).toBe(true);
    });

    test('a check of a stream not written: passes while it holds and refuses once broken (26.1+), or is refused naming 26.1', async () => {
      const checked = `contract-${randomUUID()}`;
      const written = `contract-${randomUUID()}`;
      const attempt = () =>
        store.appendToStreams([
          { streamId: written, expectedRevision: 'any', events: [newEvent()] },
          { streamId: checked, expectedRevision: 'no_stream', events: [] },
        ]);
      if (!serverHas(version, 'appendRecordsChecks')) {
        await expect(attempt()).rejects.toMatchObject({ code: 'EVENT_STORE_FEATURE_UNSUPPORTED', requiredServerVersion: '26.1' });
        expect((await store.readStream(written)).currentRevision).toBeNull();
        return;
      }
      const passed = await attempt();
      expect(passed.events.map((e) => e.streamId)).toEqual([written]);
      expect(await store.readStream(checked)).toEqual({ events: [], currentRevision: null });
      await appendToStream(store, checked, 'no_stream', [newEvent()]);
      await expect(attempt()).rejects.toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId: checked, expected: 'no_stream', actual: 0 });
      expect((await store.readStream(written)).events).toHaveLength(1);
    });

    test('a conflicting keyed append writes nothing, the key included, so the retry after a reload can use it', async () => {
      const id = `contract-${randomUUID()}`;
      const key = `key-${randomUUID()}`;
      await appendToStream(store, id, 'no_stream', [newEvent()]);
      const error = await appendToStream(store, id, 'no_stream', [newEvent()], { idempotencyKey: key }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId: id, actual: 0 });
      expect(await store.readIdempotencyKey(key)).toBeNull();
      const retry = await appendToStream(store, id, 0, [newEvent('Second')], { idempotencyKey: key });
      expect(retry).toMatchObject({ duplicate: false, streamRevisions: { [id]: 1 } });
    });

    test('metadata reads back exactly as written (the server adds its $schema keys, which are left out)', async () => {
      const id = `contract-${randomUUID()}`;
      const events = [newEvent('A', { a: 1 }, 'because'), newEvent('B', { b: 2 })];
      await store.appendToStreams([
        { streamId: id, expectedRevision: 'no_stream', events },
        { streamId: `${id}-other`, expectedRevision: 'no_stream', events: [newEvent()] },
      ]);
      expect((await store.readStream(id)).events.map((e) => e.metadata)).toEqual(events.map((e) => e.metadata));
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
  console.warn(
    '\n*** KurrentDB event store suite SKIPPED because EVENTSTORE_CONNECTION_STRING is unset (e.g. kurrentdb://127.0.0.1:2113?tls=false). ' +
      'The adapter ran only against the in-memory imitation in src/eventstore/kurrentEventStore.unit.test.ts. ***\n',
  );
  test.skip('KurrentDB suite skipped: EVENTSTORE_CONNECTION_STRING is unset', () => undefined);
}
