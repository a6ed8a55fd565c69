/// <reference path="./pgliteContrib.d.ts" />
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { copyStatement, statementListeners, type SqlDatabase, type SqlResult, type SqlTransaction } from './sqlDatabase';
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
 * Creates the database files of a new embedded store (PostgreSQL's initdb) in a short-lived child
 * process. PGlite runs initdb in a second WASM instance beside the first (plus initdb's own module),
 * and a WebAssembly memory never shrinks: done in the opening process, it left a new server at ~400–800
 * MiB resident until its first restart (twice a restart's). The child's memory goes back to the
 * system when it exits, and this process then opens the files as on any restart. V8's baseline
 * compiler only, as for the tools: the child's life is too short for the optimizing tier to pay.
 */
const INIT_SCRIPT = `
const [from, dataDir, params] = process.argv.slice(1);
const { PGlite } = require(require.resolve('@electric-sql/pglite', { paths: [from] }));
PGlite.create({ dataDir, startParams: JSON.parse(params) })
  .then((db) => db.close())
  .then(() => process.exit(0), (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
`;

const initialiseInChild = (dataDir: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--liftoff-only', '-e', INIT_SCRIPT, __dirname, dataDir, JSON.stringify(startParams)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0 && existsSync(join(dataDir, 'PG_VERSION'))) resolve();
      else reject(new Error(`Could not create the embedded store in ${dataDir} (initdb ${signal ? `killed by ${signal}` : `exited with ${code}`}): ${stderr.trim()}`));
    });
  });

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
    // A new store (no PG_VERSION yet): its files are created apart, see initialiseInChild.
    if (dataDir && !existsSync(join(dataDir, 'PG_VERSION'))) await initialiseInChild(dataDir);
    db = await PGlite.create({ ...(dataDir ? { dataDir } : {}), parsers, extensions, startParams });
  } catch (error) {
    release();
    throw error;
  }
  // Asked before each statement is queued: a listener may send its own first (AppendBatcher's gather).
  const statements = statementListeners();
  const run = async <Row>(
    executor: Pick<PGlite, 'query'>,
    sql: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<Row>> => {
    statements.asked();
    const result = await executor.query<Row>(sql, params as unknown[] | undefined);
    // PGlite counts only the rows a statement changed (0 for a SELECT); pg counts the rows returned too.
    return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
  };
  // PGlite reads COPY FROM's data from a Blob named /dev/blob.
  const copy = async (executor: Pick<PGlite, 'query'>, table: string, columns: readonly string[], text: string): Promise<void> => {
    statements.asked();
    await executor.query(copyStatement(table, columns, `'/dev/blob'`), [], { blob: new Blob([text]) });
  };
  return {
    kind: 'embedded',
    onStatement: statements.onStatement,
    query: (sql, params) => run(db, sql, params),
    copyFrom: (table, columns, text) => copy(db, table, columns, text),
    transaction: (work) => {
      statements.asked();
      return db.transaction(async (tx) => {
        const executor: SqlTransaction = {
          query: (sql, params) => run(tx, sql, params),
          copyFrom: (table, columns, text) => copy(tx, table, columns, text),
          exec: async (sql) => {
            statements.asked();
            await tx.exec(sql);
          },
        };
        return work(executor);
      });
    },
    async exec(sql) {
      statements.asked();
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
