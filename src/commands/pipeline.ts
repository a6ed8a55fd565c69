import { randomUUID } from 'node:crypto';
import {
  START,
  WrongExpectedRevisionError,
  IdempotencyKeyReusedError,
  type Actor,
  type DomainEvent,
  type EventStore,
  type GlobalPosition,
  type NewEvent,
  type RecordedEvent,
  type StreamWrite,
} from '../eventstore/eventStore';
import { DomainError, type Decider } from '../domain/shared/decider';
import { NO_TRACING, type Tracing } from '../observability/tracing';

/** Who, when and why: everything a command's events record besides their data. */
export interface CommandContext {
  readonly actor: Actor;
  /** The request's clock reading, ISO-8601. */
  readonly now: string;
  readonly correlationId: string;
  readonly reason?: string;
  readonly idempotencyKey?: string;
}

export interface StreamSpec<State, Event extends DomainEvent> {
  readonly streamId: string;
  readonly decider: Pick<Decider<never, State, Event>, 'initialState' | 'evolve'>;
}

/** A loaded stream: its folded state, and whether it exists. */
export interface Loaded<State> {
  readonly state: State;
  readonly revision: number | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnySpecs = Record<string, StreamSpec<any, any>>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type StateOf<S> = S extends StreamSpec<infer State, any> ? State : never;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EventOf<S> = S extends StreamSpec<any, infer Event> ? Event : never;
export type LoadedStreams<S extends AnySpecs> = { readonly [K in keyof S]: Loaded<StateOf<S[K]>> };
export type DecidedEvents<S extends AnySpecs> = { readonly [K in keyof S]?: readonly EventOf<S[K]>[] };

export interface CommandDefinition<S extends AnySpecs> {
  /** The command's name, recorded in each event's metadata (`ChangeUserStatus`). */
  readonly name: string;
  readonly streams: S;
  /** Pure: from the loaded states to the events for each stream. Throws DomainError to refuse. */
  readonly decide: (loaded: LoadedStreams<S>) => DecidedEvents<S>;
  /**
   * Streams the decision read but does not write, which must still be at the revision read when the
   * events are appended (matching turned off meanwhile must stop a match going live). A change there
   * is a conflict: the command is decided again on fresh state. A stream that did not exist must
   * still not exist (`no_stream`).
   */
  readonly checks?: readonly (keyof S & string)[];
  /**
   * Events the system makes by itself as a consequence of the command (the automatic AI → SI move
   * when an application is completed): the id of the system actor to credit, or null for the
   * caller's own events. Such an event records the system as its actor, the event before it in the
   * same stream as its cause, and none of the caller's reason.
   */
  readonly madeBySystem?: (event: DomainEvent) => string | null;
}

export interface CommandOutcome {
  readonly events: readonly RecordedEvent[];
  /** Position of the last event written; queries can wait for projections to reach it. */
  readonly position: GlobalPosition;
  /** True when an earlier call with the same idempotency key had done the work. */
  readonly duplicate: boolean;
}

export interface PipelineOptions {
  /** Attempts when another writer changed a stream between load and append. */
  readonly maxAttempts?: number;
  readonly newEventId?: () => string;
  /** Called after every successful append (the composition root wakes the projection runner). */
  readonly onAppended?: (outcome: CommandOutcome) => void;
  /** A span per command, named after it, with its outcome (OpenTelemetry; off by default). */
  readonly tracing?: Tracing;
  /** Told how every command ended and of every conflict retried (metrics). */
  readonly observer?: CommandObserver;
  /**
   * Keep the folded state of the streams commands touch, so the next command on a stream reads only
   * the events after it (one short query, whatever the stream's length) instead of the whole stream.
   * Off unless given (the composition root turns it on for the SQL store, whose tail read returns the
   * stream's revision in the same statement).
   */
  readonly stateCache?: StreamStateCacheOptions;
}

export interface StreamStateCacheOptions {
  /** Most streams kept; past it the least recently used go first, an eighth of them at once. */
  readonly maxStreams: number;
  /**
   * How long a state is used before the stream is read whole again. Bounds how long this process
   * keeps personal data that another instance erased from an event of a stream other than the
   * user's own (this instance's own erasures, and any erasure in the stream read, drop it at once).
   */
  readonly maxAgeMs: number;
  readonly now?: () => number;
}

/** An erasure changes what earlier events of the person read back as: a state folded before it is stale. */
const ERASURE = 'PersonalDataErased';

interface CachedState {
  readonly evolve: unknown;
  readonly state: unknown;
  readonly revision: number;
  readonly storedAt: number;
  /** When it was last stored or used, as a count of uses: the least recently used go first. */
  usedAt: number;
}

/**
 * Folded states by stream, as of a revision. A state is only ever extended by the events after its
 * revision, read in the same statement as the stream's current revision: if they do not account for
 * every revision since (a stream that was removed and made again, a store that changed underneath),
 * the stream is read whole. States are immutable (deciders' `evolve` returns a new state), so a
 * cached one can be shared.
 */
class StreamStates {
  private readonly entries = new Map<string, CachedState>();
  private readonly now: () => number;
  private uses = 0;

  constructor(private readonly options: StreamStateCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get(streamId: string, evolve: unknown): CachedState | undefined {
    const entry = this.entries.get(streamId);
    if (!entry) return undefined;
    if (entry.evolve !== evolve || this.now() - entry.storedAt > this.options.maxAgeMs) {
      this.entries.delete(streamId);
      return undefined;
    }
    entry.usedAt = ++this.uses;
    return entry;
  }

  set(streamId: string, evolve: unknown, state: unknown, revision: number, storedAt = this.now()): void {
    this.entries.set(streamId, { evolve, state, revision, storedAt, usedAt: ++this.uses });
    if (this.entries.size > this.options.maxStreams) this.evict();
  }

  /**
   * Drops the least recently used states, an eighth of `maxStreams` at once (at least one): a sort
   * every so many new streams. Keeping the map itself in order of use (a delete and a set on every
   * get and set) cost 3-4 µs a call in the embedded store's server under load, against 0.2 alone
   * (issue 19, eighth pass).
   */
  private evict(): void {
    const keep = Math.max(1, this.options.maxStreams - Math.floor(this.options.maxStreams / 8));
    const uses = Array.from(this.entries.values(), (entry) => entry.usedAt).sort((a, b) => a - b);
    // Uses are distinct: exactly the oldest `size - keep` go.
    const oldestKept = uses[uses.length - keep]!;
    for (const [streamId, entry] of this.entries) if (entry.usedAt < oldestKept) this.entries.delete(streamId);
  }

  /** When the state was last read whole (an extended state keeps it, so maxAgeMs bounds the oldest event's reading). */
  readAt(streamId: string): number | undefined {
    return this.entries.get(streamId)?.storedAt;
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * How a command ended: `appended` events, `replayed` an earlier call's result (idempotency key),
 * `unchanged` (nothing to do), `refused` by a rule (with its code), `conflict` (others kept changing
 * the same streams), `failed` (an unexpected error).
 */
export type CommandResult = 'appended' | 'replayed' | 'unchanged' | 'refused' | 'conflict' | 'failed';

export interface CommandObserver {
  outcome(command: string, result: CommandResult, code?: string): void;
  /** Another writer changed a stream between load and append; the command is decided again (or gives up). */
  conflict(command: string): void;
}

/**
 * Load every stream the command touches, fold each with its decider, decide, and append all the
 * events atomically with each stream's expected revision. A conflict reloads and decides again, a
 * bounded number of times, then is reported as CONCURRENCY_CONFLICT.
 */
export class CommandPipeline {
  private readonly maxAttempts: number;
  private readonly newEventId: () => string;
  private readonly onAppended: (outcome: CommandOutcome) => void;
  private readonly observer: CommandObserver | undefined;
  private readonly tracing: Tracing;
  private readonly states: StreamStates | null;

  constructor(
    private readonly store: EventStore,
    options: PipelineOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.newEventId = options.newEventId ?? randomUUID;
    this.onAppended = options.onAppended ?? (() => undefined);
    this.observer = options.observer;
    this.tracing = options.tracing ?? NO_TRACING;
    this.states = options.stateCache ? new StreamStates(options.stateCache) : null;
  }

  /** Events were appended outside this pipeline (or the store was changed underneath): forget what may be stale. */
  forgetStates(): void {
    this.states?.clear();
  }

  async execute<S extends AnySpecs>(context: CommandContext, command: CommandDefinition<S>): Promise<CommandOutcome> {
    if (!this.observer && !this.tracing.enabled) return this.run(context, command);
    return this.tracing.inSpan(`command ${command.name}`, { 'command.name': command.name }, async (span) => {
      const ended = (result: CommandResult, code?: string): void => {
        this.observer?.outcome(command.name, result, code);
        span.setAttributes({ 'command.outcome': result, 'command.refusal_code': code });
      };
      try {
        const outcome = await this.run(context, command);
        ended(outcome.duplicate ? 'replayed' : outcome.events.length === 0 ? 'unchanged' : 'appended');
        span.setAttributes({ 'command.events': outcome.events.length });
        return outcome;
      } catch (error) {
        if (error instanceof DomainError) ended(error.code === 'CONCURRENCY_CONFLICT' ? 'conflict' : 'refused', error.code);
        else ended('failed');
        throw error;
      }
    });
  }

  private async run<S extends AnySpecs>(context: CommandContext, command: CommandDefinition<S>): Promise<CommandOutcome> {
    const commandId = this.newEventId();
    // First decide on the kept states as they are, unread (see `load`); whatever that pass does not
    // append is decided again on read states.
    let unread = this.states !== null;
    let attempt = 1;
    for (;;) {
      if (context.idempotencyKey) {
        const earlier = await this.earlier(context.idempotencyKey, command.name);
        if (earlier) return earlier;
      }
      const keys = Object.keys(command.streams) as (keyof S & string)[];
      const loaded = {} as Record<keyof S, Loaded<unknown>>;
      const unreadKeys: (keyof S & string)[] = [];
      await Promise.all(
        keys.map(async (key) => {
          const kept = unread ? this.kept(command.streams[key]!) : undefined;
          if (kept) unreadKeys.push(key);
          loaded[key] = kept ?? (await this.load(command.streams[key]!));
        }),
      );
      unread = false;
      const guessed = unreadKeys.length > 0;
      let decided: DecidedEvents<S>;
      try {
        decided = command.decide(loaded as LoadedStreams<S>);
      } catch (error) {
        if (guessed) {
          // Refused on a state that may be behind the stream: only a read state may refuse.
          continue;
        }
        // A call with the same key that committed since the look above made the state refuse this one.
        const raced = error instanceof DomainError && context.idempotencyKey ? await this.earlier(context.idempotencyKey, command.name) : null;
        if (raced) return raced;
        throw error;
      }
      const writes: StreamWrite[] = keys
        .filter((key) => (decided[key]?.length ?? 0) > 0)
        .map((key) => ({
          streamId: command.streams[key]!.streamId,
          expectedRevision: loaded[key].revision ?? 'no_stream',
          events: this.envelopes(decided[key]!, context, command.name, command.madeBySystem, commandId),
        }));
      if (writes.length === 0) {
        // Likewise, only a read state may say there is nothing to do.
        if (!guessed) return { events: [], position: START, duplicate: false };
        continue;
      }
      // A stream decided on unread is checked like the command's own `checks`, written to or not.
      for (const key of new Set([...(command.checks ?? []), ...unreadKeys])) {
        const streamId = command.streams[key]!.streamId;
        if (!writes.some((write) => write.streamId === streamId)) {
          writes.push({ streamId, expectedRevision: loaded[key].revision ?? 'no_stream', events: [] });
        }
      }
      try {
        const result = await this.store.appendToStreams(writes, { idempotencyKey: context.idempotencyKey });
        const outcome = { events: result.events, position: result.lastPosition, duplicate: result.duplicate };
        if (this.states) this.remember(command.streams, loaded, result.events, result.duplicate);
        this.onAppended(outcome);
        return outcome;
      } catch (error) {
        if (isStoreFeatureUnsupported(error)) {
          const { feature, requiredServerVersion, serverVersion } = error as { feature?: string; requiredServerVersion?: string; serverVersion?: string };
          throw new DomainError('RULE_VIOLATED', (error as Error).message, {
            ...(feature ? { feature } : {}),
            ...(requiredServerVersion ? { requiredServerVersion } : {}),
            ...(serverVersion ? { serverVersion } : {}),
          });
        }
        if (error instanceof IdempotencyKeyReusedError) {
          // An overlapping call with the same key made its own fresh ids, so its streams differ from
          // these: the same command retried early, answered as a retry after it would be.
          const raced = await this.earlier(error.idempotencyKey, command.name);
          if (raced) return raced;
          throw new DomainError('IDEMPOTENCY_KEY_REUSED', error.message, { idempotencyKey: error.idempotencyKey });
        }
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (guessed) {
          // Another writer moved a stream past the kept state: the tail read finds what it appended.
          continue;
        }
        this.observer?.conflict(command.name);
        if (attempt >= this.maxAttempts) {
          throw new DomainError(
            'CONCURRENCY_CONFLICT',
            `Others kept changing the same records while this ${command.name} ran (${attempt} attempts). Try again.`,
            { streamId: error.streamId },
          );
        }
        attempt += 1;
      }
    }
  }

  /**
   * The kept state of a stream, unread. Deciding on it costs no statement, and is safe because the
   * append carries the kept revision as the stream's expected one: it commits only if the stream is
   * still where the state was folded to (the state then is exactly what a read would give: the tail
   * read's own checks, a gap or an erasure, need events after the kept revision, and there are none);
   * otherwise the store refuses it atomically, and the command is decided again on a read state.
   */
  private kept<State>(spec: StreamSpec<State, DomainEvent>): Loaded<State> | undefined {
    const cached = this.states?.get(spec.streamId, spec.decider.evolve);
    return cached && { state: cached.state as State, revision: cached.revision };
  }

  /** A stream's folded state: the cached state and the events after it, or the whole stream. */
  private async load<State>(spec: StreamSpec<State, DomainEvent>): Promise<Loaded<State>> {
    const { decider, streamId } = spec;
    const cached = this.states?.get(streamId, decider.evolve);
    if (cached) {
      const { events, currentRevision } = await this.store.readStream(streamId, { fromRevision: cached.revision + 1 });
      const whole =
        currentRevision !== null &&
        events.length === currentRevision - cached.revision &&
        (events.length === 0 || events[0]!.revision === cached.revision + 1) &&
        !events.some((event) => event.type === ERASURE);
      if (whole) {
        const state = events.reduce((folded, event) => decider.evolve(folded, event), cached.state as State);
        if (events.length > 0) this.states!.set(streamId, decider.evolve, state, currentRevision, cached.storedAt);
        return { state, revision: currentRevision };
      }
      this.states!.delete(streamId);
    }
    const { events, currentRevision } = await this.store.readStream(streamId);
    const state = events.reduce((folded, event) => decider.evolve(folded, event), decider.initialState());
    if (this.states && currentRevision !== null) this.states.set(streamId, decider.evolve, state, currentRevision);
    return { state, revision: currentRevision };
  }

  /** After an append: each written stream's state is the loaded one with the recorded events folded in. */
  private remember(streams: AnySpecs, loaded: Record<string, Loaded<unknown>>, recorded: readonly RecordedEvent[], duplicate: boolean): void {
    const states = this.states!;
    if (duplicate || recorded.some((event) => event.type === ERASURE)) {
      // An earlier call's events (not folded onto what was loaded), or an erasure, which changes how
      // the person's earlier events, in any stream, read back.
      states.clear();
      return;
    }
    for (const [key, spec] of Object.entries(streams)) {
      const mine = recorded.filter((event) => event.streamId === spec.streamId);
      if (mine.length === 0) continue;
      const before = loaded[key]!;
      if (mine[0]!.revision !== (before.revision ?? -1) + 1) {
        states.delete(spec.streamId);
        continue;
      }
      const state = mine.reduce((folded, event) => spec.decider.evolve(folded as never, event), before.state);
      states.set(spec.streamId, spec.decider.evolve, state, mine.at(-1)!.revision, states.readAt(spec.streamId));
    }
  }

  /**
   * What the first call under this key recorded, as this call's answer; null when the key is unused.
   * A key is one command: events another command recorded under it are refused (IDEMPOTENCY_KEY_REUSED)
   * rather than passed off as this command's result.
   */
  private async earlier(idempotencyKey: string, commandName: string): Promise<CommandOutcome | null> {
    const events = await this.store.readIdempotencyKey(idempotencyKey);
    if (!events) return null;
    const other = events.find((event) => event.metadata.command !== undefined && event.metadata.command !== commandName)?.metadata.command;
    if (other !== undefined) {
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency key "${idempotencyKey}" was already used for ${other}, not ${commandName}. Use a new key for a new command.`,
        { idempotencyKey },
      );
    }
    return { events, position: events.at(-1)?.position ?? START, duplicate: true };
  }

  private envelopes(
    events: readonly DomainEvent[],
    context: CommandContext,
    commandName: string,
    madeBySystem: ((event: DomainEvent) => string | null) | undefined,
    commandId: string,
  ): NewEvent[] {
    const enveloped: NewEvent[] = [];
    for (const event of events) {
      const systemActorId = madeBySystem?.(event) ?? null;
      const previous = enveloped.at(-1);
      if (systemActorId === null || previous === undefined) {
        enveloped.push(this.envelope(event, context, commandName, commandId));
        continue;
      }
      const { reason: _callersReason, ...systemContext } = context;
      const own = this.envelope(event, { ...systemContext, actor: { id: systemActorId, role: 'system' } }, commandName, commandId);
      enveloped.push({ ...own, metadata: { ...own.metadata, causationId: previous.id } });
    }
    return enveloped;
  }

  private envelope(event: DomainEvent, context: CommandContext, commandName: string, commandId: string): NewEvent {
    return {
      id: this.newEventId(),
      type: event.type,
      schemaVersion: 1,
      data: event.data,
      metadata: {
        occurredAt: context.now,
        actor: context.actor,
        ...(context.reason !== undefined ? { reason: context.reason } : {}),
        correlationId: context.correlationId,
        causationId: commandId,
        command: commandName,
      },
    };
  }
}

/**
 * The id of the thing a command made (a match, a program, a meeting), for the caller's answer. The
 * caller made `fresh` for this call, but a call retried under an idempotency key gets the first
 * call's events back, which name the id that call made: answer with that one, as the first call did.
 */
export const madeId = (outcome: CommandOutcome, field: string, fresh: string): string => {
  if (!outcome.duplicate) return fresh;
  for (const event of outcome.events) {
    const id = (event.data as Record<string, unknown>)[field];
    if (typeof id === 'string') return id;
  }
  throw new DomainError('IDEMPOTENCY_KEY_REUSED', `The idempotency key was already used for a command that made no ${field}. Use a new key for a new command.`, {});
};

/** The event store cannot do what the command needs (KurrentDB older than the release that can): refused, nothing written. */
const isStoreFeatureUnsupported = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EVENT_STORE_FEATURE_UNSUPPORTED';
