import { randomUUID } from 'node:crypto';
import { ANY, NO_STREAM, START as CLIENT_START, STREAM_STATE, WrongExpectedVersionError } from '@kurrent/kurrentdb-client';
import { FakeKurrentClient, consistencyViolation, recordOf } from '../../test/support/fakeKurrentClient';
import { eventStoreContract, newEvent } from '../../test/eventstore/eventStore.contract';
import { IdempotencyKeyReusedError, START, appendToStream, comparePositions } from './eventStore';
import {
  DOMAIN_STREAMS_REGEX,
  EventStoreFeatureUnsupportedError,
  IDEMPOTENCY_STREAM_PREFIX,
  KurrentEventStore,
  conflictOf,
  decodeMetadata,
  encodeMetadata,
  fromClientEvent,
  fromClientRevision,
  idempotencyStreamId,
  isDomainEvent,
  parseServerVersion,
  serverHas,
  toClientExpectedRevision,
  toEventData,
  toGlobalPosition,
  toReadPosition,
} from './kurrentEventStore';
import { CommandPipeline } from '../commands/pipeline';
import { DomainError } from '../domain/shared/decider';

/*
 * What runs here: the adapter's mapping code, and the adapter over an in-memory imitation of the
 * client and server (`FakeKurrentClient`, below), at three server versions. No KurrentDB server runs
 * in these tests; test/eventstore/kurrent.int.test.ts runs the same contract against a real one when
 * EVENTSTORE_CONNECTION_STRING is set.
 */

describe('KurrentDB mapping', () => {
  test('expected revisions map to the client constants, numbers to exact bigints', () => {
    expect(toClientExpectedRevision('any')).toBe(ANY);
    expect(toClientExpectedRevision('no_stream')).toBe(NO_STREAM);
    expect(toClientExpectedRevision(0)).toBe(0n);
    expect(toClientExpectedRevision(41)).toBe(41n);
  });

  test('current revisions map to 0-based numbers; a missing, deleted or tombstoned stream to null', () => {
    expect(fromClientRevision(NO_STREAM)).toBeNull();
    expect(fromClientRevision(-5n)).toBeNull();
    expect(fromClientRevision(0n)).toBe(0);
    expect(fromClientRevision(12n)).toBe(12);
  });

  test('log positions map commit to major and prepare to minor, and keep their order', () => {
    expect(toGlobalPosition({ commit: 500n, prepare: 620n })).toEqual({ major: 500n, minor: 620n });
    const sameWrite = [toGlobalPosition({ commit: 500n, prepare: 500n }), toGlobalPosition({ commit: 500n, prepare: 620n })];
    const laterWrite = toGlobalPosition({ commit: 700n, prepare: 700n });
    expect(comparePositions(sameWrite[0]!, sameWrite[1]!)).toBe(-1);
    expect(comparePositions(sameWrite[1]!, laterWrite)).toBe(-1);
    expect(() => toGlobalPosition(undefined)).toThrow(/log position/);
  });

  test('a read position is the client START for our START, else the same commit and prepare', () => {
    expect(toReadPosition(START)).toBe(CLIENT_START);
    expect(toReadPosition({ major: 9n, minor: 11n })).toEqual({ commit: 9n, prepare: 11n });
  });

  test('idempotency streams are named by the sha256 of the key, outside the domain-stream filter', () => {
    expect(idempotencyStreamId('abc')).toBe(`${IDEMPOTENCY_STREAM_PREFIX}ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad`);
    expect(idempotencyStreamId('abd')).not.toBe(idempotencyStreamId('abc'));
    expect(idempotencyStreamId('x'.repeat(5000))).toHaveLength(IDEMPOTENCY_STREAM_PREFIX.length + 64);
    const domain = new RegExp(DOMAIN_STREAMS_REGEX);
    expect(['user-1', 'match-2', 'program-3', 'email-ab', 'registration-4', 'manager-report-x'].every((s) => domain.test(s))).toBe(true);
    expect([idempotencyStreamId('k'), '$stats-127.0.0.1:2113', '$$user-1', '$et-Foo'].some((s) => domain.test(s))).toBe(false);
  });

  test('server versions: multi-stream appends from 25.1, consistency checks from 26.1', () => {
    expect(parseServerVersion('25.1.0.2012')).toEqual([25, 1]);
    expect(parseServerVersion('unknown')).toBeNull();
    expect(serverHas('24.10.4', 'multiStreamAppend')).toBe(false);
    expect(serverHas('25.1.0', 'multiStreamAppend')).toBe(true);
    expect(serverHas('25.1.0', 'appendRecordsChecks')).toBe(false);
    expect(serverHas('26.0.3', 'appendRecordsChecks')).toBe(false);
    expect(serverHas('26.1.0', 'appendRecordsChecks')).toBe(true);
    expect(serverHas('27.0.0', 'appendRecordsChecks')).toBe(true);
    expect(serverHas('unknown', 'multiStreamAppend')).toBe(false);
  });

  test('metadata is stored as a flat object of strings and reads back exactly, whatever the server adds', () => {
    const event = newEvent('MentorAssigned', { mentorId: 'm-1' }, 'asked for');
    const stored = encodeMetadata({ ...event.metadata, personalData: { fields: ['name'] } }, 3);
    expect(Object.values(stored).every((value) => typeof value === 'string')).toBe(true);
    expect(stored).toMatchObject({
      schemaVersion: '3',
      actorId: 'alice',
      actorRole: 'admin',
      reason: 'asked for',
      $correlationId: event.metadata.correlationId,
      $causationId: event.metadata.causationId,
      command: 'DoThing',
      occurredAt: event.metadata.occurredAt,
      'json:personalData': '{"fields":["name"]}',
    });
    const serverAdded = { ...stored, '$schema.name': 'MentorAssigned', '$schema.format': 'Json' };
    expect(decodeMetadata(serverAdded)).toEqual({ metadata: { ...event.metadata, personalData: { fields: ['name'] } }, schemaVersion: 3 });
    // No reason: no key at all, and none read back.
    const { reason: _, ...withoutReason } = event.metadata;
    expect(decodeMetadata(encodeMetadata(withoutReason, 1)).metadata).toEqual(withoutReason);
  });

  test('only enveloped JSON events outside system and bookkeeping streams belong to the domain log', () => {
    const ours = { streamId: 'user-1', type: 'UserStatusChanged', isJson: true, metadata: { schemaVersion: '1' } } as const;
    expect(isDomainEvent(ours)).toBe(true);
    expect(isDomainEvent({ ...ours, type: '$metadata' })).toBe(false);
    expect(isDomainEvent({ ...ours, streamId: '$stats-127.0.0.1:2113' })).toBe(false);
    expect(isDomainEvent({ ...ours, streamId: idempotencyStreamId('k') })).toBe(false);
    expect(isDomainEvent({ ...ours, metadata: { correlationId: 'c' } })).toBe(false);
    expect(isDomainEvent({ ...ours, metadata: undefined })).toBe(false);
    expect(isDomainEvent({ ...ours, isJson: false })).toBe(false);
  });

  test('the envelope survives a round trip: id, type, data, metadata, schema version', () => {
    const event = { ...newEvent('MentorAssigned', { mentorId: 'm-1', tags: ['a'] }, 'asked for'), schemaVersion: 3 };
    const data = toEventData(event);
    expect(data).toMatchObject({ id: event.id, contentType: 'application/json', type: 'MentorAssigned', data: event.data });
    const recorded = fromClientEvent(recordOf(data, 'match-1', 4n, { commit: 10n, prepare: 20n }));
    expect(recorded).toEqual({ ...event, streamId: 'match-1', revision: 4, position: { major: 10n, minor: 20n } });
  });

  test('a broken expectation of either kind names its stream, the expectation and the actual revision', () => {
    const wrong = new WrongExpectedVersionError(undefined, { streamName: 's', expected: 3n, current: NO_STREAM });
    expect(conflictOf(wrong)).toEqual({ streamId: 's', expected: 3, actual: null });
    const violation = consistencyViolation([{ checkIndex: 1, streamName: 't', expectedState: NO_STREAM, actualState: 2n }]);
    expect(conflictOf(violation)).toEqual({ streamId: 't', expected: 'no_stream', actual: 2 });
    expect(conflictOf(new Error('unavailable'))).toBeNull();
  });
});

describe('KurrentEventStore on KurrentDB 26.1 (imitated): appendRecords with checks', () => {
  test('several streams, a check and a key go in one appendRecords call, the key record first', async () => {
    const client = new FakeKurrentClient('26.1.0');
    const store = new KurrentEventStore(client);
    await appendToStream(store, 'program-1', 'no_stream', [newEvent()]);
    const result = await store.appendToStreams(
      [
        { streamId: 'match-1', expectedRevision: 'no_stream', events: [newEvent('MatchActivated')] },
        { streamId: 'user-1', expectedRevision: 'any', events: [newEvent('PersonaMatched')] },
        { streamId: 'program-1', expectedRevision: 0, events: [] },
      ],
      { idempotencyKey: 'k-1' },
    );
    expect(client.calls).toEqual({ appendToStream: 1, multiStreamAppend: 0, appendRecords: 1 });
    expect(client.lastChecks).toEqual([
      { type: STREAM_STATE, streamName: idempotencyStreamId('k-1'), expectedState: NO_STREAM },
      { type: STREAM_STATE, streamName: 'match-1', expectedState: NO_STREAM },
      { type: STREAM_STATE, streamName: 'program-1', expectedState: 0n },
    ]);
    expect(client.log.at(-3)!.streamId).toBe(idempotencyStreamId('k-1'));
    expect(result.events.map((e) => [e.streamId, e.type])).toEqual([
      ['match-1', 'MatchActivated'],
      ['user-1', 'PersonaMatched'],
    ]);
    expect(result.streamRevisions).toEqual({ 'match-1': 0, 'user-1': 0 });
    expect((await store.readStream('program-1')).currentRevision).toBe(0);
  });

  test('a failed check writes nothing anywhere, the key included, and names the checked stream', async () => {
    const client = new FakeKurrentClient('26.1.0');
    const store = new KurrentEventStore(client);
    await appendToStream(store, 'program-1', 'no_stream', [newEvent(), newEvent()]);
    const error = await store
      .appendToStreams(
        [
          { streamId: 'match-1', expectedRevision: 'no_stream', events: [newEvent()] },
          { streamId: 'program-1', expectedRevision: 0, events: [] },
        ],
        { idempotencyKey: 'k-2' },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId: 'program-1', expected: 0, actual: 1 });
    expect(await store.readStream('match-1')).toEqual({ events: [], currentRevision: null });
    expect(await store.readIdempotencyKey('k-2')).toBeNull();
  });

  test('the stored metadata is what the server takes: strings only, with the server\u2019s $schema keys added', async () => {
    const client = new FakeKurrentClient('26.1.0');
    const store = new KurrentEventStore(client);
    const event = newEvent('A', { a: 1 }, 'why');
    await store.appendToStreams([
      { streamId: 'a-1', expectedRevision: 'no_stream', events: [event] },
      { streamId: 'b-1', expectedRevision: 'no_stream', events: [newEvent()] },
    ]);
    const raw = client.log.find((r) => r.id === event.id)!;
    expect(raw.metadata).toMatchObject({ '$schema.name': 'A', '$schema.format': 'Json', reason: 'why', actorRole: 'admin' });
    expect((await store.readStream('a-1')).events[0]!.metadata).toEqual(event.metadata);
  });

  test('a key reused for other streams is refused and writes nothing', async () => {
    const store = new KurrentEventStore(new FakeKurrentClient('26.1.0'));
    await appendToStream(store, 'a-1', 'no_stream', [newEvent()], { idempotencyKey: 'k-3' });
    const error = await appendToStream(store, 'b-1', 'no_stream', [newEvent()], { idempotencyKey: 'k-3' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(await store.readStream('b-1')).toEqual({ events: [], currentRevision: null });
  });

  test('through the command pipeline: a matching-like command with a check of the program is one atomic append', async () => {
    const client = new FakeKurrentClient('26.1.0');
    const store = new KurrentEventStore(client);
    const pipeline = new CommandPipeline(store);
    const folder = { initialState: () => 0, evolve: (n: number) => n + 1 };
    await appendToStream(store, 'program-9', 'no_stream', [newEvent('ProgramCreated')]);
    const outcome = await pipeline.execute(
      { actor: { id: 'alice', role: 'admin' }, now: '2026-01-05T09:00:00.000Z', correlationId: randomUUID(), idempotencyKey: 'match-9' },
      {
        name: 'MatchPersonas',
        streams: { program: { streamId: 'program-9', decider: folder }, match: { streamId: 'match-9', decider: folder }, mentor: { streamId: 'user-9', decider: folder } },
        checks: ['program'],
        decide: () => ({ match: [{ type: 'MatchActivated', data: {} }], mentor: [{ type: 'PersonaMatched', data: {} }] }),
      },
    );
    expect(outcome.events.map((e) => e.streamId)).toEqual(['match-9', 'user-9']);
    expect(client.calls.appendRecords).toBe(1);
  });
});

describe('KurrentEventStore on KurrentDB 25.1 (imitated): multiStreamAppend, no checks', () => {
  test('several streams with a key go in one multiStreamAppend call', async () => {
    const client = new FakeKurrentClient('25.1.0.2012');
    const store = new KurrentEventStore(client);
    const result = await store.appendToStreams(
      [
        { streamId: 'match-1', expectedRevision: 'no_stream', events: [newEvent()] },
        { streamId: 'user-1', expectedRevision: 'any', events: [newEvent(), newEvent()] },
      ],
      { idempotencyKey: 'k-1' },
    );
    expect(client.calls).toEqual({ appendToStream: 0, multiStreamAppend: 1, appendRecords: 0 });
    expect(result.streamRevisions).toEqual({ 'match-1': 0, 'user-1': 1 });
    expect((await store.readIdempotencyKey('k-1'))?.map((e) => e.id)).toEqual(result.events.map((e) => e.id));
  });

  test('a check of a stream it does not write is refused before anything is written, naming 26.1 and the server', async () => {
    const client = new FakeKurrentClient('25.1.0.2012');
    const store = new KurrentEventStore(client);
    const error = await store
      .appendToStreams([
        { streamId: 'match-1', expectedRevision: 'no_stream', events: [newEvent()] },
        { streamId: 'program-1', expectedRevision: 3, events: [] },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreFeatureUnsupportedError);
    expect(error).toMatchObject({ code: 'EVENT_STORE_FEATURE_UNSUPPORTED', feature: 'appendRecordsChecks', requiredServerVersion: '26.1', streamIds: ['program-1'] });
    expect((error as Error).message).toMatch(/KurrentDB has from version 26\.1; the connected server is version 25\.1\.0\.2012/);
    expect(client.log).toHaveLength(0);
  });

  test('the pipeline turns the refusal into RULE_VIOLATED with the versions in its details', async () => {
    const store = new KurrentEventStore(new FakeKurrentClient('25.1.0'));
    const folder = { initialState: () => 0, evolve: (n: number) => n + 1 };
    const error = await new CommandPipeline(store)
      .execute(
        { actor: { id: 'alice', role: 'admin' }, now: '2026-01-05T09:00:00.000Z', correlationId: 'c' },
        {
          name: 'MatchPersonas',
          streams: { program: { streamId: 'program-1', decider: folder }, match: { streamId: 'match-1', decider: folder } },
          checks: ['program'],
          decide: () => ({ match: [{ type: 'MatchActivated', data: {} }] }),
        },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'RULE_VIOLATED', details: { feature: 'appendRecordsChecks', requiredServerVersion: '26.1', serverVersion: '25.1.0' } });
  });
});

describe('KurrentEventStore on EventStoreDB 24.10 (imitated): one stream at a time', () => {
  test('a one-stream append without a key works through the v1 append', async () => {
    const client = new FakeKurrentClient('24.10.4');
    const store = new KurrentEventStore(client);
    const result = await appendToStream(store, 'user-1', 'no_stream', [newEvent(), newEvent()]);
    expect(result.streamRevisions).toEqual({ 'user-1': 1 });
    expect(client.calls).toEqual({ appendToStream: 1, multiStreamAppend: 0, appendRecords: 0 });
  });

  test('a multi-stream append and a keyed append are refused naming 25.1, and write nothing', async () => {
    const client = new FakeKurrentClient('24.10.4');
    const store = new KurrentEventStore(client);
    const multi = await store
      .appendToStreams([
        { streamId: 'match-1', expectedRevision: 'no_stream', events: [newEvent()] },
        { streamId: 'user-1', expectedRevision: 'any', events: [newEvent()] },
      ])
      .catch((e: unknown) => e);
    expect(multi).toMatchObject({ code: 'EVENT_STORE_FEATURE_UNSUPPORTED', feature: 'multiStreamAppend', requiredServerVersion: '25.1' });
    expect((multi as Error).message).toMatch(/version 25\.1.*24\.10\.4/);
    const keyed = await appendToStream(store, 'user-1', 'any', [newEvent()], { idempotencyKey: 'k' }).catch((e: unknown) => e);
    expect(keyed).toMatchObject({ feature: 'multiStreamAppend' });
    expect(client.log).toHaveLength(0);
  });
});

describe('KurrentEventStore reads (imitated server)', () => {
  test('readAll skips system and bookkeeping events and never repeats the event at `after`', async () => {
    const client = new FakeKurrentClient('26.1.0', { systemEventEvery: 1 });
    const store = new KurrentEventStore(client);
    await appendToStream(store, 'a', 'no_stream', [newEvent(), newEvent()], { idempotencyKey: 'k' });
    await appendToStream(store, 'b', 'no_stream', [newEvent()]);
    const all = await store.readAll();
    expect(all.map((e) => `${e.streamId}/${e.revision}`)).toEqual(['a/0', 'a/1', 'b/0']);
    expect((await store.readAll({ after: all[0]!.position })).map((e) => e.revision)).toEqual([1, 0]);
    expect(await store.readHead()).toEqual(all[2]!.position);
    expect(client.log.some((r) => r.streamId.startsWith('$'))).toBe(true);
    expect(client.filteredReads).toBeGreaterThan(0);
  });

  test('readHead is START on an empty log, and pages back past many system events', async () => {
    const client = new FakeKurrentClient('26.1.0');
    const store = new KurrentEventStore(client);
    expect(await store.readHead()).toEqual(START);
    await appendToStream(store, 'a', 'no_stream', [newEvent()]);
    for (let i = 0; i < 300; i++) client.appendSystemEvent();
    const [only] = await store.readAll();
    expect(await store.readHead()).toEqual(only!.position);
  });

  test('the server version is asked once', async () => {
    const client = new FakeKurrentClient('26.1.0');
    const store = new KurrentEventStore(client);
    for (let i = 0; i < 3; i++) await store.appendToStreams([{ streamId: `s-${i}`, expectedRevision: 'any', events: [newEvent()] }], { idempotencyKey: `k-${i}` });
    expect(client.versionAsked).toBe(1);
  });

  test('close disposes the client', async () => {
    const client = new FakeKurrentClient('26.1.0');
    await new KurrentEventStore(client).close();
    expect(client.disposed).toBe(true);
  });
});

eventStoreContract(
  'KurrentDB adapter over an imitation of KurrentDB 26.1 (the real server runs in kurrent.int.test.ts)',
  async () => {
    const store = new KurrentEventStore(new FakeKurrentClient('26.1.0', { systemEventEvery: 7 }));
    return { store, close: () => store.close() };
  },
);

eventStoreContract(
  'KurrentDB adapter over an imitation of KurrentDB 25.1 (no consistency checks)',
  async () => {
    const store = new KurrentEventStore(new FakeKurrentClient('25.1.0', { systemEventEvery: 7 }));
    return { store, close: () => store.close() };
  },
  { checks: false },
);

