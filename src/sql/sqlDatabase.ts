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
   * Prepare the statement under this name, once per connection, and reuse the plan (PostgreSQL;
   * the embedded store ignores it). Only for hot statements; version the name when the SQL or the
   * result type of what it calls changes, or PostgreSQL refuses the cached plan.
   */
  readonly name?: string;
}

export interface SqlExecutor {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<SqlResult<Row>>;
}

export interface SqlDatabase extends SqlExecutor {
  /** `embedded` (PGlite: one connection, queries run one at a time) or `postgres`. */
  readonly kind: 'embedded' | 'postgres';
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** The SQLSTATE of a PostgreSQL error, whichever driver raised it. */
export const sqlState = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error && typeof (error as { code: unknown }).code === 'string'
    ? (error as { code: string }).code
    : undefined;
