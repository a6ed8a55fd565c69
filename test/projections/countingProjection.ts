import { eventByEvent, projection } from '../../src/projectionEngine/projection';

/**
 * A deliberately non-idempotent read model (it increments): any event applied twice or lost
 * shows up as a wrong count, which is what the runner tests need to see.
 */
export const countingProjection = (options: { failOn?: (n: number) => boolean; delayMs?: number } = {}) => {
  let applied = 0;
  return projection({
    name: 'stream_counts',
    handles: ['Tick'],
    schema: `CREATE TABLE IF NOT EXISTS stream_counts (stream_id text PRIMARY KEY, events integer NOT NULL, total bigint NOT NULL);`,
    tables: ['stream_counts'],
    applyBatch: eventByEvent(async (tx, event) => {
      applied += 1;
      if (options.failOn?.(applied)) throw new Error(`injected failure at event ${applied}`);
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      const n = (event.data as { n: number }).n;
      await tx.query(
        `INSERT INTO stream_counts (stream_id, events, total) VALUES ($1, 1, $2)
         ON CONFLICT (stream_id) DO UPDATE SET events = stream_counts.events + 1, total = stream_counts.total + $2`,
        [event.streamId, n],
      );
    }),
  });
};

export const readCounts = async (db: { query: (sql: string) => Promise<{ rows: unknown[] }> }) =>
  (await db.query(`SELECT stream_id, events, total::text AS total FROM stream_counts ORDER BY stream_id`)).rows as { stream_id: string; events: number; total: string }[];
