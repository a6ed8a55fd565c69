import { randomUUID } from 'node:crypto';
import {
  ANY,
  AppendConsistencyViolationError,
  BACKWARDS,
  END,
  NO_STREAM,
  START as CLIENT_START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamJSONRecordedEvent,
  type AllStreamResolvedEvent,
  type AppendRecordInput,
  type AppendRecordsResult,
  type AppendResult as ClientAppendResult,
  type AppendStreamRequest,
  type AppendStreamState,
  type AppendToStreamOptions,
  type ConsistencyCheck,
  type ConsistencyViolation,
  type JSONEventData,
  type MultiAppendResult,
  type ReadAllOptions as ClientReadAllOptions,
  type ReadStreamOptions as ClientReadStreamOptions,
} from '@kurrent/kurrentdb-client';
import { comparePositions } from '../../src/eventstore/eventStore';
import { serverHas, toGlobalPosition, type KurrentClient } from '../../src/eventstore/kurrentEventStore';

/*
 * An in-memory imitation of KurrentDB behind the client interface the adapter uses. Tests that use
 * it run no KurrentDB server: they say so, and test/eventstore/kurrent.int.test.ts runs against a
 * real one when EVENTSTORE_CONNECTION_STRING is set.
 */

export type FakeRecord = AllStreamJSONRecordedEvent;

export const recordOf = (data: JSONEventData, streamId: string, revision: bigint, position: { commit: bigint; prepare: bigint }): FakeRecord =>
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

export const consistencyViolation = (violations: ConsistencyViolation[]): AppendConsistencyViolationError =>
  Object.assign(Object.create(AppendConsistencyViolationError.prototype) as AppendConsistencyViolationError, {
    violations,
    message: 'consistency violation',
  });

const pause = () => new Promise((resolve) => setImmediate(resolve));

const requireStringMetadata = (method: string, events: readonly JSONEventData[]): void => {
  for (const { metadata } of events) {
    if (metadata == null) continue;
    if (typeof metadata !== 'object' || Array.isArray(metadata) || metadata instanceof Uint8Array || Object.values(metadata).some((v) => typeof v !== 'string')) {
      throw new Error(`${method} requires metadata to be a plain object with string keys and string values.`);
    }
  }
};

/**
 * Imitates the KurrentDB behaviour the adapter relies on, per server version: one totally ordered
 * log with commit and prepare positions (one commit per append, one prepare per event), inclusive
 * read positions, server-side stream-name filters on `$all`, StreamNotFoundError,
 * WrongExpectedVersionError and AppendConsistencyViolationError as the client raises them, the
 * client's check that atomic appends carry string-only metadata, and the `$schema.*` keys the
 * server adds to the metadata of what those appends store. `multiStreamAppend` exists from 25.1,
 * `appendRecords` from 26.1; calling them on an older version fails as an unimplemented call would.
 */
export class FakeKurrentClient implements KurrentClient {
  readonly log: FakeRecord[] = [];
  readonly calls = { appendToStream: 0, multiStreamAppend: 0, appendRecords: 0 };
  lastChecks: ConsistencyCheck[] = [];
  filteredReads = 0;
  versionAsked = 0;
  disposed = false;
  private readonly streams = new Map<string, FakeRecord[]>();
  private nextLogPosition = 1_000n;

  constructor(
    private readonly version: string,
    private readonly options: { systemEventEvery?: number } = {},
  ) {}

  async serverVersion(): Promise<string> {
    this.versionAsked++;
    return this.version;
  }

  appendSystemEvent(): void {
    const data: JSONEventData = { id: randomUUID(), contentType: 'application/json', type: '$statsCollected', data: {}, metadata: undefined };
    this.store([{ streamName: '$stats-127.0.0.1:2113', record: data }], false);
  }

  async appendToStream(streamName: string, events: JSONEventData[], options: AppendToStreamOptions): Promise<ClientAppendResult> {
    await pause();
    this.calls.appendToStream++;
    this.expect(streamName, options.streamState ?? ANY, (current) => {
      throw new WrongExpectedVersionError(undefined, { streamName, expected: options.streamState ?? ANY, current });
    });
    const stored = this.store(
      events.map((record) => ({ streamName, record })),
      false,
    );
    return { success: true, nextExpectedRevision: stored.at(-1)!.revision, position: stored.at(-1)!.position };
  }

  async multiStreamAppend(requests: AppendStreamRequest[]): Promise<MultiAppendResult> {
    await pause();
    if (!serverHas(this.version, 'multiStreamAppend')) throw new Error('12 UNIMPLEMENTED: AppendSession');
    this.calls.multiStreamAppend++;
    requireStringMetadata('multiStreamAppend', requests.flatMap((r) => r.events as JSONEventData[]));
    for (const request of requests) {
      this.expect(request.streamName, request.expectedState, (current) => {
        throw new WrongExpectedVersionError(undefined, { streamName: request.streamName, expected: request.expectedState, current });
      });
    }
    const stored = this.store(
      requests.flatMap((r) => (r.events as JSONEventData[]).map((record) => ({ streamName: r.streamName, record }))),
      true,
    );
    return { position: stored.at(-1)!.position.commit, responses: this.revisionsOf(stored) };
  }

  async appendRecords(records: AppendRecordInput[], checks: ConsistencyCheck[] = []): Promise<AppendRecordsResult> {
    await pause();
    if (!serverHas(this.version, 'appendRecordsChecks')) throw new Error('12 UNIMPLEMENTED: AppendRecords');
    this.calls.appendRecords++;
    this.lastChecks = checks;
    requireStringMetadata('appendRecords', records.map((r) => r.record as JSONEventData));
    const violations: ConsistencyViolation[] = [];
    checks.forEach((check, checkIndex) =>
      this.expect(check.streamName, check.expectedState, (actualState) =>
        violations.push({ checkIndex, streamName: check.streamName, expectedState: check.expectedState, actualState }),
      ),
    );
    if (violations.length > 0) throw consistencyViolation(violations);
    const stored = this.store(
      records.map((r) => ({ streamName: r.streamName, record: r.record as JSONEventData })),
      true,
    );
    return { position: stored.at(-1)!.position.commit, responses: this.revisionsOf(stored) };
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
    const { fromPosition = CLIENT_START, maxCount = Number.MAX_SAFE_INTEGER, direction, filter } = options;
    if (filter) this.filteredReads++;
    const matches = (streamId: string): boolean => {
      if (!filter) return true;
      if (filter.filterOn !== 'streamName') throw new Error('the imitation filters on stream names only');
      return 'regex' in filter ? new RegExp(filter.regex).test(streamId) : filter.prefixes.some((prefix) => streamId.startsWith(prefix));
    };
    const log = this.log;
    return (async function* () {
      await pause();
      const ordered = direction === BACKWARDS ? [...log].reverse() : [...log];
      const from = fromPosition === CLIENT_START || fromPosition === END ? null : toGlobalPosition(fromPosition);
      const selected = ordered.filter((r) => {
        if (!matches(r.streamId)) return false;
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

  /** Calls `broken` with the stream's actual state unless it meets the expectation. */
  private expect(streamName: string, expected: AppendStreamState, broken: (current: bigint | typeof NO_STREAM) => void): void {
    const stream = this.streams.get(streamName);
    const current = stream ? BigInt(stream.length - 1) : NO_STREAM;
    if (expected === ANY) return;
    if (expected === 'stream_exists' ? current !== NO_STREAM : expected === current) return;
    broken(current);
  }

  private revisionsOf(stored: readonly FakeRecord[]): { streamName: string; revision: bigint }[] {
    const last = new Map<string, bigint>();
    for (const record of stored) last.set(record.streamId, record.revision);
    return [...last].map(([streamName, revision]) => ({ streamName, revision }));
  }

  /** One atomic write: one commit position, a prepare position per event, in request order. */
  private store(records: readonly { streamName: string; record: JSONEventData }[], schemaKeys: boolean): FakeRecord[] {
    const commit = this.nextLogPosition;
    const stored = records.map(({ streamName, record }) => {
      const stream = this.streams.get(streamName) ?? [];
      this.streams.set(streamName, stream);
      const metadata = schemaKeys ? { ...(record.metadata as object | undefined), '$schema.name': record.type, '$schema.format': 'Json' } : record.metadata;
      const stored = recordOf({ ...record, metadata }, streamName, BigInt(stream.length), { commit, prepare: this.nextLogPosition });
      this.nextLogPosition += 100n;
      stream.push(stored);
      this.log.push(stored);
      return stored;
    });
    if (!records[0]?.streamName.startsWith('$') && this.options.systemEventEvery && this.log.length % this.options.systemEventEvery === 0) this.appendSystemEvent();
    return stored;
  }
}
