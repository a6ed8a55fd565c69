/// <reference path="./pgliteContrib.d.ts" />
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { copyStatement, type SqlDatabase, type SqlResult, type SqlTransaction } from './sqlDatabase';
import { acquireStoreLock } from './storeLock';

// Same shapes as the pg adapter: timestamps as text, int8 as text (callers parse what they need).
const parsers = { 1114: (v: string) => v, 1184: (v: string) => v, 20: (v: string) => v };
/** pg_trgm: the users search's trigram indexes (projections/users/users.projection.ts), as on PostgreSQL. */
const extensions = { pg_trgm };
/**
 * PGlite's postgresql.conf keeps PostgreSQL's default `shared_buffers = 128MB`, and its start writes
 * over all of it: 128 MiB of resident memory and ~0.35 s of CPU on every open, before any query. The
 * files sit in the OS page cache behind it anyway (the data directory is mounted, not copied), so
 * 16 MB costs nothing measurable (a 100,000-event rebuild took less CPU with it than with 128 MB) and
 * keeps a tool's open and the server at rest small (BENCHMARKS.md, embedded-rest and cli-startup).
 */
const startParams = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * The embedded store: PostgreSQL compiled to WASM. With a `dataDir` it persists there and survives
 * restarts (and `kill -9`: every statement is flushed before it is acknowledged); without one it
 * lives in memory (tests). A directory is opened by one process at a time: a second one is refused
 * with StoreLockedError naming the holder's pid (`<dataDir>/store.lock`).
 */
export const openPglite = async (dataDir?: string): Promise<SqlDatabase> => {
  const release = dataDir ? acquireStoreLock(dataDir) : () => undefined;
  let db: PGlite;
  try {
    db = await PGlite.create({ ...(dataDir ? { dataDir } : {}), parsers, extensions, startParams });
  } catch (error) {
    release();
    throw error;
  }
  const run = async <Row>(
    executor: Pick<PGlite, 'query'>,
    sql: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<Row>> => {
    const result = await executor.query<Row>(sql, params as unknown[] | undefined);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  };
  // PGlite reads COPY FROM's data from a Blob named /dev/blob.
  const copy = async (executor: Pick<PGlite, 'query'>, table: string, columns: readonly string[], text: string): Promise<void> => {
    await executor.query(copyStatement(table, columns, `'/dev/blob'`), [], { blob: new Blob([text]) });
  };
  return {
    kind: 'embedded',
    query: (sql, params) => run(db, sql, params),
    copyFrom: (table, columns, text) => copy(db, table, columns, text),
    transaction: (work) =>
      db.transaction(async (tx) => {
        const executor: SqlTransaction = {
          query: (sql, params) => run(tx, sql, params),
          copyFrom: (table, columns, text) => copy(tx, table, columns, text),
          exec: async (sql) => {
            await tx.exec(sql);
          },
        };
        return work(executor);
      }),
    async exec(sql) {
      await db.exec(sql);
    },
    async close() {
      try {
        await db.close();
      } finally {
        release();
      }
    },
  };
};
