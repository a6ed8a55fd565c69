import { EventEmitter } from 'node:events';
import { START, comparePositions, type EventStore, type GlobalPosition } from '../eventstore/eventStore';
import type { SqlDatabase, SqlExecutor } from '../sql/sqlDatabase';
import type { Projection } from './projection';
import { replayProjection, type ReplayProgress } from './replay';

const CHECKPOINT_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS projection_checkpoints (
  projection text PRIMARY KEY,
  position_major numeric(20) NOT NULL,
  position_minor numeric(20) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);`;

export interface RunnerOptions {
  readonly batchSize?: number;
  /** How long an idle runner sleeps before looking for new events (a `notify()` wakes it at once). */
  readonly idleMs?: number;
  readonly onError?: (error: unknown, projection: string) => void;
}

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

  private constructor(
    private readonly store: EventStore,
    private readonly db: SqlDatabase,
    readonly projections: readonly Projection[],
    private readonly options: RunnerOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.idleMs = options.idleMs ?? 250;
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
    const schema = [CHECKPOINT_SCHEMA, ...projections.map((p) => p.schema)].join('\n');
    if (db.kind === 'postgres') {
      await db.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(727275)`);
        await tx.query(schema);
      });
    } else {
      await db.exec(schema);
    }
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
   * Processes everything visible now, for every projection (tests, CLI). Runs until a batch finds
   * nothing new: a batch another runner (or this runner's own loop) took over does not end it early.
   */
  async catchUp(): Promise<void> {
    for (const projection of this.projections) {
      while ((await this.processBatch(projection)) > 0);
    }
  }

  /**
   * Resolves once every projection has processed the log up to `position` (read-your-writes for a
   * client that made a mutation). Also sees progress made by runners in other processes.
   */
  async waitFor(position: GlobalPosition, timeoutMs = 5000): Promise<boolean> {
    const reached = () => this.projections.every((p) => comparePositions(this.positions.get(p.name) ?? START, position) >= 0);
    const deadline = Date.now() + timeoutMs;
    while (!reached()) {
      if (Date.now() >= deadline) return false;
      this.notify();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(50, Math.max(1, deadline - Date.now())));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.progress.once('advanced', done);
      });
      if (!reached()) await this.refreshPositions();
    }
    return true;
  }

  async status(): Promise<ProjectionStatus[]> {
    await this.refreshPositions();
    return this.projections.map((p) => ({ projection: p.name, position: this.positions.get(p.name) ?? START }));
  }

  /** Empties a projection's tables and resets its checkpoint; the runner then replays it from zero. */
  async reset(name: string): Promise<void> {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection) throw new Error(`No projection named "${name}". Known: ${this.projections.map((p) => p.name).join(', ')}`);
    await this.db.transaction(async (tx) => {
      await this.lockCheckpoint(tx, projection.name);
      for (const table of projection.tables) await tx.query(`DELETE FROM ${table}`);
      await tx.query(`UPDATE projection_checkpoints SET position_major = 0, position_minor = 0, updated_at = now() WHERE projection = $1`, [
        projection.name,
      ]);
    });
    this.positions.set(projection.name, START);
  }

  /**
   * Rebuilds one projection beside the one in service and swaps it in (see `replayProjection`): reads
   * keep being answered from the old tables until the new ones are complete.
   */
  async replay(name: string, onProgress?: (progress: ReplayProgress) => void): Promise<{ readonly applied: number }> {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection) throw new Error(`No projection named "${name}". Known: ${this.projections.map((p) => p.name).join(', ')}`);
    return replayProjection({
      db: this.db,
      store: this.store,
      projection,
      ...(onProgress ? { onProgress } : {}),
      // Waiting readers must not count events the new tables do not have yet.
      onSwapped: (position) => {
        this.positions.set(name, position);
        this.notify();
      },
    });
  }

  /** Rebuilds one projection from zero, now. */
  async rebuild(name: string): Promise<void> {
    await this.reset(name);
    const projection = this.projections.find((p) => p.name === name)!;
    while ((await this.processBatch(projection)) === this.batchSize);
  }

  private async runLoop(): Promise<void> {
    while (this.running) {
      let busy = false;
      this.pendingWake = false;
      for (const projection of this.projections) {
        if (!this.running) break;
        try {
          if ((await this.processBatch(projection)) > 0) busy = true;
        } catch (error) {
          this.options.onError?.(error, projection.name);
        }
      }
      if (!busy && this.running && !this.pendingWake) {
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

  /** Applies the next batch of one projection; returns how many events were read. */
  private async processBatch(projection: Projection): Promise<number> {
    const from = await this.readCheckpoint(projection.name);
    const events = await this.store.readAll({ after: from, maxCount: this.batchSize });
    if (events.length === 0) {
      this.advanced(projection.name, from);
      return 0;
    }
    const handled = new Set<string>(projection.handles);
    const last = events[events.length - 1]!.position;
    const applied = await this.db.transaction(async (tx) => {
      const current = await this.lockCheckpoint(tx, projection.name);
      // Another runner got here first: leave the batch to it.
      if (comparePositions(current, from) !== 0) return false;
      for (const event of events) {
        if (handled.has(event.type)) await projection.apply(tx, event);
      }
      await tx.query(
        `UPDATE projection_checkpoints SET position_major = $2, position_minor = $3, updated_at = now() WHERE projection = $1`,
        [projection.name, last.major.toString(), last.minor.toString()],
      );
      return true;
    });
    if (applied) this.advanced(projection.name, last);
    return events.length;
  }

  private advanced(name: string, position: GlobalPosition): void {
    const known = this.positions.get(name) ?? START;
    if (comparePositions(position, known) > 0) this.positions.set(name, position);
    this.progress.emit('advanced');
  }

  private async readCheckpoint(name: string): Promise<GlobalPosition> {
    const result = await this.db.query<{ major: string; minor: string }>(
      `SELECT position_major::text AS major, position_minor::text AS minor FROM projection_checkpoints WHERE projection = $1`,
      [name],
    );
    const row = result.rows[0];
    return row ? { major: BigInt(row.major), minor: BigInt(row.minor) } : START;
  }

  private async lockCheckpoint(tx: SqlExecutor, name: string): Promise<GlobalPosition> {
    await tx.query(
      `INSERT INTO projection_checkpoints (projection, position_major, position_minor) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING`,
      [name],
    );
    const result = await tx.query<{ major: string; minor: string }>(
      `SELECT position_major::text AS major, position_minor::text AS minor FROM projection_checkpoints WHERE projection = $1 FOR UPDATE`,
      [name],
    );
    const row = result.rows[0]!;
    return { major: BigInt(row.major), minor: BigInt(row.minor) };
  }

  private async refreshPositions(): Promise<void> {
    const result = await this.db.query<{ projection: string; major: string; minor: string }>(
      `SELECT projection, position_major::text AS major, position_minor::text AS minor FROM projection_checkpoints`,
    );
    for (const row of result.rows) this.advanced(row.projection, { major: BigInt(row.major), minor: BigInt(row.minor) });
  }
}
