import { randomUUID } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  DeadlineExceededError,
  END,
  NO_STREAM,
  START as CLIENT_START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamJSONRecordedEvent,
  type AllStreamResolvedEvent,
  type AppendResult as ClientAppendResult,
  type AppendToStreamOptions,
  type JSONEventData,
  type ReadAllOptions as ClientReadAllOptions,
  type ReadStreamOptions as ClientReadStreamOptions,
} from '@eventstore/db-client';
import { eventStoreContract, newEvent } from '../../test/eventstore/eventStore.contract';
import { IdempotencyKeyReusedError, START, WrongExpectedRevisionError, appendToStream, comparePositions } from './eventStore';
import {
  IDEMPOTENCY_STREAM_PREFIX,
  KurrentEventStore,
  MultiStreamAppendUnsupportedError,
  fromClientEvent,
  fromClientRevision,
  idempotencyStreamId,
  isDomainEvent,
  toClientExpectedRevision,
  toEventData,
  toGlobalPosition,
  toReadPosition,
  translateAppendError,
  type KurrentClient,
} from './kurrentEventStore';

describe('KurrentDB mapping', () => {
  test('expected revisions map to the client constants, numbers to exact bigints', () => {
    expect(toClientExpectedRevision('any')).toBe(ANY);
    expect(toClientExpectedRevision('no_stream')).toBe(NO_STREAM);
    expect(toClientExpectedRevision(0)).toBe(0n);
    expect(toClientExpectedRevision(41)).toBe(41n);
  });

  test('current revisions map to 0-based numbers, a missing stream to null', () => {
    expect(fromClientRevision(NO_STREAM)).toBeNull();
    expect(fromClientRevision(-1n)).toBeNull();
    expect(fromClientRevision(0n)).toBe(0);
    expect(fromClientRevision(12n)).toBe(12);
  });

  test('log positions map commit to major and prepare to minor, and keep their order', () => {
    expect(toGlobalPosition({ commit: 500n, prepare: 620n })).toEqual({ major: 500n, minor: 620n });
    const sameWrite = [toGlobalPosition({ commit: 500n, prepare: 500n }), toGlobalPosition({ commit: 500n, prepare: 620n })];
    const laterWrite = toGlobalPosition({ commit: 700n, prepare: 700n });
    expect(comparePositions(sameWrite[0]!, sameWrite[1]!)).toBe(-1);
    expect(comparePositions(sameWrite[1]!, laterWrite)).toBe(-1);
    expect(() => toGlobalPosition(undefined)).toThrow(/22\.6 or newer/);
  });

  test('a read position is the client START for our START, else the same commit and prepare', () => {
    expect(toReadPosition(START)).toBe(CLIENT_START);
    expect(toReadPosition({ major: 9n, minor: 11n })).toEqual({ commit: 9n, prepare: 11n });
  });

  test('idempotency streams are named by the sha256 of the key', () => {
    expect(idempotencyStreamId('abc')).toBe(`${IDEMPOTENCY_STREAM_PREFIX}ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad`);
    expect(idempotencyStreamId('abc')).toBe(idempotencyStreamId('abc'));
    expect(idempotencyStreamId('abd')).not.toBe(idempotencyStreamId('abc'));
    expect(idempotencyStreamId('x'.repeat(5000))).toHaveLength(IDEMPOTENCY_STREAM_PREFIX.length + 64);
  });

  test('only enveloped JSON events outside system and bookkeeping streams belong to the domain log', () => {
    const ours = { streamId: 'user-1', type: 'UserStatusChanged', isJson: true, metadata: { schemaVersion: 1 } } as const;
    expect(isDomainEvent(ours)).toBe(true);
    expect(isDomainEvent({ ...ours, type: '$metadata' })).toBe(false);
    expect(isDomainEvent({ ...ours, streamId: '$stats-127.0.0.1:2113' })).toBe(false);
    expect(isDomainEvent({ ...ours, streamId: '$$user-1' })).toBe(false);
    expect(isDomainEvent({ ...ours, streamId: idempotencyStreamId('k') })).toBe(false);
    expect(isDomainEvent({ ...ours, metadata: { correlationId: 'c' } })).toBe(false);
    expect(isDomainEvent({ ...ours, metadata: undefined })).toBe(false);
    expect(isDomainEvent({ ...ours, isJson: false })).toBe(false);
  });

  test('the envelope survives a round trip: id, type, data, metadata, schema version', () => {
    const event = { ...newEvent('MentorAssigned', { mentorId: 'm-1', tags: ['a'] }, 'asked for'), schemaVersion: 3 };
    const data = toEventData(event);
    expect(data).toEqual({
      id: event.id,
      contentType: 'application/json',
      type: 'MentorAssigned',
      data: event.data,
      metadata: { ...event.metadata, schemaVersion: 3 },
    });
    const recorded = fromClientEvent(recordOf(data, 'match-1', 4n, { commit: 10n, prepare: 20n }));
    expect(recorded).toEqual({ ...event, streamId: 'match-1', revision: 4, position: { major: 10n, minor: 20n } });
  });

  test('a wrong expected version becomes our conflict error; other errors pass through', () => {
    const wrong = new WrongExpectedVersionError(undefined, { streamName: 's', expected: 3n, current: NO_STREAM });
    const translated = translateAppendError(wrong, { streamId: 's', expectedRevision: 3 });
    expect(translated).toBeInstanceOf(WrongExpectedRevisionError);
    expect(translated).toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId: 's', expected: 3, actual: null });
    const stale = new WrongExpectedVersionError(undefined, { streamName: 's', expected: NO_STREAM, current: 2n });
    expect(translateAppendError(stale, { streamId: 's', expectedRevision: 'no_stream' })).toMatchObject({ expected: 'no_stream', actual: 2 });
    const other = new Error('unavailable');
    expect(translateAppendError(other, { streamId: 's', expectedRevision: 'any' })).toBe(other);
  });
});

describe('KurrentEventStore over an in-memory imitation of the client', () => {
  test('a multi-stream append is refused with MULTI_STREAM_APPEND_UNSUPPORTED and writes nothing', async () => {
    const client = new FakeKurrentClient();
    const store = new KurrentEventStore(client);
    const error = await store
      .appendToStreams([
        { streamId: 'match-1', expectedRevision: 'no_stream', events: [newEvent()] },
        { streamId: 'mentor-1', expectedRevision: 'any', events: [newEvent()] },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MultiStreamAppendUnsupportedError);
    expect(error).toMatchObject({ code: 'MULTI_STREAM_APPEND_UNSUPPORTED', streamIds: ['match-1', 'mentor-1'] });
    expect((error as Error).message).toMatch(/PostgreSQL or embedded store/);
    expect((error as Error).message).toMatch(/KurrentDB 25\.1/);
    expect(client.appends).toBe(0);
  });

  test('writes without events are no append at all; one non-empty write among empty ones is a normal append', async () => {
    const client = new FakeKurrentClient();
    const store = new KurrentEventStore(client);
    expect(await store.appendToStreams([{ streamId: 'a', expectedRevision: 'any', events: [] }])).toMatchObject({ events: [], duplicate: false });
    const result = await store.appendToStreams([
      { streamId: 'a', expectedRevision: 'any', events: [] },
      { streamId: 'b', expectedRevision: 'no_stream', events: [newEvent()] },
    ]);
    expect(result.streamRevisions).toEqual({ b: 0 });
  });

  test('a conflicting keyed append releases its key, so the retry after a reload can use it', async () => {
    const store = new KurrentEventStore(new FakeKurrentClient());
    const key = `key-${randomUUID()}`;
    await appendToStream(store, 's', 'no_stream', [newEvent()]);
    const error = await appendToStream(store, 's', 'no_stream', [newEvent()], { idempotencyKey: key }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId: 's', expected: 'no_stream', actual: 0 });
    expect(await store.readIdempotencyKey(key)).toBeNull();
    const retry = await appendToStream(store, 's', 0, [newEvent('Second')], { idempotencyKey: key });
    expect(retry).toMatchObject({ duplicate: false, streamRevisions: { s: 1 } });
    expect((await store.readIdempotencyKey(key))?.map((e) => e.type)).toEqual(['Second']);
  });

  test('a key reused for another stream is refused and writes nothing', async () => {
    const store = new KurrentEventStore(new FakeKurrentClient());
    const key = `key-${randomUUID()}`;
    await appendToStream(store, 'a', 'no_stream', [newEvent()], { idempotencyKey: key });
    const error = await appendToStream(store, 'b', 'no_stream', [newEvent()], { idempotencyKey: key }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(await store.readStream('b')).toEqual({ events: [], currentRevision: null });
  });

  test('a writer that died after reserving its key: the next reader of the key finishes the write', async () => {
    const client = new FakeKurrentClient();
    const store = new KurrentEventStore(client, { takeOverAfterMs: 30 });
    const key = `key-${randomUUID()}`;
    const event = newEvent('Once');
    client.failNextAppendTo('s', 'before-write');
    await expect(appendToStream(store, 's', 'no_stream', [event], { idempotencyKey: key })).rejects.toThrow('connection lost');
    expect((await store.readStream('s')).events).toHaveLength(0);
    expect((await store.readIdempotencyKey(key))?.map((e) => [e.id, e.revision])).toEqual([[event.id, 0]]);
    const retry = await appendToStream(store, 's', 'no_stream', [newEvent('Once')], { idempotencyKey: key });
    expect(retry.duplicate).toBe(true);
    expect((await store.readStream('s')).events.map((e) => e.id)).toEqual([event.id]);
  });

  test('a writer that died after its events were stored: a retry with the key returns them and stores nothing', async () => {
    const client = new FakeKurrentClient();
    const store = new KurrentEventStore(client, { takeOverAfterMs: 30 });
    const key = `key-${randomUUID()}`;
    const event = newEvent('Once');
    client.failNextAppendTo('s', 'after-write');
    await expect(appendToStream(store, 's', 'no_stream', [event], { idempotencyKey: key })).rejects.toThrow('connection lost');
    const retry = await appendToStream(store, 's', 'no_stream', [newEvent('Once')], { idempotencyKey: key });
    expect(retry.duplicate).toBe(true);
    expect(retry.events.map((e) => e.id)).toEqual([event.id]);
    expect((await store.readStream('s')).events).toHaveLength(1);
  });

  test('readAll skips system and bookkeeping events and never repeats the event at `after`', async () => {
    const client = new FakeKurrentClient({ systemEventEvery: 1 });
    const store = new KurrentEventStore(client);
    await appendToStream(store, 'a', 'no_stream', [newEvent(), newEvent()], { idempotencyKey: 'k' });
    await appendToStream(store, 'b', 'no_stream', [newEvent()]);
    const all = await store.readAll();
    expect(all.map((e) => `${e.streamId}/${e.revision}`)).toEqual(['a/0', 'a/1', 'b/0']);
    expect((await store.readAll({ after: all[0]!.position })).map((e) => e.revision)).toEqual([1, 0]);
    expect(await store.readHead()).toEqual(all[2]!.position);
    expect(client.log.some((r) => r.streamId.startsWith('$'))).toBe(true);
  });

  test('readHead is START on an empty log, and pages back past many system events', async () => {
    const client = new FakeKurrentClient();
    const store = new KurrentEventStore(client);
    expect(await store.readHead()).toEqual(START);
    await appendToStream(store, 'a', 'no_stream', [newEvent()]);
    for (let i = 0; i < 300; i++) client.appendSystemEvent();
    const [only] = await store.readAll();
    expect(await store.readHead()).toEqual(only!.position);
  });

  test('close disposes the client', async () => {
    const client = new FakeKurrentClient();
    await new KurrentEventStore(client).close();
    expect(client.disposed).toBe(true);
  });
});

eventStoreContract(
  'KurrentDB adapter over an in-memory imitation of the client (the real server runs in kurrent.int.test.ts)',
  async () => {
    const store = new KurrentEventStore(new FakeKurrentClient({ systemEventEvery: 7 }));
    return { store, close: () => store.close() };
  },
  { multiStream: false },
);

type FakeRecord = AllStreamJSONRecordedEvent;

const recordOf = (data: JSONEventData, streamId: string, revision: bigint, position: { commit: bigint; prepare: bigint }): FakeRecord =>
  ({
    streamId,
    id: data.id,
    isJson: true,
    revision,
    type: data.type,
    created: new Date(0),
    data: data.data,
    metadata: data.metadata,
    position,
  }) as FakeRecord;

const pause = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Imitates the KurrentDB behaviour the adapter relies on: one totally ordered log with commit and
 * prepare positions (one commit per append, one prepare per event), inclusive read positions,
 * StreamNotFoundError and WrongExpectedVersionError as the client raises them, and the server's
 * treatment of a repeated append of the same event ids as a no-op (right after the expected
 * revision; anywhere in the stream for `any`, as the server's recent-id cache does) — except that a
 * repeat arriving before the original is indexed is dropped unanswered, so the client sees its
 * deadline pass (the server's IdempotentNotReady).
 */
class FakeKurrentClient implements KurrentClient {
  readonly log: FakeRecord[] = [];
  appends = 0;
  disposed = false;
  private readonly streams = new Map<string, FakeRecord[]>();
  private nextLogPosition = 1_000n;
  private readonly failures = new Map<string, 'before-write' | 'after-write'>();
  private readonly indexedAt = new Map<string, number>();

  constructor(private readonly options: { systemEventEvery?: number; indexLagMs?: number } = {}) {}

  /** The next append to this stream fails as a lost connection, before or after the server stored it. */
  failNextAppendTo(streamName: string, when: 'before-write' | 'after-write'): void {
    this.failures.set(streamName, when);
  }

  appendSystemEvent(): void {
    const data: JSONEventData = { id: randomUUID(), contentType: 'application/json', type: '$statsCollected', data: {}, metadata: undefined };
    this.store('$stats-127.0.0.1:2113', [data]);
  }

  async appendToStream(streamName: string, events: JSONEventData[], options: AppendToStreamOptions): Promise<ClientAppendResult> {
    await pause();
    const failure = this.failures.get(streamName);
    this.failures.delete(streamName);
    if (failure === 'before-write') throw new Error('connection lost');
    const expected = options.expectedRevision ?? ANY;
    const stream = this.streams.get(streamName) ?? [];
    const current = BigInt(stream.length - 1);
    const repeatedUpTo = this.repeatedUpTo(stream, events, expected);
    if (repeatedUpTo !== null) {
      if (events.some((e) => (this.indexedAt.get(e.id) ?? 0) > Date.now())) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new DeadlineExceededError();
      }
      return { success: true, nextExpectedRevision: repeatedUpTo };
    }
    if (expected !== ANY) {
      const expectedNumber = expected === NO_STREAM ? -1n : expected === 'stream_exists' ? (current >= 0n ? current : -2n) : expected;
      if (expectedNumber !== current) {
        throw new WrongExpectedVersionError(undefined, { streamName, expected, current: current < 0n ? NO_STREAM : current });
      }
    }
    this.appends++;
    const stored = this.store(streamName, events);
    if (this.options.systemEventEvery && this.appends % this.options.systemEventEvery === 0) this.appendSystemEvent();
    if (failure === 'after-write') throw new Error('connection lost');
    return { success: true, nextExpectedRevision: stored.at(-1)!.revision, position: stored.at(-1)!.position };
  }

  readStream(streamName: string, options: ClientReadStreamOptions): AsyncIterable<{ event: FakeRecord }> {
    const { fromRevision = CLIENT_START, maxCount = Number.MAX_SAFE_INTEGER, direction } = options;
    const streams = this.streams;
    return (async function* () {
      await pause();
      const stream = streams.get(streamName);
      if (!stream) throw new StreamNotFoundError(undefined, streamName);
      const ordered = direction === BACKWARDS ? [...stream].reverse() : [...stream];
      const from = fromRevision === CLIENT_START || fromRevision === END ? null : fromRevision;
      const selected = ordered.filter((r) => from === null || (direction === BACKWARDS ? r.revision <= from : r.revision >= from));
      for (const event of selected.slice(0, Number(maxCount))) yield { event };
    })();
  }

  readAll(options: ClientReadAllOptions): AsyncIterable<AllStreamResolvedEvent> {
    const { fromPosition = CLIENT_START, maxCount = Number.MAX_SAFE_INTEGER, direction } = options;
    const log = this.log;
    return (async function* () {
      await pause();
      const ordered = direction === BACKWARDS ? [...log].reverse() : [...log];
      const from = fromPosition === CLIENT_START || fromPosition === END ? null : toGlobalPosition(fromPosition);
      const selected = ordered.filter((r) => {
        if (from === null) return true;
        const order = comparePositions(toGlobalPosition(r.position), from);
        return direction === BACKWARDS ? order <= 0 : order >= 0;
      });
      for (const event of selected.slice(0, Number(maxCount))) yield { event };
    })();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }

  private store(streamName: string, events: readonly JSONEventData[]): FakeRecord[] {
    const stream = this.streams.get(streamName) ?? [];
    this.streams.set(streamName, stream);
    const commit = this.nextLogPosition;
    return events.map((data) => {
      const record = recordOf(data, streamName, BigInt(stream.length), { commit, prepare: this.nextLogPosition });
      this.nextLogPosition += 100n;
      stream.push(record);
      this.log.push(record);
      this.indexedAt.set(data.id, Date.now() + (this.options.indexLagMs ?? 5));
      return record;
    });
  }

  private repeatedUpTo(stream: readonly FakeRecord[], events: readonly JSONEventData[], expected: AppendToStreamOptions['expectedRevision']): bigint | null {
    const start =
      expected === ANY || expected === undefined || expected === 'stream_exists'
        ? stream.findIndex((r) => r.id === events[0]!.id)
        : Number(expected === NO_STREAM ? -1n : expected) + 1;
    if (start < 0) return null;
    const ids = stream.slice(start, start + events.length).map((r) => r.id);
    return ids.length === events.length && ids.every((id, i) => id === events[i]!.id) ? BigInt(start + events.length - 1) : null;
  }
}
