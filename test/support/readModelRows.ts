import type { Projection } from '../../src/projectionEngine/projection';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';

/** Every row of every table of these projections, in a stable order, as jsonb: what a rebuild or replay must reproduce. */
export const readModelRows = async (db: SqlDatabase, projections: readonly Projection[]): Promise<Record<string, unknown[]>> => {
  const tables: Record<string, unknown[]> = {};
  for (const projection of projections) {
    for (const table of projection.tables) {
      const { rows } = await db.query<{ row: unknown }>(`SELECT to_jsonb(t) AS row FROM ${table} t ORDER BY to_jsonb(t)::text`);
      tables[table] = rows.map((row) => row.row);
    }
  }
  return tables;
};
