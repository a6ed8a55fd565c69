import { againInBatches, applyBatches } from '../support/applyBatches';
import { registerWithLegacyId } from '../support/identity';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import * as define from '../../src/application/lifecycleDefinitions';
import { CommandPipeline, type CommandDefinition, type StreamSpec } from '../../src/commands/pipeline';
import {
  DEFAULT_CLOSURE_REASONS,
  DEFAULT_PROGRAM_SETTINGS,
  addMonths,
  matchStream,
  personaIdFor,
  programStream,
  userIdForEmail,
  type ParticipantRole,
} from '../../src/domain';
import { readAllForward, type Actor, type NewEvent, type RecordedEvent } from '../../src/eventstore/eventStore';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { writeMatchesCsv } from '../../src/export/matchesCsv';
import { matchesExportRoute } from '../../src/http/routes';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import type { Page } from '../../projections/lifecycle/lifecycle.types';
import type { BlockedOpenMatch, DueMatch } from '../../projections/matching/matching.types';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { lifecycleProjections, SqlLifecycleReadModel } from '../../projections';
import { SqlMatchingReadModel } from '../../projections/matching/matching.queries';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';
import { readModelRows } from '../support/readModelRows';

announcePostgresSkip('matching read model');

const P1 = 'prog-riverside';
const LEGACY = 'prog-legacy';
const TZ = 'America/New_York';
const ADMIN: Actor = { id: 'admin-ada', role: 'admin' };
const SYSTEM: Actor = { id: 'scheduler', role: 'system' };

const PEOPLE = {
  mona: { name: 'Mona Marsh', email: 'mona@example.org', role: 'MENTOR' },
  max: { name: 'Max Mayer', email: 'max@example.org', role: 'MENTOR' },
  mila: { name: 'Mila Mint', email: 'mila@example.org', role: 'MENTOR' },
  // What someone might type to attack the admin who opens the export in a spreadsheet.
  mark: { name: '=HYPERLINK("https://evil.example","Mark")', email: '+mark@example.org', role: 'MENTOR' },
  mia: { name: 'Mia Moss', email: 'mia@example.org', role: 'MENTOR' },
  milo: { name: 'Milo Moon', email: 'milo@example.org', role: 'MENTOR' },
  tara: { name: 'Tara Tate', email: 'tara@example.org', role: 'MENTEE' },
  tom: { name: 'Tom Toll', email: 'tom@example.org', role: 'MENTEE' },
  tess: { name: 'Tess Trent', email: 'tess@example.org', role: 'MENTEE' },
  tina: { name: 'Tina Tuck', email: 'tina@example.org', role: 'MENTEE' },
  toby: { name: 'Toby Tran', email: 'toby@example.org', role: 'MENTEE' },
  tyra: { name: '@Tyra Tull', email: 'tyra@example.org', role: 'MENTEE' },
  uma: { name: 'Uma Upton', email: 'uma@example.org', role: 'MENTEE' },
  ugo: { name: 'Ugo Ulm', email: 'ugo@example.org', role: 'MENTEE' },
  vera: { name: 'Vera Vance', email: 'vera@example.org', role: 'MENTEE' },
} as const satisfies Record<string, { name: string; email: string; role: ParticipantRole }>;

type Key = keyof typeof PEOPLE;
const KEYS = Object.keys(PEOPLE) as Key[];
const ID = Object.fromEntries(KEYS.map((key) => [key, userIdForEmail(PEOPLE[key].email)])) as Record<Key, string>;
const P = (key: Key, n = 1) => personaIdFor(ID[key], n);
const ids = (matchId: string, mentor: Key, mentee: Key): define.MatchStreamIds => ({
  matchId,
  programId: P1,
  mentorUserId: ID[mentor],
  menteeUserId: ID[mentee],
});

/**
 * The real pipeline and command definitions, with a clock the test moves: one minute per command,
 * and jumps to when requests expire and matches run out.
 */
class Clock {
  private readonly pipeline: CommandPipeline;
  private at = Date.parse('2025-01-06T14:00:00.000Z');
  private count = 0;
  readonly times: Record<string, string> = {};

  constructor(store: SqlEventStore) {
    this.pipeline = new CommandPipeline(store);
  }

  jumpTo(instant: string): void {
    this.at = Date.parse(instant);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async run<S extends Record<string, StreamSpec<any, any>>>(
    label: string,
    actor: Actor,
    command: (now: string) => CommandDefinition<S>,
  ): Promise<string> {
    const now = new Date(this.at).toISOString();
    this.at += 60_000;
    const outcome = await this.pipeline.execute({ actor, now, correlationId: `corr-${this.count++}` }, command(now));
    if (outcome.events.length === 0) throw new Error(`${label} wrote nothing.`);
    this.times[label] = now;
    return now;
  }
}

const snapshot = (db: SqlDatabase) => readModelRows(db, lifecycleProjections);

const readAllPages = async <T>(read: (after: string | undefined) => Promise<Page<T>>): Promise<{ nodes: T[]; pages: number }> => {
  const nodes: T[] = [];
  let after: string | undefined;
  for (let pages = 1; ; pages++) {
    const page = await read(after);
    expect(page.hasPreviousPage).toBe(after !== undefined);
    nodes.push(...page.edges.map((edge) => edge.node));
    if (!page.hasNextPage) return { nodes, pages };
    after = page.edges.at(-1)!.cursor;
    if (pages > 50) throw new Error('pagination does not end');
  }
};

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

const HEADER = '\uFEFFMentor,Mentor e-mail,Mentee,Mentee e-mail,Program,Status,Source,Matched date,Score\r\n';
const LIVE_AND_STAGED_CSV =
  HEADER +
  'Mona Marsh,mona@example.org,Tom Toll,tom@example.org,Riverside 2026,ACTIVE,ADMIN,2025-01-06,\r\n' +
  `"'=HYPERLINK(""https://evil.example"",""Mark"")",'+mark@example.org,'@Tyra Tull,tyra@example.org,Riverside 2026,ACTIVE,ADMIN,2025-01-06,\r\n` +
  // Created 02:30 UTC on the 11th: still the 10th in New York.
  'Mia Moss,mia@example.org,Toby Tran,toby@example.org,Riverside 2026,STAGED,AUTO,2025-01-10,0.42\r\n' +
  'Mia Moss,mia@example.org,Vera Vance,vera@example.org,Riverside 2026,STAGED,ADMIN,2025-01-10,\r\n';

describe.each(sqlBackends())('matching read model on $name', ({ open }) => {
  let database: TestDatabase;
  let store: SqlEventStore;
  let runner: ProjectionRunner;
  let matching: SqlMatchingReadModel;
  let lifecycle: SqlLifecycleReadModel;
  let clock: Clock;
  const seen: { blockedWhenTyraMatched?: readonly BlockedOpenMatch[]; expiriesBeforeExpiring?: readonly DueMatch[] } = {};

  beforeAll(async () => {
    database = await open();
    store = await SqlEventStore.create(database.db);
    runner = await ProjectionRunner.create(store, database.db, lifecycleProjections, { batchSize: 13 });
    matching = new SqlMatchingReadModel(database.db);
    lifecycle = new SqlLifecycleReadModel(database.db, store);
    clock = new Clock(store);
    const run = clock.run.bind(clock);
    const program = (command: Parameters<typeof define.programCommand>[0]) => () => define.programCommand(command);
    const user = (command: Parameters<typeof define.userCommand>[0]) => () => define.userCommand(command);

    await run('create program', ADMIN, program({ type: 'CreateProgram', data: { programId: P1, name: 'Riverside 2026', timeZone: TZ } }));
    await run(
      'settings',
      ADMIN,
      program({
        type: 'ChangeProgramSettings',
        data: { programId: P1, settings: { matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR', 'ADMIN'] } },
      }),
    );
    await run('matching on', ADMIN, program({ type: 'TurnMatchingOn', data: { programId: P1 } }));
    await run(
      'template',
      ADMIN,
      program({
        type: 'SetNotificationTemplate',
        data: { programId: P1, kind: 'PREFERENCES_INVITATION', template: { subject: 'Pick a mentor in {{programName}}', body: 'Hi {{recipientName}}!' } },
      }),
    );
    for (const key of KEYS) {
      await run(`register ${key}`, ADMIN, () => registerWithLegacyId({ ...PEOPLE[key], programId: P1 }));
      await run(`complete ${key}`, ADMIN, user({ type: 'CompleteApplication', data: { userId: ID[key], changeId: `c-${key}-app` } }));
      if (key !== 'milo' && key !== 'ugo') {
        await run(`activate ${key}`, ADMIN, user({ type: 'ChangeUserStatus', data: { userId: ID[key], changeId: `c-${key}-a`, to: 'A' } }));
      }
    }
    await run('capacity mona', ADMIN, () => define.setMentorCapacity({ userId: ID.mona, programId: P1, capacity: 2 }));
    await run('capacity mia', ADMIN, () => define.setMentorCapacity({ userId: ID.mia, programId: P1, capacity: 3 }));
    for (const key of ['tara', 'tom', 'tess', 'tina'] as const) {
      await run(`invite ${key}`, ADMIN, () => define.inviteMenteeToMatch({ userId: ID[key], personaId: P(key), programId: P1 }));
    }

    // Staged by auto-matching, then approved; a second staged match for Mona goes live through a new persona.
    const stage = (matchId: string, mentor: Key, mentee: Key, extra: { source?: 'AUTO'; score?: number } = {}) => (now: string) =>
      define.matchPersonas({ matchId, programId: P1, mentorPersonaId: P(mentor), menteePersonaId: P(mentee), stage: true, now, ...extra });
    await run('stage s1', SYSTEM, stage('s1', 'mona', 'tara', { source: 'AUTO', score: 0.87 }));
    await run('approve s1', ADMIN, (now) => define.approveStagedMatch(ids('s1', 'mona', 'tara'), { matchId: 's1', now }));
    await run('stage s2', ADMIN, stage('s2', 'mona', 'tom'));
    await run('approve s2', ADMIN, (now) => define.approveStagedMatch(ids('s2', 'mona', 'tom'), { matchId: 's2', now }));
    await run('stage s3', ADMIN, stage('s3', 'max', 'tess'));
    await run('discard s3', ADMIN, () => define.discardStagedMatch({ matchId: 's3' }));

    // Requests: approved by both required parties, declined, left to expire.
    const request = (matchId: string, mentor: Key, mentee: Key, message: string | null = null) => (now: string) =>
      define.requestMatch({ matchId, programId: P1, mentorPersonaId: P(mentor), menteePersonaId: P(mentee), requestedBy: 'MENTEE', message, now });
    const respond = (matchId: string, mentor: Key, mentee: Key, party: 'MENTOR' | 'ADMIN', decision: 'APPROVE' | 'DECLINE', message?: string) =>
      (now: string) => define.respondToMatchRequest(ids(matchId, mentor, mentee), { matchId, party, decision, now, ...(message ? { message } : {}) });
    await run('request r1', { id: ID.tess, role: 'mentee' }, request('r1', 'max', 'tess', 'I love chess too'));
    await run('mentor approves r1', { id: ID.max, role: 'mentor' }, respond('r1', 'max', 'tess', 'MENTOR', 'APPROVE'));
    await run('admin approves r1', ADMIN, respond('r1', 'max', 'tess', 'ADMIN', 'APPROVE'));
    await run('request r2', { id: ID.tina, role: 'mentee' }, request('r2', 'mila', 'tina'));
    await run('mentor declines r2', { id: ID.mila, role: 'mentor' }, respond('r2', 'mila', 'tina', 'MENTOR', 'DECLINE', 'My schedule is full, sorry'));
    await run('request r3', { id: ID.toby, role: 'mentee' }, request('r3', 'mila', 'toby'));

    // Tyra asks for Mila and is staged with her too, but goes live with Mark: both are now blocked.
    await run('request r4', { id: ID.tyra, role: 'mentee' }, request('r4', 'mila', 'tyra'));
    await run('stage s7', ADMIN, stage('s7', 'mila', 'tyra'));
    await run('stage s5', ADMIN, stage('s5', 'mark', 'tyra'));
    await run('approve s5', ADMIN, (now) => define.approveStagedMatch(ids('s5', 'mark', 'tyra'), { matchId: 's5', now }));
    await runner.catchUp();
    seen.blockedWhenTyraMatched = await matching.openMatchesBlockedFor(10);
    await run('withdraw r4', SYSTEM, () => define.withdrawMatchRequest({ matchId: 'r4', reason: 'MENTEE_MATCHED', otherMatchId: 's5' }));
    await run('discard s7', SYSTEM, () => define.discardStagedMatch({ matchId: 's7', reason: 'MENTEE_MATCHED', otherMatchId: 's5' }));

    clock.jumpTo('2025-01-10T15:00:00.000Z');
    await runner.catchUp();
    seen.expiriesBeforeExpiring = await matching.dueRequestExpiries('2025-01-10T15:00:00.000Z', 10);
    await run('expire r3', SYSTEM, (now) => define.expireMatchRequest({ matchId: 'r3', now }));
    await run('request r6', { id: ID.uma, role: 'mentee' }, request('r6', 'mila', 'uma'));

    clock.jumpTo('2025-01-11T02:30:00.000Z');
    await run('stage s8', SYSTEM, stage('s8', 'mia', 'toby', { source: 'AUTO', score: 0.42 }));
    await run('stage s10', ADMIN, stage('s10', 'mia', 'vera'));
    // Vera's activation was a mistake: her persona is no longer ready, so s10 cannot go live.
    await run('revert vera', ADMIN, user({ type: 'RevertUserStatusChange', data: { userId: ID.vera, changeId: 'r-vera', revertedChangeId: 'c-vera-a' } }));

    clock.jumpTo('2025-07-08T12:00:00.000Z');
    await run('complete s1', SYSTEM, (now) => define.completeMatch(ids('s1', 'mona', 'tara'), { matchId: 's1', now }));
    await run('complete r1', SYSTEM, (now) => define.completeMatch(ids('r1', 'max', 'tess'), { matchId: 'r1', now }));
    await run('close r1', ADMIN, () =>
      define.closeMatch(ids('r1', 'max', 'tess'), {
        matchId: 'r1',
        closureReason: DEFAULT_CLOSURE_REASONS[0]!,
        mentorRematchIntent: 'NO',
        menteeRematchIntent: 'NO',
      }),
    );

    // A program and a match recorded before sources, durations and mentor capacity existed.
    const legacy = (streamId: string, events: { type: string; data: object }[]) =>
      store.appendToStreams([
        {
          streamId,
          expectedRevision: 'no_stream',
          events: events.map(
            (event): NewEvent => ({
              id: randomUUID(),
              schemaVersion: 1,
              ...event,
              metadata: { occurredAt: '2024-03-04T16:00:00.000Z', actor: ADMIN, correlationId: 'legacy', causationId: 'legacy' },
            }),
          ),
        },
      ]);
    const { mentorCapacity: _absent, ...oldSettings } = { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true };
    await legacy(programStream(LEGACY), [
      {
        type: 'ProgramCreated',
        data: {
          programId: LEGACY,
          name: 'Pilot 2024',
          timeZone: 'Europe/Paris',
          settings: oldSettings,
          partnerSites: [],
          mentorSiteLists: [],
          closureReasons: [],
        },
      },
    ]);
    const pair = { matchId: 'legacy-1', programId: LEGACY, mentorPersonaId: P('milo'), menteePersonaId: P('ugo') };
    await legacy(matchStream('legacy-1'), [
      { type: 'MatchCreated', data: { ...pair, mentorUserId: ID.milo, menteeUserId: ID.ugo } },
      { type: 'MatchActivated', data: pair },
    ]);
    await runner.catchUp();
  }, 240_000);

  afterAll(async () => {
    await database?.close();
  });

  test('the funnel: unmatched and uninvited mentees, available mentors, and matches by stage', async () => {
    expect(await matching.funnel(P1)).toEqual({
      programId: P1,
      unmatchedMentees: 3,
      uninvitedMentees: 2,
      availableMentors: 3,
      stagedMatches: 2,
      requestedMatches: 1,
      activeMatches: 2,
      completedMatches: 1,
    });
    expect(await matching.funnel(LEGACY)).toMatchObject({ unmatchedMentees: 0, availableMentors: 0, activeMatches: 1, stagedMatches: 0 });
    expect(await matching.funnel('no-such-program')).toEqual({
      programId: 'no-such-program',
      unmatchedMentees: 0,
      uninvitedMentees: 0,
      availableMentors: 0,
      stagedMatches: 0,
      requestedMatches: 0,
      activeMatches: 0,
      completedMatches: 0,
    });
  });

  test('unmatched mentees: ready, Active, with invitations, open requests and staged matches', async () => {
    const page = await matching.unmatchedMentees(P1, { first: 10 });
    expect(page.totalCount).toBe(3);
    expect(page.edges.map((edge) => edge.node)).toEqual([
      {
        personaId: P('tina'),
        userId: ID.tina,
        name: 'Tina Tuck',
        email: 'tina@example.org',
        programId: P1,
        partnerSiteId: null,
        invitedAt: clock.times['invite tina'],
        openRequests: 0,
        stagedMatches: 0,
      },
      expect.objectContaining({ personaId: P('toby'), invitedAt: null, openRequests: 0, stagedMatches: 1 }),
      expect.objectContaining({ personaId: P('uma'), invitedAt: null, openRequests: 1, stagedMatches: 0 }),
    ]);
    const invited = await matching.unmatchedMentees(P1, { first: 10, invited: true });
    expect([invited.totalCount, invited.edges.map((edge) => edge.node.userId)]).toEqual([1, [ID.tina]]);
    const notInvited = await matching.unmatchedMentees(P1, { first: 10, invited: false });
    expect([notInvited.totalCount, notInvited.edges.map((edge) => edge.node.userId)]).toEqual([2, [ID.toby, ID.uma]]);
    for (const first of [1, 2]) {
      const all = await readAllPages((after) => matching.unmatchedMentees(P1, { first, ...(after ? { after } : {}) }));
      expect(all.nodes.map((node) => node.userId)).toEqual([ID.tina, ID.toby, ID.uma]);
      expect(all.pages).toBe(Math.ceil(3 / first));
    }
    const second = await matching.unmatchedMentees(P1, { first: 1, invited: false, after: notInvited.edges[0]!.cursor });
    expect(second).toMatchObject({ hasNextPage: false, hasPreviousPage: true, totalCount: 2 });
    expect(second.edges.map((edge) => edge.node.userId)).toEqual([ID.uma]);
    expect(await matching.uninvitedMenteePersonas(P1)).toEqual(
      [
        { personaId: P('toby'), userId: ID.toby },
        { personaId: P('uma'), userId: ID.uma },
      ].sort((a, b) => (a.personaId < b.personaId ? -1 : 1)),
    );
  });

  test('available mentors: capacity, live, staged and open requests; full and non-Active mentors left out', async () => {
    const page = await matching.availableMentors(P1, { first: 10 });
    expect(page.totalCount).toBe(3);
    expect(page.edges.map((edge) => edge.node)).toEqual([
      {
        userId: ID.mia,
        personaId: P('mia'),
        name: 'Mia Moss',
        email: 'mia@example.org',
        programId: P1,
        capacity: 3,
        capacityIsProgramDefault: false,
        liveMatches: 0,
        stagedMatches: 2,
        openRequests: 0,
        capacityLeft: 1,
      },
      expect.objectContaining({
        userId: ID.mila,
        personaId: P('mila'),
        capacity: 1,
        capacityIsProgramDefault: true,
        liveMatches: 0,
        stagedMatches: 0,
        openRequests: 1,
        capacityLeft: 1,
      }),
      // Her first match ran its duration; the second, through its own persona, is live.
      expect.objectContaining({ userId: ID.mona, personaId: P('mona', 2), capacity: 2, liveMatches: 1, stagedMatches: 0, capacityLeft: 1 }),
    ]);
    const all = await readAllPages((after) => matching.availableMentors(P1, { first: 2, ...(after ? { after } : {}) }));
    expect(all.nodes.map((node) => node.userId)).toEqual([ID.mia, ID.mila, ID.mona]);
    expect(all.pages).toBe(2);
  });

  test('matches: every stage of the lifecycle, as the events left it', async () => {
    const s1 = await matching.match('s1');
    expect(s1).toMatchObject({
      status: 'COMPLETED',
      source: 'AUTO',
      score: 0.87,
      mentorName: 'Mona Marsh',
      menteeName: 'Tara Tate',
      menteeEmail: 'tara@example.org',
      createdAt: clock.times['stage s1'],
      activatedAt: clock.times['approve s1'],
      endsAt: addMonths(clock.times['approve s1']!, 6, TZ),
      completedAt: clock.times['complete s1'],
      requestedBy: null,
      requiredApprovals: null,
    });
    // Mona's second live match went live through a persona of its own.
    expect(await matching.match('s2')).toMatchObject({ status: 'ACTIVE', source: 'ADMIN', score: null, mentorPersonaId: P('mona', 2) });
    expect(await matching.match('s3')).toMatchObject({ status: 'DISCARDED', endReason: 'BY_ADMIN', endedAt: clock.times['discard s3'], activatedAt: null });
    expect(await matching.match('r1')).toMatchObject({
      status: 'CLOSED',
      source: 'REQUEST',
      requestedBy: 'MENTEE',
      requiredApprovals: ['MENTOR', 'ADMIN'],
      pendingApprovals: [],
      requestMessage: 'I love chess too',
      activatedAt: clock.times['admin approves r1'],
      completedAt: clock.times['complete r1'],
      closedAt: clock.times['close r1'],
      closureReason: DEFAULT_CLOSURE_REASONS[0],
    });
    expect(await matching.match('r2')).toMatchObject({
      status: 'DECLINED',
      declinedBy: 'MENTOR',
      declineMessage: 'My schedule is full, sorry',
      pendingApprovals: ['MENTOR', 'ADMIN'],
      endedAt: clock.times['mentor declines r2'],
    });
    expect(await matching.match('r3')).toMatchObject({
      status: 'EXPIRED',
      endedAt: clock.times['expire r3'],
      // Three business days: Tuesday, Wednesday, Thursday.
      expiresAt: clock.times['request r3']!.replace('2025-01-06', '2025-01-09'),
    });
    expect(await matching.match('r4')).toMatchObject({ status: 'WITHDRAWN', endReason: 'MENTEE_MATCHED', otherMatchId: 's5' });
    expect(await matching.match('s7')).toMatchObject({ status: 'DISCARDED', endReason: 'MENTEE_MATCHED', otherMatchId: 's5' });
    expect(await matching.match('r6')).toMatchObject({ status: 'REQUESTED', pendingApprovals: ['MENTOR', 'ADMIN'], expiresAt: '2025-01-15T15:01:00.000Z' });
    expect(await matching.match('legacy-1')).toMatchObject({ status: 'ACTIVE', source: 'ADMIN', score: null, endsAt: null, programId: LEGACY });
    expect(await matching.match('no-such-match')).toBeNull();

    const newestFirst = ['s10', 's8', 'r6', 's5', 's7', 'r4', 'r3', 'r2', 'r1', 's3', 's2', 's1'];
    for (const first of [1, 5, 12]) {
      const all = await readAllPages((after) => matching.matches(P1, { first, ...(after ? { after } : {}) }));
      expect(all.nodes.map((node) => node.matchId)).toEqual(newestFirst);
    }
    const live = await matching.matches(P1, { first: 1, statuses: ['ACTIVE', 'STAGED'] });
    expect(live).toMatchObject({ totalCount: 4, hasNextPage: true });
    const rest = await readAllPages((after) => matching.matches(P1, { first: 3, statuses: ['ACTIVE', 'STAGED'], ...(after ? { after } : {}) }));
    expect(rest.nodes.map((node) => [node.matchId, node.status])).toEqual([
      ['s10', 'STAGED'],
      ['s8', 'STAGED'],
      ['s5', 'ACTIVE'],
      ['s2', 'ACTIVE'],
    ]);
    expect(await matching.stagedMatchIds(P1)).toEqual(['s8', 's10']);
    expect(await matching.stagedMatchIds(LEGACY)).toEqual([]);
    expect((await matching.matches(P1, { first: 10, statuses: [] })).totalCount).toBe(0);
    await expect(matching.matches(P1, { first: 10, statuses: ['LIVE' as never] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const mentorsCursor = (await matching.availableMentors(P1, { first: 1 })).edges[0]!.cursor;
    await expect(matching.matches(P1, { first: 1, after: mentorsCursor })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const forged = Buffer.from(JSON.stringify(['matches', 'yesterday', 's1'])).toString('base64url');
    await expect(matching.matches(P1, { first: 1, after: forged })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  test("a participant's requests, as mentor or mentee, newest first", async () => {
    expect((await matching.matchRequestsFor(ID.mila)).map((m) => [m.matchId, m.status])).toEqual([
      ['r6', 'REQUESTED'],
      ['r4', 'WITHDRAWN'],
      ['r3', 'EXPIRED'],
      ['r2', 'DECLINED'],
    ]);
    expect((await matching.matchRequestsFor(ID.mila, { openOnly: true })).map((m) => m.matchId)).toEqual(['r6']);
    expect((await matching.matchRequestsFor(ID.uma, { openOnly: true })).map((m) => [m.matchId, m.mentorName])).toEqual([['r6', 'Mila Mint']]);
    // Staged matches are not requests.
    expect(await matching.matchRequestsFor(ID.mia)).toEqual([]);
  });

  test('the scheduler: due expiries and completions, and open matches that can no longer go live', async () => {
    const due = (matchId: string, mentor: Key, mentee: Key, dueAt: string): DueMatch => ({
      matchId,
      programId: P1,
      mentorUserId: ID[mentor],
      menteeUserId: ID[mentee],
      dueAt,
    });
    const r3 = await matching.match('r3');
    expect(seen.expiriesBeforeExpiring).toEqual([due('r3', 'mila', 'toby', r3!.expiresAt!)]);
    expect(await matching.dueRequestExpiries('2025-01-15T15:00:59.999Z', 10)).toEqual([]);
    expect(await matching.dueRequestExpiries('2025-01-15T15:01:00.000Z', 10)).toEqual([due('r6', 'mila', 'uma', '2025-01-15T15:01:00.000Z')]);

    const [s2, s5] = [await matching.match('s2'), await matching.match('s5')];
    expect(await matching.dueCompletions('2025-07-01T00:00:00.000Z', 10)).toEqual([]);
    expect(await matching.dueCompletions(s2!.endsAt!, 10)).toEqual([due('s2', 'mona', 'tom', s2!.endsAt!)]);
    expect(await matching.dueCompletions('2026-01-01T00:00:00.000Z', 10)).toEqual([
      due('s2', 'mona', 'tom', s2!.endsAt!),
      due('s5', 'mark', 'tyra', s5!.endsAt!),
    ]);
    expect(await matching.dueCompletions('2026-01-01T00:00:00.000Z', 1)).toHaveLength(1);
    await expect(matching.dueCompletions('2026-01-01T00:00:00.000Z', 0)).rejects.toThrow('limit');

    const blocked = (matchId: string, mentor: Key, status: 'REQUESTED' | 'STAGED'): BlockedOpenMatch => ({
      matchId,
      programId: P1,
      mentorUserId: ID[mentor],
      menteeUserId: ID.tyra,
      status,
      reason: 'MENTEE_MATCHED',
      otherMatchId: 's5',
    });
    expect(seen.blockedWhenTyraMatched).toEqual([blocked('r4', 'mila', 'REQUESTED'), blocked('s7', 'mila', 'STAGED')]);
    // Now: r4 and s7 are settled; Vera is no longer Active under s10 (her persona stays RTBM: seed 001's
    // table has no move back from RTBM, so the user's status is what blocks it).
    expect(await matching.openMatchesBlockedFor(10)).toEqual([
      { matchId: 's10', programId: P1, mentorUserId: ID.mia, menteeUserId: ID.vera, status: 'STAGED', reason: 'PARTICIPANT_UNAVAILABLE', otherMatchId: null },
    ]);
  });

  test('personas, mentor capacities and program settings', async () => {
    const personas = new Map((await lifecycle.personasOfUsers([ID.mona, ID.tina, ID.tara, ID.uma])).map((p) => [p.personaId, p]));
    expect(personas.get(P('mona', 2))).toMatchObject({ originKind: 'ADDITIONAL_MATCH', matchStatus: 'MATCHED', matchId: 's2', matchCompleted: false });
    expect(personas.get(P('mona', 1))).toMatchObject({ originKind: 'REGISTRATION', matchStatus: 'MATCHED', matchId: 's1', matchCompleted: true });
    expect(personas.get(P('tara'))).toMatchObject({ matchCompleted: true, invitedAt: clock.times['invite tara'] });
    expect(personas.get(P('tina'))).toMatchObject({ matchStatus: 'RTBM', invitedAt: clock.times['invite tina'] });
    expect(personas.get(P('uma'))).toMatchObject({ matchStatus: 'RTBM', invitedAt: null });
    const { rows } = await database.db.query<{ user_id: string; capacity: number }>(
      `SELECT user_id, capacity FROM rm_mentor_capacities WHERE program_id = $1 ORDER BY capacity`,
      [P1],
    );
    expect(rows).toEqual([
      { user_id: ID.mona, capacity: 2 },
      { user_id: ID.mia, capacity: 3 },
    ]);
    expect(await lifecycle.program(P1)).toMatchObject({
      settings: { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true, matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR', 'ADMIN'] },
      notificationTemplates: { PREFERENCES_INVITATION: { subject: 'Pick a mentor in {{programName}}', body: 'Hi {{recipientName}}!' } },
    });
    // Created before mentor capacity existed: it reads as the default.
    expect((await lifecycle.program(LEGACY))!.settings.mentorCapacity).toBe(DEFAULT_PROGRAM_SETTINGS.mentorCapacity);
  });

  test('history: invitations, capacity, completion, and each request and staged match told to both participants', async () => {
    const timeline = async (key: Key) =>
      (await lifecycle.history(ID[key], { first: 200 })).edges.map((edge) => edge.node).reverse();
    const tyra = (await timeline('tyra')).filter((e) => e.field === 'MATCH').map((e) => [e.eventType, e.matchId, e.from, e.to, e.summary]);
    expect(tyra).toEqual([
      [
        'MatchRequested',
        'r4',
        null,
        'REQUESTED',
        `Match r4 requested by the mentee: mentor persona ${P('mila')} with mentee persona ${P('tyra')}; waiting for approval by the mentor and the admin until ${
          (await matching.match('r4'))!.expiresAt
        }`,
      ],
      ['MatchCreated', 's7', null, null, `Match s7 created: mentor persona ${P('mila')} with mentee persona ${P('tyra')}`],
      ['MatchCreated', 's5', null, null, `Match s5 created: mentor persona ${P('mark')} with mentee persona ${P('tyra')}`],
      ['MatchActivated', 's5', null, 'ACTIVE', 'Match s5 went live; the mentor and mentee can now communicate'],
      ['MatchRequestWithdrawn', 'r4', 'REQUESTED', 'WITHDRAWN', 'Match request r4 withdrawn because the mentee was matched in match s5'],
      ['MatchDiscarded', 's7', 'STAGED', 'DISCARDED', 'Staged match s7 discarded because the mentee was matched in match s5'],
    ]);
    const mila = (await timeline('mila')).filter((e) => e.matchId === 's7' || e.matchId === 'r2').map((e) => [e.eventType, e.personaId, e.summary]);
    expect(mila).toEqual([
      ['MatchRequested', P('mila'), expect.stringContaining('Match r2 requested by the mentee:')],
      ['MatchRequestDeclined', P('mila'), 'Match request r2 declined by the mentor, with the message "My schedule is full, sorry"'],
      ['MatchCreated', P('mila'), `Match s7 created: mentor persona ${P('mila')} with mentee persona ${P('tyra')}`],
      ['MatchDiscarded', P('mila'), 'Staged match s7 discarded because the mentee was matched in match s5'],
    ]);
    const tess = (await timeline('tess')).filter((e) => e.matchId === 'r1' && e.field !== 'MATCH_STATUS').map((e) => [e.eventType, e.field, e.from, e.to, e.summary]);
    expect(tess).toEqual([
      [
        'MatchRequested',
        'MATCH',
        null,
        'REQUESTED',
        expect.stringMatching(/^Match r1 requested by the mentee with a message: .*; waiting for approval by the mentor and the admin until /),
      ],
      ['MatchRequestApproved', 'MATCH', 'REQUESTED', 'REQUESTED', 'Match request r1 approved by the mentor; still waiting for the admin'],
      ['MatchRequestApproved', 'MATCH', 'REQUESTED', 'REQUESTED', 'Match request r1 approved by the admin; every required approval is in'],
      ['MatchActivated', 'MATCH', null, 'ACTIVE', 'Match r1 went live; the mentor and mentee can now communicate'],
      ['MatchCompleted', 'MATCH', 'ACTIVE', 'COMPLETED', `Match r1 completed: it ran its full duration (until ${(await matching.match('r1'))!.endsAt})`],
      [
        'PersonaMatchCompleted',
        'MATCH_COMPLETION',
        null,
        'COMPLETED',
        `Persona ${P('tess')}: match r1 ran its full duration and is completed; the persona stays MATCHED`,
      ],
      // It had completed before it closed.
      ['MatchClosed', 'MATCH', 'COMPLETED', 'CLOSED', 'Match r1 closed: Program year ended; mentee wants another match: NO'],
    ]);
    const toby = await timeline('toby');
    expect(toby.filter((e) => e.eventType === 'MatchRequestExpired').map((e) => e.summary)).toEqual([
      `Match request r3 expired: not every required approval came in by ${(await matching.match('r3'))!.expiresAt}`,
    ]);
    expect(toby.find((e) => e.matchId === 's8')!.summary).toBe(
      `Match s8 created by auto-matching (score 0.42): mentor persona ${P('mia')} with mentee persona ${P('toby')}`,
    );
    const tina = (await timeline('tina')).find((e) => e.field === 'INVITATION')!;
    expect(tina).toMatchObject({
      eventType: 'MenteeInvitedToMatch',
      personaId: P('tina'),
      to: 'INVITED',
      summary: `Persona ${P('tina')} invited to submit mentor preferences in program ${P1}`,
    });
    const mona = await timeline('mona');
    expect(mona.find((e) => e.field === 'MENTOR_CAPACITY')).toMatchObject({
      from: null,
      to: '2',
      summary: `Mentor capacity in program ${P1} set to 2 live matches at once (was the program's default)`,
    });
    expect(mona.find((e) => e.personaId === P('mona', 2) && e.field === 'PERSONA')!.summary).toBe(
      `Persona ${P('mona', 2)} created as a mentor persona with match status RTBM for match s2, an additional match of the mentor alongside persona ${P('mona')}`,
    );
    expect(mona.find((e) => e.eventType === 'MatchActivated' && e.matchId === 's2')!.personaId).toBe(P('mona', 2));
  });

  test('the CSV export: live and staged matches, dates in the program time zone, formulas neutralized', async () => {
    const output = new Collect();
    await writeMatchesCsv(matching.matchesForExport(P1, ['ACTIVE', 'STAGED']), output);
    expect(output.text).toBe(LIVE_AND_STAGED_CSV);

    const ended = new Collect();
    await writeMatchesCsv(matching.matchesForExport(P1, ['COMPLETED', 'CLOSED']), ended);
    expect(ended.text).toBe(
      HEADER +
        'Mona Marsh,mona@example.org,Tara Tate,tara@example.org,Riverside 2026,COMPLETED,AUTO,2025-01-06,0.87\r\n' +
        'Max Mayer,max@example.org,Tess Trent,tess@example.org,Riverside 2026,CLOSED,REQUEST,2025-01-06,\r\n',
    );
    const legacy = new Collect();
    await writeMatchesCsv(matching.matchesForExport(LEGACY, ['ACTIVE']), legacy);
    expect(legacy.text).toBe(HEADER + 'Milo Moon,milo@example.org,Ugo Ulm,ugo@example.org,Pilot 2024,ACTIVE,ADMIN,2024-03-04,\r\n');
    const none = new Collect();
    await writeMatchesCsv(matching.matchesForExport(P1, []), none);
    expect(none.text).toBe(HEADER);
    await expect(async () => {
      for await (const _row of matching.matchesForExport(P1, ['BOGUS' as never])) break;
    }).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  test('the export route over HTTP: roles, validation, and the file', async () => {
    const tokens: Record<string, string> = { 'Bearer admin': 'admin', 'Bearer auditor': 'auditor', 'Bearer mentor': 'mentor' };
    const route = matchesExportRoute({
      readModel: matching,
      authenticate: (request) => {
        const header = request.headers.authorization;
        if (header === undefined) return null;
        if (!(header in tokens)) throw Object.assign(new Error('its signature does not match.'), { code: 'UNAUTHENTICATED' });
        return { role: tokens[header]! };
      },
      clock: () => new Date('2025-07-09T02:00:00.000Z'),
    });
    const server: Server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (request.method === route.method && url.pathname === route.path) void route.handle(request, response, url);
      else response.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const get = (query: string, authorization?: string) =>
        fetch(`${base}/exports/matches.csv${query}`, { headers: authorization ? { authorization } : {} });
      type ErrorBody = { error: { code: string; message: string; field?: string } };
      const refused = async (response: Response) => [response.status, ((await response.json()) as ErrorBody).error.code];

      expect(await refused(await get(`?programId=${P1}`))).toEqual([401, 'UNAUTHENTICATED']);
      expect(await refused(await get(`?programId=${P1}`, 'Bearer forged'))).toEqual([401, 'UNAUTHENTICATED']);
      expect(await refused(await get(`?programId=${P1}`, 'Bearer mentor'))).toEqual([403, 'FORBIDDEN']);
      expect(await refused(await get('', 'Bearer admin'))).toEqual([400, 'VALIDATION_FAILED']);
      const badStatus = await get(`?programId=${P1}&status=LIVE`, 'Bearer admin');
      expect(badStatus.status).toBe(400);
      expect(((await badStatus.json()) as ErrorBody).error).toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'status',
        message: expect.stringContaining('LIVE is not a match status'),
      });
      expect(await refused(await get('?programId=nope', 'Bearer auditor'))).toEqual([404, 'NOT_FOUND']);

      const file = await get(`?programId=${P1}`, 'Bearer auditor');
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      // The file is dated in the program's time zone: still the 8th in New York.
      expect(file.headers.get('content-disposition')).toBe(`attachment; filename="matches-${P1}-2025-07-08.csv"`);
      // fetch's text() drops the byte order mark.
      expect(await file.text()).toBe(LIVE_AND_STAGED_CSV.slice(1));

      const completed = await get(`?programId=${P1}&status=COMPLETED&status=requested`, 'Bearer admin');
      expect((await completed.text()).split('\r\n').slice(1, -1).map((line) => line.split(',')[5])).toEqual(['COMPLETED', 'REQUESTED']);
    } finally {
      server.close();
      await once(server, 'close');
    }
  });

  test('replay: every event applied again (in order, then newest first) and a rebuild of each projection give the same rows', async () => {
    const before = await snapshot(database.db);
    expect(before.rm_matches).toHaveLength(13);
    expect(before.rm_mentor_capacities).toHaveLength(2);
    const events: RecordedEvent[] = [];
    for await (const event of readAllForward(store)) events.push(event);
    for (const batches of againInBatches(events)) {
      await database.db.transaction(async (tx) => {
        for (const projection of lifecycleProjections) await applyBatches(tx, projection, batches);
      });
      expect(await snapshot(database.db)).toEqual(before);
    }
    for (const projection of lifecycleProjections) {
      await runner.rebuild(projection.name);
      expect(await snapshot(database.db)).toEqual(before);
    }
    // All at once, in one pass over the log.
    await runner.rebuild();
    expect(await snapshot(database.db)).toEqual(before);
    // Replayed beside and swapped in, with rows kept in memory across batches: in batches of one
    // event, of a few (a match's events and a revert's change fall in different batches), and whole.
    // The user history straight from es_events in SQL (the default on a SQL store), and every
    // projection in Node.js (as from KurrentDB): the same rows either way.
    for (const inDatabase of [true, false]) {
      for (const batchSize of [1, 7, 10_000]) {
        await runner.replay([], undefined, batchSize, { inDatabase });
        expect(await snapshot(database.db)).toEqual(before);
      }
    }
  });
});

/** The tables as the read models made them before the matching workflows (rm_users is unchanged). */
const OLD_SCHEMA = /* sql */ `
CREATE TABLE rm_matches (
  match_id text PRIMARY KEY, program_id text NOT NULL, mentor_user_id text NOT NULL, mentor_persona_id text NOT NULL,
  mentee_user_id text NOT NULL, mentee_persona_id text NOT NULL, status text NOT NULL CHECK (status IN ('ACTIVE', 'CLOSED')),
  closure_reason text, mentor_rematch_intent text, mentee_rematch_intent text, created_at timestamptz NOT NULL, closed_at timestamptz,
  updated_at timestamptz NOT NULL, last_position_major numeric(20) NOT NULL, last_position_minor numeric(20) NOT NULL
);
CREATE TABLE rm_personas (
  persona_id text PRIMARY KEY, user_id text NOT NULL, number integer NOT NULL, program_id text NOT NULL, role text NOT NULL,
  persona_status text NOT NULL, match_status text NOT NULL, match_id text, partner_site_id text, mentor_site_list_id text,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, last_position_major numeric(20) NOT NULL,
  last_position_minor numeric(20) NOT NULL, UNIQUE (user_id, number)
);
CREATE TABLE rm_programs (
  program_id text PRIMARY KEY, name text NOT NULL, time_zone text NOT NULL, settings jsonb NOT NULL, partner_sites jsonb NOT NULL,
  mentor_site_lists jsonb NOT NULL, closure_reasons jsonb NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  last_position_major numeric(20) NOT NULL, last_position_minor numeric(20) NOT NULL
);
INSERT INTO rm_matches VALUES ('old-1', 'prog-old', 'u1', 'u1:p1', 'u2', 'u2:p1', 'ACTIVE', NULL, NULL, NULL,
  '2024-05-01T10:00:00Z', NULL, '2024-05-01T10:00:00Z', 1, 1);
INSERT INTO rm_personas VALUES ('u1:p1', 'u1', 1, 'prog-old', 'MENTOR', 'ACTIVE', 'MATCHED', 'old-1', NULL, NULL,
  '2024-04-01T10:00:00Z', '2024-05-01T10:00:00Z', 1, 1);
INSERT INTO rm_programs VALUES ('prog-old', 'Old', 'UTC', '{"matchingEnabled": true, "matchDurationMonths": 6}', '[]', '[]', '[]',
  '2024-04-01T10:00:00Z', '2024-04-01T10:00:00Z', 1, 1);
`;

describe.each(sqlBackends())('read-model tables made before the matching workflows, on $name', ({ open }) => {
  test('are brought up to date in place, twice without harm, and their rows still read', async () => {
    const database = await open();
    try {
      await database.db.exec(OLD_SCHEMA);
      const store = await SqlEventStore.create(database.db);
      await ProjectionRunner.create(store, database.db, lifecycleProjections);
      await ProjectionRunner.create(store, database.db, lifecycleProjections);

      const lifecycle = new SqlLifecycleReadModel(database.db, store);
      expect((await lifecycle.matchesByIds(['old-1']))[0]).toMatchObject({ status: 'ACTIVE', source: 'ADMIN', activatedAt: null, endsAt: null });
      expect((await lifecycle.personasOfUsers(['u1']))[0]).toMatchObject({ originKind: null, invitedAt: null, matchCompleted: false });
      expect(await lifecycle.program('prog-old')).toMatchObject({ settings: { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true }, notificationTemplates: {} });

      await database.db.query(`UPDATE rm_matches SET status = 'STAGED' WHERE match_id = 'old-1'`);
      await expect(database.db.query(`UPDATE rm_matches SET status = 'LIVE' WHERE match_id = 'old-1'`)).rejects.toThrow(/rm_matches_status_check/);
    } finally {
      await database.close();
    }
  });
});
