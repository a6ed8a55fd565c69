import { createHash, randomUUID } from 'node:crypto';
import {
  ANY,
  AppendConsistencyViolationError,
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  STREAM_STATE,
  StreamNotFoundError,
  WrongExpectedVersionError,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AppendRecordInput,
  type AppendRecordsResult,
  type AppendResult as ClientAppendResult,
  type AppendStreamRequest,
  type AppendStreamState,
  type AppendToStreamOptions,
  type ConsistencyCheck,
  type CurrentStreamState,
  type Filter,
  type JSONEventData,
  type JSONType,
  type MultiAppendResult,
  type Position,
  type ReadAllOptions as ClientReadAllOptions,
  type ReadPosition,
  type ReadStreamOptions as ClientReadStreamOptions,
  type RecordedEvent as ClientRecordedEvent,
  type ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import {
  START,
  IdempotencyKeyReusedError,
  WrongExpectedRevisionError,
  comparePositions,
  type AppendOptions,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type GlobalPosition,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ReadStreamResult,
  type RecordedEvent,
  type Role,
  type StreamWrite,
} from './eventStore';

/**
 * The part of `KurrentDBClient` (@kurrent/kurrentdb-client) this adapter uses. `wrapClient` makes
 * one of the real client; unit tests pass an in-memory stand-in.
 */
export interface KurrentClient {
  /** The v1 append: one stream, any server version. */
  appendToStream(streamName: string, events: JSONEventData[], options: AppendToStreamOptions): Promise<ClientAppendResult>;
  /** Atomic append to several streams, each with its expected state (KurrentDB 25.1+). */
  multiStreamAppend(requests: AppendStreamRequest[]): Promise<MultiAppendResult>;
  /** Atomic append of records to any streams with consistency checks on any streams (KurrentDB 26.1+). */
  appendRecords(records: AppendRecordInput[], checks?: ConsistencyCheck[]): Promise<AppendRecordsResult>;
  readStream(streamName: string, options: ClientReadStreamOptions): AsyncIterable<ResolvedEvent>;
  readAll(options: ClientReadAllOptions): AsyncIterable<AllStreamResolvedEvent>;
  /** The server's version as it reports it (`25.1.0.2012`), or `unknown` when it does not say. */
  serverVersion(): Promise<string>;
  dispose(): Promise<void>;
}

/** The real client behind the `KurrentClient` interface. */
export const wrapClient = (client: KurrentDBClient): KurrentClient => ({
  appendToStream: (streamName, events, options) => client.appendToStream(streamName, events, options),
  multiStreamAppend: (requests) => client.multiStreamAppend(requests),
  appendRecords: (records, checks) => client.appendRecords(records, checks),
  readStream: (streamName, options) => client.readStream(streamName, options),
  readAll: (options) => client.readAll(options),
  // The client asks the server's ServerFeatures service once and caches the answer; the getter is
  // protected in its typings, public at run time.
  serverVersion: async () => (await (client as unknown as { capabilities: Promise<{ serverVersion: string }> }).capabilities).serverVersion,
  dispose: () => client.dispose(),
});

// -- server versions -------------------------------------------------------------------------------

/** What this adapter needs from the server, and since which KurrentDB release the server has it. */
export const FEATURES = {
  multiStreamAppend: { version: [25, 1] as const, what: 'writing to several streams in one atomic append (multiStreamAppend)' },
  appendRecordsChecks: { version: [26, 1] as const, what: 'checking a stream it does not write in the same atomic append (appendRecords consistency checks)' },
} as const;

export type Feature = keyof typeof FEATURES;

/** `25.1.0.2012` → [25, 1]; anything unreadable (`unknown`) → null. */
export const parseServerVersion = (version: string): readonly [number, number] | null => {
  const match = /^(\d+)\.(\d+)/.exec(version.trim());
  return match ? [Number(match[1]), Number(match[2])] : null;
};

export const serverHas = (version: string, feature: Feature): boolean => {
  const parsed = parseServerVersion(version);
  const [major, minor] = FEATURES[feature].version;
  return parsed !== null && (parsed[0] > major || (parsed[0] === major && parsed[1] >= minor));
};

/**
 * A command needs something the connected server does not have. Thrown before anything is written;
 * the message names the KurrentDB release that has it and the one connected.
 */
export class EventStoreFeatureUnsupportedError extends Error {
  readonly code = 'EVENT_STORE_FEATURE_UNSUPPORTED';
  readonly requiredServerVersion: string;
  constructor(
    readonly feature: Feature,
    readonly serverVersion: string,
    readonly streamIds: readonly string[],
  ) {
    const required = FEATURES[feature].version.join('.');
    super(
      `This command needs ${FEATURES[feature].what} (streams ${streamIds.join(', ')}), which KurrentDB has from version ${required}; ` +
        `the connected server is ${serverVersion === 'unknown' ? 'of an unknown, older version' : `version ${serverVersion}`}. Nothing was written. ` +
        `Upgrade the server to KurrentDB ${required} or newer, or keep the events in PostgreSQL (unset EVENTSTORE_CONNECTION_STRING).`,
    );
    this.name = 'EventStoreFeatureUnsupportedError';
    this.requiredServerVersion = required;
  }
}

// -- the stored form ---------------------------------------------------------------------------------

/** Bookkeeping streams for idempotency keys; kept out of `readAll` and `readHead`. */
export const IDEMPOTENCY_STREAM_PREFIX = '_idempotency-';

/** Keys are caller-chosen text of any length; the stream name is a fixed-size digest of it. */
export const idempotencyStreamId = (idempotencyKey: string): string =>
  IDEMPOTENCY_STREAM_PREFIX + createHash('sha256').update(idempotencyKey, 'utf8').digest('hex');

/**
 * The server-side filter of the domain log: streams whose name starts with `$` are the server's
 * own, `_` our bookkeeping; every domain stream starts with a letter (`user-`, `match-`, ...).
 */
export const DOMAIN_STREAMS_REGEX = '^[^$_]';

/**
 * Metadata as the server requires it for the atomic appends: a flat object of string values (it
 * stores them as the event's JSON metadata and adds `$schema.name` and `$schema.format`). The same
 * object goes through the one-stream append, so every event reads back the same way. Correlation
 * and causation use KurrentDB's own keys, `$correlationId` and `$causationId`, which its
 * `$by_correlation_id` projection and UI understand.
 */
export type StoredMetadata = Record<string, string>;

const JSON_PREFIX = 'json:';
const CORRELATION = '$correlationId';
const CAUSATION = '$causationId';

export const encodeMetadata = (metadata: EventMetadata, schemaVersion: number): StoredMetadata => {
  const stored: StoredMetadata = { schemaVersion: String(schemaVersion) };
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined) continue;
    if (key === 'actor') {
      const actor = value as EventMetadata['actor'];
      stored.actorId = actor.id;
      stored.actorRole = actor.role;
    } else if (key === 'correlationId') stored[CORRELATION] = value as string;
    else if (key === 'causationId') stored[CAUSATION] = value as string;
    // Any other field keeps its name when it is text, and travels as JSON when it is not.
    else if (typeof value === 'string') stored[key] = value;
    else stored[JSON_PREFIX + key] = JSON.stringify(value);
  }
  return stored;
};

/** The inverse of `encodeMetadata`; keys the server adds (`$schema.*`, any other `$` key) are left out. */
export const decodeMetadata = (stored: Readonly<Record<string, unknown>>): { metadata: EventMetadata; schemaVersion: number } => {
  const metadata: Record<string, unknown> = {};
  let actorId = '';
  let actorRole = '';
  let schemaVersion = 1;
  for (const [key, value] of Object.entries(stored)) {
    if (typeof value !== 'string') continue;
    if (key === 'schemaVersion') schemaVersion = Number(value);
    else if (key === 'actorId') actorId = value;
    else if (key === 'actorRole') actorRole = value;
    else if (key === CORRELATION) metadata.correlationId = value;
    else if (key === CAUSATION) metadata.causationId = value;
    else if (key.startsWith(JSON_PREFIX)) metadata[key.slice(JSON_PREFIX.length)] = JSON.parse(value);
    else if (!key.startsWith('$')) metadata[key] = value;
  }
  metadata.actor = { id: actorId, role: actorRole as Role };
  return { metadata: metadata as unknown as EventMetadata, schemaVersion };
};

export const toClientExpectedRevision = (expected: ExpectedRevision): AppendStreamState =>
  expected === 'any' ? ANY : expected === 'no_stream' ? NO_STREAM : BigInt(expected);

/** The client reports a missing stream as `no_stream` (or a negative number: deleted, tombstoned). */
export const fromClientRevision = (current: CurrentStreamState | bigint): number | null =>
  current === NO_STREAM || (typeof current === 'bigint' && current < 0n) ? null : Number(current);

const fromClientExpected = (expected: AppendStreamState): ExpectedRevision =>
  expected === ANY ? 'any' : expected === NO_STREAM ? 'no_stream' : expected === 'stream_exists' ? 'any' : Number(expected);

export const toGlobalPosition = (position: Position | undefined): GlobalPosition => {
  if (!position) {
    throw new Error('KurrentDB returned an event without its log position; KurrentDB (or EventStoreDB 22.6) or newer is required.');
  }
  return { major: position.commit, minor: position.prepare };
};

export const toReadPosition = (after: GlobalPosition): ReadPosition =>
  comparePositions(after, START) === 0 ? 'start' : { commit: after.major, prepare: after.minor };

/**
 * Whether an event in `$all` belongs to the domain log: not a system event, not our bookkeeping,
 * and written through our envelope (a shared server may hold other applications' events).
 */
export const isDomainEvent = (event: Pick<ClientRecordedEvent, 'streamId' | 'type' | 'isJson' | 'metadata'>): boolean =>
  event.isJson &&
  !event.type.startsWith('$') &&
  !event.streamId.startsWith('$') &&
  !event.streamId.startsWith(IDEMPOTENCY_STREAM_PREFIX) &&
  typeof (event.metadata as { schemaVersion?: unknown } | undefined)?.schemaVersion === 'string';

/** Our envelope as a JSON event. */
export const toEventData = (event: NewEvent): JSONEventData => ({
  id: event.id,
  contentType: 'application/json',
  type: event.type,
  data: event.data as JSONType,
  metadata: encodeMetadata(event.metadata, event.schemaVersion),
});

export const fromClientEvent = (event: ClientRecordedEvent): RecordedEvent => {
  const { metadata, schemaVersion } = decodeMetadata((event.metadata ?? {}) as Record<string, unknown>);
  return {
    id: event.id,
    type: event.type,
    schemaVersion,
    data: event.data as object,
    metadata,
    streamId: event.streamId,
    revision: Number(event.revision),
    position: toGlobalPosition(event.position),
  };
};

/** The first broken expectation of a failed atomic append, as the stream it concerns and its actual revision. */
export const conflictOf = (error: unknown): { streamId: string; expected: ExpectedRevision; actual: number | null } | null => {
  if (error instanceof WrongExpectedVersionError) {
    return { streamId: error.streamName, expected: fromClientExpected(error.expectedState), actual: fromClientRevision(error.actualState) };
  }
  if (error instanceof AppendConsistencyViolationError && error.violations.length > 0) {
    const [first] = error.violations;
    return { streamId: first!.streamName, expected: fromClientExpected(first!.expectedState), actual: fromClientRevision(first!.actualState) };
  }
  return null;
};

/** The record an idempotency key's stream holds: every stream the append named, and the ids it stored. */
export interface KeyRecord {
  /** Every stream of the append, written or checked, sorted: a retry must name the same ones. */
  readonly streams: readonly string[];
  readonly eventIds: readonly string[];
}

const KEY_EVENT_TYPE = 'IdempotencyKeyUsed';

const EMPTY_APPEND: AppendResult = Object.freeze({ events: [], streamRevisions: {}, lastPosition: START, duplicate: false });

/** `readAll` asks for this many raw events at least, since events outside the domain log are skipped. */
const MIN_PAGE = 128;

/** How far past a key's record `readIdempotencyKey` looks for the events it names before giving up. */
const KEY_SEARCH_LIMIT = 10_000;

/**
 * KurrentDB through `@kurrent/kurrentdb-client`.
 *
 * Appends. One stream without a key or checks: the v1 append (every server version). Several
 * streams, or an idempotency key: one atomic append, with `appendRecords` on KurrentDB 26.1+ (every
 * expected revision as a consistency check) or `multiStreamAppend` on 25.1+ (each stream with its
 * expected state). Checks of streams the command read but does not write need `appendRecords`
 * (26.1+); on 25.1 and 26.0 such a command is refused before anything is written, with an error
 * naming the version it needs (there is no sound way to check a stream there without writing to
 * it). Older servers can append to one stream at a time, without keys.
 *
 * Idempotency keys. A key owns the stream `_idempotency-<sha256(key)>`, whose one event
 * (`IdempotencyKeyUsed`: the streams named and the event ids) is written first in the same atomic
 * append as the command's events, expecting that stream not to exist. Of concurrent callers with
 * one key exactly one append passes; the others fail on the key stream and read the winner's
 * events. A conflict on a domain stream writes nothing, the key included, so it stays free for the
 * retry. `readIdempotencyKey` reads the key's event and finds the events it names in `$all` just
 * after it (a server-side filter on the named streams).
 */
export class KurrentEventStore implements EventStore {
  readonly name = 'KurrentDB';
  // Its events are kept whole (no table beside the log to split personal data into); erasure is refused.
  readonly erasesPersonalData = false;

  private version: Promise<string> | null = null;

  constructor(private readonly client: KurrentClient) {}

  static connect(connectionString: string): KurrentEventStore {
    return new KurrentEventStore(wrapClient(KurrentDBClient.connectionString(connectionString)));
  }

  /** The connected server's version, asked once. */
  serverVersion(): Promise<string> {
    this.version ??= this.client.serverVersion().catch((error: unknown) => {
      this.version = null;
      throw error;
    });
    return this.version;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    const events = await this.readEvents(streamId, {
      fromRevision: BigInt(options.fromRevision ?? 0),
      ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
    });
    if (events === null) return { events: [], currentRevision: null };
    // A bounded or offset read need not end at the stream's last event.
    const whole = options.maxCount === undefined && (options.fromRevision ?? 0) === 0;
    const currentRevision = (whole ? events.at(-1)?.revision : undefined) ?? (await this.lastRevision(streamId));
    return { events, currentRevision };
  }

  async appendToStreams(writes: readonly StreamWrite[], options: AppendOptions = {}): Promise<AppendResult> {
    const written = writes.filter((write) => write.events.length > 0);
    if (written.length === 0) return EMPTY_APPEND;
    // A check with `any` checks nothing.
    const checked = writes.filter((write) => write.events.length === 0 && write.expectedRevision !== 'any');
    const key = options.idempotencyKey;
    if (written.length === 1 && checked.length === 0 && key === undefined) return resultOf(await this.appendOne(written[0]!), false);

    const streams = [...new Set(writes.map((write) => write.streamId))].sort();
    if (key !== undefined) {
      const earlier = await this.earlierUse(key, streams);
      if (earlier) return resultOf(earlier, true);
    }
    const version = await this.serverVersion();
    const useRecords = serverHas(version, 'appendRecordsChecks');
    if (checked.length > 0 && !useRecords) {
      throw new EventStoreFeatureUnsupportedError('appendRecordsChecks', version, checked.map((write) => write.streamId));
    }
    if (!useRecords && !serverHas(version, 'multiStreamAppend')) {
      throw new EventStoreFeatureUnsupportedError('multiStreamAppend', version, key === undefined ? streams : [...streams, idempotencyStreamId(key)]);
    }
    const keyWrite: StreamWrite[] =
      key === undefined
        ? []
        : [
            {
              streamId: idempotencyStreamId(key),
              expectedRevision: 'no_stream',
              events: [keyEvent({ streams, eventIds: written.flatMap((write) => write.events.map((event) => event.id)) })],
            },
          ];
    // The key's record goes first, so the events it names follow it in the log.
    const all = [...keyWrite, ...written];
    try {
      if (useRecords) {
        await this.client.appendRecords(
          all.flatMap((write) => write.events.map((event) => ({ streamName: write.streamId, record: toEventData(event) }))),
          [...all, ...checked]
            .filter((write) => write.expectedRevision !== 'any')
            .map((write) => ({ type: STREAM_STATE, streamName: write.streamId, expectedState: toClientExpectedRevision(write.expectedRevision) })),
        );
      } else {
        await this.client.multiStreamAppend(
          all.map((write) => ({
            streamName: write.streamId,
            events: write.events.map(toEventData),
            expectedState: toClientExpectedRevision(write.expectedRevision),
          })),
        );
      }
    } catch (error) {
      const conflict = conflictOf(error);
      if (!conflict) throw error;
      // Another caller with the same key got there first (whichever stream the server named).
      if (key !== undefined) {
        const earlier = await this.earlierUse(key, streams);
        if (earlier) return resultOf(earlier, true);
      }
      throw new WrongExpectedRevisionError(conflict.streamId, conflict.expected, conflict.actual);
    }
    // The atomic appends answer with revisions and one log position, not the events' positions: read them back.
    const stored = await Promise.all(written.map((write) => this.readBack(write)));
    return resultOf(
      stored.flat().sort((a, b) => comparePositions(a.position, b.position)),
      false,
    );
  }

  async readIdempotencyKey(idempotencyKey: string): Promise<readonly RecordedEvent[] | null> {
    const found = await this.readKey(idempotencyKey);
    return found ? this.eventsOfKey(found.record, found.position) : null;
  }

  async readAll(options: ReadAllOptions = {}): Promise<readonly RecordedEvent[]> {
    const wanted = options.maxCount ?? 1000;
    if (wanted <= 0) return [];
    const pageSize = Math.max(wanted + 1, MIN_PAGE);
    const events: RecordedEvent[] = [];
    // `fromPosition` is inclusive; our `after` is not, so everything up to the cursor is skipped.
    let cursor = options.after ?? START;
    for (;;) {
      let raw = 0;
      for await (const resolved of this.client.readAll({
        fromPosition: toReadPosition(cursor),
        maxCount: pageSize,
        direction: FORWARDS,
        filter: domainFilter(),
      })) {
        raw++;
        const event = resolved.event;
        if (!event) continue;
        const position = toGlobalPosition(event.position);
        if (comparePositions(position, cursor) <= 0) continue;
        cursor = position;
        if (!isDomainEvent(event)) continue;
        events.push(fromClientEvent(event));
        if (events.length === wanted) return events;
      }
      if (raw < pageSize) return events;
    }
  }

  async readAt(positions: readonly GlobalPosition[]): Promise<readonly RecordedEvent[]> {
    // A read of the log from a position (inclusive) starts with the event there, if there is one.
    const found = await Promise.all(
      positions.map(async (position) => {
        for await (const resolved of this.client.readAll({ fromPosition: toReadPosition(position), maxCount: 1, direction: FORWARDS })) {
          const event = resolved.event;
          if (event && isDomainEvent(event) && comparePositions(toGlobalPosition(event.position), position) === 0) return fromClientEvent(event);
        }
        return null;
      }),
    );
    return found.filter((event): event is RecordedEvent => event !== null);
  }

  /** KurrentDB shows readers every committed event at once: the committed head is the head. */
  readCommittedHead(): Promise<GlobalPosition> {
    return this.readHead();
  }

  async readHead(): Promise<GlobalPosition> {
    let before: GlobalPosition | null = null;
    for (;;) {
      let raw = 0;
      let last: GlobalPosition | null = null;
      const fromPosition: ReadPosition = before ? { commit: before.major, prepare: before.minor } : END;
      for await (const resolved of this.client.readAll({ fromPosition, maxCount: MIN_PAGE, direction: BACKWARDS, filter: domainFilter() })) {
        raw++;
        const event = resolved.event;
        if (!event) continue;
        const position = toGlobalPosition(event.position);
        // Whether a backward read includes its starting position is not specified; skip it if so.
        if (before && comparePositions(position, before) >= 0) continue;
        if (isDomainEvent(event)) return position;
        last = position;
      }
      if (raw < MIN_PAGE || last === null) return START;
      before = last;
    }
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  /** The events of a stream, or `null` when it does not exist. */
  private async readEvents(streamId: string, options: ClientReadStreamOptions): Promise<RecordedEvent[] | null> {
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId, options)) {
        if (resolved.event) events.push(fromClientEvent(resolved.event));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return null;
      throw error;
    }
    return events;
  }

  private async lastRevision(streamId: string): Promise<number | null> {
    try {
      for await (const resolved of this.client.readStream(streamId, { fromRevision: END, direction: BACKWARDS, maxCount: 1 })) {
        if (resolved.event) return Number(resolved.event.revision);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return null;
      throw error;
    }
    return null;
  }

  /** One stream, no key, no checks: the v1 append, which every server version has. */
  private async appendOne(write: StreamWrite): Promise<RecordedEvent[]> {
    let appended: ClientAppendResult;
    try {
      appended = await this.client.appendToStream(write.streamId, write.events.map(toEventData), {
        streamState: toClientExpectedRevision(write.expectedRevision),
      });
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new WrongExpectedRevisionError(write.streamId, write.expectedRevision, fromClientRevision(error.actualState));
      }
      throw error;
    }
    return this.readBack(write, Number(appended.nextExpectedRevision));
  }

  /**
   * The events of a write as stored. Their stream ends at them right after the append (`last`),
   * unless someone appended since: then they are found by id among the stream's newest events.
   */
  private async readBack(write: StreamWrite, last?: number): Promise<RecordedEvent[]> {
    const count = write.events.length;
    const ids = write.events.map((event) => event.id).join();
    const from =
      last !== undefined ? last - count + 1 : typeof write.expectedRevision === 'number' ? write.expectedRevision + 1 : write.expectedRevision === 'no_stream' ? 0 : null;
    if (from !== null) {
      const stored = (await this.readEvents(write.streamId, { fromRevision: BigInt(from), maxCount: count })) ?? [];
      if (stored.map((event) => event.id).join() === ids) return stored;
    }
    // `any`: the events are the stream's newest but for what others appended since; look back for them.
    const newest: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(write.streamId, { fromRevision: END, direction: BACKWARDS, maxCount: KEY_SEARCH_LIMIT })) {
        if (!resolved.event) continue;
        newest.unshift(fromClientEvent(resolved.event));
        const index = newest.findIndex((event) => event.id === write.events[0]!.id);
        if (index >= 0 && newest.length - index >= count) {
          const stored = newest.slice(index, index + count);
          if (stored.map((event) => event.id).join() === ids) return stored;
        }
      }
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    throw new Error(`KurrentDB accepted events for ${write.streamId} that reading the stream back does not find.`);
  }

  /** The events an earlier append with this key stored; IDEMPOTENCY_KEY_REUSED if it named other streams. */
  private async earlierUse(idempotencyKey: string, streams: readonly string[]): Promise<RecordedEvent[] | null> {
    const found = await this.readKey(idempotencyKey);
    if (!found) return null;
    if (found.record.streams.join('\n') !== streams.join('\n')) throw new IdempotencyKeyReusedError(idempotencyKey);
    return this.eventsOfKey(found.record, found.position);
  }

  private async readKey(idempotencyKey: string): Promise<{ record: KeyRecord; position: GlobalPosition } | null> {
    try {
      for await (const resolved of this.client.readStream(idempotencyStreamId(idempotencyKey), { fromRevision: BigInt(0), maxCount: 1 })) {
        if (resolved.event) return { record: resolved.event.data as unknown as KeyRecord, position: toGlobalPosition(resolved.event.position) };
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return null;
      throw error;
    }
    return null;
  }

  /** The events a key's record names: in `$all` after it, read with a server-side filter on their streams. */
  private async eventsOfKey(record: KeyRecord, keyPosition: GlobalPosition): Promise<RecordedEvent[]> {
    const wanted = new Set(record.eventIds);
    const found = new Map<string, RecordedEvent>();
    const filter = streamNameFilter({ prefixes: [...record.streams] });
    let cursor = keyPosition;
    let scanned = 0;
    while (found.size < wanted.size && scanned < KEY_SEARCH_LIMIT) {
      let raw = 0;
      for await (const resolved of this.client.readAll({ fromPosition: toReadPosition(cursor), maxCount: MIN_PAGE, direction: FORWARDS, filter })) {
        raw++;
        const event = resolved.event;
        if (!event) continue;
        const position = toGlobalPosition(event.position);
        if (comparePositions(position, cursor) <= 0) continue;
        cursor = position;
        if (wanted.has(event.id) && isDomainEvent(event)) found.set(event.id, fromClientEvent(event));
      }
      scanned += raw;
      if (raw < MIN_PAGE) break;
    }
    if (found.size < wanted.size) {
      throw new Error(`KurrentDB holds the record of an idempotency key but ${wanted.size - found.size} of its ${wanted.size} events were not found after it.`);
    }
    return [...found.values()].sort((a, b) => comparePositions(a.position, b.position));
  }
}

const keyEvent = (record: KeyRecord): NewEvent => ({
  id: randomUUID(),
  type: KEY_EVENT_TYPE,
  schemaVersion: 1,
  data: record,
  metadata: { occurredAt: new Date().toISOString(), actor: { id: 'event-store', role: 'system' }, correlationId: '', causationId: '' },
});

const domainFilter = (): Filter => streamNameFilter({ regex: DOMAIN_STREAMS_REGEX });

const resultOf = (events: readonly RecordedEvent[], duplicate: boolean): AppendResult => {
  const streamRevisions: Record<string, number> = {};
  for (const event of events) streamRevisions[event.streamId] = Math.max(streamRevisions[event.streamId] ?? -1, event.revision);
  return { events, streamRevisions, lastPosition: events.at(-1)?.position ?? START, duplicate };
};
