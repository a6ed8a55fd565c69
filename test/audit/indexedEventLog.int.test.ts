import { registerWithLegacyId } from '../support/identity';
import { SqlEventLog, migrateAuditIndexes, type EventLogFilter, type EventLogReader, type LogEvent, type LogPage } from '../../src/audit/eventLog';
import { IndexedEventLog } from '../../src/audit/indexedEventLog';
import { Pseudonyms } from '../../src/audit/pseudonyms';
import { CommandPipeline } from '../../src/commands/pipeline';
import { personaIdFor, userIdForEmail } from '../../src/domain';
import { DomainError } from '../../src/domain/shared/decider';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import { eventLogIndexProjection } from '../../projections/eventLogIndex/eventLogIndex.projection';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';
import { ADMIN, COORDINATOR, Scenario, matchPersonas, minute, onProgram, onUser, self, type MatchIds } from '../readmodels/lifecycleScenario';

/*
 * The event log as KurrentDB deployments read it (`IndexedEventLog`: filters and pages on the index
 * the `event_log_index` projection keeps, events read from the store by position) against the SQL
 * store's own reader (`SqlEventLog`), over one log: every answer must be the same. The log is in
 * the SQL store here because both readers can read it there; the index and the reader only use the
 * EventStore port, which the KurrentDB adapter implements (its contract: src/eventstore/kurrentEventStore.unit.test.ts).
 */

announcePostgresSkip('indexed event log');

const P1 = 'prog-indexed';
const MAYA = userIdForEmail('maya.indexed@example.org');
const THEO = userIdForEmail('theo.indexed@example.org');
const M1: MatchIds = { matchId: 'm-indexed', programId: P1, mentorUserId: MAYA, menteeUserId: THEO };

describe.each(sqlBackends())('indexed event log against the SQL log on $name', ({ open }) => {
  let database: TestDatabase;
  let sql: SqlEventLog;
  let indexed: IndexedEventLog;
  let pseudonyms: Pseudonyms;
  let runner: ProjectionRunner;

  beforeAll(async () => {
    database = await open();
    const store = await SqlEventStore.create(database.db);
    await migrateAuditIndexes(database.db);
    const scenario = new Scenario(store);
    await scenario.run(ADMIN, onProgram({ type: 'CreateProgram', data: { programId: P1, name: 'Indexed 2026', timeZone: 'Europe/Berlin' } }), 'New year');
    await scenario.run(ADMIN, onProgram({ type: 'TurnMatchingOn', data: { programId: P1 } }));
    await scenario.run(self(MAYA, 'MENTOR'), registerWithLegacyId({ email: 'maya.indexed@example.org', name: 'Maya', programId: P1, role: 'MENTOR' }));
    await scenario.run(self(THEO, 'MENTEE'), registerWithLegacyId({ email: 'theo.indexed@example.org', name: 'Theo', programId: P1, role: 'MENTEE' }));
    await scenario.run(self(MAYA, 'MENTOR'), onUser({ type: 'CompleteApplication', data: { userId: MAYA, changeId: 'c-maya-app' } }));
    await scenario.run(self(THEO, 'MENTEE'), onUser({ type: 'CompleteApplication', data: { userId: THEO, changeId: 'c-theo-app' } }));
    await scenario.run(COORDINATOR, onUser({ type: 'ChangeUserStatus', data: { userId: MAYA, changeId: 'c-maya-a', to: 'A' } }), 'Screening passed');
    await scenario.run(COORDINATOR, onUser({ type: 'ChangeUserStatus', data: { userId: THEO, changeId: 'c-theo-a', to: 'A' } }), 'Screening passed');
    await scenario.run(ADMIN, matchPersonas(M1), 'Both love robotics');
    const pipeline = new CommandPipeline(store);
    const request = { actor: ADMIN, now: minute(30), correlationId: 'req-indexed' };
    await pipeline.execute({ ...request, reason: 'Board decision' }, onProgram({ type: 'AddClosureReason', data: { programId: P1, closureReason: 'Moved away' } }));
    await pipeline.execute(request, onProgram({ type: 'AddPartnerSite', data: { programId: P1, partnerSite: { id: 'site-2', name: 'South' } } }));

    runner = await ProjectionRunner.create(store, database.db, [eventLogIndexProjection]);
    await runner.catchUp();
    // Applying a batch again changes nothing (the index is keyed by event id).
    await eventLogIndexProjection.applyBatch(database.db, (await store.readAll({ maxCount: 1000 })) as never);
    sql = new SqlEventLog(database.db);
    indexed = new IndexedEventLog(database.db, store);
    pseudonyms = await Pseudonyms.load(database.db);
  }, 180_000);

  afterAll(async () => {
    await runner?.stop();
    await database?.close();
  });

  const everyPage = async (log: EventLogReader, filter: EventLogFilter, size: number, backward: boolean): Promise<LogPage[]> => {
    const pages: LogPage[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await log.browse(filter, backward ? { last: size, ...(cursor ? { before: cursor } : {}) } : { first: size, ...(cursor ? { after: cursor } : {}) });
      pages.push(page);
      if (!(backward ? page.pageInfo.hasPreviousPage : page.pageInfo.hasNextPage)) return pages;
      cursor = (backward ? page.pageInfo.startCursor : page.pageInfo.endCursor)!;
    }
  };

  const filters: EventLogFilter[] = [
    {},
    { aggregate: 'user' },
    { streamId: `user-${MAYA}` },
    { eventTypes: ['UserStatusChanged', 'MatchActivated'] },
    { actorId: ADMIN.id },
    { actorRole: 'coordinator' },
    { from: minute(30) },
    { to: minute(5) },
    { correlationId: 'req-indexed' },
  ];

  test.each(filters.map((filter) => [JSON.stringify(filter), filter] as const))('browse %s: the same pages forward and backward', async (_, filter) => {
    for (const backward of [false, true]) {
      for (const size of [1, 3, 50]) {
        const [fromSql, fromIndex] = await Promise.all([everyPage(sql, filter, size, backward), everyPage(indexed, filter, size, backward)]);
        expect(fromIndex).toEqual(fromSql);
      }
    }
    const everything = (await everyPage(sql, filter, 50, false)).flatMap((page) => page.edges);
    if (Object.keys(filter).length === 0) expect(everything.length).toBeGreaterThan(10);
  });

  test('the chain of every event is the same', async () => {
    const events: LogEvent[] = (await everyPage(sql, {}, 100, false)).flatMap((page) => page.edges.map((edge) => edge.node));
    for (const event of events) expect(await indexed.chain(event.eventId)).toEqual(await sql.chain(event.eventId));
  });

  test('a user as of a moment, a persona, and a diff: the same', async () => {
    for (const at of [minute(0), minute(3), minute(40)]) {
      expect(await indexed.streamAt(`user-${THEO}`, at)).toEqual(await sql.streamAt(`user-${THEO}`, at));
      expect(await indexed.streamAt(`persona-${personaIdFor(MAYA, 1)}`, at)).toEqual(await sql.streamAt(`persona-${personaIdFor(MAYA, 1)}`, at));
    }
    expect(await indexed.diff(`user-${MAYA}`, minute(0), minute(40))).toEqual(await sql.diff(`user-${MAYA}`, minute(0), minute(40)));
  });

  test('the pseudonymised view (analysts) is the same', async () => {
    const [fromSql, fromIndex] = await Promise.all([
      everyPage(sql.pseudonymised(pseudonyms), { aggregate: 'user' }, 5, false),
      everyPage(indexed.pseudonymised(pseudonyms), { aggregate: 'user' }, 5, false),
    ]);
    expect(fromIndex).toEqual(fromSql);
    const dataOf = (pages: LogPage[]) => JSON.stringify(pages.map((page) => page.edges.map((edge) => edge.node.data)));
    expect(dataOf(fromIndex)).not.toContain('maya.indexed@example.org');
    expect(dataOf(await everyPage(indexed, { aggregate: 'user' }, 5, false))).toContain('maya.indexed@example.org');
  });

  test('refusals are the same: bad filters, cursors, sizes and ids, and an unknown event', async () => {
    const refusal = async (work: Promise<unknown>) => work.then(() => null, (error: unknown) => (error instanceof DomainError ? { code: error.code, message: error.message, details: error.details } : error));
    const cases: [string, (log: EventLogReader) => Promise<unknown>][] = [
      ['aggregate', (log) => log.browse({ aggregate: 'nope' })],
      ['role', (log) => log.browse({ actorRole: 'wizard' })],
      ['from', (log) => log.browse({ from: 'yesterday' })],
      ['cursor', (log) => log.browse({}, { after: 'not-a-cursor' })],
      ['size', (log) => log.browse({}, { first: 0 })],
      ['both ways', (log) => log.browse({}, { first: 2, last: 2 })],
      ['event id', (log) => log.chain('42')],
      ['unknown event', (log) => log.chain('00000000-0000-4000-8000-000000000000')],
      ['stream', (log) => log.streamAt('nothing-here', minute(1))],
    ];
    for (const [, work] of cases) {
      const [fromSql, fromIndex] = [await refusal(work(sql)), await refusal(work(indexed))];
      expect(fromSql).not.toBeNull();
      expect(fromIndex).toEqual(fromSql);
    }
  });

  test('the index has no hash chains to verify: verify is absent', () => {
    expect((indexed as EventLogReader).verify).toBeUndefined();
    expect(typeof sql.verify).toBe('function');
  });
});
