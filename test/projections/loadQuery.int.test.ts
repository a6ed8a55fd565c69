import { loadQuery } from '../../src/sql/sqlDatabase';
import { announcePostgresSkip, sqlBackends } from '../support/databases';

/** `loadQuery`, which a replay in SQL fills its tables with (an INSERT ... SELECT in a transaction). */
announcePostgresSkip('loadQuery');

describe.each(sqlBackends())('loadQuery on $name', ({ open }) => {
  test('loads every row a query returns, text that needs escaping, nulls, jsonb and timestamps included', async () => {
    const database = await open();
    try {
      await database.db.exec(`CREATE TABLE load_target (id integer PRIMARY KEY, label text, doc jsonb, at timestamptz)`);
      await loadQuery(
        database.db,
        'load_target',
        ['id', 'label', 'doc', 'at'],
        `SELECT n, CASE WHEN n % 3 = 0 THEN NULL ELSE 'tab' || chr(9) || 'line' || chr(10) || 'back\\slash ' || n END,
                jsonb_build_object('n', n, 'quote', 'say "hi"'), timestamptz '2026-01-05 09:00:00+00' + n * interval '1 second'
           FROM generate_series(1, 2500) n`,
        [`SET LOCAL TimeZone TO 'America/New_York'`],
      );
      const { rows } = await database.db.query<{ count: number; nulls: number; label: string; doc: unknown; at: string }>(
        `SELECT (SELECT count(*)::integer FROM load_target) AS count, (SELECT count(*)::integer FROM load_target WHERE label IS NULL) AS nulls,
                label, doc, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS at
           FROM load_target WHERE id = 2500`,
      );
      expect(rows[0]).toEqual({ count: 2500, nulls: 833, label: 'tab\tline\nback\\slash 2500', doc: { n: 2500, quote: 'say "hi"' }, at: '2026-01-05 09:41:40' });
    } finally {
      await database.close();
    }
  });

  test('a query that fails loads nothing, says why, and leaves the database usable', async () => {
    const database = await open();
    try {
      await database.db.exec(`CREATE TABLE load_target (id integer PRIMARY KEY, label text)`);
      await expect(
        loadQuery(database.db, 'load_target', ['id', 'label'], `SELECT n, (1 / (n - 1500))::text FROM generate_series(1, 3000) n`),
      ).rejects.toThrow(/division by zero/);
      // A row that breaks the table's key.
      await expect(loadQuery(database.db, 'load_target', ['id', 'label'], `SELECT 1, 'a' UNION ALL SELECT 1, 'b'`)).rejects.toThrow(/duplicate key/);
      const { rows } = await database.db.query<{ count: number }>(`SELECT count(*)::integer AS count FROM load_target`);
      expect(rows[0]!.count).toBe(0);
      await loadQuery(database.db, 'load_target', ['id', 'label'], `SELECT n, 'ok' FROM generate_series(1, 10) n`);
      expect((await database.db.query<{ count: number }>(`SELECT count(*)::integer AS count FROM load_target`)).rows[0]!.count).toBe(10);
      await expect(loadQuery(database.db, 'load_target; DROP TABLE x', ['id'], 'SELECT 1')).rejects.toThrow(/Unsafe SQL identifier/);
    } finally {
      await database.close();
    }
  });
});
