import { announcePostgresSkip, sqlBackends } from '../support/databases';

/** The two SQL adapters answer alike: code written against one must not count differently on the other. */
announcePostgresSkip('SQL adapters');

describe.each(sqlBackends())('the SQL adapter on $name', ({ open }) => {
  test('rowCount is the rows a SELECT returned and the rows a write changed, as pg reports them', async () => {
    const { db, close } = await open();
    try {
      await db.query(`CREATE TABLE adapter_rows (id int PRIMARY KEY, n int NOT NULL)`);
      expect((await db.query(`INSERT INTO adapter_rows VALUES (1, 0), (2, 0), (3, 0)`)).rowCount).toBe(3);
      expect((await db.query(`SELECT id FROM adapter_rows WHERE id < 3`)).rowCount).toBe(2);
      expect((await db.query(`SELECT id FROM adapter_rows WHERE id > 9`)).rowCount).toBe(0);
      expect((await db.query(`UPDATE adapter_rows SET n = n + 1 WHERE id > 1`)).rowCount).toBe(2);
      expect((await db.query(`UPDATE adapter_rows SET n = n + 1 WHERE id = 1 RETURNING id`)).rowCount).toBe(1);
      expect((await db.query(`DELETE FROM adapter_rows`)).rowCount).toBe(3);
    } finally {
      await close();
    }
  });
});
