/**
 * The event store port. Every adapter (PostgreSQL, embedded PGlite, KurrentDB) implements it and
 * passes the same contract suite (`test/eventstore/eventStore.contract.ts`).
 */

/** Who caused an event. `system` is used for automatic moves (AI→SI, expiry, reminders). */
export type Role = 'admin' | 'coordinator' | 'mentor' | 'mentee' | 'manager' | 'auditor' | 'analyst' | 'system';

export const ROLES: readonly Role[] = ['admin', 'coordinator', 'mentor', 'mentee', 'manager', 'auditor', 'analyst', 'system'];

export interface Actor {
  readonly id: string;
  readonly role: Role;
}

export interface EventMetadata {
  /** When the fact happened, ISO-8601, from the pipeline's clock (never the database's). */
  readonly occurredAt: string;
  readonly actor: Actor;
  /** Why, as the person who caused it said. */
  readonly reason?: string;
  /** Shared by every event that came of one request. */
  readonly correlationId: string;
  /** The id of the command (or event) that directly caused this event. */
  readonly causationId: string;
  /** The command type that produced the event, e.g. `ChangeUserStatus`. */
  readonly command?: string;
  /**
   * Set by the SQL stores on an event whose personal fields (src/domain/personalData.ts) were kept
   * in its row's personal columns (outside the hash) rather than in its data: which ones. Reads
   * merge them back (or their erased form).
   */
  readonly personalData?: { readonly fields: readonly string[]; readonly metadata?: readonly string[] };
}

/** A domain event as deciders produce it: `{ type, data }`, readonly. */
export interface DomainEvent<Type extends string = string, Data extends object = object> {
  readonly type: Type;
  readonly data: Data;
}

/** An event ready to append: the domain event plus envelope. */
export interface NewEvent<E extends DomainEvent = DomainEvent> {
  readonly id: string;
  readonly type: E['type'];
  readonly schemaVersion: number;
  readonly data: E['data'];
  readonly metadata: EventMetadata;
}

/**
 * An ordered place in the global log. Compare with `comparePositions`; never do arithmetic on it.
 * PostgreSQL/PGlite: `major` is the id of the transaction that wrote the event and `minor` the
 * event's sequence number (readers order by both and only read below the oldest running
 * transaction, so a late commit is never skipped). KurrentDB: commit and prepare positions.
 */
export interface GlobalPosition {
  readonly major: bigint;
  readonly minor: bigint;
}

export const START: GlobalPosition = Object.freeze({ major: 0n, minor: 0n });

export const comparePositions = (a: GlobalPosition, b: GlobalPosition): number =>
  a.major !== b.major ? (a.major < b.major ? -1 : 1) : a.minor === b.minor ? 0 : a.minor < b.minor ? -1 : 1;

export const formatPosition = (p: GlobalPosition): string => `${p.major}.${p.minor}`;

export const parsePosition = (text: string): GlobalPosition | null => {
  const match = /^(\d{1,20})\.(\d{1,20})$/.exec(text.trim());
  return match ? { major: BigInt(match[1]!), minor: BigInt(match[2]!) } : null;
};

export interface RecordedEvent<E extends DomainEvent = DomainEvent> extends NewEvent<E> {
  readonly streamId: string;
  /** 0-based revision of the event within its stream. */
  readonly revision: number;
  readonly position: GlobalPosition;
  /**
   * SQL stores (PostgreSQL, PGlite): the event's link in its stream's hash chain, SHA-256 as 64 hex
   * digits, which `verifyChains` (tamperEvidence.ts) recomputes. Undefined on KurrentDB, which keeps
   * no such chain (its log is append-only by construction), and on an SQL event whose stream still
   * awaits the hash backfill.
   */
  readonly hash?: string;
}

/**
 * `any`: no check; `no_stream`: the stream must not exist yet; a number: the revision of the
 * stream's last event must be exactly this.
 */
export type ExpectedRevision = 'any' | 'no_stream' | number;

/**
 * Events for one stream at the revision the writer read. A write with no events and a numeric
 * revision, or `no_stream`, is a *check*: the append fails with a conflict unless that stream is
 * still at that revision (still does not exist) when the other writes commit (a decision that read a
 * stream without changing it).
 * Adapters without atomic multi-stream appends (KurrentDB) cannot check and ignore such writes.
 */
export interface StreamWrite {
  readonly streamId: string;
  readonly expectedRevision: ExpectedRevision;
  readonly events: readonly NewEvent[];
}

export interface AppendOptions {
  /**
   * A key the caller chose for this command. An append retried with the same key writes nothing
   * and returns the result of the first one (with `duplicate: true`).
   */
  readonly idempotencyKey?: string;
}

export interface AppendResult {
  /** The events as stored (on a duplicate: the events the first call stored). */
  readonly events: readonly RecordedEvent[];
  /** The revision of each written stream's last event after the append. */
  readonly streamRevisions: Readonly<Record<string, number>>;
  /** Position of the last event written (START when nothing was written). */
  readonly lastPosition: GlobalPosition;
  readonly duplicate: boolean;
}

export interface ReadStreamOptions {
  readonly fromRevision?: number;
  readonly maxCount?: number;
}

export interface ReadStreamResult {
  readonly events: readonly RecordedEvent[];
  /** Revision of the stream's last event, or `null` when the stream does not exist. */
  readonly currentRevision: number | null;
}

export interface ReadAllOptions {
  /** Read events strictly after this position (default: from the beginning). */
  readonly after?: GlobalPosition;
  readonly maxCount?: number;
}

export interface EventStore {
  readonly name: string;
  /**
   * Whether personal data can be erased (an append of `PersonalDataErased` erases its subjects'
   * personal data while the log stays whole). SQL stores: yes. KurrentDB keeps events whole: no.
   */
  readonly erasesPersonalData: boolean;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult>;
  /** Atomic: every write is checked against its expected revision, and all or none are stored. */
  appendToStreams(writes: readonly StreamWrite[], options?: AppendOptions): Promise<AppendResult>;
  /**
   * One batch of the global log in stable order. Under concurrent writers every event is returned
   * exactly once across successive calls that pass the previous batch's last position.
   */
  readAll(options?: ReadAllOptions): Promise<readonly RecordedEvent[]>;
  /**
   * The events at these positions, in the order asked for; a position no event is at is left out.
   * For read models that keep positions and render from the event (a user's history).
   */
  readAt(positions: readonly GlobalPosition[]): Promise<readonly RecordedEvent[]>;
  /** The events a first append with this idempotency key stored, or `null` if the key is unused. */
  readIdempotencyKey(idempotencyKey: string): Promise<readonly RecordedEvent[] | null>;
  /** The position a reader that has read everything currently visible would be at. */
  readHead(): Promise<GlobalPosition>;
  /**
   * The position of the newest committed event, also when readers cannot see it yet because an
   * older transaction is still running (SQL stores; readers wait for that one and then read it).
   * "Everything recorded before now", for a command that acts on all of something.
   */
  readCommittedHead(): Promise<GlobalPosition>;
  close(): Promise<void>;
}

export const appendToStream = (
  store: EventStore,
  streamId: string,
  expectedRevision: ExpectedRevision,
  events: readonly NewEvent[],
  options?: AppendOptions,
): Promise<AppendResult> => store.appendToStreams([{ streamId, expectedRevision, events }], options);

/** Async iteration over the global log, batch by batch. */
export async function* readAllForward(
  store: EventStore,
  options: { after?: GlobalPosition; batchSize?: number } = {},
): AsyncGenerator<RecordedEvent> {
  let after = options.after ?? START;
  const batchSize = options.batchSize ?? 500;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: batchSize });
    for (const event of batch) yield event;
    if (batch.length < batchSize) return;
    after = batch[batch.length - 1]!.position;
  }
}

export class WrongExpectedRevisionError extends Error {
  readonly code = 'CONCURRENCY_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | null,
  ) {
    super(
      `Stream ${streamId} was expected at ${expected === 'no_stream' ? 'no stream' : `revision ${expected}`} ` +
        `but is at ${actual === null ? 'no stream' : `revision ${actual}`}; someone else changed it first. Reload and try again.`,
    );
    this.name = 'WrongExpectedRevisionError';
  }
}

export class IdempotencyKeyReusedError extends Error {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor(readonly idempotencyKey: string) {
    super(`Idempotency key "${idempotencyKey}" was already used for a different command. Use a new key for a new command.`);
    this.name = 'IdempotencyKeyReusedError';
  }
}
