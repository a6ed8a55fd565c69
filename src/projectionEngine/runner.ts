import { EventEmitter } from 'node:events';
import { START, comparePositions, formatPosition, parsePosition, type EventStore, type GlobalPosition, type RecordedEvent } from '../eventstore/eventStore';
import type { SqlDatabase, SqlExecutor } from '../sql/sqlDatabase';
import { migrate, migrationSet } from '../sql/migrations';
import { handlesType, projectionMigrations, type Projection } from './projection';
import { replayProjections, type ReplayOptions, type ReplayProgress } from './replay';
import { NO_TRACING, type Tracing } from '../observability/tracing';

const CHECKPOINT_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS projection_checkpoints (
  projection text PRIMARY KEY,
  position_major numeric(20) NOT NULL,
  position_minor numeric(20) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);`;

/** The checkpoints' table (src/sql/migrations.ts): a change is a new migration at the end. */
export const CHECKPOINT_MIGRATIONS = migrationSet('projection-checkpoints', [{ name: '0001_baseline', sql: CHECKPOINT_SCHEMA }]);

/** The two statements of every batch the runner applies, prepared (named) on both stores. */
const LOCK_CHECKPOINTS = `SELECT projection, position_major::text AS major, position_minor::text AS minor FROM projection_checkpoints
  WHERE projection = ANY($1::text[]) ORDER BY projection FOR UPDATE`;
const ADVANCE_CHECKPOINTS = `UPDATE projection_checkpoints SET position_major = $2, position_minor = $3, updated_at = now() WHERE projection = ANY($1::text[])`;

export interface RunnerOptions {
  readonly batchSize?: number;
  /** A span per batch (OpenTelemetry; off by default). */
  readonly tracing?: Tracing;
  /** How long an idle runner sleeps before looking for new events (a `notify()` wakes it at once). */
  readonly idleMs?: number;
  /**
   * Told of every failed batch: the projection's name and, when the runner could tell (a projection
   * that failed in the loop), which event failed and when it is tried again.
   */
  readonly onError?: (error: unknown, projection: string, failure?: ProjectionFailure) => void;
  /** Told when a projection that was failing applied its batch again. */
  readonly onRecovered?: (projection: string, failure: ProjectionFailure) => void;
  /** First wait before a failing projection is tried again (doubled each failure up to `retryMaxMs`). Default 1 s. */
  readonly retryBaseMs?: number;
  /** Longest wait between tries of a failing projection. Default 60 s. */
  readonly retryMaxMs?: number;
  /** The clock the back-off reads (tests move it). */
  readonly now?: () => number;
  /**
   * Before a round that follows a small one, wait this long for more appends, unless a request is
   * waiting for the read models (read-your-writes), which goes at once. Default 0. A round costs about a
   * dozen statements however few events it applies; on the embedded store, whose single connection
   * the requests share, rounds of one event each took most of it under a write load.
   */
  readonly coalesceMs?: number;
  /**
   * No other runner or tool moves these checkpoints while this one runs (the embedded store, which
   * one process opens), so an idle poll need not read them: it only looks for new events.
   */
  readonly soleRunner?: boolean;
}

/** A projection whose batch failed: rolled back, its checkpoint left where it was. */
interface Failure {
  readonly error: unknown;
  readonly projection: string;
  /** The event it failed on, found by applying the batch in halves (the events before it are applied). */
  readonly event?: RecordedEvent;
}

/** A projection that keeps failing, as operators see it (log, `/health/ready`, metrics). */
export interface ProjectionFailure {
  readonly projection: string;
  /** The failing event, when the runner isolated it. */
  readonly event: { readonly position: string; readonly type: string; readonly id: string; readonly streamId: string } | null;
  readonly error: string;
  /** Failed tries in a row. */
  readonly attempts: number;
  /** When the first of them failed, ISO-8601. */
  readonly since: string;
  /** When the runner tries again, ISO-8601 (its loop skips the projection until then). */
  readonly retryAt: string;
}

/** Catching up on demand (tests, CLI) stops at the first failure, once the round's other work is committed. */
const throwFirst = (failures: readonly Failure[]): never => {
  throw failures[0]!.error;
};

/** Makes the checkpoint rows that are missing, at the start of the log. */
const createCheckpoints = async (db: SqlExecutor, names: readonly string[]): Promise<void> => {
  // Read first: on a restart every row is there, and a read costs a start less than a write (which
  // the embedded store flushes before it answers).
  const { rows } = await db.query<{ missing: number }>(
    `SELECT count(*)::int AS missing FROM unnest($1::text[]) AS n(name) WHERE NOT EXISTS (SELECT 1 FROM projection_checkpoints c WHERE c.projection = n.name)`,
    [[...names]],
  );
  if (Number(rows[0]?.missing ?? 1) === 0) return;
  await db.query(
    `INSERT INTO projection_checkpoints (projection, position_major, position_minor) SELECT unnest($1::text[]), 0, 0 ON CONFLICT DO NOTHING`,
    [[...names].sort()],
  );
};

/** A request waiting for the read models to reach a position. */
interface Waiter {
  readonly position: GlobalPosition;
  readonly settle: (reached: boolean) => void;
}

/** How often the shared poller reads the checkpoints while requests wait (progress here wakes it sooner). */
const WAIT_POLL_MS = 50;
/** How long `catchUp` pauses when an open transaction elsewhere holds an event back. */
const CATCH_UP_PAUSE_MS = 25;

export interface ProjectionStatus {
  readonly projection: string;
  readonly position: GlobalPosition;
}

/**
 * Feeds read models from the global log. Each batch of each projection is applied in one
 * read-model transaction that also moves the projection's checkpoint, after locking the checkpoint
 * row and checking that no other runner moved it: a crash never applies an event twice or loses
 * one, and several server instances can run a runner at once.
 */
export class ProjectionRunner {
  private readonly batchSize: number;
  private readonly idleMs: number;
  private readonly positions = new Map<string, GlobalPosition>();
  private readonly progress = new EventEmitter();
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private pendingWake = false;
  private readonly waiters = new Set<Waiter>();
  private poller: Promise<void> | null = null;
  private readonly failing = new Map<string, ProjectionFailure>();
  private readonly now: () => number;
  /**
   * The checkpoints as this runner's last round left them, so that the next round need not read them
   * (a round's first statement was that read; under a write load about one round in ten requests).
   * Only a hint: a batch's lock checks the checkpoint. A round uses each entry once and keeps those it
   * moved; a batch another runner took or a failure leaves none, so the next round reads the table.
   * An empty batch leaves none either (another instance, or the CLI's rebuild, may have moved the
   * checkpoint while this one idles), unless this runner is the only one (`soleRunner`).
   */
  private readonly known = new Map<string, GlobalPosition>();
  /** The background loop is in a round (it will advance, or find nothing, without being asked). */
  private inRound = false;

  private constructor(
    private readonly store: EventStore,
    private readonly db: SqlDatabase,
    readonly projections: readonly Projection[],
    private readonly options: RunnerOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.idleMs = options.idleMs ?? 250;
    this.now = options.now ?? Date.now;
    this.progress.setMaxListeners(0);
    const names = projections.map((p) => p.name);
    if (new Set(names).size !== names.length) throw new Error(`Projection names must be unique: ${names.join(', ')}`);
  }

  static async create(
    store: EventStore,
    db: SqlDatabase,
    projections: readonly Projection[],
    options: RunnerOptions = {},
  ): Promise<ProjectionRunner> {
    await migrate(db, CHECKPOINT_MIGRATIONS);
    for (const projection of projections) await migrate(db, projectionMigrations(projection));
    await createCheckpoints(db, projections.map((p) => p.name));
    return new ProjectionRunner(store, db, projections, options);
  }

  /** Starts catching up in the background until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.runLoop();
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  /** Tells the runner new events were appended, so it need not wait for its next poll. */
  notify(): void {
    this.pendingWake = true;
    this.wake?.();
  }

  /**
   * Processes every event committed before the call, for every projection (tests, CLI, benches).
   * Committed, not merely visible: on a shared PostgreSQL server a transaction still open elsewhere
   * can hold back an earlier position, and a catch-up that stopped at the first empty batch would
   * miss the events behind it. So it reads the committed head first and goes on (rounds, then a
   * short pause) until every projection has passed it, failing after `timeoutMs`. A batch another
   * runner (or this runner's own loop) took over does not end it early either.
   */
  async catchUp(timeoutMs = 60_000): Promise<void> {
    const head = await this.store.readCommittedHead();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while ((await this.processRound(this.projections, throwFirst)) > 0);
      if (this.reached(head)) return;
      // Another runner may have moved a checkpoint past what this one read.
      await this.refreshPositions();
      if (this.reached(head)) return;
      if (Date.now() > deadline) {
        throw new Error(`Projections did not reach the committed head ${formatPosition(head)} within ${timeoutMs} ms (an open transaction holds an earlier event back)`);
      }
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_PAUSE_MS));
    }
  }

  /**
   * Resolves once every projection has processed the log up to `position` (read-your-writes for a
   * client that made a mutation), or with `false` at the deadline. Also sees progress made by runners
   * in other processes. However many requests wait, one shared poller reads the checkpoints (one
   * query per tick), so waiting requests never crowd the database (the embedded store has a single
   * connection) and each is answered by its own deadline.
   */
  async waitFor(position: GlobalPosition, timeoutMs = 5000): Promise<boolean> {
    if (this.reached(position)) return true;
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        position,
        settle: (ok) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => waiter.settle(false), Math.max(0, timeoutMs));
      this.waiters.add(waiter);
      this.pollForWaiters();
    });
  }

  private reached(position: GlobalPosition): boolean {
    return this.projections.every((p) => comparePositions(this.positions.get(p.name) ?? START, position) >= 0);
  }

  private settleWaiters(): void {
    for (const waiter of [...this.waiters]) if (this.reached(waiter.position)) waiter.settle(true);
  }

  private pollForWaiters(): void {
    if (this.poller || this.waiters.size === 0) return;
    this.poller = (async () => {
      while (this.waiters.size > 0) {
        this.notify();
        const advancedHere = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => done(false), WAIT_POLL_MS);
          const progress = this.progress;
          const onAdvanced = () => done(true);
          function done(advanced: boolean) {
            clearTimeout(timer);
            progress.off('advanced', onAdvanced);
            resolve(advanced);
          }
          progress.once('advanced', onAdvanced);
        });
        this.settleWaiters();
        if (this.waiters.size === 0) break;
        // This process's runner moved on and will go on: no need to ask the database too. Under load
        // the checkpoints were read after every batch (0.56 statements per read-your-writes request,
        // measured); the database is read when nothing moved here for a tick and no round is under
        // way here (another instance's runner took the batch, or this one is stopped). A round longer
        // than a tick on a loaded machine made it 0.67 a request.
        if ((advancedHere || this.inRound) && this.running) continue;
        try {
          await this.refreshPositions();
        } catch (error) {
          this.options.onError?.(error, 'checkpoints (waiting for read-your-writes)');
        }
        this.settleWaiters();
      }
    })().finally(() => {
      this.poller = null;
      // A waiter that arrived while the loop was ending still needs a poller.
      this.pollForWaiters();
    });
  }

  /** The projections whose last try failed, with the event they fail on and when they are tried next. */
  failures(): readonly ProjectionFailure[] {
    return [...this.failing.values()];
  }

  async status(): Promise<ProjectionStatus[]> {
    await this.refreshPositions();
    return this.projections.map((p) => ({ projection: p.name, position: this.positions.get(p.name) ?? START }));
  }

  /** Empties a projection's tables and resets its checkpoint; the runner then replays it from zero. */
  async reset(name: string): Promise<void> {
    const projection = this.named(name);
    await this.db.transaction(async (tx) => {
      await this.lockCheckpoints(tx, [projection.name]);
      // TRUNCATE, not DELETE: a large read model is emptied at once instead of row by row.
      for (const table of projection.tables) await tx.query(`TRUNCATE ${table}`);
      await tx.query(`UPDATE projection_checkpoints SET position_major = 0, position_minor = 0, updated_at = now() WHERE projection = $1`, [
        projection.name,
      ]);
    });
    this.positions.set(projection.name, START);
    this.known.delete(projection.name);
  }

  /**
   * Rebuilds projections (every one when no names are given) beside the ones in service, in one
   * pass over the log, and swaps them in (see `replayProjections`): reads keep being answered from
   * the old tables until the new ones are complete.
   */
  async replay(
    names: readonly string[] = [],
    onProgress?: (progress: ReplayProgress) => void,
    batchSize?: number,
    options: Pick<ReplayOptions, 'inDatabase' | 'inPlace' | 'onStep'> = {},
  ): Promise<{ readonly applied: number }> {
    const projections = names.length === 0 ? this.projections : names.map((name) => this.named(name));
    return replayProjections({
      db: this.db,
      store: this.store,
      projections,
      ...(onProgress ? { onProgress } : {}),
      ...(batchSize ? { batchSize } : {}),
      ...(options.inDatabase === undefined ? {} : { inDatabase: options.inDatabase }),
      ...(options.inPlace === undefined ? {} : { inPlace: options.inPlace }),
      ...(options.onStep ? { onStep: options.onStep } : {}),
      // Waiting readers must not count events the new tables do not have yet.
      onSwapped: (position) => {
        for (const projection of projections) {
          this.positions.set(projection.name, position);
          this.known.delete(projection.name);
        }
        this.notify();
      },
    });
  }

  /** Rebuilds projections from zero, now, in one pass over the log (every projection when no names are given). */
  async rebuild(...names: string[]): Promise<void> {
    const projections = names.length === 0 ? this.projections : names.map((name) => this.named(name));
    for (const projection of projections) await this.reset(projection.name);
    while ((await this.processRound(projections, throwFirst)) > 0);
  }

  private named(name: string): Projection {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection) throw new Error(`No projection named "${name}". Known: ${this.projections.map((p) => p.name).join(', ')}`);
    return projection;
  }

  private async runLoop(): Promise<void> {
    let full = true;
    while (this.running) {
      if (!full) await this.coalesce();
      this.pendingWake = false;
      this.inRound = true;
      try {
        const report = (failures: readonly Failure[]) => {
          for (const { error, projection } of failures) this.options.onError?.(error, projection, this.failing.get(projection));
        };
        // A failing projection waits out its back-off; the others go on meanwhile.
        const due = this.projections.filter((p) => !this.backingOff(p.name));
        const read = due.length > 0 ? await this.processRound(due, report, true) : 0;
        full = read >= this.batchSize;
      } catch (error) {
        full = false;
        this.options.onError?.(error, this.projections.map((p) => p.name).join(', '));
      }
      this.inRound = false;
      // A batch short of full took everything visible: the next round waits for a wake (an append of
      // this process, a waiting request) or the idle poll, rather than finding the log empty at once
      // (under a write load, one such empty round, with its checkpoint read, came after every batch).
      if (!full && this.running && !this.pendingWake) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.idleMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    }
  }

  /** Waits `coalesceMs` for more appends to gather, cut short by a waiting request or `stop()`. */
  private async coalesce(): Promise<void> {
    const ms = this.options.coalesceMs ?? 0;
    if (ms <= 0 || !this.running || this.waiters.size > 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        if (this.waiters.size > 0 || !this.running) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    this.wake = null;
  }

  /**
   * One batch for each group of projections that stand at the same checkpoint (normally all of
   * them: they move together). Returns how many events were applied.
   */
  private async processRound(
    projections: readonly Projection[],
    onFailures: (failures: readonly Failure[]) => void,
    /** The background loop: find the failing event, apply what comes before it, back off. Catching up on demand just fails. */
    background = false,
  ): Promise<number> {
    const checkpoints = projections.every((p) => this.known.has(p.name)) ? new Map(this.known) : await this.readCheckpoints();
    this.known.clear();
    const groups = new Map<string, { from: GlobalPosition; members: Projection[] }>();
    for (const projection of projections) {
      const from = checkpoints.get(projection.name) ?? START;
      const key = `${from.major}:${from.minor}`;
      const group = groups.get(key) ?? { from, members: [] };
      group.members.push(projection);
      groups.set(key, group);
    }
    let read = 0;
    for (const { from, members } of groups.values()) {
      if (!this.running && this.loop !== null) break;
      const failures: Failure[] = [];
      read += await this.processBatch(members, from, failures, background);
      if (background) for (const failure of failures) this.recordFailure(failure);
      if (failures.length > 0) onFailures(failures);
    }
    return read;
  }

  /**
   * Reads the batch after `from` once and applies it to every member in one transaction that moves
   * their checkpoints, after locking the checkpoint rows and leaving out any member another runner
   * moved meanwhile. If that fails, each member is tried again in a transaction of its own: the
   * one whose batch fails is rolled back alone, reported, and keeps its checkpoint (tried again next
   * round, on its own); the others go on.
   */
  private async processBatch(members: readonly Projection[], from: GlobalPosition, failures: Failure[], isolate: boolean): Promise<number> {
    const events = await this.store.readAll({ after: from, maxCount: this.batchSize });
    if (events.length === 0) {
      for (const projection of members) {
        if (this.options.soleRunner) this.known.set(projection.name, from);
        this.advanced(projection.name, from);
      }
      return 0;
    }
    // A span for a batch that has events only: an idle poll leaves no trace.
    const tracing = this.options.tracing ?? NO_TRACING;
    if (!tracing.enabled) return this.applyBatch(members, from, events, failures, isolate);
    return tracing.inSpan(
      'projection batch',
      { 'projection.names': members.map((member) => member.name).join(' '), 'projection.from': formatPosition(from), 'projection.events': events.length },
      async (span) => {
        const applied = await this.applyBatch(members, from, events, failures, isolate);
        span.setAttributes({ 'projection.events_applied': applied, 'projection.failures': failures.length });
        return applied;
      },
    );
  }

  private async applyBatch(members: readonly Projection[], from: GlobalPosition, events: readonly RecordedEvent[], failures: Failure[], isolate: boolean): Promise<number> {
    try {
      await this.applyTogether(members, from, events);
      return events.length;
    } catch (error) {
      if (members.length === 1) {
        if (isolate) return this.isolate(members[0]!, from, events, error, failures);
        failures.push({ error, projection: members[0]!.name });
        return 0;
      }
      let applied = 0;
      for (const member of members) {
        try {
          await this.applyTogether([member], from, events);
          applied = events.length;
        } catch (alone) {
          if (isolate) applied = Math.max(applied, await this.isolate(member, from, events, alone, failures));
          else failures.push({ error: alone, projection: member.name });
        }
      }
      // A batch nobody could apply is no progress: the loop then waits before it tries again.
      return applied;
    }
  }

  /**
   * A projection's batch failed: finds the event it fails on by applying the batch in halves (a
   * failure is taken to be the event's, the same each time), so that the events before it are
   * applied and the failure names the event. Returns how many events were applied.
   */
  private async isolate(projection: Projection, from: GlobalPosition, events: readonly RecordedEvent[], error: unknown, failures: Failure[]): Promise<number> {
    // Tried again on the event it failed on last time: no need to look for it.
    if (this.failing.get(projection.name)?.event?.id === events[0]!.id) {
      failures.push({ error, projection: projection.name, event: events[0]! });
      return 0;
    }
    let rest = events;
    let at = from;
    let applied = 0;
    let last = error;
    while (rest.length > 1) {
      const head = rest.slice(0, Math.ceil(rest.length / 2));
      try {
        await this.applyTogether([projection], at, head);
        at = head.at(-1)!.position;
        applied += head.length;
        rest = rest.slice(head.length);
      } catch (failed) {
        last = failed;
        rest = head;
      }
    }
    try {
      // Its own error, alone (or it passes: whatever failed is gone).
      await this.applyTogether([projection], at, rest);
      return applied + rest.length;
    } catch (failed) {
      last = failed;
    }
    failures.push({ error: last, projection: projection.name, event: rest[0]! });
    return applied;
  }

  private backingOff(name: string): boolean {
    const failure = this.failing.get(name);
    return failure !== undefined && Date.parse(failure.retryAt) > this.now();
  }

  private recordFailure({ error, projection, event }: Failure): void {
    const earlier = this.failing.get(projection);
    const attempts = (earlier?.attempts ?? 0) + 1;
    const base = this.options.retryBaseMs ?? 1000;
    const delay = Math.min(this.options.retryMaxMs ?? 60_000, base * 2 ** Math.min(attempts - 1, 30));
    const now = this.now();
    this.failing.set(projection, {
      projection,
      event: event ? { position: formatPosition(event.position), type: event.type, id: event.id, streamId: event.streamId } : (earlier?.event ?? null),
      error: error instanceof Error ? error.message : String(error),
      attempts,
      since: earlier?.since ?? new Date(now).toISOString(),
      retryAt: new Date(now + delay).toISOString(),
    });
  }

  private async applyTogether(members: readonly Projection[], from: GlobalPosition, events: readonly RecordedEvent[]): Promise<void> {
    const last = events[events.length - 1]!.position;
    const moved = await this.db.transaction(async (tx) => {
      const current = await this.lockCheckpoints(
        tx,
        members.map((p) => p.name),
      );
      const done: string[] = [];
      for (const projection of members) {
        // Another runner got here first: leave the batch to it.
        if (comparePositions(current.get(projection.name) ?? START, from) !== 0) continue;
        const handled = new Set<string>(projection.handles);
        const mine = events.filter((event) => handlesType(handled, event.type));
        if (mine.length > 0) await projection.applyBatch(tx, mine);
        done.push(projection.name);
      }
      if (done.length > 0) {
        await tx.query(ADVANCE_CHECKPOINTS, [done, last.major.toString(), last.minor.toString()], { name: 'projection_checkpoints_advance_v1' });
      }
      return done;
    });
    for (const name of moved) {
      this.known.set(name, last);
      this.advanced(name, last);
    }
  }

  private advanced(name: string, position: GlobalPosition): void {
    const failure = this.failing.get(name);
    if (failure?.event && comparePositions(position, parsePosition(failure.event.position) ?? START) >= 0) {
      this.failing.delete(name);
      this.options.onRecovered?.(name, failure);
    }
    const known = this.positions.get(name) ?? START;
    if (comparePositions(position, known) > 0) this.positions.set(name, position);
    this.progress.emit('advanced');
    if (this.waiters.size > 0) this.settleWaiters();
  }

  private async readCheckpoints(): Promise<Map<string, GlobalPosition>> {
    const result = await this.db.query<{ projection: string; major: string; minor: string }>(
      `SELECT projection, position_major::text AS major, position_minor::text AS minor FROM projection_checkpoints`,
    );
    return new Map(result.rows.map((row) => [row.projection, { major: BigInt(row.major), minor: BigInt(row.minor) }]));
  }

  /**
   * Locks the checkpoint rows in name order, so that two runners never wait on each other in a cycle.
   * `create` made the rows; one deleted since (by hand, or a test starting over) is made again here.
   */
  private async lockCheckpoints(tx: SqlExecutor, names: readonly string[]): Promise<Map<string, GlobalPosition>> {
    const sorted = [...names].sort();
    const lock = async () => {
      const result = await tx.query<{ projection: string; major: string; minor: string }>(LOCK_CHECKPOINTS, [sorted], { name: 'projection_checkpoints_lock_v1' });
      return new Map(result.rows.map((row) => [row.projection, { major: BigInt(row.major), minor: BigInt(row.minor) }]));
    };
    const locked = await lock();
    if (locked.size === sorted.length) return locked;
    await createCheckpoints(tx, sorted);
    return lock();
  }

  private async refreshPositions(): Promise<void> {
    const result = await this.db.query<{ projection: string; major: string; minor: string }>(
      `SELECT projection, position_major::text AS major, position_minor::text AS minor FROM projection_checkpoints`,
    );
    for (const row of result.rows) this.advanced(row.projection, { major: BigInt(row.major), minor: BigInt(row.minor) });
  }
}
