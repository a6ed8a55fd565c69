import { createHash, randomUUID } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type AppendResult as ClientAppendResult,
  type AppendToStreamOptions,
  type CurrentRevision,
  type JSONEventData,
  type JSONType,
  type Position,
  type ReadAllOptions as ClientReadAllOptions,
  type ReadPosition,
  type ReadStreamOptions as ClientReadStreamOptions,
  type RecordedEvent as ClientRecordedEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';
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
  type StreamWrite,
} from './eventStore';

/**
 * The part of `EventStoreDBClient` this adapter uses. The real client satisfies it; unit tests pass
 * an in-memory stand-in.
 */
export interface KurrentClient {
  appendToStream(streamName: string, events: JSONEventData[], options: AppendToStreamOptions): Promise<ClientAppendResult>;
  readStream(streamName: string, options: ClientReadStreamOptions): AsyncIterable<ResolvedEvent>;
  readAll(options: ClientReadAllOptions): AsyncIterable<AllStreamResolvedEvent>;
  dispose(): Promise<void>;
}

/** Refuses, before writing anything, an append that would need atomicity across streams. */
export class MultiStreamAppendUnsupportedError extends Error {
  readonly code = 'MULTI_STREAM_APPEND_UNSUPPORTED';
  constructor(readonly streamIds: readonly string[]) {
    super(
      `This command writes to ${streamIds.length} streams at once (${streamIds.join(', ')}), which must happen atomically. ` +
        'The KurrentDB adapter (@eventstore/db-client) cannot append to several streams atomically, so nothing was written. ' +
        'Run multi-stream commands such as matching and closing a match on the PostgreSQL or embedded store; ' +
        'KurrentDB 25.1+ with its newer client can append to several streams atomically (future work for this adapter).',
    );
    this.name = 'MultiStreamAppendUnsupportedError';
  }
}

/** Bookkeeping streams for idempotency keys; kept out of `readAll` and `readHead`. */
export const IDEMPOTENCY_STREAM_PREFIX = '_idempotency-';

/** Keys are caller-chosen text of any length; the stream name is a fixed-size digest of it. */
export const idempotencyStreamId = (idempotencyKey: string): string =>
  IDEMPOTENCY_STREAM_PREFIX + createHash('sha256').update(idempotencyKey, 'utf8').digest('hex');

export const toClientExpectedRevision = (expected: ExpectedRevision): AppendExpectedRevision =>
  expected === 'any' ? ANY : expected === 'no_stream' ? NO_STREAM : BigInt(expected);

/** The client reports a missing stream as `no_stream` (or -1 from older servers). */
export const fromClientRevision = (current: CurrentRevision): number | null =>
  current === NO_STREAM || current < 0n ? null : Number(current);

export const toGlobalPosition = (position: Position | undefined): GlobalPosition => {
  if (!position) {
    throw new Error('KurrentDB returned an event without its log position; EventStoreDB 22.6 or newer is required.');
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
  typeof (event.metadata as { schemaVersion?: unknown } | undefined)?.schemaVersion === 'number';

type StoredMetadata = EventMetadata & { readonly schemaVersion: number };

/** Our envelope as a JSON event: the schema version travels in the metadata. */
export const toEventData = (event: NewEvent): JSONEventData => ({
  id: event.id,
  contentType: 'application/json',
  type: event.type,
  data: event.data as JSONType,
  metadata: { ...event.metadata, schemaVersion: event.schemaVersion } satisfies StoredMetadata,
});

export const fromClientEvent = (event: ClientRecordedEvent): RecordedEvent => {
  const { schemaVersion, ...metadata } = event.metadata as unknown as StoredMetadata;
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

export const translateAppendError = (error: unknown, write: Pick<StreamWrite, 'streamId' | 'expectedRevision'>): unknown =>
  error instanceof WrongExpectedVersionError
    ? new WrongExpectedRevisionError(write.streamId, write.expectedRevision, fromClientRevision(error.actualVersion))
    : error;

/** Events of the key's bookkeeping stream. Only the last one matters. */
type KeyRecord =
  | { readonly type: 'IdempotencyKeyReserved'; readonly data: Reservation }
  | { readonly type: 'IdempotencyKeyCompleted'; readonly data: { streamId: string; firstRevision: number; eventIds: string[] } }
  | { readonly type: 'IdempotencyKeyReleased'; readonly data: { streamId: string } };

interface Reservation {
  readonly streamId: string;
  readonly expectedRevision: ExpectedRevision;
  readonly events: readonly NewEvent[];
}

interface KeyState {
  readonly revision: number;
  readonly record: KeyRecord;
}

const EMPTY_APPEND: AppendResult = Object.freeze({ events: [], streamRevisions: {}, lastPosition: START, duplicate: false });

// Bounds the retries of a keyed append whose key is contended; every retry means another caller
// moved the key on, so running out means heavy contention on one key, not a stuck loop.
const MAX_KEY_ATTEMPTS = 10;

/** `readAll` asks for this many raw events at least, since system events are filtered out here. */
const MIN_PAGE = 128;

/**
 * KurrentDB / EventStoreDB through `@eventstore/db-client`.
 *
 * Single-stream appends only: this client has no atomic multi-stream append, and faking one
 * (write, then compensate) would let readers see half a command. Such appends are refused with
 * MULTI_STREAM_APPEND_UNSUPPORTED before anything is written.
 *
 * Idempotency keys. A key owns a bookkeeping stream `_idempotency-<sha256(key)>` whose last event
 * says where the key stands: Reserved (with the full write), Completed (where the events landed) or
 * Released (the write was refused; the key is free again). A keyed append:
 *   1. reserves the key by appending Reserved at the key stream's expected revision; of concurrent
 *      callers exactly one succeeds, and the others wait for the winner's outcome instead;
 *   2. appends the reserved events, with the reserved ids and expected revision;
 *   3. records Completed (or Released on a revision conflict).
 * A reservation still unfinished after `takeOverAfterMs` (its writer crashed, or is very slow) is
 * finished by whoever waits on it, by repeating step 2 with the same ids: the server treats a
 * repeated append of ids it already stored as a no-op that reports where they landed (durably with
 * `no_stream` or an exact revision; from a cache of recent ids with `any`). Waiting first matters:
 * the server silently drops a repeat that arrives before the original is indexed, and the client
 * then only sees its deadline pass. So every caller with one key gets the first caller's events, a
 * crash between the steps is repaired by the next caller, and `readIdempotencyKey` may write
 * (steps 2-3) to give a final answer.
 */
export class KurrentEventStore implements EventStore {
  readonly name = 'KurrentDB';
  // Its events are kept whole (no table beside the log to split personal data into); erasure is refused.
  readonly erasesPersonalData = false;

  private readonly takeOverAfterMs: number;

  constructor(
    private readonly client: KurrentClient,
    options: { takeOverAfterMs?: number } = {},
  ) {
    this.takeOverAfterMs = options.takeOverAfterMs ?? 2_000;
  }

  static connect(connectionString: string): KurrentEventStore {
    return new KurrentEventStore(EventStoreDBClient.connectionString(connectionString));
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
    const nonEmpty = writes.filter((write) => write.events.length > 0);
    if (nonEmpty.length === 0) return EMPTY_APPEND;
    if (nonEmpty.length > 1) throw new MultiStreamAppendUnsupportedError(nonEmpty.map((write) => write.streamId));
    const write = nonEmpty[0]!;
    if (options.idempotencyKey === undefined) return resultOf(await this.append(write), false);
    return this.appendOnce(write, options.idempotencyKey);
  }

  async readIdempotencyKey(idempotencyKey: string): Promise<readonly RecordedEvent[] | null> {
    const key = await this.readKey(idempotencyKey);
    if (!key || key.record.type === 'IdempotencyKeyReleased') return null;
    return this.settle(idempotencyKey, key);
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
      for await (const resolved of this.client.readAll({ fromPosition: toReadPosition(cursor), maxCount: pageSize, direction: FORWARDS })) {
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
      for await (const resolved of this.client.readAll({ fromPosition, maxCount: MIN_PAGE, direction: BACKWARDS })) {
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

  /**
   * Appends one stream's events and returns them as stored. They are read back because the append
   * reports only the stream revision (and no position at all when it was a repeat of an earlier one).
   */
  private async append(write: Reservation): Promise<RecordedEvent[]> {
    let appended: ClientAppendResult;
    try {
      appended = await this.client.appendToStream(write.streamId, write.events.map(toEventData), {
        expectedRevision: toClientExpectedRevision(write.expectedRevision),
      });
    } catch (error) {
      throw translateAppendError(error, write);
    }
    const count = write.events.length;
    const first = Number(appended.nextExpectedRevision) - count + 1;
    const stored = (await this.readEvents(write.streamId, { fromRevision: BigInt(first), maxCount: count })) ?? [];
    if (stored.map((event) => event.id).join() !== write.events.map((event) => event.id).join()) {
      throw new Error(`KurrentDB reported events for ${write.streamId} at revisions ${first}.. that the stream does not hold there.`);
    }
    return stored;
  }

  private async appendOnce(write: StreamWrite, idempotencyKey: string): Promise<AppendResult> {
    for (let attempt = 1; attempt <= MAX_KEY_ATTEMPTS; attempt++) {
      const key = await this.readKey(idempotencyKey);
      if (key && key.record.type !== 'IdempotencyKeyReleased') {
        if (key.record.data.streamId !== write.streamId) throw new IdempotencyKeyReusedError(idempotencyKey);
        const earlier = await this.settle(idempotencyKey, key);
        if (earlier?.some((event) => event.streamId !== write.streamId)) throw new IdempotencyKeyReusedError(idempotencyKey);
        if (earlier) return resultOf(earlier, true);
        continue; // the earlier write was refused and the key released: ours may go ahead
      }
      const reservation: Reservation = { streamId: write.streamId, expectedRevision: write.expectedRevision, events: write.events };
      const reserved = await this.appendKeyRecord(idempotencyKey, key?.revision ?? null, {
        type: 'IdempotencyKeyReserved',
        data: reservation,
      });
      if (!reserved) continue; // another caller reserved the key first: the next round returns its result
      return resultOf(await this.finish(idempotencyKey, key ? key.revision + 1 : 0, reservation), false);
    }
    throw new Error(`Idempotency key "${idempotencyKey}" stayed contended for ${MAX_KEY_ATTEMPTS} attempts; try again.`);
  }

  /**
   * The events a reserved or completed key stands for, or `null` if its write was refused. Waits for
   * a reservation's own writer to finish it, and finishes it itself once that takes too long.
   */
  private async settle(idempotencyKey: string, key: KeyState): Promise<RecordedEvent[] | null> {
    const takeOverAt = Date.now() + this.takeOverAfterMs;
    let current = key;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      const { record } = current;
      switch (record.type) {
        case 'IdempotencyKeyCompleted': {
          const { streamId, firstRevision, eventIds } = record.data;
          return (await this.readEvents(streamId, { fromRevision: BigInt(firstRevision), maxCount: eventIds.length })) ?? [];
        }
        case 'IdempotencyKeyReleased':
          return null;
        case 'IdempotencyKeyReserved':
          if (Date.now() >= takeOverAt) {
            try {
              return await this.finish(idempotencyKey, current.revision, record.data);
            } catch (error) {
              if (error instanceof WrongExpectedRevisionError && error.streamId === record.data.streamId) return null;
              throw error;
            }
          }
          await new Promise((resolve) => setTimeout(resolve, pause));
          current = (await this.readKey(idempotencyKey)) ?? current;
      }
    }
  }

  /** Steps 2 and 3 for the reservation at `reservedAt` in the key stream; safe to run more than once. */
  private async finish(idempotencyKey: string, reservedAt: number, reservation: Reservation): Promise<RecordedEvent[]> {
    let events: RecordedEvent[];
    try {
      events = await this.append(reservation);
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) {
        await this.appendKeyRecord(idempotencyKey, reservedAt, { type: 'IdempotencyKeyReleased', data: { streamId: reservation.streamId } });
      }
      throw error;
    }
    // Whoever records the outcome first wins; every finisher saw the same outcome.
    await this.appendKeyRecord(idempotencyKey, reservedAt, {
      type: 'IdempotencyKeyCompleted',
      data: { streamId: reservation.streamId, firstRevision: events[0]!.revision, eventIds: events.map((event) => event.id) },
    });
    return events;
  }

  private async readKey(idempotencyKey: string): Promise<KeyState | null> {
    try {
      for await (const resolved of this.client.readStream(idempotencyStreamId(idempotencyKey), {
        fromRevision: END,
        direction: BACKWARDS,
        maxCount: 1,
      })) {
        if (resolved.event) {
          return { revision: Number(resolved.event.revision), record: { type: resolved.event.type, data: resolved.event.data } as KeyRecord };
        }
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return null;
      throw error;
    }
    return null;
  }

  /** Appends after revision `after` of the key stream (`null`: it must not exist); false if someone else did first. */
  private async appendKeyRecord(idempotencyKey: string, after: number | null, record: KeyRecord): Promise<boolean> {
    try {
      await this.client.appendToStream(
        idempotencyStreamId(idempotencyKey),
        [{ id: randomUUID(), contentType: 'application/json', type: record.type, data: record.data as unknown as JSONType, metadata: undefined }],
        { expectedRevision: after === null ? NO_STREAM : BigInt(after) },
      );
      return true;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return false;
      throw error;
    }
  }
}

const resultOf = (events: readonly RecordedEvent[], duplicate: boolean): AppendResult => {
  const streamRevisions: Record<string, number> = {};
  for (const event of events) streamRevisions[event.streamId] = Math.max(streamRevisions[event.streamId] ?? -1, event.revision);
  return { events, streamRevisions, lastPosition: events.at(-1)?.position ?? START, duplicate };
};
