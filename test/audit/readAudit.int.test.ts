import { Writable } from 'node:stream';
import { ReadAuditLog, subjectOfStream, type ReadEntry } from '../../src/audit/readAudit';
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
      if (sql.startsWith('INSERT INTO audit_reads')) inserts += 1;
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

const stored = async (db: SqlDatabase): Promise<{ object_id: string; object_kind: string; subject_user_id: string | null }[]> =>
  (await db.query<{ object_id: string; object_kind: string; subject_user_id: string | null }>(
    'SELECT object_id, object_kind, subject_user_id FROM audit_reads ORDER BY id',
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
    await db.query('TRUNCATE audit_reads');
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

    await db.query('TRUNCATE audit_reads');
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

  test('an NDJSON export by the events CLI is one EXPORT read by the operator, saying what it covered', async () => {
    await SqlEventStore.create(db);
    const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });
    const io = { stdout: sink(), stderr: sink(), database: async () => db, operator: 'ops.olga' };
    expect(await runEventsCli(['export', '--stream', 'user-abc'], io)).toBe(0);
    expect(await runEventsCli(['export', '--aggregate', 'match'], io)).toBe(0);
    const { rows } = await db.query<Record<string, string | null>>(
      'SELECT actor_id, actor_role, object_kind, object_id, subject_user_id, via FROM audit_reads ORDER BY id',
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
