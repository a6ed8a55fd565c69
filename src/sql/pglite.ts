import { PGlite } from '@electric-sql/pglite';
import type { SqlDatabase, SqlExecutor, SqlResult } from './sqlDatabase';

// Same shapes as the pg adapter: timestamps as text, int8 as text (callers parse what they need).
const parsers = { 1114: (v: string) => v, 1184: (v: string) => v, 20: (v: string) => v };

/**
 * The embedded store: PostgreSQL compiled to WASM. With a `dataDir` it persists there and survives
 * restarts (and `kill -9`: every statement is flushed before it is acknowledged); without one it
 * lives in memory (tests).
 */
export const openPglite = async (dataDir?: string): Promise<SqlDatabase> => {
  const db = await PGlite.create(dataDir ? { dataDir, parsers } : { parsers });
  const run = async <Row>(
    executor: Pick<PGlite, 'query'>,
    sql: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<Row>> => {
    const result = await executor.query<Row>(sql, params as unknown[] | undefined);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  };
  return {
    kind: 'embedded',
    query: (sql, params) => run(db, sql, params),
    transaction: (work) =>
      db.transaction(async (tx) => {
        const executor: SqlExecutor = { query: (sql, params) => run(tx, sql, params) };
        return work(executor);
      }),
    async exec(sql) {
      await db.exec(sql);
    },
    close: () => db.close(),
  };
};
