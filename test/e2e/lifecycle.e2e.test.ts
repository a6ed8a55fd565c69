import { announceKurrentSkip, announcePostgresSkip, storeBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

const HOUR = 3_600_000;

const USER_FIELDS = `id email name status canBeMatched access { logIn seeCurriculum }
  personas { id number role personaStatus matchStatus matchId partner { id user { name } } access { logIn seeCurriculum } }`;
const PAYLOAD = `errors { code message field details } position replayed eventCount`;

describe.each(storeBackends())('participant lifecycle over GraphQL on $name', ({ open, env }) => {
  let t: TestApp;
  let admin: string;
  const log: { step: string; at: string }[] = [];
  /** The position of the last write: reads send it as X-Consistent-With to see their own writes. */
  let lastPosition = '';

  beforeAll(async () => {
    t = await startTestApp(await open(), undefined, { env });
    admin = await t.token('admin', 'alice.admin');
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Runs one mutation as the admin one hour after the previous step, and returns its payload. */
  const step = async (name: string, mutation: string, input: Record<string, unknown>, select: string, token = admin) => {
    t.clock.advance(HOUR);
    log.push({ step: name, at: t.clock.now.toISOString() });
    const response = await t.gql(`mutation ($input: ${inputType(mutation)}!) { ${mutation}(input: $input) { ${PAYLOAD} ${select} } }`, { input }, { token });
    expect(response.errors).toBeUndefined();
    return response.data![mutation];
  };
  const ok = async (name: string, mutation: string, input: Record<string, unknown>, select = '') => {
    const payload = await step(name, mutation, input, select);
    expect(payload.errors).toEqual([]);
    expect(payload.position).toMatch(/^\d+\.\d+$/);
    lastPosition = payload.position;
    return payload;
  };
  const user = async (id: string, token = admin) => {
    const response = await t.gql(`query ($id: ID!) { user(id: $id) { ${USER_FIELDS} } }`, { id }, { token, headers: { 'x-consistent-with': lastPosition } });
    expect(response.errors).toBeUndefined();
    return response.data!.user;
  };
  // Every committed event: the visible head can lag while any other transaction runs on the cluster.
  const head = () => t.app.store.readCommittedHead();

  test('one mentor through two matches: apply, screen, activate, match, close (yes), make RTBM, match again, close (no), make RS', async () => {
    const program = await ok('create program', 'createProgram', {
      name: 'Riverside 2026',
      timeZone: 'America/New_York',
      partnerSites: [{ id: 'riverside-high', name: 'Riverside High' }],
      mentorSiteLists: [{ id: 'riverside-mentors', name: 'Riverside mentors' }],
      reason: 'New school year',
    }, 'program { id name timeZone closureReasons settings { matchingEnabled matchDurationMonths requestExpiryBusinessDays } }');
    expect(program.program).toMatchObject({ name: 'Riverside 2026', timeZone: 'America/New_York', settings: { matchingEnabled: false, matchDurationMonths: 6, requestExpiryBusinessDays: 3 } });
    const programId = program.program.id;
    await ok('matching on', 'turnMatchingOn', { programId });

    const register = async (name: string, email: string, role: 'MENTOR' | 'MENTEE') =>
      (await ok(`register ${name}`, 'registerUser', { email, name, programId, role, company: 'Acme', manager: { name: 'Morgan Manager', email: 'morgan@acme.test' } }, `user { ${USER_FIELDS} }`)).user;

    // Apply: a new user starts in AI with one never-matched persona, and can log in only to finish the application.
    const mentor = await register('Maya Mentor', 'Maya.Mentor@Example.org', 'MENTOR');
    expect(mentor).toMatchObject({ email: 'Maya.Mentor@Example.org', status: 'AI', canBeMatched: false, access: { logIn: 'APPLICATION_ONLY', seeCurriculum: false } });
    expect(mentor.personas).toEqual([expect.objectContaining({ id: `${mentor.id}:p1`, number: 1, role: 'MENTOR', matchStatus: 'NA', personaStatus: 'ACTIVE' })]);
    const menteeA = await register('Ana Mentee', 'ana@example.org', 'MENTEE');
    const menteeB = await register('Ben Mentee', 'ben@example.org', 'MENTEE');

    // The same address in another case is the same user: refused, nothing appended.
    const before = await head();
    const duplicate = await step('duplicate', 'registerUser', { email: 'MAYA.MENTOR@example.ORG', name: 'Maya Again', programId, role: 'MENTOR' }, 'user { id }');
    expect(duplicate.errors).toEqual([expect.objectContaining({ code: 'ALREADY_EXISTS' })]);
    expect(duplicate.position).toBeNull();
    expect(await head()).toEqual(before);

    // Screen: finishing the application moves the user to SI, by the system. The mentor finishes her own.
    const mentorToken = await t.token('mentor', 'maya', mentor.id);
    const completed = await step('complete application', 'completeApplication', { userId: mentor.id }, `user { status }`, mentorToken);
    expect(completed.errors).toEqual([]);
    expect(completed.user.status).toBe('SI');
    for (const mentee of [menteeA, menteeB]) await ok('mentee completes', 'completeApplication', { userId: mentee.id });

    // Activate: A makes the N/A persona RTBM.
    const activated = await ok('activate mentor', 'changeUserStatus', { userId: mentor.id, status: 'A', reason: 'Background check passed' }, `user { ${USER_FIELDS} }`);
    expect(activated.user).toMatchObject({ status: 'A', canBeMatched: true, access: { logIn: 'YES', seeCurriculum: true } });
    expect(activated.user.personas.map((p: any) => p.matchStatus)).toEqual(['RTBM']);
    // Bulk: both mentees at once, each change its own event with its own result.
    t.clock.advance(HOUR);
    const bulk = await t.gql(
      `mutation ($input: ChangeUserStatusesInput!) { changeUserStatuses(input: $input) { changed refused position results { userId errors { code } user { status personas { matchStatus } } } } }`,
      { input: { changes: [{ userId: menteeA.id, status: 'A' }, { userId: menteeB.id, status: 'A' }, { userId: 'no-such-user', status: 'A' }], reason: 'Start-up screening done' } },
      { token: admin },
    );
    expect(bulk.errors).toBeUndefined();
    expect(bulk.data!.changeUserStatuses).toMatchObject({
      changed: 2,
      refused: 1,
      results: [
        { userId: menteeA.id, errors: [], user: { status: 'A', personas: [{ matchStatus: 'RTBM' }] } },
        { userId: menteeB.id, errors: [], user: { status: 'A', personas: [{ matchStatus: 'RTBM' }] } },
        { userId: 'no-such-user', errors: [{ code: 'NOT_FOUND' }], user: null },
      ],
    });

    // Match: both personas become MATCHED and see each other as partner.
    const firstMatch = await ok('match 1', 'matchPersonas', { programId, mentorPersonaId: `${mentor.id}:p1`, menteePersonaId: `${menteeA.id}:p1` }, 'match { id status mentor { id matchStatus } mentee { id matchStatus user { name } } }');
    expect(firstMatch.match).toMatchObject({ status: 'ACTIVE', mentor: { matchStatus: 'MATCHED' }, mentee: { matchStatus: 'MATCHED', user: { name: 'Ana Mentee' } } });
    const matched = await user(mentor.id);
    expect(matched.personas[0]).toMatchObject({ matchStatus: 'MATCHED', partner: { id: `${menteeA.id}:p1`, user: { name: 'Ana Mentee' } } });

    // A refused move names the allowed ones and changes nothing.
    const beforeRefusal = await head();
    const illegal = await step('illegal make RTBM', 'changePersonaMatchStatus', { personaId: `${mentor.id}:p1`, matchStatus: 'RTBM' }, 'persona { id }');
    expect(illegal.errors).toEqual([expect.objectContaining({ code: 'ILLEGAL_TRANSITION', message: expect.stringContaining('MATCHED') })]);
    expect(illegal.persona).toBeNull();
    expect(await head()).toEqual(beforeRefusal);

    // Close with "yes": the mentor gets a new Rescreening persona at once; the mentee said no and gets none.
    const closed = await ok('close match 1 (yes)', 'closeMatch', { matchId: firstMatch.match.id, closureReason: 'program year ended', mentorRematchIntent: 'YES', menteeRematchIntent: 'NO', reason: 'End of year' }, 'match { status closureReason mentorRematchIntent menteeRematchIntent closedAt }');
    expect(closed.match).toMatchObject({ status: 'CLOSED', closureReason: 'Program year ended', mentorRematchIntent: 'YES', menteeRematchIntent: 'NO' });
    const afterClose = await user(mentor.id);
    expect(afterClose.personas.map((p: any) => [p.id, p.matchStatus])).toEqual([
      [`${mentor.id}:p1`, 'CLOSED'],
      [`${mentor.id}:p2`, 'RESCREENING'],
    ]);
    // A CLOSED persona cannot log in or see curriculum; the Rescreening one can.
    expect(afterClose.personas.map((p: any) => p.access.logIn)).toEqual(['NO', 'YES']);
    expect((await user(menteeA.id)).personas.map((p: any) => p.matchStatus)).toEqual(['CLOSED']);

    // Make RTBM, then match again with the second mentee.
    const rtbm = await ok('make RTBM', 'changePersonaMatchStatus', { personaId: `${mentor.id}:p2`, matchStatus: 'RTBM', reason: 'Rescreened' }, 'persona { matchStatus }');
    expect(rtbm.persona.matchStatus).toBe('RTBM');
    const secondMatch = await ok('match 2', 'matchPersonas', { programId, mentorPersonaId: `${mentor.id}:p2`, menteePersonaId: `${menteeB.id}:p1` }, 'match { id status }');
    // Close with "no": no new persona. Then "Make RS" creates one.
    await ok('close match 2 (no)', 'closeMatch', { matchId: secondMatch.match.id, closureReason: 'Scheduling conflict', mentorRematchIntent: 'NO', menteeRematchIntent: 'MAYBE' });
    expect((await user(mentor.id)).personas.map((p: any) => p.matchStatus)).toEqual(['CLOSED', 'CLOSED']);
    expect((await user(menteeB.id)).personas.map((p: any) => p.matchStatus)).toEqual(['CLOSED', 'RESCREENING']);
    const made = await ok('make RS', 'makeUserRescreening', { userId: mentor.id, reason: 'Wants to come back' }, `user { ${USER_FIELDS} }`);
    expect(made.user.personas.map((p: any) => [p.number, p.matchStatus])).toEqual([
      [1, 'CLOSED'],
      [2, 'CLOSED'],
      [3, 'RESCREENING'],
    ]);

    // The history timeline: every event that touched the mentor, newest first, with from → to, who, when, why.
    const history = await t.gql(
      `query ($id: ID!) { userHistory(userId: $id, first: 100) { totalCount edges { cursor node { eventType occurredAt field personaId from to summary actor { id role } reason command reverted } } } }`,
      { id: mentor.id },
      { token: admin, headers: { 'x-consistent-with': lastPosition } },
    );
    expect(history.errors).toBeUndefined();
    const entries = history.data!.userHistory.edges.map((edge: any) => edge.node);
    const occurred = entries.map((entry: any) => entry.occurredAt);
    expect(occurred).toEqual([...occurred].sort().reverse());
    const oldestFirst = [...entries].reverse();
    expect(oldestFirst.map((e: any) => [e.eventType, e.from, e.to])).toEqual([
      ['UserRegistered', null, 'AI'],
      ['PersonaCreated', null, 'N/A'],
      ['ApplicationCompleted', 'INCOMPLETE', 'COMPLETED'],
      ['UserStatusChanged', 'AI', 'SI'],
      ['UserStatusChanged', 'SI', 'A'],
      ['PersonaMatchStatusChanged', 'N/A', 'RTBM'],
      ['MatchCreated', null, null],
      ['MatchActivated', null, 'ACTIVE'],
      ['PersonaMatchStatusChanged', 'RTBM', 'MATCHED'],
      ['MatchClosed', 'ACTIVE', 'CLOSED'],
      ['PersonaMatchStatusChanged', 'MATCHED', 'CLOSED'],
      ['PersonaCreated', null, 'RESCREENING'],
      ['PersonaMatchStatusChanged', 'RESCREENING', 'RTBM'],
      ['MatchCreated', null, null],
      ['MatchActivated', null, 'ACTIVE'],
      ['PersonaMatchStatusChanged', 'RTBM', 'MATCHED'],
      ['MatchClosed', 'ACTIVE', 'CLOSED'],
      ['PersonaMatchStatusChanged', 'MATCHED', 'CLOSED'],
      ['PersonaCreated', null, 'RESCREENING'],
    ]);
    const activation = oldestFirst.find((e: any) => e.eventType === 'UserStatusChanged' && e.to === 'A');
    expect(activation).toMatchObject({ field: 'USER_STATUS', actor: { id: 'alice.admin', role: 'admin' }, reason: 'Background check passed', command: 'ChangeUserStatus', reverted: false });
    const selfCompleted = oldestFirst.find((e: any) => e.eventType === 'ApplicationCompleted');
    // Participants act in the log under their user id, not their token subject (erasable personal data stays out of the log).
    expect(selfCompleted.actor).toEqual({ id: mentor.id, role: 'mentor' });
    expect(entries.every((e: any) => typeof e.summary === 'string' && e.summary.length > 10)).toBe(true);

    // Paginated: pages of 4 walk the same entries with no gap or duplicate.
    const paged: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = await t.gql(
        `query ($id: ID!, $after: String) { userHistory(userId: $id, first: 4, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } } }`,
        { id: mentor.id, after },
        { token: admin },
      );
      paged.push(...page.data.userHistory.edges.map((edge: any) => edge.node.id));
      if (!page.data.userHistory.pageInfo.hasNextPage) break;
      after = page.data.userHistory.pageInfo.endCursor;
    }
    expect(paged).toHaveLength(entries.length);
    expect(new Set(paged).size).toBe(entries.length);

    // As of a past moment: fold the events up to then.
    const asOf = async (at: string) =>
      (await t.gql(`query ($id: ID!, $at: DateTimeISO!) { userAsOf(userId: $id, at: $at) { existed status personas { number matchStatus } } }`, { id: mentor.id, at }, { token: admin })).data!.userAsOf;
    const stepTime = (name: string) => log.find((entry) => entry.step === name)!.at;
    expect(await asOf('2026-01-01T00:00:00.000Z')).toEqual({ existed: false, status: null, personas: [] });
    expect(await asOf(stepTime('register Maya Mentor'))).toEqual({ existed: true, status: 'AI', personas: [{ number: 1, matchStatus: 'NA' }] });
    expect(await asOf(stepTime('activate mentor'))).toEqual({ existed: true, status: 'A', personas: [{ number: 1, matchStatus: 'RTBM' }] });
    expect(await asOf(new Date(Date.parse(stepTime('close match 1 (yes)')) + 1000).toISOString())).toEqual({
      existed: true,
      status: 'A',
      personas: [{ number: 1, matchStatus: 'CLOSED' }, { number: 2, matchStatus: 'RESCREENING' }],
    });
    expect(await asOf(stepTime('match 2'))).toMatchObject({ personas: [{ matchStatus: 'CLOSED' }, { matchStatus: 'MATCHED' }] });
    expect((await asOf(t.clock.now.toISOString())).personas).toHaveLength(3);
  });
});

const inputType = (mutation: string): string =>
  ({
    createProgram: 'CreateProgramInput',
    turnMatchingOn: 'ProgramInput',
    registerUser: 'RegisterUserInput',
    completeApplication: 'UserInput',
    changeUserStatus: 'ChangeUserStatusInput',
    revertUserStatusChange: 'RevertUserStatusChangeInput',
    matchPersonas: 'MatchPersonasInput',
    changePersonaMatchStatus: 'ChangePersonaMatchStatusInput',
    closeMatch: 'CloseMatchInput',
    makeUserRescreening: 'UserInput',
    inactivatePersona: 'InactivatePersonaInput',
  })[mutation]!;

announcePostgresSkip('participant lifecycle e2e');
announceKurrentSkip('participant lifecycle e2e');
