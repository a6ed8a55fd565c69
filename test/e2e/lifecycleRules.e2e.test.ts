import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Every committed event, whatever else runs on the cluster (the log's readers see only what is
 * below the oldest running transaction, so a head read through them can lag behind).
 */
const eventCount = async (t: { app: { db: { query: (sql: string) => Promise<{ rows: { n: string }[] }> } } }): Promise<number> =>
  Number((await t.app.db.query(`SELECT count(*)::text AS n FROM es_events`)).rows[0]!.n);

const PAYLOAD = 'errors { code message field details } position replayed eventCount';

describe.each(sqlBackends())('lifecycle rules and access over GraphQL on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let programId: string;

  beforeAll(async () => {
    t = await startTestApp(await open());
    admin = await t.token('admin', 'alice.admin');
    const created = await t.gql(`mutation { createProgram(input: { name: "Rules", timeZone: "Europe/Paris" }) { program { id } } }`, {}, { token: admin });
    programId = created.data!.createProgram.program.id;
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  const register = async (email: string, role = 'MENTOR', extra: Record<string, unknown> = {}) =>
    t.gql(
      `mutation ($input: RegisterUserInput!) { registerUser(input: $input) { ${PAYLOAD} userId user { id status } } }`,
      { input: { email, name: email.split('@')[0], programId, role, ...extra } },
      { token: admin },
    );
  const changeStatus = (userId: string, status: string, reason?: string) =>
    t.gql(
      `mutation ($input: ChangeUserStatusInput!) { changeUserStatus(input: $input) { ${PAYLOAD} user { status } } }`,
      { input: { userId, status, ...(reason ? { reason } : {}) } },
      { token: admin },
    );
  const history = async (userId: string, position: string) =>
    (
      await t.gql(
        `query ($id: ID!) { userHistory(userId: $id, first: 50) { edges { node { eventType changeId from to reverted revertedByChangeId reason } } } }`,
        { id: userId },
        { token: admin, headers: { 'x-consistent-with': position } },
      )
    ).data!.userHistory.edges.map((edge: any) => edge.node);

  test('two concurrent registrations of one address (any case) make exactly one user', async () => {
    const results = await Promise.all([register('Race@Example.org'), register('race@EXAMPLE.org'), register('RACE@example.ORG')]);
    const payloads = results.map((r) => r.data!.registerUser);
    expect(payloads.filter((p) => p.errors.length === 0)).toHaveLength(1);
    expect(payloads.filter((p) => p.errors[0]?.code === 'ALREADY_EXISTS')).toHaveLength(2);
    const users = await t.gql(`query { users(filter: { search: "race@" }) { totalCount } }`, {}, { token: admin, headers: { 'x-consistent-with': payloads.find((p) => p.position)!.position } });
    expect(users.data!.users.totalCount).toBe(1);
  });

  test('revert a status change, revert the revert, and refuse an ambiguous revert', async () => {
    const { userId } = (await register('revert.me@example.org')).data!.registerUser;
    const toIw = (await changeStatus(userId, 'IW', 'Moved away')).data!.changeUserStatus;
    expect(toIw.user.status).toBe('IW');
    const change = (await history(userId, toIw.position)).find((e: any) => e.eventType === 'UserStatusChanged');
    expect(change).toMatchObject({ from: 'AI', to: 'IW', reverted: false, reason: 'Moved away' });

    const revert = await t.gql(
      `mutation ($input: RevertUserStatusChangeInput!) { revertUserStatusChange(input: $input) { ${PAYLOAD} user { status } } }`,
      { input: { userId, changeId: change.changeId, reason: 'Came back' } },
      { token: admin },
    );
    expect(revert.data!.revertUserStatusChange).toMatchObject({ errors: [], user: { status: 'AI' } });
    let entries = await history(userId, revert.data!.revertUserStatusChange.position);
    const revertEntry = entries.find((e: any) => e.eventType === 'UserStatusChangeReverted');
    expect(revertEntry).toMatchObject({ from: 'IW', to: 'AI', reverted: false, reason: 'Came back' });
    expect(entries.find((e: any) => e.changeId === change.changeId)).toMatchObject({ reverted: true, revertedByChangeId: revertEntry.changeId });

    // A revert can itself be reverted.
    const again = await t.gql(
      `mutation ($input: RevertUserStatusChangeInput!) { revertUserStatusChange(input: $input) { ${PAYLOAD} user { status } } }`,
      { input: { userId, changeId: revertEntry.changeId } },
      { token: admin },
    );
    expect(again.data!.revertUserStatusChange).toMatchObject({ errors: [], user: { status: 'IW' } });
    entries = await history(userId, again.data!.revertUserStatusChange.position);
    expect(entries.find((e: any) => e.changeId === revertEntry.changeId).reverted).toBe(true);

    // Once the status has moved on, reverting the older change is ambiguous: refused, nothing written.
    const moved = (await changeStatus(userId, 'IR')).data!.changeUserStatus;
    expect(moved.errors).toEqual([]);
    const head = await eventCount(t);
    const ambiguous = await t.gql(
      `mutation ($input: RevertUserStatusChangeInput!) { revertUserStatusChange(input: $input) { ${PAYLOAD} } }`,
      { input: { userId, changeId: revertEntry.changeId } },
      { token: admin },
    );
    expect(ambiguous.data!.revertUserStatusChange.errors).toEqual([expect.objectContaining({ code: expect.stringMatching(/REVERT_AMBIGUOUS|RULE_VIOLATED/) })]);
    const latestChange = (await history(userId, moved.position))[0];
    const stale = await t.gql(
      `mutation ($input: RevertUserStatusChangeInput!) { revertUserStatusChange(input: $input) { ${PAYLOAD} } }`,
      { input: { userId, changeId: change.changeId } },
      { token: admin },
    );
    expect(stale.data!.revertUserStatusChange.errors[0].code).toMatch(/REVERT_AMBIGUOUS|RULE_VIOLATED/);
    expect(stale.data!.revertUserStatusChange.errors[0].message.length).toBeGreaterThan(20);
    expect(await eventCount(t)).toBe(head);
    expect(latestChange).toMatchObject({ from: 'IW', to: 'IR' });
  });

  test('an idempotency key makes a retried command a no-op that returns the first result', async () => {
    const { userId } = (await register('idem@example.org')).data!.registerUser;
    const send = () =>
      t.gql(
        `mutation ($input: ChangeUserStatusInput!) { changeUserStatus(input: $input) { ${PAYLOAD} } }`,
        { input: { userId, status: 'IW', idempotencyKey: `withdraw-${userId}` } },
        { token: admin },
      );
    const first = (await send()).data!.changeUserStatus;
    const retry = (await send()).data!.changeUserStatus;
    expect(first).toMatchObject({ errors: [], replayed: false, eventCount: 1 });
    expect(retry).toMatchObject({ errors: [], replayed: true, eventCount: 1, position: first.position });
    const entries = await history(userId, first.position);
    expect(entries.filter((e: any) => e.eventType === 'UserStatusChanged')).toHaveLength(1);
  });

  test('bad input gets a stable code and changes nothing', async () => {
    const head = await eventCount(t);
    const badEmail = await register('not-an-email');
    expect(badEmail.errors?.[0]?.extensions?.code ?? badEmail.data?.registerUser.errors[0].code).toBe('VALIDATION_FAILED');
    const badZone = await t.gql(`mutation { createProgram(input: { name: "X", timeZone: "Mars/Olympus" }) { ${PAYLOAD} } }`, {}, { token: admin });
    expect(badZone.data!.createProgram.errors).toEqual([expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining('Mars/Olympus') })]);
    const unknownProgram = await t.gql(
      `mutation { registerUser(input: { email: "x@example.org", name: "X", programId: "nope", role: MENTEE }) { ${PAYLOAD} } }`,
      {},
      { token: admin },
    );
    expect(unknownProgram.data!.registerUser.errors[0].code).toBe('NOT_FOUND');
    expect(await eventCount(t)).toBe(head);
  });

  test('who may do what: mentors read only themselves, auditors read all and change nothing, anonymous reads only health', async () => {
    const mentor = (await register('self@example.org')).data!.registerUser;
    const other = (await register('other@example.org', 'MENTEE')).data!.registerUser;
    const mentorToken = await t.token('mentor', 'self', mentor.userId);
    const auditor = await t.token('auditor', 'audrey');
    const consistent = { 'x-consistent-with': other.position };

    const own = await t.gql(`query ($id: ID!) { user(id: $id) { id } }`, { id: mentor.userId }, { token: mentorToken, headers: consistent });
    expect(own.data!.user.id).toBe(mentor.userId);
    const me = await t.gql(`query { me { id status } }`, {}, { token: mentorToken, headers: consistent });
    expect(me.data!.me).toEqual({ id: mentor.userId, status: 'AI' });
    const foreign = await t.gql(`query ($id: ID!) { user(id: $id) { id } }`, { id: other.userId }, { token: mentorToken });
    expect(foreign.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const foreignHistory = await t.gql(`query ($id: ID!) { userHistory(userId: $id) { totalCount } }`, { id: other.userId }, { token: mentorToken });
    expect(foreignHistory.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const list = await t.gql(`query { users(first: 50) { totalCount edges { node { id } } } }`, {}, { token: mentorToken, headers: consistent });
    expect(list.data!.users.edges.map((e: any) => e.node.id)).toEqual([mentor.userId]);

    const audited = await t.gql(`query ($id: ID!) { user(id: $id) { id } userHistory(userId: $id) { totalCount } }`, { id: other.userId }, { token: auditor, headers: consistent });
    expect(audited.errors).toBeUndefined();
    expect(audited.data!.userHistory.totalCount).toBeGreaterThan(0);

    const head = await eventCount(t);
    for (const token of [auditor, mentorToken]) {
      const refused = await t.gql(`mutation ($id: ID!) { changeUserStatus(input: { userId: $id, status: A }) { errors { code } } }`, { id: other.userId }, { token });
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(await eventCount(t)).toBe(head);

    const anonymous = await t.gql(`query { programs { id } }`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const health = await t.gql(`query { health { status eventStore } }`);
    expect(health.data!.health).toEqual({ status: 'ok', eventStore: expect.any(String) });
  });

  test('inactivating a matched persona needs confirmation; the last active persona cannot be inactivated', async () => {
    const mentor = (await register('inactivate.mentor@example.org')).data!.registerUser;
    const mentee = (await register('inactivate.mentee@example.org', 'MENTEE')).data!.registerUser;
    const run = (query: string, input: Record<string, unknown>) => t.gql(query, { input }, { token: admin });
    await run(`mutation ($input: ProgramInput!) { turnMatchingOn(input: $input) { errors { code } } }`, { programId }).catch(() => undefined);
    for (const id of [mentor.userId, mentee.userId]) {
      await run(`mutation ($input: UserInput!) { completeApplication(input: $input) { errors { code } } }`, { userId: id });
      expect((await changeStatus(id, 'A')).data!.changeUserStatus.errors).toEqual([]);
    }
    const match = await run(`mutation ($input: MatchPersonasInput!) { matchPersonas(input: $input) { ${PAYLOAD} matchId: match { id } } }`, {
      programId,
      mentorPersonaId: `${mentor.userId}:p1`,
      menteePersonaId: `${mentee.userId}:p1`,
    });
    expect(match.data!.matchPersonas.errors).toEqual([]);
    const close = await run(`mutation ($input: CloseMatchInput!) { closeMatch(input: $input) { ${PAYLOAD} } }`, {
      matchId: match.data!.matchPersonas.matchId.id,
      closureReason: 'Other',
      mentorRematchIntent: 'YES',
      menteeRematchIntent: 'NO',
    });
    expect(close.data!.closeMatch.errors).toEqual([]);
    const matchId = match.data!.matchPersonas.matchId.id;
    const reopen = await run(`mutation ($input: MatchInput!) { reopenMatch(input: $input) { ${PAYLOAD} match { status } } }`, { matchId });
    expect(reopen.data!.reopenMatch).toMatchObject({ errors: [], match: { status: 'ACTIVE' } });
    const personas = async (userId: string, position: string) =>
      (await t.gql(`query ($id: ID!) { user(id: $id) { personas { number personaStatus matchStatus } } }`, { id: userId }, { token: admin, headers: { 'x-consistent-with': position } }))
        .data!.user.personas;
    // Reopening supersedes the rematch persona the closure had created.
    expect(await personas(mentor.userId, reopen.data!.reopenMatch.position)).toEqual([
      { number: 1, personaStatus: 'ACTIVE', matchStatus: 'MATCHED' },
      { number: 2, personaStatus: 'INACTIVE', matchStatus: 'RESCREENING' },
    ]);

    // Close again (the mentor wants another match), make the new persona RTBM and match it with a second mentee.
    const closedAgain = await run(`mutation ($input: CloseMatchInput!) { closeMatch(input: $input) { ${PAYLOAD} } }`, {
      matchId,
      closureReason: 'Other',
      mentorRematchIntent: 'MAYBE',
      menteeRematchIntent: 'NO',
    });
    expect(closedAgain.data!.closeMatch.errors).toEqual([]);
    const mentee2 = (await register('inactivate.mentee2@example.org', 'MENTEE')).data!.registerUser;
    await run(`mutation ($input: UserInput!) { completeApplication(input: $input) { errors { code } } }`, { userId: mentee2.userId });
    expect((await changeStatus(mentee2.userId, 'A')).data!.changeUserStatus.errors).toEqual([]);
    const rtbm = await run(`mutation ($input: ChangePersonaMatchStatusInput!) { changePersonaMatchStatus(input: $input) { ${PAYLOAD} } }`, {
      personaId: `${mentor.userId}:p3`,
      matchStatus: 'RTBM',
    });
    expect(rtbm.data!.changePersonaMatchStatus.errors).toEqual([]);
    const second = await run(`mutation ($input: MatchPersonasInput!) { matchPersonas(input: $input) { ${PAYLOAD} } }`, {
      programId,
      mentorPersonaId: `${mentor.userId}:p3`,
      menteePersonaId: `${mentee2.userId}:p1`,
    });
    expect(second.data!.matchPersonas.errors).toEqual([]);

    const inactivate = (personaId: string, confirm: boolean) =>
      run(`mutation ($input: InactivatePersonaInput!) { inactivatePersona(input: $input) { ${PAYLOAD} persona { personaStatus matchStatus } } }`, {
        personaId,
        confirmCutCommunication: confirm,
        // The partner gets no rematch persona, so the mentee's p1 stays their last active one below.
        partnerRematchIntent: 'NO',
      });
    const head = await eventCount(t);
    const unconfirmed = await inactivate(`${mentor.userId}:p3`, false);
    expect(unconfirmed.data!.inactivatePersona.errors[0]).toMatchObject({ code: 'CONFIRMATION_REQUIRED', message: expect.stringMatching(/communicat/i) });
    expect(await eventCount(t)).toBe(head);
    const confirmed = await inactivate(`${mentor.userId}:p3`, true);
    // Its match closes with it (seed 001: the pair can no longer communicate; see seedReadings.e2e.test.ts).
    expect(confirmed.data!.inactivatePersona).toMatchObject({ errors: [], persona: { personaStatus: 'INACTIVE', matchStatus: 'CLOSED' } });
    // The mentee's only persona is their last active one: change the user status instead.
    const lastOne = await inactivate(`${mentee2.userId}:p1`, true);
    expect(lastOne.data!.inactivatePersona.errors[0]).toMatchObject({ code: 'RULE_VIOLATED', message: expect.stringMatching(/user status/i) });
  });
});

announcePostgresSkip('lifecycle rules e2e');
