import { againInBatches, applyBatches } from '../support/applyBatches';
import { registerWithLegacyId } from '../support/identity';
import { DEFAULT_CLOSURE_REASONS, DEFAULT_PROGRAM_SETTINGS, personaIdFor, userIdForEmail, type ParticipantRole } from '../../src/domain';
import { readAllForward, type RecordedEvent } from '../../src/eventstore/eventStore';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import type { HistoryEntryView, MatchView, Page, PersonaView, UserFilter, UserView } from '../../projections/lifecycle/lifecycle.types';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { lifecycleProjections, SqlLifecycleReadModel, userHistoryProjection } from '../../projections';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';
import { countingDatabase } from '../support/countingDatabase';
import { readModelRows } from '../support/readModelRows';
import {
  ADMIN,
  COORDINATOR,
  Scenario,
  assignPersonaToSite,
  closeMatch,
  matchPersonas,
  onProgram,
  onUser,
  reopenMatch,
  self,
  type Executed,
  type MatchIds,
} from './lifecycleScenario';

announcePostgresSkip('lifecycle read model');

const P1 = 'prog-1';
const P2 = 'prog-2';

interface Person {
  readonly name: string;
  readonly email: string;
  readonly role: ParticipantRole;
  readonly programId: string;
}

const PEOPLE = {
  alice: { name: 'Alice Adams', email: 'alice@example.org', role: 'MENTEE', programId: P1 },
  bruno: { name: 'Bruno Brown', email: 'bruno@example.org', role: 'MENTOR', programId: P1 },
  carla: { name: 'Carla Cruz', email: 'carla@example.org', role: 'MENTEE', programId: P1 },
  dana: { name: 'Dev_Ops Dana', email: 'dana@example.org', role: 'MENTOR', programId: P1 },
  // Typed with spaces and capitals: the view keeps it as typed (trimmed); search ignores case.
  maria: { name: 'Maria Mentor', email: ' Maria@Example.org ', role: 'MENTOR', programId: P1 },
  percy: { name: 'Percy 100% Pike', email: 'percy@example.org', role: 'MENTEE', programId: P1 },
  // Two users with one name: the user id breaks the tie, also across a page boundary.
  samOne: { name: 'Sam Same', email: 'sam.one@example.org', role: 'MENTEE', programId: P1 },
  samTwo: { name: 'Sam Same', email: 'sam.two@example.org', role: 'MENTEE', programId: P1 },
  theo: { name: 'Theo Mentee', email: 'theo@example.org', role: 'MENTEE', programId: P1 },
  ulla: { name: 'Ulla Unmatched', email: 'ulla@example.org', role: 'MENTEE', programId: P1 },
  zed: { name: 'Zed Other', email: 'zed@example.org', role: 'MENTOR', programId: P2 },
} as const satisfies Record<string, Person>;

type Key = keyof typeof PEOPLE;
const KEYS = Object.keys(PEOPLE) as Key[];
const ID = Object.fromEntries(KEYS.map((key) => [key, userIdForEmail(PEOPLE[key].email)])) as Record<Key, string>;
const MARIA_P1 = personaIdFor(ID.maria, 1);
const MARIA_P2 = personaIdFor(ID.maria, 2);
const THEO_P1 = personaIdFor(ID.theo, 1);
const M1: MatchIds = { matchId: 'm-1', programId: P1, mentorUserId: ID.maria, menteeUserId: ID.theo };

/** Names in the order the read model must list them: name, then user id. */
const namesInOrder = (keys: readonly Key[]) =>
  [...keys]
    .sort((a, b) => (PEOPLE[a].name === PEOPLE[b].name ? (ID[a] < ID[b] ? -1 : 1) : PEOPLE[a].name < PEOPLE[b].name ? -1 : 1))
    .map((key) => ID[key]);

const snapshot = (db: SqlDatabase) => readModelRows(db, lifecycleProjections);

/** Reads every page with `first` and returns the nodes in order, checking the page flags as it goes. */
const readAllPages = async <T>(read: (after: string | undefined) => Promise<Page<T>>): Promise<{ nodes: T[]; pages: number }> => {
  const nodes: T[] = [];
  let after: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await read(after);
    pages += 1;
    expect(page.hasPreviousPage).toBe(after !== undefined);
    nodes.push(...page.edges.map((edge) => edge.node));
    if (!page.hasNextPage) return { nodes, pages };
    expect(page.edges.length).toBeGreaterThan(0);
    after = page.edges.at(-1)!.cursor;
    if (pages > 100) throw new Error('pagination does not end');
  }
};

describe.each(sqlBackends())('lifecycle read model on $name', ({ open }) => {
  let database: TestDatabase;
  let store: SqlEventStore;
  let runner: ProjectionRunner;
  let readModel: SqlLifecycleReadModel;
  const step: Record<string, Executed> = {};
  let afterClose: { match: readonly MatchView[]; personas: readonly PersonaView[]; theo: readonly UserView[] };

  beforeAll(async () => {
    database = await open();
    store = await SqlEventStore.create(database.db);
    runner = await ProjectionRunner.create(store, database.db, lifecycleProjections, { batchSize: 7 });
    readModel = new SqlLifecycleReadModel(database.db, store);
    const scenario = new Scenario(store);

    step.createProgram = await scenario.run(
      ADMIN,
      onProgram({
        type: 'CreateProgram',
        data: {
          programId: P1,
          name: 'Brooklyn 2025',
          timeZone: 'america/new_york',
          partnerSites: [
            { id: 'site-1', name: 'PS 321' },
            { id: 'site-2', name: 'PS 58' },
          ],
          mentorSiteLists: [{ id: 'list-1', name: 'Acme mentors' }],
          extraClosureReasons: ['Relocated'],
        },
      }),
      'New program year',
    );
    await scenario.run(ADMIN, onProgram({ type: 'ChangeProgramSettings', data: { programId: P1, settings: { matchDurationMonths: 9, requestExpiryBusinessDays: 5 } } }));
    await scenario.run(ADMIN, onProgram({ type: 'TurnMatchingOn', data: { programId: P1 } }));
    await scenario.run(ADMIN, onProgram({ type: 'AddClosureReason', data: { programId: P1, closureReason: 'Mentee graduated' } }));
    await scenario.run(ADMIN, onProgram({ type: 'AddPartnerSite', data: { programId: P1, partnerSite: { id: 'site-3', name: 'PS 29' } } }));
    step.lastProgramChange = await scenario.run(
      ADMIN,
      onProgram({ type: 'AddMentorSiteList', data: { programId: P1, mentorSiteList: { id: 'list-2', name: 'Globex mentors' } } }),
    );
    step.createProgram2 = await scenario.run(ADMIN, onProgram({ type: 'CreateProgram', data: { programId: P2, name: 'Alpha Pilot', timeZone: 'Europe/Paris' } }));
    await scenario.run(ADMIN, onProgram({ type: 'TurnMatchingOn', data: { programId: P2 } }));
    await scenario.run(ADMIN, onProgram({ type: 'TurnMatchingOff', data: { programId: P2 } }), 'Pilot paused');

    for (const key of KEYS) {
      const person = PEOPLE[key];
      step[`register ${key}`] = await scenario.run(
        self(ID[key], person.role),
        registerWithLegacyId({
          ...person,
          ...(key === 'maria' ? { company: ' Acme ', manager: { name: 'Mia Manager', email: 'mia@acme.example' } } : {}),
        }),
      );
    }
    for (const key of ['maria', 'theo', 'ulla', 'alice'] as const) {
      step[`complete ${key}`] = await scenario.run(
        self(ID[key], PEOPLE[key].role),
        onUser({ type: 'CompleteApplication', data: { userId: ID[key], changeId: `c-${key}-app` } }),
      );
    }
    for (const key of ['maria', 'theo', 'ulla'] as const) {
      step[`activate ${key}`] = await scenario.run(
        COORDINATOR,
        onUser({ type: 'ChangeUserStatus', data: { userId: ID[key], changeId: `c-${key}-a`, to: 'A' } }),
        'Screening passed',
      );
    }
    step['assign maria'] = await scenario.run(
      COORDINATOR,
      assignPersonaToSite({ userId: ID.maria, personaId: MARIA_P1, programId: P1, partnerSiteId: 'site-1', mentorSiteListId: 'list-1' }),
    );
    step['assign theo'] = await scenario.run(
      COORDINATOR,
      assignPersonaToSite({ userId: ID.theo, personaId: THEO_P1, programId: P1, partnerSiteId: 'site-1', mentorSiteListId: null }),
    );
    step['assign alice'] = await scenario.run(
      COORDINATOR,
      assignPersonaToSite({ userId: ID.alice, personaId: personaIdFor(ID.alice, 1), programId: P1, partnerSiteId: 'site-2', mentorSiteListId: null }),
    );
    step.match = await scenario.run(ADMIN, matchPersonas(M1), 'Both love robotics');
    step.close = await scenario.run(
      ADMIN,
      // The program's own spelling is what gets recorded.
      closeMatch(M1, { closureReason: 'program year ended', mentorRematchIntent: 'YES', menteeRematchIntent: 'NO' }),
      'End of the school year',
    );
    step['revert theo'] = await scenario.run(
      ADMIN,
      onUser({ type: 'RevertUserStatusChange', data: { userId: ID.theo, changeId: 'r-theo-1', revertedChangeId: 'c-theo-a' } }),
      'Activated by mistake',
    );
    step['revert theo revert'] = await scenario.run(
      ADMIN,
      onUser({ type: 'RevertUserStatusChange', data: { userId: ID.theo, changeId: 'r-theo-2', revertedChangeId: 'r-theo-1' } }),
      'Screening had passed after all',
    );
    step['revert ulla'] = await scenario.run(
      ADMIN,
      onUser({ type: 'RevertUserStatusChange', data: { userId: ID.ulla, changeId: 'r-ulla-1', revertedChangeId: 'c-ulla-a' } }),
    );
    step['revert ulla revert'] = await scenario.run(
      ADMIN,
      onUser({ type: 'RevertUserStatusChange', data: { userId: ID.ulla, changeId: 'r-ulla-2', revertedChangeId: 'r-ulla-1' } }),
    );

    await runner.catchUp();
    afterClose = {
      match: await readModel.matchesByIds(['m-1']),
      personas: await readModel.personasOfUsers([ID.maria, ID.theo]),
      theo: await readModel.usersByIds([ID.theo]),
    };

    step.reopen = await scenario.run(ADMIN, reopenMatch(M1), 'Closed by mistake');
    await runner.catchUp();
  }, 180_000);

  afterAll(async () => {
    await database?.close();
  });

  test('programs: settings, sites and closure reasons as the program stream left them', async () => {
    expect(await readModel.program(P1)).toEqual({
      programId: P1,
      name: 'Brooklyn 2025',
      timeZone: 'America/New_York',
      settings: { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true, matchDurationMonths: 9, requestExpiryBusinessDays: 5 },
      partnerSites: [
        { id: 'site-1', name: 'PS 321' },
        { id: 'site-2', name: 'PS 58' },
        { id: 'site-3', name: 'PS 29' },
      ],
      mentorSiteLists: [
        { id: 'list-1', name: 'Acme mentors' },
        { id: 'list-2', name: 'Globex mentors' },
      ],
      closureReasons: [...DEFAULT_CLOSURE_REASONS, 'Relocated', 'Mentee graduated'],
      notificationTemplates: {},
      autoMatching: { version: 0, criteria: [], objective: 'MAX_SCORE' },
      bannedPairs: [],
      createdAt: step.createProgram!.now,
      updatedAt: step.lastProgramChange!.now,
    });
    const programs = await readModel.programs();
    expect(programs.map((program) => [program.name, program.settings.matchingEnabled, program.createdAt])).toEqual([
      ['Alpha Pilot', false, step.createProgram2!.now],
      ['Brooklyn 2025', true, step.createProgram!.now],
    ]);
    expect(await readModel.program('no-such-program')).toBeNull();
  });

  test('users: profile as registered, status after changes and reverts', async () => {
    const users = await readModel.usersByIds([ID.theo, ID.maria, ID.bruno, ID.alice, 'no-such-user']);
    const byId = new Map(users.map((user) => [user.userId, user]));
    expect(users).toHaveLength(4);
    expect(byId.get(ID.maria)).toEqual({
      userId: ID.maria,
      email: 'Maria@Example.org',
      name: 'Maria Mentor',
      programId: P1,
      role: 'MENTOR',
      company: 'Acme',
      managerName: 'Mia Manager',
      profile: {},
      managerEmail: 'mia@acme.example',
      userStatus: 'A',
      applicationCompleted: true,
      registeredAt: step['register maria']!.now,
      updatedAt: step['activate maria']!.now,
    });
    // Activated, reverted to SI, and the revert reverted: Active again, as of the last revert.
    expect(afterClose.theo[0]).toMatchObject({ userStatus: 'A', updatedAt: step['revert theo revert']!.now });
    expect(byId.get(ID.theo)).toMatchObject({ userStatus: 'A', applicationCompleted: true, company: null, managerName: null, managerEmail: null });
    expect(byId.get(ID.alice)).toMatchObject({ userStatus: 'SI', applicationCompleted: true, updatedAt: step['complete alice']!.now });
    expect(byId.get(ID.bruno)).toMatchObject({ userStatus: 'AI', applicationCompleted: false, updatedAt: step['register bruno']!.now });
    expect((await readModel.usersByIds([ID.ulla]))[0]).toMatchObject({ userStatus: 'A', updatedAt: step['revert ulla revert']!.now });
    expect(await readModel.usersByIds([])).toEqual([]);
  });

  test('personas: match status and match, site, and the rematch persona inactivated when the match reopened', async () => {
    const persona = (personaId: string, userId: string, number: number) => ({
      personaId,
      userId,
      number,
      programId: P1,
      originKind: number === 1 ? 'REGISTRATION' : 'REMATCH_REQUESTED',
      invitedAt: null,
      matchCompleted: false,
    });
    expect(afterClose.personas).toEqual(
      [
        {
          ...persona(MARIA_P1, ID.maria, 1),
          role: 'MENTOR',
          personaStatus: 'ACTIVE',
          matchStatus: 'CLOSED',
          matchId: 'm-1',
          partnerSiteId: 'site-1',
          mentorSiteListId: 'list-1',
          createdAt: step['register maria']!.now,
          updatedAt: step.close!.now,
        },
        {
          ...persona(MARIA_P2, ID.maria, 2),
          role: 'MENTOR',
          personaStatus: 'ACTIVE',
          matchStatus: 'RESCREENING',
          matchId: null,
          partnerSiteId: null,
          mentorSiteListId: null,
          createdAt: step.close!.now,
          updatedAt: step.close!.now,
        },
        {
          ...persona(THEO_P1, ID.theo, 1),
          role: 'MENTEE',
          personaStatus: 'ACTIVE',
          matchStatus: 'CLOSED',
          matchId: 'm-1',
          partnerSiteId: 'site-1',
          mentorSiteListId: null,
          createdAt: step['register theo']!.now,
          updatedAt: step.close!.now,
        },
      ].sort((a, b) => (a.userId === b.userId ? a.number - b.number : a.userId < b.userId ? -1 : 1)),
    );

    const personas = await readModel.personasOfUsers([ID.theo, ID.maria]);
    const byId = new Map(personas.map((p) => [p.personaId, p]));
    expect(personas).toHaveLength(3);
    expect(byId.get(MARIA_P1)).toMatchObject({ personaStatus: 'ACTIVE', matchStatus: 'MATCHED', matchId: 'm-1', updatedAt: step.reopen!.now });
    expect(byId.get(MARIA_P2)).toMatchObject({ personaStatus: 'INACTIVE', matchStatus: 'RESCREENING', matchId: null, updatedAt: step.reopen!.now });
    expect(byId.get(THEO_P1)).toMatchObject({ personaStatus: 'ACTIVE', matchStatus: 'MATCHED', matchId: 'm-1', updatedAt: step.reopen!.now });
    // Maria's personas in number order.
    expect(personas.filter((p) => p.userId === ID.maria).map((p) => p.number)).toEqual([1, 2]);

    const [ulla] = await readModel.personasOfUsers([ID.ulla]);
    // Seed 001's table has no move back from RTBM: reverting the activation (and that revert) leaves the persona as the activation made it.
    expect(ulla).toMatchObject({ matchStatus: 'RTBM', matchId: null, updatedAt: step['activate ulla']!.now });
    const [alice] = await readModel.personasOfUsers([ID.alice]);
    expect(alice).toMatchObject({ matchStatus: 'N/A', partnerSiteId: 'site-2', mentorSiteListId: null, updatedAt: step['assign alice']!.now });
  });

  test('the match: ACTIVE when made, CLOSED with reason, intents and time, ACTIVE again with the closure cleared', async () => {
    const pair = {
      matchId: 'm-1',
      programId: P1,
      mentorUserId: ID.maria,
      mentorPersonaId: MARIA_P1,
      menteeUserId: ID.theo,
      menteePersonaId: THEO_P1,
      source: 'ADMIN',
      score: null,
      explanation: null,
      runId: null,
      requestedBy: null,
      requiredApprovals: null,
      pendingApprovals: null,
      requestMessage: null,
      expiresAt: null,
      declinedBy: null,
      declineMessage: null,
      endReason: null,
      otherMatchId: null,
      createdAt: step.match!.now,
      activatedAt: step.match!.now,
      // Nine months (the program's duration) later, same wall-clock time in New York, on summer time by then.
      endsAt: '2025-10-06T08:30:00.000Z',
      completedAt: null,
      endedAt: null,
    };
    expect(afterClose.match).toEqual([
      {
        ...pair,
        status: 'CLOSED',
        closureReason: 'Program year ended',
        mentorRematchIntent: 'YES',
        menteeRematchIntent: 'NO',
        closedAt: step.close!.now,
        updatedAt: step.close!.now,
      },
    ]);
    expect(await readModel.matchesByIds(['m-1', 'no-such-match'])).toEqual([
      {
        ...pair,
        status: 'ACTIVE',
        closureReason: null,
        mentorRematchIntent: null,
        menteeRematchIntent: null,
        closedAt: null,
        updatedAt: step.reopen!.now,
      },
    ]);
    expect(await readModel.matchesByIds([])).toEqual([]);
  });

  test("a user's history: every event of their stream and of their match, newest first, told for an auditor", async () => {
    const page = await readModel.history(ID.theo, { first: 100 });
    expect(page.totalCount).toBe(16);
    expect(page.hasNextPage).toBe(false);
    expect(page.hasPreviousPage).toBe(false);
    const entries = page.edges.map((edge) => edge.node);
    const rows = entries.map((e) => [e.eventType, e.field, e.from, e.to, e.summary]);
    expect(rows).toEqual(
      [
        ['UserRegistered', 'REGISTRATION', null, 'AI', 'Theo Mentee <theo@example.org> registered as a mentee in program prog-1 with status Application Incomplete (AI)'],
        ['PersonaCreated', 'PERSONA', null, 'N/A', `Persona ${THEO_P1} created as a mentee persona with match status N/A at registration`],
        ['ApplicationCompleted', 'APPLICATION', 'INCOMPLETE', 'COMPLETED', 'Application completed'],
        ['UserStatusChanged', 'USER_STATUS', 'AI', 'SI', 'Application completed; moved to SI automatically by the system'],
        ['UserStatusChanged', 'USER_STATUS', 'SI', 'A', 'User status changed from Screening Incomplete (SI) to Active (A)'],
        [
          'PersonaMatchStatusChanged',
          'MATCH_STATUS',
          'N/A',
          'RTBM',
          `Persona ${THEO_P1} match status changed from N/A to RTBM automatically, because the user became Active (A) by c-theo-a`,
        ],
        ['PersonaAssignedToSite', 'SITE', null, 'site-1', `Persona ${THEO_P1} assigned to partner site site-1 (mentor site list none)`],
        ['MatchCreated', 'MATCH', null, null, `Match m-1 created: mentor persona ${MARIA_P1} with mentee persona ${THEO_P1}`],
        ['MatchActivated', 'MATCH', null, 'ACTIVE', 'Match m-1 went live; the mentor and mentee can now communicate'],
        ['PersonaMatchStatusChanged', 'MATCH_STATUS', 'RTBM', 'MATCHED', `Persona ${THEO_P1} match status changed from RTBM to MATCHED when match m-1 went live`],
        ['MatchClosed', 'MATCH', 'ACTIVE', 'CLOSED', 'Match m-1 closed: Program year ended; mentee wants another match: NO'],
        [
          'PersonaMatchStatusChanged',
          'MATCH_STATUS',
          'MATCHED',
          'CLOSED',
          `Persona ${THEO_P1} match status changed from MATCHED to CLOSED when match m-1 closed (Program year ended; wants another match: NO)`,
        ],
        [
          'UserStatusChangeReverted',
          'USER_STATUS',
          'A',
          'SI',
          'Status change c-theo-a reverted by r-theo-1: user status changed back from Active (A) to Screening Incomplete (SI)',
        ],
        [
          'UserStatusChangeReverted',
          'USER_STATUS',
          'SI',
          'A',
          'Status change r-theo-1 reverted by r-theo-2: user status changed back from Screening Incomplete (SI) to Active (A)',
        ],
        ['MatchReopened', 'MATCH', 'CLOSED', 'ACTIVE', 'Match m-1 reopened'],
        ['PersonaMatchStatusChanged', 'MATCH_STATUS', 'CLOSED', 'MATCHED', `Persona ${THEO_P1} match status changed from CLOSED to MATCHED when match m-1 was reopened`],
      ].reverse(),
    );

    // Newest first by global position, each entry at the position its event was stored at.
    const recorded = new Map<string, RecordedEvent>();
    for (const executed of Object.values(step)) for (const event of executed.outcome.events) recorded.set(event.id, event);
    for (const [index, entry] of entries.entries()) {
      expect(entry.userId).toBe(ID.theo);
      expect(entry.position).toEqual(recorded.get(entry.eventId)!.position);
      if (index > 0) {
        const newer = entries[index - 1]!.position;
        expect(newer.major > entry.position.major || (newer.major === entry.position.major && newer.minor > entry.position.minor)).toBe(true);
      }
    }

    // Who, when, why and by which command.
    const activation = entries.find((e) => e.changeId === 'c-theo-a')!;
    expect(activation).toMatchObject({
      occurredAt: step['activate theo']!.now,
      actorId: COORDINATOR.id,
      actorRole: 'coordinator',
      reason: 'Screening passed',
      command: 'ChangeUserStatus',
      correlationId: step['activate theo']!.correlationId,
      personaId: null,
      matchId: null,
    });
    const automatic = entries.find((e) => e.changeId === 'c-theo-app')!;
    // The automatic AI → SI move is the system's (issue 18), caused by the application the mentee completed.
    expect(automatic).toMatchObject({ actorId: 'lifecycle-automation', actorRole: 'system', reason: null, command: 'CompleteApplication' });
    const closed = entries.find((e) => e.eventType === 'MatchClosed')!;
    expect(closed).toMatchObject({
      personaId: THEO_P1,
      matchId: 'm-1',
      actorId: ADMIN.id,
      actorRole: 'admin',
      reason: 'End of the school year',
      command: 'CloseMatch',
      occurredAt: step.close!.now,
      correlationId: step.close!.correlationId,
    });

    // The same match event on the mentor's history, told from the mentor's side.
    const maria = (await readModel.history(ID.maria, { first: 100 })).edges.map((edge) => edge.node);
    const mariaClosed = maria.find((e) => e.eventType === 'MatchClosed')!;
    expect(mariaClosed.eventId).toBe(closed.eventId);
    expect(mariaClosed).toMatchObject({ personaId: MARIA_P1, summary: 'Match m-1 closed: Program year ended; mentor wants another match: YES' });
    expect(maria.filter((e) => e.personaId === MARIA_P2).map((e) => [e.eventType, e.field, e.from, e.to, e.matchId, e.summary])).toEqual([
      [
        'PersonaInactivated',
        'PERSONA_STATUS',
        'ACTIVE',
        'INACTIVE',
        'm-1',
        `Persona ${MARIA_P2} inactivated because match m-1 was reopened, so the rematch it waited for is no longer needed`,
      ],
      [
        'PersonaCreated',
        'PERSONA',
        null,
        'RESCREENING',
        'm-1',
        `Persona ${MARIA_P2} created as a mentor persona with match status RESCREENING because the mentor answered YES to another match when match m-1 closed`,
      ],
    ]);
    expect(maria.find((e) => e.eventType === 'PersonaAssignedToSite')!.summary).toBe(
      `Persona ${MARIA_P1} assigned to partner site site-1 (mentor site list list-1)`,
    );
    // Users in no match and programs have no match or program rows in their history.
    const alice = (await readModel.history(ID.alice, { first: 100 })).edges.map((edge) => edge.node.eventType);
    expect(alice).toEqual(['PersonaAssignedToSite', 'UserStatusChanged', 'ApplicationCompleted', 'PersonaCreated', 'UserRegistered']);
    expect(await readModel.history('no-such-user', { first: 10 })).toEqual({ edges: [], hasNextPage: false, hasPreviousPage: false, totalCount: 0 });
  });

  test('reverts: the reverted entry names its revert, and a revert that was reverted is marked too', async () => {
    const theo = (await readModel.history(ID.theo, { first: 100 })).edges.map((edge) => edge.node);
    const marks = (entries: readonly HistoryEntryView[]) =>
      entries.filter((e) => e.field === 'USER_STATUS').map((e) => [e.changeId, e.from, e.to, e.revertedByChangeId, e.revertedAt]);
    expect(marks(theo)).toEqual([
      ['r-theo-2', 'SI', 'A', null, null],
      ['r-theo-1', 'A', 'SI', 'r-theo-2', step['revert theo revert']!.now],
      ['c-theo-a', 'SI', 'A', 'r-theo-1', step['revert theo']!.now],
      ['c-theo-app', 'AI', 'SI', null, null],
    ]);
    // Ulla was RTBM from her activation; neither its revert nor the revert of that revert moves the persona
    // (seed 001's table has no move back from RTBM; only an Active user is matched).
    const ulla = (await readModel.history(ID.ulla, { first: 100 })).edges.map((edge) => edge.node);
    expect(marks(ulla)).toEqual([
      ['r-ulla-2', 'SI', 'A', null, null],
      ['r-ulla-1', 'A', 'SI', 'r-ulla-2', step['revert ulla revert']!.now],
      ['c-ulla-a', 'SI', 'A', 'r-ulla-1', step['revert ulla']!.now],
      ['c-ulla-app', 'AI', 'SI', null, null],
    ]);
    expect(ulla.filter((e) => e.field === 'MATCH_STATUS').map((e) => [e.from, e.to, e.summary])).toEqual([
      ['N/A', 'RTBM', `Persona ${personaIdFor(ID.ulla, 1)} match status changed from N/A to RTBM automatically, because the user became Active (A) by c-ulla-a`],
    ]);
  });

  test('history pages: any page size walks the whole timeline once, newest first', async () => {
    const all = (await readModel.history(ID.theo, { first: 100 })).edges.map((edge) => edge.node.eventId);
    for (const first of [1, 3, 5, 16]) {
      const { nodes, pages } = await readAllPages((after) => readModel.history(ID.theo, { first, ...(after ? { after } : {}) }));
      expect(nodes.map((node) => node.eventId)).toEqual(all);
      expect(pages).toBe(Math.max(1, Math.ceil(16 / first)));
    }
    const firstPage = await readModel.history(ID.theo, { first: 5 });
    const secondPage = await readModel.history(ID.theo, { first: 5, after: firstPage.edges.at(-1)!.cursor });
    expect(secondPage).toMatchObject({ hasNextPage: true, hasPreviousPage: true, totalCount: 16 });
    expect(secondPage.edges.map((edge) => edge.node.eventId)).toEqual(all.slice(5, 10));
    expect(await readModel.history(ID.theo, { first: 0 })).toEqual({ edges: [], hasNextPage: true, hasPreviousPage: false, totalCount: 16 });
  });

  test('user pages: ordered by name then id, no duplicates or gaps across pages, whatever the page size', async () => {
    const inProgram = namesInOrder(KEYS.filter((key) => PEOPLE[key].programId === P1));
    const everyone = namesInOrder(KEYS);
    for (const first of [1, 3, 4, 7, 11]) {
      const all = await readAllPages((after) => readModel.users({}, { first, ...(after ? { after } : {}) }));
      expect(all.nodes.map((user) => user.userId)).toEqual(everyone);
      expect(all.pages).toBe(Math.ceil(11 / first));
      const program = await readAllPages((after) => readModel.users({ programId: P1 }, { first, ...(after ? { after } : {}) }));
      expect(program.nodes.map((user) => user.userId)).toEqual(inProgram);
    }
    const page = await readModel.users({ programId: P1 }, { first: 4 });
    expect(page.totalCount).toBe(10);
    expect(page.hasNextPage).toBe(true);
    expect(page.hasPreviousPage).toBe(false);
    const last = await readModel.users({ programId: P1 }, { first: 4, after: (await readModel.users({ programId: P1 }, { first: 8 })).edges.at(-1)!.cursor });
    expect(last).toMatchObject({ hasNextPage: false, hasPreviousPage: true, totalCount: 10 });
    expect(last.edges.map((edge) => edge.node.userId)).toEqual(inProgram.slice(8));
  });

  test('filters and search', async () => {
    const ids = async (filter: UserFilter) => {
      const page = await readModel.users(filter, { first: 100 });
      expect(page.totalCount).toBe(page.edges.length);
      return page.edges.map((edge) => edge.node.userId);
    };
    expect(await ids({ programId: P1, statuses: ['A'] })).toEqual(namesInOrder(['maria', 'theo', 'ulla']));
    expect(await ids({ statuses: ['SI', 'A'], role: 'MENTEE' })).toEqual(namesInOrder(['alice', 'theo', 'ulla']));
    expect(await ids({ statuses: [] })).toEqual([]);
    expect(await ids({ role: 'MENTOR' })).toEqual(namesInOrder(['bruno', 'dana', 'maria', 'zed']));
    expect(await ids({ role: 'MENTOR', programId: P2 })).toEqual([ID.zed]);
    expect(await ids({ partnerSiteId: 'site-1' })).toEqual(namesInOrder(['maria', 'theo']));
    expect(await ids({ partnerSiteId: 'site-2', role: 'MENTEE' })).toEqual([ID.alice]);
    expect(await ids({ partnerSiteId: 'site-3' })).toEqual([]);
    expect(await ids({ search: 'MENTOR' })).toEqual([ID.maria]);
    expect(await ids({ search: 'maria@EXAMPLE' })).toEqual([ID.maria]);
    expect(await ids({ search: 'example.org' })).toEqual(namesInOrder(KEYS));
    expect(await ids({ search: '   ' })).toEqual(namesInOrder(KEYS));
    // LIKE's wildcards, typed by a person, are plain characters.
    expect(await ids({ search: '_' })).toEqual([ID.dana]);
    expect(await ids({ search: '%' })).toEqual([ID.percy]);
    expect(await ids({ search: 'sam same' })).toEqual(namesInOrder(['samOne', 'samTwo']));
    expect(await ids({ userIds: [ID.theo, ID.zed], programId: P1 })).toEqual([ID.theo]);
    expect(await ids({ userIds: [] })).toEqual([]);
    expect(await ids({ programId: P1, role: 'MENTEE', statuses: ['A', 'AI'], search: 'e', partnerSiteId: 'site-1' })).toEqual([ID.theo]);

    // A filtered list pages like the whole one.
    const filtered = await readAllPages((after) => readModel.users({ role: 'MENTEE', statuses: ['AI'] }, { first: 2, ...(after ? { after } : {}) }));
    expect(filtered.nodes.map((user) => user.userId)).toEqual(namesInOrder(['carla', 'percy', 'samOne', 'samTwo']));
  });

  test('a cursor that is not one of the list is refused with a message, not misread', async () => {
    const usersCursor = (await readModel.users({}, { first: 1 })).edges[0]!.cursor;
    const historyCursor = (await readModel.history(ID.theo, { first: 1 })).edges[0]!.cursor;
    await expect(readModel.history(ID.theo, { first: 1, after: usersCursor })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(readModel.users({}, { first: 1, after: historyCursor })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(readModel.users({}, { first: 1, after: 'not a cursor' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('is not a cursor of this users list'),
    });
    const forged = Buffer.from(JSON.stringify(['history', '1; DROP TABLE rm_users', '0'])).toString('base64url');
    await expect(readModel.history(ID.theo, { first: 1, after: forged })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(readModel.users({}, { first: -1 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  test('a history table of the old shape (each row a copy of its event and the sentence) drops the copies and reads the same from the log', async () => {
    const shown = await readModel.history(ID.theo, { first: 100 });
    await database.db.exec(`ALTER TABLE rm_user_history ADD COLUMN event_id text, ADD COLUMN summary text NOT NULL DEFAULT 'copied sentence',
      ADD COLUMN actor_id text, ADD COLUMN correlation_id text NOT NULL DEFAULT 'copied'`);
    // A database from before migrations were recorded: its read models' baselines run again at start.
    await database.db.query(`DELETE FROM schema_migrations WHERE component LIKE 'projection:%'`);
    await ProjectionRunner.create(store, database.db, lifecycleProjections);
    const { rows } = await database.db.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'rm_user_history'`,
    );
    expect(rows.map((row) => row.column_name).filter((name) => ['event_id', 'summary', 'actor_id', 'correlation_id'].includes(name))).toEqual([]);
    expect(await readModel.history(ID.theo, { first: 100 })).toEqual(shown);
  });

  test('the history keyed by user first, or by position first with numeric positions (tables made before): the same pages, and events applied again write only what is missing', async () => {
    const shown = await readModel.history(ID.theo, { first: 100 });
    const before = await snapshot(database.db);
    const events: RecordedEvent[] = [];
    for await (const event of readAllForward(store)) events.push(event);
    const handled = new Set<string>(userHistoryProjection.handles);
    const newest = events.filter((event) => handled.has(event.type)).at(-1)!;
    const sameAfterAgain = async () => {
      expect(await readModel.history(ID.theo, { first: 100 })).toEqual(shown);
      // Every event again: nothing is there twice.
      await database.db.transaction((tx) => applyBatches(tx, userHistoryProjection, [events]));
      expect(await snapshot(database.db)).toEqual(before);
      // The newest event's entries gone, and it applied again: they are back, once.
      const removed = await database.db.query(`DELETE FROM rm_user_history WHERE position_major = $1 AND position_minor = $2`, [
        newest.position.major.toString(),
        newest.position.minor.toString(),
      ]);
      expect(removed.rowCount).toBeGreaterThan(0);
      await database.db.transaction((tx) => applyBatches(tx, userHistoryProjection, [[newest]]));
      expect(await snapshot(database.db)).toEqual(before);
    };
    await sameAfterAgain();
    await database.db.exec(`ALTER TABLE rm_user_history DROP CONSTRAINT rm_user_history_pkey,
        ALTER COLUMN position_major TYPE numeric(20), ALTER COLUMN position_minor TYPE numeric(20);
      ALTER TABLE rm_user_history ADD PRIMARY KEY (position_major, position_minor, user_id);
      CREATE INDEX rm_user_history_newest_first ON rm_user_history (user_id, position_major DESC, position_minor DESC);`);
    try {
      await sameAfterAgain();
    } finally {
      await database.db.exec(`DROP INDEX rm_user_history_newest_first;
        ALTER TABLE rm_user_history DROP CONSTRAINT rm_user_history_pkey,
          ALTER COLUMN position_major TYPE bigint, ALTER COLUMN position_minor TYPE bigint;
        ALTER TABLE rm_user_history ADD PRIMARY KEY (user_id, position_major, position_minor);`);
    }
  });

  test('the log in this database: a history page and its events in one statement; a log elsewhere (KurrentDB): the rows, then readAt, and the same pages', async () => {
    const counted = countingDatabase(database.db);
    const countedStore = await SqlEventStore.create(counted);
    try {
      const here = new SqlLifecycleReadModel(counted, countedStore);
      // Any store that is not the SQL one in this database reads by position, as KurrentDB's adapter does.
      const elsewhere = new SqlLifecycleReadModel(counted, { readAt: (positions) => countedStore.readAt(positions) });
      // Pseudonymised after the read either way: the sentence is made from what it returns.
      const pseudonymise = (event: RecordedEvent): RecordedEvent => ({ ...event, metadata: { ...event.metadata, actor: { ...event.metadata.actor, id: 'someone' } } });
      let pages = 0;
      for (const key of KEYS) {
        for (const options of [{}, { participantView: true }, { pseudonymise }]) {
          for (const first of [100, 3]) {
            let after: string | undefined;
            do {
              const request = { first, ...(after ? { after } : {}) };
              counted.reset();
              const shown = await here.historyPage(ID[key], request, options);
              expect(counted.sent).toHaveLength(1);
              counted.reset();
              expect(await elsewhere.historyPage(ID[key], request, options)).toEqual(shown);
              expect(counted.sent).toHaveLength(shown.edges.length > 0 ? 2 : 1);
              after = shown.hasNextPage ? shown.edges.at(-1)!.cursor : undefined;
              pages += 1;
            } while (after);
          }
        }
      }
      expect(pages).toBeGreaterThan(3 * KEYS.length * 2);
      const pseudonymised = await here.historyPage(ID.theo, { first: 100 }, { pseudonymise });
      expect(pseudonymised.edges.map((edge) => edge.node.actorId)).toEqual(pseudonymised.edges.map(() => 'someone'));
    } finally {
      await countedStore.close();
    }
  });

  test('an entry whose event the log does not have is reported, naming the position and what to run', async () => {
    const [newest] = (await readModel.history(ID.theo, { first: 1 })).edges;
    const { major, minor } = newest!.node.position;
    // A row for a position past the end of the log, as if its event had been deleted.
    await database.db.query(
      `INSERT INTO rm_user_history (user_id, position_major, position_minor, event_type, field)
       VALUES ($1, $2, $3, 'UserStatusChanged', 'USER_STATUS')`,
      [ID.theo, (major + 1000n).toString(), minor.toString()],
    );
    try {
      // Whether the page reads its events in its own statement (the log here) or by position (a log elsewhere).
      for (const read of [readModel, new SqlLifecycleReadModel(database.db, { readAt: (positions) => store.readAt(positions) })]) {
        await expect(read.history(ID.theo, { first: 5 })).rejects.toThrow(
          `has an entry for the event at position ${major + 1000n}.${minor}, which the event log does not have`,
        );
        await expect(read.history(ID.theo, { first: 5 })).rejects.toThrow('npm run events -- verify');
      }
    } finally {
      await database.db.query(`DELETE FROM rm_user_history WHERE position_major = $1`, [(major + 1000n).toString()]);
    }
    expect((await readModel.history(ID.theo, { first: 1 })).edges[0]!.node.eventId).toBe(newest!.node.eventId);
  });

  test('replay: every event applied again (in order, then newest first) and a rebuild of each projection give the same rows', async () => {
    const before = await snapshot(database.db);
    const events: RecordedEvent[] = [];
    for await (const event of readAllForward(store)) events.push(event);
    const userEvents = events.filter((event) => event.streamId.startsWith('user-')).length;
    const matchEvents = events.filter((event) => event.streamId.startsWith('match-')).length;
    expect(before.rm_user_history).toHaveLength(userEvents + 2 * matchEvents);
    expect(before.rm_users).toHaveLength(11);
    expect(before.rm_personas).toHaveLength(12);
    expect(before.rm_programs).toHaveLength(2);
    expect(before.rm_matches).toHaveLength(1);

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
    // In SQL, in place (one transaction in the live tables, what a small log takes) and beside.
    for (const [inDatabase, inPlace] of [
      [true, true],
      [true, false],
      [false, false],
    ] as const) {
      for (const batchSize of [1, 7, 10_000]) {
        await runner.replay([], undefined, batchSize, { inDatabase, inPlace });
        expect(await snapshot(database.db)).toEqual(before);
      }
    }
  });
});
