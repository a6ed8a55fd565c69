import { Writable } from 'node:stream';
import { READ_AUDIT_MIGRATIONS, ReadAuditLog, subjectOfStream, type ReadEntry } from '../../src/audit/readAudit';
import { migrate, migrationSet } from '../../src/sql/migrations';
import { runEventsCli } from '../../src/cli/events';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { DomainError } from '../../src/domain/shared/decider';
import { createLogger } from '../../src/log';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';

announcePostgresSkip('read audit recorder');

/** The database as given, counting the statements that write to audit_reads. */
const countingInserts = (db: SqlDatabase): { db: SqlDatabase; inserts: () => number } => {
  let inserts = 0;
  const counted: SqlDatabase = {
    kind: db.kind,
    onStatement: (listener) => db.onStatement(listener),
    query: (sql, params, options) => {
      if (/INSERT INTO audit_reads\b/.test(sql)) inserts += 1;
      return db.query(sql, params, options);
    },
    copyFrom: (table, columns, text) => db.copyFrom(table, columns, text),
    transaction: (work) => db.transaction(work),
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
  };
  return { db: counted, inserts: () => inserts };
};

const logged: { level: number; msg: string; pendingReads?: number }[] = [];
const logger = createLogger({
  level: 'error',
  destination: new Writable({
    write(chunk, _encoding, done) {
      logged.push(JSON.parse(String(chunk)));
      done();
    },
  }),
});

const entry = (n: number, overrides: Partial<ReadEntry> = {}): ReadEntry => ({
  readAt: new Date(Date.UTC(2026, 0, 5, 9, 0, n)).toISOString(),
  actorId: 'alice.admin',
  actorRole: 'admin',
  kind: 'USER_RECORD',
  objectId: `u${n}`,
  subjectUserId: `u${n}`,
  via: 'Query.user',
  requestId: `req-${n}`,
  correlationId: `corr-${n}`,
  ...overrides,
});

/** Each read of a row (a row holds the reads one call recorded together), in the order written. */
const ENTRIES = 'audit_reads r CROSS JOIN LATERAL unnest(r.object_ids, r.subject_user_ids) WITH ORDINALITY AS e(object_id, subject_user_id, n)';

const stored = async (db: SqlDatabase): Promise<{ object_id: string; object_kind: string; subject_user_id: string | null }[]> =>
  (await db.query<{ object_id: string; object_kind: string; subject_user_id: string | null }>(
    `SELECT e.object_id, r.object_kind, e.subject_user_id FROM ${ENTRIES} ORDER BY r.id, e.n`,
  )).rows;

const eventually = async (check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> => {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe.each(sqlBackends())('the read audit recorder on $name', ({ open }) => {
  let database: TestDatabase;
  let db: SqlDatabase;

  beforeAll(async () => {
    database = await open();
    db = database.db;
  }, 60_000);

  afterAll(async () => {
    await database?.close();
  });

  beforeEach(async () => {
    await ReadAuditLog.create(db, { logger });
    await db.query('TRUNCATE audit_reads, audit_read_subjects');
    logged.length = 0;
  });

  test('reads wait in memory and are written by one INSERT per flush, in order, a batch at most maxBatch', async () => {
    const counting = countingInserts(db);
    const log = await ReadAuditLog.create(counting.db, { logger, flushIntervalMs: 60_000, maxBatch: 500 });
    for (let n = 0; n < 3; n++) log.record(entry(n));
    expect(await stored(db)).toEqual([]);
    expect(log.pending).toBe(3);
    await log.flush();
    expect(counting.inserts()).toBe(1);
    expect((await stored(db)).map((row) => row.object_id)).toEqual(['u0', 'u1', 'u2']);

    await db.query('TRUNCATE audit_reads, audit_read_subjects');
    // 1,200 reads: three statements of 500, 500 and 200 (recorded synchronously, so the size trigger's
    // flush runs after this explicit one and finds nothing left).
    for (let n = 0; n < 1200; n++) log.record(entry(n));
    await log.flush();
    expect(counting.inserts()).toBe(1 + 3);
    const rows = await stored(db);
    expect(rows).toHaveLength(1200);
    expect(rows.map((row) => row.object_id)).toEqual(Array.from({ length: 1200 }, (_, n) => `u${n}`));
    await log.stop();
    expect(counting.inserts()).toBe(4);
    expect(log.stats).toMatchObject({ statements: 4, written: 1203, failedStatements: 0 });
    expect(log.stats.longestStatementMs).toBeGreaterThan(0);
  });

  test('a full batch is written without waiting for the timer, and the timer writes the rest', async () => {
    const sizeTriggered = await ReadAuditLog.create(db, { logger, flushIntervalMs: 60_000, maxBatch: 5 });
    for (let n = 0; n < 5; n++) sizeTriggered.record(entry(n));
    await eventually(async () => (await stored(db)).length === 5);
    expect(sizeTriggered.pending).toBe(0);

    const timed = await ReadAuditLog.create(db, { logger, flushIntervalMs: 30, maxBatch: 500 });
    timed.start();
    timed.record(entry(10));
    timed.record(entry(11));
    await eventually(async () => (await stored(db)).length === 7);
    await timed.stop();
    await sizeTriggered.stop();
  });

  test('stop writes what is still buffered (shutdown)', async () => {
    const log = await ReadAuditLog.create(db, { logger, flushIntervalMs: 60_000 });
    log.start();
    log.record(entry(1));
    log.record(entry(2));
    expect(await stored(db)).toEqual([]);
    await log.stop();
    expect((await stored(db)).map((row) => row.object_id)).toEqual(['u1', 'u2']);
  });

  test('a failed write keeps its reads, is logged, and the next flush writes them once, ahead of newer ones', async () => {
    const log = await ReadAuditLog.create(db, { logger, flushIntervalMs: 60_000 });
    log.record(entry(1));
    log.record(entry(2));
    await db.query('ALTER TABLE audit_reads RENAME TO audit_reads_away');
    try {
      await expect(log.flush()).rejects.toThrow();
      // Recording goes on while the database refuses: the reading request never sees the failure.
      expect(() => log.record(entry(3))).not.toThrow();
      expect(log.pending).toBe(3);
      expect(logged.some((line) => line.msg.includes('will be retried') && line.pendingReads === 2)).toBe(true);
    } finally {
      await db.query('ALTER TABLE audit_reads_away RENAME TO audit_reads');
    }
    await log.flush();
    expect((await stored(db)).map((row) => row.object_id)).toEqual(['u1', 'u2', 'u3']);
    expect(log.stats).toMatchObject({ statements: 1, written: 3, failedStatements: 1 });
    await log.flush();
    expect(await stored(db)).toHaveLength(3);
    await log.stop();
  });

  test('the timer retries a failed write on its own', async () => {
    const log = await ReadAuditLog.create(db, { logger, flushIntervalMs: 30 });
    await db.query('ALTER TABLE audit_reads RENAME TO audit_reads_away');
    log.start();
    log.record(entry(1));
    await eventually(async () => logged.some((line) => line.msg.includes('will be retried')));
    await db.query('ALTER TABLE audit_reads_away RENAME TO audit_reads');
    await eventually(async () => (await stored(db)).length === 1);
    await log.stop();
    expect((await stored(db)).map((row) => row.object_id)).toEqual(['u1']);
  });

  test('past maxBuffered reads are counted, not kept, and the count is written as a READS_LOST row', async () => {
    const log = await ReadAuditLog.create(db, { logger, flushIntervalMs: 60_000, maxBuffered: 3 });
    for (let n = 0; n < 5; n++) log.record(entry(n));
    expect(log.pending).toBe(3);
    await log.flush();
    const rows = await stored(db);
    expect(rows.map((row) => row.object_kind)).toEqual(['USER_RECORD', 'USER_RECORD', 'USER_RECORD', 'READS_LOST']);
    expect(rows[3]!.object_id).toMatch(/^2 read\(s\) not recorded/);
    await log.flush();
    expect(await stored(db)).toHaveLength(4);
    await log.stop();
  });

  test('auditors list reads newest first, filtered by subject, actor and time, page by page', async () => {
    const log = await ReadAuditLog.create(db, { logger, flushIntervalMs: 60_000 });
    for (let n = 0; n < 6; n++) log.record(entry(n, { subjectUserId: n % 2 === 0 ? 'even' : 'odd', actorId: n < 3 ? 'alice.admin' : 'ana.analyst' }));
    await log.flush();

    const all = await log.list({}, { first: 4 });
    expect(all.edges.map((edge) => edge.node.objectId)).toEqual(['u5', 'u4', 'u3', 'u2']);
    expect(all.hasNextPage).toBe(true);
    const rest = await log.list({}, { first: 4, after: all.edges.at(-1)!.cursor });
    expect(rest.edges.map((edge) => edge.node.objectId)).toEqual(['u1', 'u0']);
    expect(rest.hasNextPage).toBe(false);
    expect(all.edges[0]!.node).toMatchObject({
      readAt: '2026-01-05T09:00:05.000Z',
      actorId: 'ana.analyst',
      actorRole: 'admin',
      kind: 'USER_RECORD',
      via: 'Query.user',
      requestId: 'req-5',
      correlationId: 'corr-5',
    });

    const even = await log.list({ subjectUserId: 'even' }, { first: 10 });
    expect(even.edges.map((edge) => edge.node.objectId)).toEqual(['u4', 'u2', 'u0']);
    const byAlice = await log.list({ actorId: 'alice.admin', subjectUserId: 'odd' }, { first: 10 });
    expect(byAlice.edges.map((edge) => edge.node.objectId)).toEqual(['u1']);
    const window = await log.list({ from: '2026-01-05T09:00:02.000Z', to: '2026-01-05T09:00:04.000Z' }, { first: 10 });
    expect(window.edges.map((edge) => edge.node.objectId)).toEqual(['u3', 'u2']);

    await expect(log.list({}, { first: 2, after: 'not-a-cursor' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(log.list({}, { first: 2, after: 'not-a-cursor' })).rejects.toBeInstanceOf(DomainError);
    await log.stop();
  });

  test('reads recorded together (a page of users) are one row, each still listed as its own read and found by its subject', async () => {
    const log = await ReadAuditLog.create(db, { logger, flushIntervalMs: 60_000 });
    const page = (n: number, users: readonly string[]) =>
      users.forEach((user) => log.record(entry(n, { via: 'Query.users', objectId: user, subjectUserId: user })));
    page(1, ['ann', 'bob', 'cy']);
    log.record(entry(2, { objectId: 'persona-bob:p1', subjectUserId: 'bob' }));
    page(3, ['bob', 'dee']);
    await log.flush();

    const { rows } = await db.query<{ n: number }>('SELECT cardinality(object_ids) AS n FROM audit_reads ORDER BY id');
    expect(rows.map((row) => Number(row.n))).toEqual([3, 1, 2]);
    const subjects = await db.query<{ subject_user_id: string }>('SELECT subject_user_id FROM audit_read_subjects ORDER BY read_id, subject_user_id');
    expect(subjects.rows.map((row) => row.subject_user_id)).toEqual(['ann', 'bob', 'cy', 'bob', 'bob', 'dee']);

    // Newest first, the last read of a row first, paged through the middle of a row.
    const seen: string[] = [];
    const ids = new Set<string>();
    let after: string | undefined;
    do {
      const next = await log.list({}, { first: 2, ...(after ? { after } : {}) });
      next.edges.forEach((edge) => (seen.push(`${edge.node.readAt.slice(17, 19)} ${edge.node.objectId}`), ids.add(edge.node.id)));
      after = next.hasNextPage ? next.edges.at(-1)!.cursor : undefined;
    } while (after);
    expect(seen).toEqual(['03 dee', '03 bob', '02 persona-bob:p1', '01 cy', '01 bob', '01 ann']);
    expect(ids.size).toBe(6);

    const bob = await log.list({ subjectUserId: 'bob' }, { first: 2 });
    expect(bob.edges.map((edge) => [edge.node.objectId, edge.node.subjectUserId, edge.node.via])).toEqual([
      ['bob', 'bob', 'Query.users'],
      ['persona-bob:p1', 'bob', 'Query.user'],
    ]);
    const bobRest = await log.list({ subjectUserId: 'bob' }, { first: 2, after: bob.edges.at(-1)!.cursor });
    expect(bobRest.edges.map((edge) => [edge.node.objectId, edge.node.readAt])).toEqual([['bob', '2026-01-05T09:00:01.000Z']]);
    expect(bobRest.hasNextPage).toBe(false);
    expect((await log.list({ subjectUserId: 'ann', actorId: 'alice.admin' }, { first: 5 })).edges.map((edge) => edge.node.objectId)).toEqual(['ann']);
    expect((await log.list({ subjectUserId: 'nobody' }, { first: 5 })).edges).toEqual([]);
    await log.stop();
  });

  test('what was read is kept exactly, whatever characters it holds', async () => {
    const log = await ReadAuditLog.create(db, { logger, flushIntervalMs: 60_000 });
    const odd = ['say "hi"', 'back\\slash\\', '{a,b}', 'NULL', '', 'GET /exports/x.csv?q={"a":[1,2]}&n=NULL', 'é ✓'];
    odd.forEach((objectId, i) => log.record(entry(1, { via: 'Query.users', objectId, subjectUserId: i === 3 ? null : objectId })));
    await log.flush();
    const listed = (await log.list({}, { first: 10 })).edges.map(({ node }) => [node.objectId, node.subjectUserId]).reverse();
    expect(listed).toEqual(odd.map((objectId, i) => [objectId, i === 3 ? null : objectId]));
    expect((await log.list({ subjectUserId: 'back\\slash\\' }, { first: 10 })).edges.map(({ node }) => node.objectId)).toEqual(['back\\slash\\']);
    await log.stop();
  });

  test('reads written one row each before 0002_one_row_a_read are kept by it: same reads, same order, found by subject', async () => {
    const older = await open();
    try {
      await migrate(older.db, migrationSet('read-audit', READ_AUDIT_MIGRATIONS.migrations.slice(0, 1)));
      await older.db.query(
        `INSERT INTO audit_reads (read_at, actor_id, actor_role, object_kind, object_id, subject_user_id, via, request_id, correlation_id) VALUES
           ('2026-01-05T09:00:01Z', 'alice.admin', 'admin', 'USER_RECORD', 'ann', 'ann', 'Query.users', 'req-1', 'corr-1'),
           ('2026-01-05T09:00:01Z', 'alice.admin', 'admin', 'USER_RECORD', 'bob', 'bob', 'Query.users', 'req-1', 'corr-1'),
           ('2026-01-05T09:00:02Z', 'ops.olga', 'operator', 'EXPORT', 'all matches', NULL, 'GET /exports/matches.csv', NULL, NULL)`,
      );
      const log = await ReadAuditLog.create(older.db, { logger, flushIntervalMs: 60_000 });
      const all = await log.list({}, { first: 10 });
      expect(all.edges.map(({ node }) => [node.objectId, node.subjectUserId, node.actorId, node.readAt])).toEqual([
        ['all matches', null, 'ops.olga', '2026-01-05T09:00:02.000Z'],
        ['bob', 'bob', 'alice.admin', '2026-01-05T09:00:01.000Z'],
        ['ann', 'ann', 'alice.admin', '2026-01-05T09:00:01.000Z'],
      ]);
      expect((await log.list({ subjectUserId: 'ann' }, { first: 10 })).edges.map(({ node }) => [node.objectId, node.requestId])).toEqual([['ann', 'req-1']]);
      // New reads go after the old ones.
      log.record(entry(3, { objectId: 'cy', subjectUserId: 'cy' }));
      await log.stop();
      expect((await log.list({}, { first: 1 })).edges[0]!.node.objectId).toBe('cy');
      // Run again (a database whose record of migrations was lost runs them all again): nothing changes.
      const before = await log.list({}, { first: 10 });
      for (const migration of READ_AUDIT_MIGRATIONS.migrations) await older.db.exec(migration.sql);
      expect(await log.list({}, { first: 10 })).toEqual(before);
      expect((await log.list({ subjectUserId: 'ann' }, { first: 10 })).edges).toHaveLength(1);
    } finally {
      await older.close();
    }
  });

  test('an NDJSON export by the events CLI is one EXPORT read by the operator, saying what it covered', async () => {
    await SqlEventStore.create(db);
    const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });
    const io = { stdout: sink(), stderr: sink(), database: async () => db, operator: 'ops.olga' };
    expect(await runEventsCli(['export', '--stream', 'user-abc'], io)).toBe(0);
    expect(await runEventsCli(['export', '--aggregate', 'match'], io)).toBe(0);
    const { rows } = await db.query<Record<string, string | null>>(
      `SELECT r.actor_id, r.actor_role, r.object_kind, e.object_id, e.subject_user_id, r.via FROM ${ENTRIES} ORDER BY r.id, e.n`,
    );
    expect(rows).toEqual([
      {
        actor_id: 'ops.olga',
        actor_role: 'operator',
        object_kind: 'EXPORT',
        object_id: 'npm run events -- export {"streamId":"user-abc"}: 0 events',
        subject_user_id: 'abc',
        via: 'events CLI export (NDJSON)',
      },
      expect.objectContaining({ object_id: 'npm run events -- export {"aggregate":"match"}: 0 events', subject_user_id: null }),
    ]);
  });
});

test('the subject of a stream is the user of a user or persona stream, nobody for others', () => {
  expect(subjectOfStream('user-abc')).toBe('abc');
  expect(subjectOfStream('match-abc')).toBeNull();
  expect(subjectOfStream('user-')).toBeNull();
  expect(subjectOfStream('persona-abc:p2')).toBe('abc');
  expect(subjectOfStream('persona-abc')).toBeNull();
});
