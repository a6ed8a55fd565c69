import { openPglite } from '../../src/sql/pglite';
import type { SqlDatabase, SqlExecutor } from '../../src/sql/sqlDatabase';

/*
 * Named statements on the embedded store (src/sql/pglite.ts): prepared once, then run as
 * `EXECUTE name(literals)`. The values travel inlined as literals, so this pins that every kind of
 * value a named statement is given reads back exactly as it does unprepared, including text that
 * would end a literal or an array element early, and that a value with no literal form is still sent.
 */

const prepared = async (db: SqlExecutor): Promise<string[]> =>
  (await db.query<{ name: string }>(`SELECT name FROM pg_prepared_statements ORDER BY name`)).rows.map((row) => row.name);

describe('named statements on the embedded store', () => {
  let db: SqlDatabase;

  beforeAll(async () => {
    db = await openPglite();
    await db.exec(`CREATE TABLE t (id text PRIMARY KEY, n integer, big bigint, flag boolean, at timestamptz, tags text[], doc jsonb)`);
  });
  afterAll(() => db.close());

  const ECHO = `SELECT $1::text AS text, $2::integer AS n, $3::bigint AS big, $4::boolean AS flag, $5::text[] AS tags, $6::timestamptz AS at`;
  const awkward = [
    `it's`,
    `back\\slash`,
    `'); DROP TABLE t; --`,
    `E'\\''`,
    `quote " and brace } and comma ,`,
    `line\nbreak\ttab`,
    `ünïcødé 🙂`,
    '',
  ];

  it.each(awkward)('reads %j back as the unprepared statement does', async (text) => {
    const params = [text, -7, 9007199254740993n, true, [text, null, 'plain', `{${text}}`], '2026-01-05T09:00:00.123Z'];
    const plain = await db.query(ECHO, params);
    const named = await db.query(ECHO, params, { name: 'echo_v1' });
    expect(named.rows).toEqual(plain.rows);
    expect(named.rows[0]).toMatchObject({ text, tags: [text, null, 'plain', `{${text}}`], n: -7, flag: true });
    expect(await prepared(db)).toContain('echo_v1');
    expect((await db.query<{ count: number }>(`SELECT count(*)::integer AS count FROM t`)).rows[0]!.count).toBe(0);
  });

  it('nulls, empty arrays and writes', async () => {
    const insert = `INSERT INTO t (id, n, tags, at) VALUES ($1, $2, $3, $4) RETURNING id, n, tags, at`;
    const named = await db.query(insert, ['a', null, [], null], { name: 'insert_v1' });
    expect(named.rows).toEqual([{ id: 'a', n: null, tags: [], at: null }]);
    expect(named.rowCount).toBe(1);
    expect(await prepared(db)).toContain('insert_v1');
    const read = await db.query(`SELECT id, n FROM t WHERE id = ANY($1::text[])`, [['a', 'b']], { name: 'read_v1' });
    expect(read.rows).toEqual([{ id: 'a', n: null }]);
  });

  it('rowsAsJson: the rows of a SELECT carried as one JSON text each read back the same, in order', async () => {
    for (const [id, n, flag, doc] of [
      ['j2', 2, true, { a: [1, 'x'], s: `it's` }],
      ['j1', null, false, null],
      ['j3', 3, null, {}],
    ] as const) {
      await db.query(`INSERT INTO t (id, n, flag, tags, doc) VALUES ($1, $2, $3, $4, $5::jsonb)`, [id, n, flag, [id, null], doc === null ? null : JSON.stringify(doc)]);
    }
    const select = `SELECT id, n, flag, tags, doc, 'fixed' AS label FROM t WHERE id = ANY($1::text[]) ORDER BY id DESC LIMIT $2`;
    const plain = await db.query(select, [['j1', 'j2', 'j3'], 3]);
    const asJson = await db.query(select, [['j1', 'j2', 'j3'], 3], { name: 'rows_v1', rowsAsJson: true });
    expect(asJson.rows).toEqual(plain.rows);
    expect(asJson.rows.map((row) => row.id)).toEqual(['j3', 'j2', 'j1']);
    expect(await prepared(db)).toContain('rows_v1_json');
    await db.exec(`DELETE FROM t WHERE id LIKE 'j%'`);
  });

  it('runs a statement whose JSON parameters are given as JSON text prepared (the append), reading back the same', async () => {
    const runs = async (name: string): Promise<number> =>
      (await db.query<{ runs: number }>(`SELECT (generic_plans + custom_plans)::integer AS runs FROM pg_prepared_statements WHERE name = $1`, [name])).rows[0]?.runs ?? 0;
    const select = `SELECT $1::jsonb AS doc, $2::json AS raw, $3::jsonb -> 0 ->> 'text' AS first, $4::jsonb AS none`;
    for (const text of awkward) {
      const docs = [{ text, list: [1, 2.5, null, true], nested: { [text]: text } }];
      const params = [JSON.stringify(docs), JSON.stringify({ text }), JSON.stringify(docs), null];
      const plain = await db.query(select, params);
      const named = await db.query(select, params, { name: 'json_text_v1' });
      expect(named.rows).toEqual(plain.rows);
      expect(named.rows[0]).toMatchObject({ doc: docs, raw: { text }, first: text, none: null });
    }
    expect(await runs('json_text_v1')).toBe(awkward.length);
  });

  it('sends a value with no literal form (an object for jsonb) unprepared, and still answers', async () => {
    const doc = { text: `it's "quoted"`, list: [1, 2] };
    const result = await db.query(`SELECT $1::jsonb AS doc`, [doc], { name: 'json_v1' });
    expect(result.rows).toEqual([{ doc }]);
  });

  it('reads the same in a transaction, and a refused statement is refused as before', async () => {
    await db.transaction(async (tx) => {
      const inside = await tx.query(ECHO, ['in a transaction', 1, 2n, false, ['x'], '2026-01-05T09:00:00.000Z'], { name: 'echo_v1' });
      expect(inside.rows[0]).toMatchObject({ text: 'in a transaction', n: 1, flag: false, tags: ['x'] });
    });
    await expect(db.query(`SELECT * FROM missing WHERE id = $1`, ['x'], { name: 'missing_v1' })).rejects.toThrow(/missing/);
    await db.exec(`CREATE TABLE missing (id text)`);
    await expect(db.query(`SELECT * FROM missing WHERE id = $1`, ['x'], { name: 'missing_v1' })).resolves.toMatchObject({ rows: [] });
  });

  it('prepares a name first met inside a transaction there, and it outlives a rollback', async () => {
    const count = `SELECT count(*)::integer AS count FROM t WHERE id = ANY($1::text[])`;
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO t (id, n) VALUES ('rolled back', 1)`);
        const inside = await tx.query<{ count: number }>(count, [['rolled back', 'a']], { name: 'count_in_tx_v1' });
        expect(inside.rows).toEqual([{ count: 2 }]);
        expect(await prepared(tx)).toContain('count_in_tx_v1');
        throw new Error('roll it back');
      }),
    ).rejects.toThrow('roll it back');
    // The row went with the rollback; the statement did not.
    expect(await prepared(db)).toContain('count_in_tx_v1');
    expect((await db.query<{ count: number }>(count, [['rolled back', 'a']], { name: 'count_in_tx_v1' })).rows).toEqual([{ count: 1 }]);
  });

  it('a name that cannot be prepared inside a transaction leaves the transaction as it was', async () => {
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO t (id, n) VALUES ('kept', 5)`);
      // SHOW cannot be prepared: its PREPARE fails under a savepoint, and the statement is sent as it is.
      await expect(tx.query(`SHOW search_path`, [], { name: 'show_v1' })).resolves.toMatchObject({ rows: [{ search_path: expect.any(String) }] });
      // Without the savepoint the failed PREPARE would have aborted the transaction here.
      await tx.query(`UPDATE t SET n = n + 1 WHERE id = 'kept'`);
    });
    expect((await db.query(`SELECT n FROM t WHERE id = 'kept'`)).rows).toEqual([{ n: 6 }]);
    expect(await prepared(db)).not.toContain('show_v1');
  });
});
