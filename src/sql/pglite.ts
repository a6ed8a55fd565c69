/// <reference path="./pgliteContrib.d.ts" />
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type Results } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { copyStatement, statementListeners, type QueryOptions, type SqlDatabase, type SqlResult, type SqlTransaction } from './sqlDatabase';
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
 * A parameter as the text of a SQL literal (`E'...'`, or NULL), as PostgreSQL reads a parameter sent
 * as text: the prepared statement's parameter type reads it. Undefined for a value without one plain
 * text form (an object, a nested array, a string with a NUL): such a call is sent unprepared.
 */
const literal = (value: unknown): string | undefined => {
  if (value === null || value === undefined) return 'NULL';
  const text = typeof value === 'string' ? value : scalarText(value) ?? (Array.isArray(value) ? arrayText(value) : undefined);
  if (text === undefined || text.includes('\0')) return undefined;
  return `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
};

const scalarText = (value: unknown): string | undefined => {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  return undefined;
};

/** A one-dimensional array as PostgreSQL's array input reads it: `{"a","b",NULL}`. */
const arrayText = (values: readonly unknown[]): string | undefined => {
  const elements: string[] = [];
  for (const value of values) {
    if (value === null || value === undefined) {
      elements.push('NULL');
      continue;
    }
    const text = typeof value === 'string' ? value : scalarText(value);
    if (text === undefined) return undefined;
    elements.push(`"${text.replace(/[\\"]/g, (character) => `\\${character}`)}"`);
  }
  return `{${elements.join(',')}}`;
};

/**
 * Named statements on the embedded store, as the pg adapter prepares them on PostgreSQL: PGlite's
 * `query()` parses, describes and plans its text again on every call (six calls into WASM), which
 * cost more than running a page's statement (a history page's rows: ~330 µs a call against ~115 µs
 * prepared). A name is prepared once (SQL `PREPARE`) and then run as `EXECUTE name(literals)`, one
 * simple-protocol call; its parameters are inlined as literals PostgreSQL reads with the types the
 * statement was prepared with, exactly as it reads parameters sent as text. A call whose values have no plain text form is sent as before.
 * Prepared statements outlive the transaction they were prepared in (PREPARE is not undone by a
 * rollback), so a name first met inside one (the projection runner's writes) is prepared there, under
 * a savepoint: a PREPARE that fails is rolled back to it and leaves the transaction as it was.
 */
class PreparedStatements {
  /** Each name's text and, once prepared, its parameters' types (calls outside a transaction that come meanwhile wait for it). */
  private readonly statements = new Map<string, { readonly sql: string; readonly types: Promise<readonly string[] | null> }>();
  private readonly prepared = new Map<string, readonly string[]>();

  async execute(executor: Pick<PGlite, 'exec'>, name: string, sql: string, params: readonly unknown[], inTransaction: boolean): Promise<string | null> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) return null;
    let statement = this.statements.get(name);
    if (statement !== undefined && statement.sql !== sql) return null;
    let types = this.prepared.get(name) ?? null;
    if (types === null) {
      // A transaction holds the connection: one being prepared outside it would be waited for for ever.
      if (statement !== undefined && inTransaction) return null;
      if (statement === undefined) {
        statement = { sql, types: this.prepare(executor, name, sql, inTransaction) };
        this.statements.set(name, statement);
      }
      types = await statement.types;
      if (types === null) return null;
    }
    return executeText(name, types, params);
  }

  private async prepare(executor: Pick<PGlite, 'exec'>, name: string, sql: string, inTransaction: boolean): Promise<readonly string[] | null> {
    const prepare = `PREPARE ${name} AS ${sql}; SELECT parameter_types::text[] AS types FROM pg_prepared_statements WHERE name = '${name}'`;
    try {
      // A script is parsed whole before any of it runs: the savepoint goes first, on its own.
      if (inTransaction) await executor.exec('SAVEPOINT pglite_prepare');
      const results = await executor.exec(prepare);
      if (inTransaction) await executor.exec('RELEASE SAVEPOINT pglite_prepare');
      const described = results.find((result) => result.fields.some((field) => field.name === 'types'));
      const types = (described?.rows[0] as { types?: string[] } | undefined)?.types ?? null;
      if (types) this.prepared.set(name, types);
      return types;
    } catch {
      // Not prepared (say, a table not made yet): sent as it is, and prepared again next time.
      // (In a transaction that had failed already there is no savepoint: its statement reports that.)
      if (inTransaction) await executor.exec('ROLLBACK TO SAVEPOINT pglite_prepare; RELEASE SAVEPOINT pglite_prepare').catch(() => undefined);
      this.statements.delete(name);
      return null;
    }
  }
}

/** Parameters whose text form here could differ from PGlite's own (JSON, bytes): such statements are sent as they are. */
const UNINLINED_TYPES = new Set(['json', 'jsonb', 'bytea', 'json[]', 'jsonb[]', 'bytea[]']);
/**
 * Except a JSON parameter given as a string, JSON text already (the append's events): PGlite sends a
 * string as it is, so its literal is the same text. The append is the one statement every command
 * sends, and unprepared it was parsed, described and planned again on every call.
 */
const JSON_TYPES = new Set(['json', 'jsonb']);

/** `EXECUTE name(literals)`, or null when a value does not go as a literal to its parameter's type. */
const executeText = (name: string, types: readonly string[], params: readonly unknown[]): string | null => {
  if (params.length !== types.length) return null;
  const literals: string[] = [];
  for (let i = 0; i < params.length; i++) {
    const type = types[i]!;
    const param = params[i];
    if (UNINLINED_TYPES.has(type) && !(JSON_TYPES.has(type) && (typeof param === 'string' || param === null || param === undefined))) return null;
    if (Array.isArray(param) !== type.endsWith('[]') && param !== null && param !== undefined) return null;
    const text = literal(param);
    if (text === undefined) return null;
    literals.push(text);
  }
  return literals.length === 0 ? `EXECUTE ${name}` : `EXECUTE ${name}(${literals.join(', ')})`;
};

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
  const prepared = new PreparedStatements();
  const run = async <Row>(
    executor: Pick<PGlite, 'query' | 'exec'>,
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
    inTransaction = false,
  ): Promise<SqlResult<Row>> => {
    statements.asked();
    const asJson = options?.rowsAsJson === true;
    // Each row as one JSON text (see QueryOptions.rowsAsJson): the same statement under its own name.
    const execute = options?.name
      ? await prepared.execute(executor, asJson ? `${options.name}_json` : options.name, asJson ? `SELECT to_json(q)::text AS row FROM (${sql}) q` : sql, params ?? [], inTransaction)
      : null;
    if (execute && asJson) {
      const rows = ((await executor.exec(execute))[0] as Results<{ row: string }>).rows.map((row) => JSON.parse(row.row) as Row);
      return { rows, rowCount: rows.length };
    }
    const result = execute ? ((await executor.exec(execute))[0] as Results<Row>) : await executor.query<Row>(sql, params as unknown[] | undefined);
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
    query: (sql, params, options) => run(db, sql, params, options),
    copyFrom: (table, columns, text) => copy(db, table, columns, text),
    transaction: (work) => {
      statements.asked();
      return db.transaction(async (tx) => {
        const executor: SqlTransaction = {
          query: (sql, params, options) => run(tx, sql, params, options, true),
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
