import { Pool, types, type PoolClient, type PoolConfig } from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { copyStatement, statementListeners, type QueryOptions, type SqlDatabase, type SqlResult, type SqlTransaction } from './sqlDatabase';

// Keep timestamps as text (as PGlite is set up to): the domain speaks ISO-8601 strings.
const TIMESTAMP_OIDS = new Set([1114, 1184]);
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    TIMESTAMP_OIDS.has(oid) ? (value: string) => value : types.getTypeParser(oid, format as 'text')) as typeof types.getTypeParser,
};

export const openPostgres = (connectionString: string, options: Omit<PoolConfig, 'connectionString'> = {}): SqlDatabase => {
  const pool = new Pool({ connectionString, max: 20, types: typeParsers, ...options });
  // A dropped idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const statements = statementListeners();
  const run = async <Row>(
    executor: { query: Pool['query'] },
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<SqlResult<Row>> => {
    statements.asked();
    const values = params as unknown[] | undefined;
    const result = await (options?.name ? executor.query({ name: options.name, text: sql, values }) : executor.query(sql, values));
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
  };
  const copy = (client: PoolClient, table: string, columns: readonly string[], text: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      statements.asked();
      const stream = client.query(copyFromStdin(copyStatement(table, columns, 'STDIN')));
      stream.on('error', reject);
      stream.on('finish', () => resolve());
      stream.end(text);
    });
  return {
    kind: 'postgres',
    onStatement: statements.onStatement,
    query: (sql, params, options) => run(pool, sql, params, options),
    async copyFrom(table, columns, text) {
      const client = await pool.connect();
      try {
        await copy(client, table, columns, text);
      } finally {
        client.release();
      }
    },
    async transaction(work) {
      statements.asked();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const tx: SqlTransaction = {
          query: (sql, params, options) => run(client, sql, params, options),
          copyFrom: (table, columns, text) => copy(client, table, columns, text),
          // No parameters: the simple protocol, which takes several statements.
          exec: async (sql) => {
            statements.asked();
            await client.query(sql);
          },
        };
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async exec(sql) {
      statements.asked();
      await pool.query(sql);
    },
    close: () => pool.end(),
  };
};
