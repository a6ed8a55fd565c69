import { randomBytes } from 'node:crypto';
import { START, type EventStore, type GlobalPosition } from '../eventstore/eventStore';
import type { SqlDatabase } from '../sql/sqlDatabase';
import type { Projection } from './projection';

/**
 * Rebuilds a read model from zero *beside* the one in service, then swaps it in: the server keeps
 * answering from the old tables while the new ones fill, and never sees a half-built read model.
 *
 * 1. A schema of its own (`replay_<projection>_<random>`) gets the projection's tables (its DDL run
 *    with that schema first on the search path); the log is applied to them from the start, in
 *    batches, each batch in a transaction with `SET LOCAL search_path`.
 * 2. When it has caught up with the log, one transaction locks the projection's checkpoint (the
 *    runner in service waits), drops the old tables, moves the new ones into the live schema and sets
 *    the checkpoint to where the replay stopped. The runner then carries on from there: events
 *    appended during the replay are applied by it, once, to the new tables.
 *
 * Tables the projection does not list in `tables` (the notification outbox) are created in the
 * replay schema and dropped with it: they are never replaced, so a replay sends no e-mail again.
 */

export interface ReplayProgress {
  readonly projection: string;
  readonly applied: number;
  readonly position: GlobalPosition;
  /** Events in the log when the replay started (the total to show progress against). */
  readonly total: number;
  readonly eventsPerSecond: number;
  /** Seconds left at the current rate, or null before there is one. */
  readonly etaSeconds: number | null;
}

export interface ReplayOptions {
  readonly db: SqlDatabase;
  readonly store: EventStore;
  readonly projection: Projection;
  readonly batchSize?: number;
  readonly onProgress?: (progress: ReplayProgress) => void;
  /** Called after the swap with the checkpoint it set (a runner in this process resets its position). */
  readonly onSwapped?: (position: GlobalPosition) => void;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const quoted = (name: string): string => {
  if (!IDENTIFIER.test(name)) throw new Error(`Unsafe SQL identifier: ${name}`);
  return `"${name}"`;
};

export const replayProjection = async (options: ReplayOptions): Promise<{ readonly applied: number; readonly position: GlobalPosition }> => {
  const { db, store, projection } = options;
  const batchSize = options.batchSize ?? 2000;
  const live = (await db.query<{ schema: string }>(`SELECT current_schema() AS schema`)).rows[0]!.schema;
  const shadow = `replay_${projection.name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const handled = new Set<string>(projection.handles);
  const total = Number((await db.query<{ total: string }>(`SELECT count(*)::text AS total FROM es_events`)).rows[0]!.total);

  await db.exec(`CREATE SCHEMA ${quoted(shadow)}`);
  try {
    // One script, one implicit transaction: the SETs are undone with it if the DDL fails.
    // The replay schema first: the DDL creates there, and the projection writes there; anything it only
    // reads from elsewhere (another read model) still resolves to the live schema.
    const path = `${quoted(shadow)}, ${quoted(live)}`;
    await db.exec(`SET search_path TO ${path}; ${projection.schema}; SET search_path TO ${quoted(live)};`);
    const started = Date.now();
    let position: GlobalPosition = START;
    let applied = 0;
    for (;;) {
      const events = await store.readAll({ after: position, maxCount: batchSize });
      if (events.length === 0) break;
      await db.transaction(async (tx) => {
        await tx.query(`SET LOCAL search_path TO ${path}`);
        for (const event of events) if (handled.has(event.type)) await projection.apply(tx, event);
      });
      position = events.at(-1)!.position;
      applied += events.length;
      const seconds = (Date.now() - started) / 1000;
      const eventsPerSecond = seconds > 0 ? applied / seconds : 0;
      options.onProgress?.({
        projection: projection.name,
        applied,
        position,
        total,
        eventsPerSecond,
        etaSeconds: eventsPerSecond > 0 ? Math.max(0, (total - applied) / eventsPerSecond) : null,
      });
    }
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO ${quoted(live)}.projection_checkpoints (projection, position_major, position_minor) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING`,
        [projection.name],
      );
      // The runner in service waits here; when it goes on, it starts after `position`.
      await tx.query(`SELECT 1 FROM ${quoted(live)}.projection_checkpoints WHERE projection = $1 FOR UPDATE`, [projection.name]);
      for (const table of projection.tables) {
        await tx.query(`DROP TABLE IF EXISTS ${quoted(live)}.${quoted(table)} CASCADE`);
        await tx.query(`ALTER TABLE ${quoted(shadow)}.${quoted(table)} SET SCHEMA ${quoted(live)}`);
      }
      await tx.query(
        `UPDATE ${quoted(live)}.projection_checkpoints SET position_major = $2, position_minor = $3, updated_at = now() WHERE projection = $1`,
        [projection.name, position.major.toString(), position.minor.toString()],
      );
    });
    options.onSwapped?.(position);
    return { applied, position };
  } finally {
    await db.exec(`DROP SCHEMA IF EXISTS ${quoted(shadow)} CASCADE`);
  }
};
