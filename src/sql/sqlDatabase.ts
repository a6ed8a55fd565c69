import { createHash } from 'node:crypto';
/**
 * The little SQL surface both PostgreSQL (`pg`) and the embedded PGlite provide, so event store,
 * projections and read-model queries are written once.
 */
export interface SqlResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

export interface QueryOptions {
  /**
   * Prepare the statement under this name, once per connection, and reuse the plan (both stores).
   * Only for hot statements; version the name when the SQL or the result type of what it calls
   * changes, or PostgreSQL refuses the cached plan.
   */
  readonly name?: string;
  /**
   * With `name`, on a SELECT whose columns are all text, integer, boolean or JSON (whose JSON form
   * reads back as the same values): the embedded store may carry each row as one JSON text, as
   * PGlite decodes every field on its own at a cost above the statement's. PostgreSQL ignores it.
   */
  readonly rowsAsJson?: boolean;
}

export interface SqlExecutor {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<SqlResult<Row>>;
  /**
   * Bulk-inserts rows with COPY FROM (several times faster than INSERT for thousands of rows: the
   * server inserts them in multi-row batches). `copyText` is COPY's text format (values from `copyValue` below, tab-separated, a line per row).
   * No ON CONFLICT: only for rows that cannot exist yet.
   */
  copyFrom(table: string, columns: readonly string[], copyText: string): Promise<void>;
}

const statementNames = new Map<string, string>();

/**
 * A name to prepare a statement under (QueryOptions.name): PostgreSQL parses it once per connection
 * and then only binds, the embedded store runs it as \`EXECUTE\`. Named after its text, so each shape
 * of a statement is its own and a changed text is a new one. For statements that repeat (pages, the
 * projection runner's writes) and whose best plan does not depend on the values (see \`usersPage\`).
 */
export const preparedName = (prefix: string, sql: string): string => {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `${prefix}_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
    statementNames.set(sql, name);
  }
  return name;
};

/** A text as an SQL string literal (quotes doubled), for values written into a statement rather than bound. */
export const sqlText = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** One value in COPY's text format: `\N` for null, backslash, tab and line breaks escaped. */
export const copyValue = (value: unknown): string => {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') return COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]!) : value;
  if (typeof value === 'object') return copyValue(JSON.stringify(value));
  return String(value);
};
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };


const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** `table (columns)`, refusing anything but plain identifiers. */
const tableColumns = (table: string, columns: readonly string[]): string => {
  for (const name of [table, ...columns]) if (!IDENTIFIER.test(name)) throw new Error(`Unsafe SQL identifier: ${name}`);
  return `${table} (${columns.join(', ')})`;
};

/** `COPY table (columns) FROM <source>`, refusing anything but plain identifiers. */
export const copyStatement = (table: string, columns: readonly string[], source: string): string => `COPY ${tableColumns(table, columns)} FROM ${source}`;

/** `INSERT INTO table (columns) <select>`, refusing anything but plain identifiers. */
export const insertSelectStatement = (table: string, columns: readonly string[], select: string): string =>
  `INSERT INTO ${tableColumns(table, columns)} ${select}`;

/** What `transaction` hands its work: the executor, and scripts (migrations) in the same transaction. */
export interface SqlTransaction extends SqlExecutor {
  /** Runs a script of several statements without parameters. */
  exec(sql: string): Promise<void>;
}

/** Says when something asks a database to run a statement (see AppendBatcher's `gather`). */
export interface StatementSignal {
  /**
   * Calls `listener` each time a statement is asked of the database (a query, a COPY, a script, the
   * start of a transaction, or a statement inside one), synchronously in the asker's call, before the
   * statement is queued: what the listener sends then goes first. Returns what stops the calls.
   */
  onStatement(listener: () => void): () => void;
}

/** The listeners of a StatementSignal, for the adapters: `asked()` before each statement is queued. */
export const statementListeners = (): StatementSignal & { asked(): void } => {
  const listeners = new Set<() => void>();
  return {
    onStatement: (listener) => {
      // Each its own entry, so that one listener given twice is also stopped once per call.
      const entry = (): void => listener();
      listeners.add(entry);
      return () => void listeners.delete(entry);
    },
    asked: () => {
      for (const listener of listeners) listener();
    },
  };
};

export interface SqlDatabase extends SqlExecutor, StatementSignal {
  /** `embedded` (PGlite: one connection, queries run one at a time) or `postgres`. */
  readonly kind: 'embedded' | 'postgres';
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** The SQLSTATE of a PostgreSQL error, whichever driver raised it. */
export const sqlState = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error && typeof (error as { code: unknown }).code === 'string'
    ? (error as { code: string }).code
    : undefined;

/**
 * Loads the rows of a query (no parameters) into a table with INSERT ... SELECT, in one transaction
 * after `settings` (`SET LOCAL ...` statements): all of them or none.
 *
 * The rows never leave the server. Streaming them out with COPY TO and back in with COPY FROM on a
 * second connection was tried for the replay (it writes the table a page at a time where INSERT logs
 * every row) and measured slower: formatting and parsing the text cost more than the logging saves
 * (the history's user entries: 1.76 s out and 0.90 s in, against 2.16 s for the INSERT).
 */
export const loadQuery = async (
  db: SqlDatabase,
  table: string,
  columns: readonly string[],
  select: string,
  settings: readonly string[] = [],
): Promise<void> => {
  const insert = insertSelectStatement(table, columns, select);
  await db.transaction(async (tx) => {
    for (const setting of settings) await tx.query(setting);
    await tx.query(insert);
  });
};
