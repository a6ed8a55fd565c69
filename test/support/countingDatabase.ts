import type { QueryOptions, SqlDatabase, SqlExecutor, SqlTransaction } from '../../src/sql/sqlDatabase';

/** One statement sent to the database, as the counting wrapper saw it. */
export interface SentStatement {
  /** The SQL text, or `BEGIN` / `COMMIT` / `ROLLBACK` / `COPY ...` for what a transaction or copy sends. */
  readonly sql: string;
  /** Prepared under this name (PostgreSQL sends its text once per connection, then only the parameters). */
  readonly name?: string;
  /** Bytes of SQL text (0 for a named statement already sent once) plus bytes of parameters as text. */
  readonly bytes: number;
}

export interface CountingDatabase extends SqlDatabase {
  /** Everything sent since the last `reset()`. */
  readonly sent: readonly SentStatement[];
  reset(): void;
}

const paramBytes = (value: unknown): number => {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (Array.isArray(value)) return value.reduce<number>((n, item) => n + paramBytes(item) + 1, 2);
  if (typeof value === 'object') return Buffer.byteLength(JSON.stringify(value));
  return String(value).length;
};

/**
 * Wraps a database so that a test can see every statement the code sends and roughly how many bytes
 * (SQL text and parameters as text; a named statement's text counted the first time only, as the pg
 * driver prepares it once per connection). On PostgreSQL a transaction also sends BEGIN and COMMIT,
 * which are counted; PGlite runs them in process, and they are counted alike so both stores compare.
 */
export const countingDatabase = (db: SqlDatabase): CountingDatabase => {
  let sent: SentStatement[] = [];
  const prepared = new Set<string>();
  const record = (sql: string, params: readonly unknown[] | undefined, options: QueryOptions | undefined): void => {
    const name = options?.name;
    const textBytes = name && prepared.has(name) ? 0 : Buffer.byteLength(sql);
    if (name) prepared.add(name);
    sent.push({ sql, ...(name ? { name } : {}), bytes: textBytes + (params ?? []).reduce<number>((n, p) => n + paramBytes(p), 0) });
  };
  const wrap = (executor: SqlExecutor): SqlExecutor => ({
    query(sql, params, options) {
      record(sql, params, options);
      return executor.query(sql, params, options);
    },
    copyFrom(table, columns, text) {
      sent.push({ sql: `COPY ${table}`, bytes: Buffer.byteLength(text) });
      return executor.copyFrom(table, columns, text);
    },
  });
  return {
    kind: db.kind,
    onStatement: (listener) => db.onStatement(listener),
    get sent() {
      return sent;
    },
    reset() {
      sent = [];
    },
    ...wrap(db),
    async transaction(work) {
      sent.push({ sql: 'BEGIN', bytes: 5 });
      try {
        const result = await db.transaction((tx) =>
          work({
            ...wrap(tx),
            exec(sql: string) {
              sent.push({ sql, bytes: Buffer.byteLength(sql) });
              return tx.exec(sql);
            },
          } satisfies SqlTransaction),
        );
        sent.push({ sql: 'COMMIT', bytes: 6 });
        return result;
      } catch (error) {
        sent.push({ sql: 'ROLLBACK', bytes: 8 });
        throw error;
      }
    },
    exec(sql) {
      sent.push({ sql, bytes: Buffer.byteLength(sql) });
      return db.exec(sql);
    },
    close: () => db.close(),
  };
};
