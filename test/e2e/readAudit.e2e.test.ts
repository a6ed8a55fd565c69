import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Who read what, over real HTTP: staff reads of a person's record and history show up in the
 * auditors' `personalDataReads` (who, what, when); a participant reading themself does not; only
 * auditors may look.
 */

announcePostgresSkip('who read what (e2e)');

const MANAGER = 'morgan.manager@acme.test';
const READS = `query ($filter: PersonalDataReadFilterInput, $first: Int, $after: String) {
  personalDataReads(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id readAt actor { id role } kind objectId subjectUserId via requestId correlationId } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe.each(sqlBackends())('who read what on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let auditor: string;
  let lastPosition = '';
  let programId = '';
  let mayaId = '';
  let mayaToken = '';
  let mentorToken = '';

  const run = async (mutation: string, inputType: string, input: Record<string, unknown>, select = '') => {
    const response = await t.gql(`mutation ($input: ${inputType}!) { ${mutation}(input: $input) { errors { code message } position ${select} } }`, { input }, { token: admin });
    expect(response.errors).toBeUndefined();
    expect(response.data![mutation].errors).toEqual([]);
    lastPosition = response.data![mutation].position;
    return response.data![mutation];
  };
  const query = (text: string, variables: Record<string, unknown>, token: string, headers: Record<string, string> = {}) =>
    t.gql(text, variables, { token, headers: { 'x-consistent-with': lastPosition, ...headers } });
  const reads = async (filter: Record<string, unknown>, first = 100) => {
    const response = await query(READS, { filter, first }, auditor);
    expect(response.errors).toBeUndefined();
    return (response.data!.personalDataReads.edges as any[]).map((edge) => edge.node);
  };

  beforeAll(async () => {
    t = await startTestApp(await open());
    admin = await t.token('admin', 'alice.admin');
    auditor = await t.token('auditor', 'otto.auditor');
    ({ program: { id: programId } } = await run('createProgram', 'CreateProgramInput', { name: 'Readers 2026', timeZone: 'Europe/Berlin' }, 'program { id }'));
    // The payloads' userId, not their `user`: reading the user back would itself be a recorded read.
    const register = async (email: string, name: string, role: 'MENTOR' | 'MENTEE', extra: Record<string, unknown> = {}) =>
      (await run('registerUser', 'RegisterUserInput', { programId, email, name, role, ...extra }, 'userId')).userId as string;
    mayaId = await register('maya@example.org', 'Maya', 'MENTEE');
    const mentorId = await register('max@acme.test', 'Max', 'MENTOR', { company: 'Acme Corp', manager: { name: 'Morgan', email: MANAGER } });
    await run('completeApplication', 'UserInput', { userId: mayaId });
    mayaToken = await t.token('mentee', 'maya@example.org', mayaId);
    mentorToken = await t.token('mentor', 'max@acme.test', mentorId);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  test('an admin reads a user and their history: the auditor sees who, what, when and through which request', async () => {
    t.clock.set('2026-01-05T10:00:00.000Z');
    const response = await query(
      `query ($id: ID!) { a: user(id: $id) { id name history(first: 5) { edges { node { summary } } } } b: user(id: $id) { id } }`,
      { id: mayaId },
      admin,
      { 'x-correlation-id': 'admin-looks-at-maya' },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data!.a.name).toBe('Maya');
    t.clock.set('2026-01-05T10:05:00.000Z');
    const history = await query(`query ($id: ID!) { userHistory(userId: $id, first: 3) { totalCount } }`, { id: mayaId }, admin);
    expect(history.errors).toBeUndefined();

    const seen = await reads({ subjectUserId: mayaId });
    expect(seen.map((read) => [read.via, read.kind, read.actor.id, read.actor.role, read.readAt])).toEqual([
      ['Query.userHistory', 'USER_HISTORY', 'alice.admin', 'admin', '2026-01-05T10:05:00.000Z'],
      ['User.history', 'USER_HISTORY', 'alice.admin', 'admin', '2026-01-05T10:00:00.000Z'],
      // Asked for twice in one request (a and b), recorded once.
      ['Query.user', 'USER_RECORD', 'alice.admin', 'admin', '2026-01-05T10:00:00.000Z'],
    ]);
    expect(seen[2]).toMatchObject({ objectId: mayaId, subjectUserId: mayaId, correlationId: 'admin-looks-at-maya' });
    expect(seen[2].requestId).toEqual(expect.any(String));
    expect(seen[1].requestId).toBe(seen[2].requestId);
    expect(seen[0].requestId).not.toBe(seen[2].requestId);
  });

  test('a page of users is one read per user shown; an analyst reading the event log of a user stream is recorded once per stream', async () => {
    t.clock.set('2026-01-05T11:00:00.000Z');
    const page = await query(`{ users(first: 20) { edges { node { id } } } }`, {}, admin);
    expect(page.errors).toBeUndefined();
    const shown = (page.data!.users.edges as any[]).map((edge) => edge.node.id);
    expect(shown).toHaveLength(2);
    const analyst = await t.token('analyst', 'ana.analyst');
    const log = await query(`query ($s: String) { eventLog(filter: { streamId: $s }, first: 10) { edges { node { id } } } }`, { s: `user-${mayaId}` }, analyst);
    expect(log.errors).toBeUndefined();
    expect(log.data!.eventLog.edges.length).toBeGreaterThan(1);

    const fromUsers = (await reads({ actorId: 'alice.admin', from: '2026-01-05T11:00:00.000Z' })).filter((read) => read.via === 'Query.users');
    expect(fromUsers.map((read) => read.subjectUserId).sort()).toEqual([...shown].sort());
    const states = await query(
      `query ($u: ID!, $p: String!) { userAsOf(userId: $u, at: "2026-01-05T10:00:00.000Z") { existed } stateAsOf(streamId: $p, at: "2026-01-05T10:00:00.000Z") { streamId } }`,
      { u: mayaId, p: `persona-${mayaId}:p1` },
      analyst,
    );
    expect(states.errors).toBeUndefined();
    const byAnalyst = await reads({ actorId: 'ana.analyst' });
    expect(byAnalyst.map((read) => [read.kind, read.objectId, read.subjectUserId, read.via]).sort()).toEqual([
      ['USER_EVENTS', `user-${mayaId}`, mayaId, 'Query.eventLog'],
      ['USER_STATE', mayaId, mayaId, 'Query.userAsOf'],
      ['USER_STATE', `persona-${mayaId}:p1`, mayaId, 'Query.stateAsOf'],
    ]);
  });

  test('a persona and the user it leads to are reads of that person', async () => {
    t.clock.set('2026-01-05T11:30:00.000Z');
    const response = await query(`query ($id: ID!) { persona(id: $id) { id user { id } } }`, { id: `${mayaId}:p1` }, admin);
    expect(response.errors).toBeUndefined();
    const seen = await reads({ subjectUserId: mayaId, from: '2026-01-05T11:30:00.000Z', to: '2026-01-05T11:30:00.001Z' });
    expect(seen.map((read) => [read.kind, read.objectId, read.via]).sort()).toEqual([
      ['USER_RECORD', mayaId, 'Persona.user'],
      ['USER_RECORD', `${mayaId}:p1`, 'Query.persona'],
    ]);
  });

  test('a mentee reading their own record and history leaves no trace', async () => {
    t.clock.set('2026-01-05T12:00:00.000Z');
    const own = await query(
      `query ($id: ID!) { user(id: $id) { id history(first: 5) { totalCount } } userHistory(userId: $id) { totalCount } me { id } }`,
      { id: mayaId },
      mayaToken,
    );
    expect(own.errors).toBeUndefined();
    expect(own.data!.user.id).toBe(mayaId);
    expect(await reads({ actorId: 'maya@example.org' })).toEqual([]);
    expect((await reads({ subjectUserId: mayaId, from: '2026-01-05T12:00:00.000Z' })).filter((read) => read.kind !== 'READ_LOG')).toEqual([]);
  });

  test('a manager reading their report: one read per employee row; a staff CSV export: one read saying what it covered', async () => {
    t.clock.set('2026-01-05T13:00:00.000Z');
    const report = await query(`{ managerReport { mentorName } }`, {}, await t.token('manager', MANAGER));
    expect(report.errors).toBeUndefined();
    expect(report.data!.managerReport.map((row: any) => row.mentorName)).toEqual(['Max']);
    const csv = await fetch(new URL(`exports/matches.csv?programId=${programId}&status=ACTIVE`, t.http.url), {
      headers: { authorization: `Bearer ${admin}`, 'x-correlation-id': 'export-1' },
    });
    expect(csv.status).toBe(200);
    await csv.text();

    const since = await reads({ from: '2026-01-05T13:00:00.000Z' });
    const byManager = since.filter((read) => read.actor.id === MANAGER);
    expect(byManager.map((read) => [read.kind, read.via, read.actor.role])).toEqual([['REPORT_ROW', 'Query.managerReport', 'manager']]);
    expect(byManager[0].subjectUserId).not.toBeNull();
    const exports = since.filter((read) => read.kind === 'EXPORT');
    expect(exports).toEqual([
      expect.objectContaining({
        actor: { id: 'alice.admin', role: 'admin' },
        objectId: `/exports/matches.csv?programId=${programId}&status=ACTIVE`,
        subjectUserId: null,
        via: 'GET /exports/matches.csv',
        correlationId: 'export-1',
        requestId: csv.headers.get('x-request-id'),
      }),
    ]);
  });

  test('a coordinator reading registrations: one read per volunteer registration; the volunteer reading their own: none', async () => {
    t.clock.set('2026-01-05T13:30:00.000Z');
    const coordinator = await t.token('coordinator', 'cora.coordinator');
    const created = await t.gql(
      `mutation ($input: CreateInitiativeInput!) { createInitiative(input: $input) { errors { code } position initiativeId } }`,
      { input: { name: 'Read with me', company: 'Acme Corp', timeZone: 'Europe/Paris' } },
      { token: coordinator },
    );
    expect(created.data!.createInitiative.errors).toEqual([]);
    const registered = await t.gql(
      `mutation ($input: RegisterForInitiativeInput!) { registerForInitiative(input: $input) { errors { code } position registrationId } }`,
      { input: { initiativeId: created.data!.createInitiative.initiativeId } },
      { token: mentorToken },
    );
    expect(registered.data!.registerForInitiative.errors).toEqual([]);
    lastPosition = registered.data!.registerForInitiative.position;
    const registrationId = registered.data!.registerForInitiative.registrationId;
    const own = await query(`{ registrations { registrationId } }`, {}, mentorToken);
    expect(own.data!.registrations).toEqual([{ registrationId }]);
    const staff = await query(`query ($id: ID!) { registrations { registrationId } registration(id: $id) { volunteerName } }`, { id: registrationId }, coordinator);
    expect(staff.errors).toBeUndefined();
    expect(staff.data!.registration.volunteerName).toBe('Max');

    const since = await reads({ from: '2026-01-05T13:30:00.000Z' });
    // Both fields of one request, resolved side by side: either may be recorded first.
    expect(since.filter((read) => read.kind === 'REGISTRATION').map((read) => [read.actor.id, read.actor.role, read.objectId, read.via]).sort()).toEqual([
      ['cora.coordinator', 'coordinator', registrationId, 'Query.registration'],
      ['cora.coordinator', 'coordinator', registrationId, 'Query.registrations'],
    ]);
  });

  test("the auditor's own looks are recorded too, and the log pages newest first", async () => {
    t.clock.set('2026-01-05T14:00:00.000Z');
    await reads({ subjectUserId: mayaId });
    const own = await reads({ actorId: 'otto.auditor', subjectUserId: mayaId });
    expect(own[0]).toMatchObject({ kind: 'READ_LOG', via: 'Query.personalDataReads', readAt: '2026-01-05T14:00:00.000Z', actor: { role: 'auditor' } });

    const all: any[] = [];
    let after: string | null = null;
    do {
      const response: any = await query(READS, { first: 2, after }, auditor);
      expect(response.errors).toBeUndefined();
      all.push(...response.data.personalDataReads.edges.map((edge: any) => edge.node));
      after = response.data.personalDataReads.pageInfo.hasNextPage ? response.data.personalDataReads.pageInfo.endCursor : null;
    } while (after);
    const times = all.map((read) => read.readAt);
    expect(times).toEqual([...times].sort().reverse());
    expect(new Set(all.map((read) => read.id)).size).toBe(all.length);
  });

  test("lists of matches name both people: each row is a read of the mentor's and the mentee's persona", async () => {
    t.clock.set('2026-01-05T15:00:00.000Z');
    const max = (await query(`{ users(filter: { search: "Max" }) { edges { node { id } } } }`, {}, admin)).data!.users.edges[0].node.id;
    await run('completeApplication', 'UserInput', { userId: max });
    for (const userId of [max, mayaId]) await run('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A' });
    await run('turnMatchingOn', 'ProgramInput', { programId });
    const staged = await run('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: `${max}:p1`, menteePersonaId: `${mayaId}:p1`, stage: true }, 'matchId');
    t.clock.set('2026-01-05T15:30:00.000Z');
    const lists = await query(
      `query ($p: ID!, $m: ID!) { programMatches(programId: $p) { edges { node { menteeName } } } match(id: $m) { mentee { id } } }`,
      { p: programId, m: staged.matchId },
      admin,
    );
    expect(lists.errors).toBeUndefined();
    expect(lists.data!.programMatches.edges).toEqual([{ node: { menteeName: 'Maya' } }]);
    const since = await reads({ from: '2026-01-05T15:30:00.000Z' });
    expect(since.map((read) => [read.objectId, read.subjectUserId, read.via]).sort()).toEqual(
      [
        [`${max}:p1`, max, 'Query.programMatches'],
        [`${mayaId}:p1`, mayaId, 'Query.programMatches'],
        [`${mayaId}:p1`, mayaId, 'Match.mentee'],
      ].sort(),
    );

    // Live: both are e-mailed ("Mentorship Assignment"); listing the outbox reads each recipient.
    const approved = await t.gql(
      `mutation ($input: StagedMatchesInput!) { approveStagedMatches(input: $input) { errors { code } succeeded position } }`,
      { input: { programId, confirm: true } },
      { token: admin },
    );
    expect(approved.data!.approveStagedMatches).toMatchObject({ errors: [], succeeded: 1 });
    lastPosition = approved.data!.approveStagedMatches.position;
    t.clock.set('2026-01-05T16:00:00.000Z');
    const outbox = await query(`query ($p: ID!) { notifications(programId: $p) { recipientUserId } }`, { p: programId }, admin);
    expect(outbox.errors).toBeUndefined();
    const recipients = (outbox.data!.notifications as { recipientUserId: string }[]).map((n) => n.recipientUserId);
    expect(new Set(recipients)).toEqual(new Set([max, mayaId]));
    const outboxReads = await reads({ from: '2026-01-05T16:00:00.000Z', actorId: 'alice.admin' });
    expect(outboxReads.map((read) => [read.subjectUserId, read.via]).sort()).toEqual(recipients.map((userId) => [userId, 'Query.notifications']).sort());
  });

  test('only auditors may query the log: a mentor and an admin are FORBIDDEN; bad input is refused with a clear code', async () => {
    for (const token of [mentorToken, admin]) {
      const refused = await query(READS, {}, token);
      expect(refused.data).toBeNull();
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const tooMany = await query(READS, { first: 0 }, auditor);
    expect(tooMany.errors?.[0]).toMatchObject({ extensions: { code: 'VALIDATION_FAILED' } });
    expect(tooMany.errors?.[0]?.message).toMatch(/first must be between 1 and 100/);
    const badCursor = await t.gql(READS, { after: 'nope' }, { token: auditor });
    expect(badCursor.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });
});

describe.each(sqlBackends())('who read what at shutdown on $name', ({ open }) => {
  test('reads still buffered when the server stops are written before it lets go of the database', async () => {
    const database = await open();
    const t = await startTestApp(database);
    try {
      const admin = await t.token('admin', 'alice.admin');
      const created = await t.gql(`mutation { createProgram(input: { name: "Shutdown", timeZone: "UTC" }) { errors { code } program { id } } }`, {}, { token: admin });
      expect(created.data!.createProgram.errors).toEqual([]);
      const page = await t.gql(`query ($id: ID!) { user(id: $id) { id } }`, { id: 'nobody' }, { token: admin });
      expect(page.errors).toBeUndefined();
      const registered = await t.gql(
        `mutation ($input: RegisterUserInput!) { registerUser(input: $input) { errors { code } userId user { id } } }`,
        { input: { programId: created.data!.createProgram.program.id, email: 'late@example.org', name: 'Late Reader', role: 'MENTEE' } },
        { token: admin },
      );
      const userId = registered.data!.registerUser.userId;
      expect(registered.data!.registerUser.user).toEqual({ id: userId });
      // The payload's user was read (recorded) and is waiting for the next flush (every 2 s, or at 500 reads).
      expect(t.app.services.readLog.pending).toBe(1);
      await t.app.stop();
      const { rows } = await database.db.query<{ actor_id: string; object_kind: string; subject_user_id: string; via: string }>(
        'SELECT r.actor_id, r.object_kind, s.subject_user_id, r.via FROM audit_reads r CROSS JOIN LATERAL unnest(r.subject_user_ids) AS s(subject_user_id)',
      );
      expect(rows).toEqual([{ actor_id: 'alice.admin', object_kind: 'USER_RECORD', subject_user_id: userId, via: 'UserPayload.user' }]);
    } finally {
      await database.close();
    }
  }, 120_000);
});
