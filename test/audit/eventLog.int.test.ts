import { randomUUID } from 'node:crypto';
import { registerWithLegacyId } from '../support/identity';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { SqlEventLog, encodeCursor, migrateAuditIndexes, type EventLogFilter, type LogEvent, type LogPage } from '../../src/audit/eventLog';
import { exportNdjson, type ExportedEvent } from '../../src/audit/exportNdjson';
import { runEventsCli } from '../../src/cli/events';
import { CommandPipeline } from '../../src/commands/pipeline';
import { personaIdFor, userIdForEmail } from '../../src/domain';
import { DomainError } from '../../src/domain/shared/decider';
import { formatPosition, readAllForward, type RecordedEvent } from '../../src/eventstore/eventStore';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';
import {
  ADMIN,
  COORDINATOR,
  Scenario,
  assignPersonaToSite,
  matchPersonas,
  minute,
  onProgram,
  onUser,
  self,
  type Executed,
  type MatchIds,
} from '../readmodels/lifecycleScenario';

announcePostgresSkip('audit event log');

const P1 = 'prog-audit';
const MAYA = userIdForEmail('maya@example.org');
const THEO = userIdForEmail('theo@example.org');
const M1: MatchIds = { matchId: 'm-audit', programId: P1, mentorUserId: MAYA, menteeUserId: THEO };

/** Everything a page or export says about an event, comparable with toEqual. */
const summary = (event: LogEvent | RecordedEvent) =>
  'eventId' in event
    ? { position: formatPosition(event.position), streamId: event.streamId, revision: event.revision, eventId: event.eventId, type: event.type, data: event.data, metadata: event.metadata }
    : { position: formatPosition(event.position), streamId: event.streamId, revision: event.revision, eventId: event.id, type: event.type, data: event.data, metadata: event.metadata };

const refusal = async (work: Promise<unknown>): Promise<{ code: string; field: unknown }> => {
  try {
    await work;
  } catch (error) {
    if (error instanceof DomainError) return { code: error.code, field: error.details.field };
    throw error;
  }
  throw new Error('expected a refusal');
};

describe.each(sqlBackends())('audit event log on $name', ({ open }) => {
  let database: TestDatabase;
  let log: SqlEventLog;
  let all: RecordedEvent[];
  const step: Record<string, Executed> = {};
  let batch: { first: RecordedEvent[]; second: RecordedEvent[]; reaction: RecordedEvent };

  beforeAll(async () => {
    database = await open();
    const store = await SqlEventStore.create(database.db);
    expect(await migrateAuditIndexes(database.db)).toBe('built');
    expect(await migrateAuditIndexes(database.db)).toBe('up to date'); // recorded: every start asks
    log = new SqlEventLog(database.db);
    const scenario = new Scenario(store);

    step.createProgram = await scenario.run(
      ADMIN,
      onProgram({ type: 'CreateProgram', data: { programId: P1, name: 'Audit 2025', timeZone: 'Europe/Berlin', partnerSites: [{ id: 'site-1', name: 'North' }] } }),
      'New program year',
    );
    step.matchingOn = await scenario.run(ADMIN, onProgram({ type: 'TurnMatchingOn', data: { programId: P1 } }));
    step.registerMaya = await scenario.run(self(MAYA, 'MENTOR'), registerWithLegacyId({ email: 'maya@example.org', name: 'Maya', programId: P1, role: 'MENTOR' }));
    step.registerTheo = await scenario.run(self(THEO, 'MENTEE'), registerWithLegacyId({ email: 'theo@example.org', name: 'Theo', programId: P1, role: 'MENTEE' }));
    step.completeMaya = await scenario.run(self(MAYA, 'MENTOR'), onUser({ type: 'CompleteApplication', data: { userId: MAYA, changeId: 'c-maya-app' } }));
    step.completeTheo = await scenario.run(self(THEO, 'MENTEE'), onUser({ type: 'CompleteApplication', data: { userId: THEO, changeId: 'c-theo-app' } }));
    step.activateMaya = await scenario.run(COORDINATOR, onUser({ type: 'ChangeUserStatus', data: { userId: MAYA, changeId: 'c-maya-a', to: 'A' } }), 'Screening passed');
    step.activateTheo = await scenario.run(COORDINATOR, onUser({ type: 'ChangeUserStatus', data: { userId: THEO, changeId: 'c-theo-a', to: 'A' } }), 'Screening passed');
    await scenario.run(COORDINATOR, assignPersonaToSite({ userId: MAYA, personaId: personaIdFor(MAYA, 1), programId: P1, partnerSiteId: 'site-1', mentorSiteListId: null }));
    await scenario.run(COORDINATOR, assignPersonaToSite({ userId: THEO, personaId: personaIdFor(THEO, 1), programId: P1, partnerSiteId: 'site-1', mentorSiteListId: null }));
    step.match = await scenario.run(ADMIN, matchPersonas(M1), 'Both love robotics');

    // One request that ran two commands, and an automatic reaction to one of its events.
    const pipeline = new CommandPipeline(store);
    const request = { actor: ADMIN, now: minute(30), correlationId: 'req-batch' };
    const first = await pipeline.execute({ ...request, reason: 'Board decision' }, onProgram({ type: 'AddClosureReason', data: { programId: P1, closureReason: 'Moved away' } }));
    const second = await pipeline.execute(request, onProgram({ type: 'AddPartnerSite', data: { programId: P1, partnerSite: { id: 'site-2', name: 'South' } } }));
    const cause = first.events[0]!;
    const reaction = await store.appendToStreams([
      {
        streamId: 'meeting-reaction-1',
        expectedRevision: 'no_stream',
        events: [
          {
            id: randomUUID(),
            type: 'AuditReactionRecorded',
            schemaVersion: 1,
            data: { note: 'reacted' },
            metadata: { occurredAt: minute(31), actor: { id: 'reactor', role: 'system' }, correlationId: 'req-batch', causationId: cause.id },
          },
        ],
      },
    ]);
    batch = { first: [...first.events], second: [...second.events], reaction: reaction.events[0]! };

    all = [];
    for await (const event of readAllForward(store, { batchSize: 7 })) all.push(event);
  }, 180_000);

  afterAll(async () => {
    await database?.close();
  });

  /** Every page of `filter` forward, `size` at a time, checking the page info on the way. */
  const pageForward = async (filter: EventLogFilter, size: number): Promise<LogEvent[]> => {
    const seen: LogEvent[] = [];
    let after: string | undefined;
    for (let n = 0; ; n += 1) {
      const page: LogPage = await log.browse(filter, { first: size, ...(after ? { after } : {}) });
      expect(page.pageInfo.hasPreviousPage).toBe(n > 0);
      expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      seen.push(...page.edges.map((edge) => edge.node));
      if (!page.pageInfo.hasNextPage) return seen;
      expect(page.edges).toHaveLength(size);
      after = page.pageInfo.endCursor!;
    }
  };

  const pageBackward = async (filter: EventLogFilter, size: number): Promise<LogEvent[]> => {
    const pages: LogEvent[][] = [];
    let before: string | undefined;
    for (let n = 0; ; n += 1) {
      const page = await log.browse(filter, { last: size, ...(before ? { before } : {}) });
      expect(page.pageInfo.hasNextPage).toBe(n > 0);
      pages.unshift(page.edges.map((edge) => edge.node));
      if (!page.pageInfo.hasPreviousPage) return pages.flat();
      expect(page.edges).toHaveLength(size);
      before = page.pageInfo.startCursor!;
    }
  };

  test('the whole log pages forward and backward with no gaps or duplicates, in log order', async () => {
    expect(all.length).toBeGreaterThan(20);
    const forward = await pageForward({}, 4);
    expect(forward.map(summary)).toEqual(all.map(summary));
    const backward = await pageBackward({}, 5);
    expect(backward.map(summary)).toEqual(all.map(summary));
    expect(new Set(forward.map((event) => event.eventId)).size).toBe(all.length);

    // Turning round: back from the second page's start is the first page.
    const one = await log.browse({}, { first: 3 });
    const two = await log.browse({}, { first: 3, after: one.pageInfo.endCursor! });
    const back = await log.browse({}, { last: 3, before: two.pageInfo.startCursor! });
    expect(back.edges.map((edge) => edge.node.eventId)).toEqual(one.edges.map((edge) => edge.node.eventId));
    expect(back.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    // Past the end: empty, with the way back open.
    const end = await log.browse({}, { first: 3, after: encodeCursor(all.at(-1)!.position) });
    expect(end).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null } });
  });

  const filters: [string, EventLogFilter, (event: RecordedEvent) => boolean][] = [
    ['stream', { streamId: `user-${MAYA}` }, (e) => e.streamId === `user-${MAYA}`],
    ['aggregate', { aggregate: 'user' }, (e) => e.streamId.startsWith('user-')],
    ['aggregate match', { aggregate: 'match' }, (e) => e.streamId.startsWith('match-')],
    ['event types', { eventTypes: ['UserStatusChanged', 'MatchCreated'] }, (e) => ['UserStatusChanged', 'MatchCreated'].includes(e.type)],
    ['actor id', { actorId: COORDINATOR.id }, (e) => e.metadata.actor.id === COORDINATOR.id],
    ['actor role', { actorRole: 'mentee' }, (e) => e.metadata.actor.role === 'mentee'],
    ['time range', { from: minute(4), to: '2025-01-06T09:07:00Z' }, (e) => e.metadata.occurredAt >= minute(4) && e.metadata.occurredAt < minute(7)],
    ['correlation', { correlationId: 'req-batch' }, (e) => e.metadata.correlationId === 'req-batch'],
    ['causation', { causationId: 'placeholder' }, () => false],
    [
      'several at once',
      { aggregate: 'user', actorRole: 'coordinator', from: minute(6) },
      (e) => e.streamId.startsWith('user-') && e.metadata.actor.role === 'coordinator' && e.metadata.occurredAt >= minute(6),
    ],
  ];

  test.each(filters)('filter by %s, paged both ways', async (_name, given, matches) => {
    let filter = given;
    let predicate = matches;
    if (given.causationId) {
      // The causation id of the match command, known only once it ran.
      const causationId = step.match!.outcome.events[0]!.metadata.causationId;
      filter = { causationId };
      predicate = (e) => e.metadata.causationId === causationId;
    }
    const expected = all.filter(predicate).map(summary);
    expect(expected.length).toBeGreaterThan(0);
    expect((await pageForward(filter, 2)).map(summary)).toEqual(expected);
    expect((await pageBackward(filter, 3)).map(summary)).toEqual(expected);
    expect(await log.count(filter)).toBe(expected.length);
  });

  test('bad filters, cursors and page requests are refused with VALIDATION_FAILED', async () => {
    expect(await refusal(log.browse({ aggregate: 'person' }))).toEqual({ code: 'VALIDATION_FAILED', field: 'aggregate' });
    expect(await refusal(log.browse({ from: minute(5), to: minute(4) }))).toEqual({ code: 'VALIDATION_FAILED', field: 'to' });
    expect(await refusal(log.browse({ from: 'yesterday' }))).toEqual({ code: 'VALIDATION_FAILED', field: 'from' });
    expect(await refusal(log.browse({ actorRole: 'boss' }))).toEqual({ code: 'VALIDATION_FAILED', field: 'actorRole' });
    expect(await refusal(log.browse({}, { first: 2, after: 'not-a-cursor' }))).toEqual({ code: 'VALIDATION_FAILED', field: 'after' });
    expect(await refusal(log.browse({}, { last: 2, before: Buffer.from('12.x').toString('base64url') }))).toEqual({ code: 'VALIDATION_FAILED', field: 'before' });
    expect(await refusal(log.browse({}, { first: 2, last: 2 }))).toEqual({ code: 'VALIDATION_FAILED', field: 'last' });
    expect(await refusal(log.browse({}, { first: 0 }))).toEqual({ code: 'VALIDATION_FAILED', field: 'first' });
  });

  test('the chain of an event: its command, what it caused, and its whole request', async () => {
    const activation = step.activateMaya!.outcome.events;
    const statusChange = activation.find((event) => event.type === 'UserStatusChanged')!;
    const chain = await log.chain(statusChange.id);
    expect(summary(chain.event)).toEqual(summary(statusChange));
    expect(chain.command).toMatchObject({
      id: statusChange.metadata.causationId,
      name: 'ChangeUserStatus',
      actor: COORDINATOR,
      reason: 'Screening passed',
      occurredAt: minute(6),
    });
    expect(chain.command.events.map(summary)).toEqual(activation.map(summary));
    expect(chain.correlated.map(summary)).toEqual(all.filter((e) => e.metadata.correlationId === step.activateMaya!.correlationId).map(summary));
    expect(chain).toMatchObject({ causedBy: null, caused: [], correlatedTruncated: false });

    // A request of two commands and a reaction: the chain reaches all of it.
    const cause = await log.chain(batch.first[0]!.id);
    expect(cause.command).toMatchObject({ name: 'AddClosureReason', reason: 'Board decision' });
    expect(cause.command.events.map((e) => e.eventId)).toEqual(batch.first.map((e) => e.id));
    expect(cause.caused.map((e) => e.eventId)).toEqual([batch.reaction.id]);
    expect(cause.correlated.map((e) => e.eventId)).toEqual([...batch.first, ...batch.second, batch.reaction].map((e) => e.id));
    const reaction = await log.chain(batch.reaction.id);
    expect(reaction.causedBy?.eventId).toBe(batch.first[0]!.id);
    expect(reaction.command).toMatchObject({ id: batch.first[0]!.id, name: null, actor: { id: 'reactor', role: 'system' }, reason: null });

    expect(await refusal(log.chain('not-a-uuid'))).toEqual({ code: 'VALIDATION_FAILED', field: 'eventId' });
    expect(await refusal(log.chain(randomUUID()))).toMatchObject({ code: 'NOT_FOUND' });
  });

  test('a user as of a moment, and the difference across a status change', async () => {
    const before = await log.streamAt(`user-${MAYA}`, '2025-01-06T08:00:00Z');
    expect(before).toMatchObject({ aggregate: 'user', eventCount: 0, lastPosition: null, state: { status: 'NOT_REGISTERED' } });
    const screening = await log.streamAt(`user-${MAYA}`, minute(5));
    expect(screening.state).toMatchObject({ status: 'REGISTERED', userStatus: 'SI', applicationCompleted: true, personas: [{ matchStatus: 'N/A' }] });
    const active = await log.streamAt(`user-${MAYA}`, new Date(minute(6)));
    expect(active.state).toMatchObject({ userStatus: 'A', personas: [{ matchStatus: 'RTBM' }] });
    expect(active.eventCount).toBe(all.filter((e) => e.streamId === `user-${MAYA}` && e.metadata.occurredAt <= minute(6)).length);
    expect(active.lastPosition).toEqual(step.activateMaya!.outcome.position);

    const diff = await log.diff(`user-${MAYA}`, minute(5), minute(6));
    expect(diff.changes).toEqual(
      expect.arrayContaining([
        { path: '/userStatus', kind: 'CHANGED', before: 'SI', after: 'A' },
        { path: '/personas/0/matchStatus', kind: 'CHANGED', before: 'N/A', after: 'RTBM' },
      ]),
    );
    expect(diff.changes.some((change) => change.path.startsWith('/statusChanges/') && change.kind === 'ADDED')).toBe(true);
    expect(diff.changes.map((change) => change.path)).toEqual([...diff.changes.map((change) => change.path)].sort());
    expect((await log.diff(`user-${MAYA}`, minute(6), minute(6))).changes).toEqual([]);

    // One persona of the user, and a match and a program, by their stream prefixes.
    const persona = await log.diff(`persona-${personaIdFor(MAYA, 1)}`, minute(5), minute(6));
    expect(persona.aggregate).toBe('persona');
    expect(persona.changes).toContainEqual({ path: '/matchStatus', kind: 'CHANGED', before: 'N/A', after: 'RTBM' });
    expect((await log.streamAt(`match-${M1.matchId}`, minute(20))).state).toMatchObject({ matchId: M1.matchId });
    expect((await log.streamAt(`program-${P1}`, minute(40))).state).toMatchObject({ closureReasons: expect.arrayContaining(['Moved away']) });

    expect(await refusal(log.streamAt('person-1', minute(5)))).toEqual({ code: 'VALIDATION_FAILED', field: 'streamId' });
    expect(await refusal(log.streamAt('persona-nobody', minute(5)))).toEqual({ code: 'VALIDATION_FAILED', field: 'streamId' });
    expect(await refusal(log.diff(`user-${MAYA}`, minute(6), minute(5)))).toEqual({ code: 'VALIDATION_FAILED', field: 'to' });
  });

  test('an export of a filtered slice is the browse result, line for line', async () => {
    const filter: EventLogFilter = { aggregate: 'user', from: minute(3), eventTypes: ['UserStatusChanged', 'PersonaMatchStatusChanged', 'PersonaCreated', 'ApplicationCompleted'] };
    const browsed = (await pageForward(filter, 3)).map(summary);
    expect(browsed.length).toBeGreaterThan(3);

    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    const progress: { written: number; total: number }[] = [];
    const result = await exportNdjson(log, filter, out, { batchSize: 2, onProgress: (p) => progress.push(p) });
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    const exported = lines.map((text) => JSON.parse(text) as ExportedEvent);
    expect(exported.map(({ schemaVersion: _schemaVersion, ...rest }) => rest)).toEqual(browsed);
    expect(result).toEqual({ written: browsed.length, total: browsed.length });
    expect(progress[0]).toEqual({ written: 0, total: browsed.length });
    expect(progress.at(-1)).toEqual(result);

    // The command line, same filter, into a file: nothing on stdout, the same lines in the file.
    const dir = mkdtempSync(join(tmpdir(), 'events-export-'));
    const file = join(dir, 'slice.ndjson');
    const stdout = collector();
    const stderr = collector();
    const code = await runEventsCli(
      ['export', '--out', file, '--aggregate', 'user', '--from', minute(3), ...filter.eventTypes!.flatMap((type) => ['--type', type])],
      { stdout: stdout.stream, stderr: stderr.stream, database: async () => database.db },
    );
    expect(code).toBe(0);
    expect(stderr.text()).toMatch(/^exported \d+ events to .+ in \d+\.\d s\n$/);
    expect(stderr.text()).toContain(`exported ${browsed.length} events to ${file}`);
    expect(stdout.text()).toBe('');
    expect(existsSync(`${file}.partial`)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(Buffer.concat(chunks).toString('utf8'));

    // To stdout (not a terminal): only NDJSON, no progress bar.
    const piped = collector();
    const quiet = collector();
    expect(await runEventsCli(['export', '--correlation', 'req-batch'], { stdout: piped.stream, stderr: quiet.stream, database: async () => database.db })).toBe(0);
    expect(piped.text().trim().split('\n').map((text) => (JSON.parse(text) as ExportedEvent).eventId)).toEqual(
      [...batch.first, ...batch.second, batch.reaction].map((e) => e.id),
    );
    expect(quiet.text()).toBe('');

    const bad = collector();
    expect(await runEventsCli(['export', '--aggregate', 'person'], { stdout: collector().stream, stderr: bad.stream, database: async () => database.db })).toBe(2);
    expect(bad.text()).toContain('aggregate must be one of');
    expect(await runEventsCli(['frobnicate'], { stdout: collector().stream, stderr: bad.stream, database: async () => database.db })).toBe(2);
  });
});

const collector = () => {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
};
