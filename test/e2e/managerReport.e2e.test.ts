import { readFileSync } from 'node:fs';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * The manager report (seed 004) over real HTTP: every matching-status category for a prepared
 * population, only the manager's own employees, and no way for a manager to read a mentee's name.
 */

const MANAGER = 'morgan.manager@acme.test';
const OTHER_MANAGER = 'olive.other@acme.test';
const SECRET_MENTEE = 'Zelda Secretname';
const OUTSIDE_MENTOR = 'Oscar Outsidementor';

describe.each(sqlBackends())('manager report on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let lastPosition = '';
  const ids: Record<string, { userId: string; personaId: string; token: string }> = {};
  const matchIds: string[] = [];

  const run = async (mutation: string, inputType: string, input: Record<string, unknown>, select = 'errors { code message }', token = admin) => {
    const response = await t.gql(`mutation ($input: ${inputType}!) { ${mutation}(input: $input) { ${select} position } }`, { input }, { token });
    expect(response.errors).toBeUndefined();
    const payload = response.data![mutation];
    expect(payload.errors ?? []).toEqual([]);
    if (payload.position) lastPosition = payload.position;
    return payload;
  };
  const query = async (text: string, variables: Record<string, unknown>, token: string) =>
    t.gql(text, variables, { token, headers: lastPosition ? { 'x-consistent-with': lastPosition } : {} });

  const program = async (name: string, settings: Record<string, unknown>) => {
    const { program: created } = await run('createProgram', 'CreateProgramInput', { name, timeZone: 'America/New_York', settings }, 'errors { code } program { id }');
    await run('turnMatchingOn', 'ProgramInput', { programId: created.id });
    return created.id as string;
  };
  let counter = 0;
  const person = async (key: string, programId: string, role: 'MENTOR' | 'MENTEE', name: string, manager: string | null, activate = true) => {
    counter += 1;
    const email = `${key}.${counter}@acme.test`;
    const { user } = await run(
      'registerUser',
      'RegisterUserInput',
      { email, name, programId, role, company: 'Acme Corp', ...(manager ? { manager: { name: 'A Manager', email: manager } } : {}) },
      'errors { code } user { id }',
    );
    if (activate) {
      await run('completeApplication', 'UserInput', { userId: user.id });
      await run('changeUserStatus', 'ChangeUserStatusInput', { userId: user.id, status: 'A' });
    }
    ids[key] = { userId: user.id, personaId: `${user.id}:p1`, token: await t.token(role === 'MENTOR' ? 'mentor' : 'mentee', email, user.id) };
    return ids[key]!;
  };

  beforeAll(async () => {
    // Tuesday 1 September 2026, 10:00 in New York.
    t = await startTestApp(await open(), '2026-09-01T14:00:00.000Z');
    admin = await t.token('admin', 'alice.admin');
    const adminLed = await program('Admin-led cohort', { matchDurationMonths: 1 });
    const menteeApproves = await program('Mentee approves', { matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTEE'] });
    const mentorApproves = await program('Mentor approves', { matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'] });
    const twoApprove = await program('Two approve', { matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR', 'ADMIN'] });
    const adminApproves = await program('Admin approves', { matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['ADMIN'] });

    const active = await person('active', adminLed, 'MENTOR', 'Ava Active', MANAGER);
    const unmatched = await person('unmatched', adminLed, 'MENTOR', 'Ulf Unmatched', MANAGER);
    const completed = await person('completed', adminLed, 'MENTOR', 'Cleo Completed', MANAGER);
    const concluded = await person('concluded', adminLed, 'MENTOR', 'Cory Concluded', MANAGER);
    await person('notRegistered', adminLed, 'MENTOR', 'Nia Notregistered', MANAGER, false);
    await person('othersEmployee', adminLed, 'MENTOR', 'Otto Others', OTHER_MANAGER);
    void unmatched;

    const match = async (mentor: { personaId: string }, menteeKey: string, programId: string) => {
      const mentee = await person(menteeKey, programId, 'MENTEE', SECRET_MENTEE, null);
      const payload = await run('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId }, 'errors { code message } match { id }');
      matchIds.push(payload.match.id);
      return payload.match.id as string;
    };
    const completedMatch = await match(completed, 'menteeC', adminLed);
    const concludedMatch = await match(concluded, 'menteeD', adminLed);
    await run('closeMatch', 'CloseMatchInput', { matchId: concludedMatch, closureReason: 'Scheduling conflict', mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' });
    // One month later the first match has run its duration; the active one is made after that.
    t.clock.set('2026-10-02T14:00:00.000Z');
    await t.app.runner.catchUp();
    expect((await t.app.jobs.scheduler.tick()).completed).toBe(1);
    void completedMatch;
    const activeMatch = await match(active, 'menteeA', adminLed);
    // An employee who takes part as a mentee, matched with a mentor from outside the company.
    const menteeEmployee = await person('menteeEmployee', adminLed, 'MENTEE', 'Mo Menteeemployee', MANAGER);
    const outsideMentor = await person('outsideMentor', adminLed, 'MENTOR', OUTSIDE_MENTOR, null);
    await run('matchPersonas', 'MatchPersonasInput', { programId: adminLed, mentorPersonaId: outsideMentor.personaId, menteePersonaId: menteeEmployee.personaId });
    // Ava's match: two meetings that will have taken place by the time the report is read, one still to come.
    for (const startsAt of ['2026-10-05T14:00:00.000Z', '2026-10-12T14:00:00.000Z', '2026-10-26T14:00:00.000Z']) {
      await run('scheduleMeeting', 'ScheduleMeetingInput', { matchId: activeMatch, startsAt, durationMinutes: 45 }, 'errors { code message }');
    }

    // The four waiting categories: requests in programs that need different approvals.
    const request = async (mentorKey: string, mentorName: string, programId: string, by: 'MENTEE' | 'MENTOR') => {
      const mentor = await person(mentorKey, programId, 'MENTOR', mentorName, MANAGER);
      const mentee = await person(`${mentorKey}Mentee`, programId, 'MENTEE', SECRET_MENTEE, null);
      await run('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId }, 'errors { code message }', by === 'MENTEE' ? mentee.token : mentor.token);
    };
    await request('waitMentee', 'Wes Waitsformentee', menteeApproves, 'MENTOR');
    await request('waitMentor', 'Wim Waitsformentor', mentorApproves, 'MENTEE');
    await request('waitTwo', 'Wu Waitsfortwo', twoApprove, 'MENTEE');
    await request('waitAdmin', 'Wyn Waitsforadmin', adminApproves, 'MENTEE');
    t.clock.set('2026-10-20T14:00:00.000Z');
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  const REPORT = `query ($email: String) { managerReport(managerEmail: $email) {
    matchingStatus statusCode role upcomingMeetings completedMeetings program company mentorName mentorEmail registered menteeName matchDate } }`;

  test('each category of the seed, for the manager\'s own employees only, with the seed\'s columns', async () => {
    const manager = await t.token('manager', MANAGER);
    const response = await query(REPORT, {}, manager);
    expect(response.errors).toBeUndefined();
    const rows = response.data!.managerReport as any[];
    const byName = Object.fromEntries(rows.map((row) => [row.mentorName, row]));
    expect(Object.keys(byName).sort()).toEqual(
      ['Ava Active', 'Cleo Completed', 'Cory Concluded', 'Mo Menteeemployee', 'Nia Notregistered', 'Ulf Unmatched', 'Wes Waitsformentee', 'Wim Waitsformentor', 'Wu Waitsfortwo', 'Wyn Waitsforadmin'].sort(),
    );
    expect(byName['Otto Others']).toBeUndefined();
    expect(Object.fromEntries(rows.map((row) => [row.mentorName, row.matchingStatus]))).toEqual({
      'Ava Active': 'Matched-Active',
      'Mo Menteeemployee': 'Matched-Active',
      'Ulf Unmatched': 'Unmatched',
      'Cleo Completed': 'Matched-Duration Completed',
      'Cory Concluded': 'Concluded',
      'Nia Notregistered': 'Not Registered',
      'Wes Waitsformentee': 'Match Request-Waiting Mentee Approval',
      'Wim Waitsformentor': 'Match Request-Waiting Mentor Approval',
      'Wu Waitsfortwo': 'Match Request-Waiting 2 Approvals',
      'Wyn Waitsforadmin': 'Match Request-Waiting Admin Approval',
    });
    expect(byName['Ava Active']).toMatchObject({ upcomingMeetings: 1, completedMeetings: 2, program: 'Admin-led cohort', company: 'Acme Corp', registered: '09-01-2026', menteeName: 'Mentee', matchDate: '10-02-2026' });
    expect(byName['Cleo Completed']).toMatchObject({ matchDate: '09-01-2026' });
    expect(byName['Cory Concluded']).toMatchObject({ matchDate: '' });
    // "Mentee Name: This field is hidden for security and privacy reasons. “Mentee” will appear as a
    // placeholder" (seed 004): on rows about a match; a row with no mentee prints none.
    expect(byName['Ulf Unmatched']).toMatchObject({ matchDate: '', menteeName: '', upcomingMeetings: 0, completedMeetings: 0, statusCode: 'UNMATCHED' });
    expect(byName['Nia Notregistered']).toMatchObject({ menteeName: '', statusCode: 'NOT_REGISTERED' });
    for (const row of rows.filter((r) => !['Ulf Unmatched', 'Nia Notregistered'].includes(r.mentorName))) expect(row.menteeName).toBe('Mentee');
    // "a bi-weekly report detailing your company's employees who are actively participating in your
    // mentorship programs" (seed 004): an employee taking part as a mentee is listed too.
    expect(byName['Mo Menteeemployee']).toMatchObject({ role: 'MENTEE', statusCode: 'MATCHED_ACTIVE', matchDate: '10-02-2026', program: 'Admin-led cohort' });
    expect(byName['Ava Active']).toMatchObject({ role: 'MENTOR', statusCode: 'MATCHED_ACTIVE' });
    expect(JSON.stringify(rows)).not.toContain(OUTSIDE_MENTOR);
    // statusCode is an enum of the schema, one value per category of the seed.
    const statusEnum = await query(`{ __type(name: "ManagerReportStatus") { kind enumValues { name } } }`, {}, manager);
    expect(statusEnum.data!.__type.kind).toBe('ENUM');
    expect(statusEnum.data!.__type.enumValues.map((v: any) => v.name).sort()).toEqual(
      ['CONCLUDED', 'MATCHED_ACTIVE', 'MATCHED_DURATION_COMPLETED', 'MATCH_REQUEST_WAITING_2_APPROVALS', 'MATCH_REQUEST_WAITING_ADMIN_APPROVAL', 'MATCH_REQUEST_WAITING_MENTEE_APPROVAL', 'MATCH_REQUEST_WAITING_MENTOR_APPROVAL', 'NOT_REGISTERED', 'UNMATCHED'],
    );

    // Another manager's report does not list these employees; a manager cannot ask for someone else's.
    const other = await query(REPORT, {}, await t.token('manager', OTHER_MANAGER));
    expect(other.data!.managerReport.map((row: any) => row.mentorName)).toEqual(['Otto Others']);
    const nosy = await query(REPORT, { email: MANAGER }, await t.token('manager', OTHER_MANAGER));
    expect(nosy.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('the CSV has the seed\'s columns and the same rows', async () => {
    const manager = await t.token('manager', MANAGER);
    const url = new URL('exports/manager-report.csv', t.http.url);
    const response = await fetch(url, { headers: { authorization: `Bearer ${manager}` } });
    expect(response.status).toBe(200);
    const lines = (await response.text()).replace(/^\uFEFF/, '').trim().split(/\r\n/);
    expect(lines[0]).toBe(
      'Matching Status,Upcoming Meetings,Completed Meetings,Program,Current Company/Organization,Mentor Name,Mentor Email,Registered (MM-DD-YYYY),Mentee Name,Match Date,Role',
    );
    expect(lines).toHaveLength(11);
    expect(lines.find((line) => line.includes('Ava Active'))).toMatch(/^Matched-Active,1,2,Admin-led cohort,Acme Corp,Ava Active,active\.\d+@acme\.test,09-01-2026,Mentee,10-02-2026,Mentor$/);
    expect(lines.find((line) => line.includes('Ulf Unmatched'))).toMatch(/^Unmatched,0,0,Admin-led cohort,Acme Corp,Ulf Unmatched,unmatched\.\d+@acme\.test,09-01-2026,,,Mentor$/);
    expect(lines.find((line) => line.includes('Mo Menteeemployee'))).toMatch(/^Matched-Active,0,0,Admin-led cohort,Acme Corp,Mo Menteeemployee,menteeEmployee\.\d+@acme\.test,10-02-2026,Mentee,10-02-2026,Mentee$/);
    expect((await fetch(new URL(`exports/manager-report.csv?managerEmail=${OTHER_MANAGER}`, t.http.url), { headers: { authorization: `Bearer ${manager}` } })).status).toBe(403);
    expect((await fetch(url)).status).toBe(401);
  });

  test('every two weeks each manager is e-mailed their report with the CSV attached, once per period', async () => {
    await t.app.runner.catchUp();
    const first = await t.app.jobs.managerReports.tick();
    expect(first).toEqual({ sent: 2, skipped: 0 }); // Morgan and Olive
    expect(await t.app.jobs.managerReports.tick()).toEqual({ sent: 0, skipped: 2 });
    await t.app.runner.catchUp();
    await t.app.jobs.notifications.runOnce();
    const outbox = await t.gql(`{ notifications(first: 100) { kind toAddress state subject } }`, {}, { token: admin });
    const reports = outbox.data!.notifications.filter((n: any) => n.kind === 'MANAGER_REPORT');
    expect(reports.map((n: any) => [n.toAddress, n.state]).sort()).toEqual([[MANAGER, 'SENT'], [OTHER_MANAGER, 'SENT']]);
    const mailbox = readFileSync(t.app.config.mailboxFile, 'utf8');
    const message = mailbox.split(/^From /m).find((m) => m.includes('X-Notification-Kind: MANAGER_REPORT') && m.includes(`<${MANAGER}>`))!;
    expect(message).toContain('Content-Type: text/csv');
    const attachment = /filename="?manager-report-[^\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([A-Za-z0-9+/=\r\n]+)/.exec(message)?.[1] ?? '';
    const csv = Buffer.from(attachment.replace(/\s+/g, ''), 'base64').toString('utf8');
    expect(csv).toContain('Matching Status,Upcoming Meetings');
    expect(csv).toContain('Ava Active');
    expect(csv).not.toContain(SECRET_MENTEE);
    // Two weeks later: a new period, a new report each.
    t.clock.set(new Date(t.clock.now.getTime() + 14 * 86_400_000).toISOString());
    expect(await t.app.jobs.managerReports.tick()).toEqual({ sent: 2, skipped: 0 });
  });

  test('no query lets a manager read a mentee\'s name', async () => {
    const manager = await t.token('manager', MANAGER);
    const schema = await t.gql(`{ __schema { queryType { fields { name args { name type { kind name ofType { kind name ofType { kind name } } } } } } } }`, {}, { token: manager });
    const fields = schema.data!.__schema.queryType.fields as { name: string; args: { name: string }[] }[];
    const anyMentee = ids.menteeA!;
    const programId = (await t.gql(`{ programs { id } }`, {}, { token: admin })).data!.programs[0].id;
    // Every query a manager could send, with arguments naming the mentee wherever one fits.
    const calls: Record<string, string> = {
      health: '{ health { status } }',
      match: `{ match(id: "${matchIds.at(-1)}") { id mentee { user { name } } } }`,
      me: '{ me { name } }',
      persona: `{ persona(id: "${anyMentee.personaId}") { id user { name } } }`,
      program: `{ program(id: "${programId}") { name } }`,
      programs: '{ programs { name } }',
      user: `{ user(id: "${anyMentee.userId}") { name } }`,
      userAsOf: `{ userAsOf(userId: "${anyMentee.userId}", at: "2030-01-01T00:00:00.000Z") { name } }`,
      userHistory: `{ userHistory(userId: "${anyMentee.userId}") { edges { node { summary } } } }`,
      userStatuses: '{ userStatuses { status } }',
      users: '{ users { edges { node { name } } } }',
      matchingFunnel: `{ matchingFunnel(programId: "${programId}") { activeMatches } }`,
      unmatchedMentees: `{ unmatchedMentees(programId: "${programId}") { edges { node { name } } } }`,
      availableMentors: `{ availableMentors(programId: "${programId}") { edges { node { name } } } }`,
      programMatches: `{ programMatches(programId: "${programId}") { edges { node { menteeName } } } }`,
      matchRequests: `{ matchRequests(userId: "${anyMentee.userId}") { menteeName } }`,
      notifications: '{ notifications { toName body } }',
      suggestMentors: `{ suggestMentors(menteePersonaId: "${anyMentee.personaId}") { name } }`,
      managerReport: '{ managerReport { menteeName mentorName } }',
      meetings: `{ meetings(matchId: "${matchIds.at(-1)}") { id } }`,
      matchHealth: `{ matchHealth(programId: "${programId}") { activeMatches } }`,
      initiatives: '{ initiatives { name } }',
      initiative: '{ initiative(id: "none") { name } }',
      registrations: '{ registrations { volunteerName } }',
      registration: '{ registration(id: "none") { volunteerName } }',
      eventLog: '{ eventLog(first: 100) { edges { node { data } } } }',
      verifyEventLog: '{ verifyEventLog { intact problems { detail } } }',
      eventChain: '{ eventChain(eventId: "00000000-0000-0000-0000-000000000000") { correlated { data } } }',
      stateAsOf: `{ stateAsOf(streamId: "user-${anyMentee.userId}", at: "2030-01-01T00:00:00.000Z") { state } }`,
      stateDiff: `{ stateDiff(streamId: "user-${anyMentee.userId}", from: "2020-01-01T00:00:00.000Z", to: "2030-01-01T00:00:00.000Z") { changes { after } } }`,
      personalDataReads: '{ personalDataReads(first: 100) { edges { node { objectId subjectUserId via } } } }',
      tokenRevocations: '{ tokenRevocations(first: 100) { subject reason revokedBy { id } } }',
      previewNotification: `{ previewNotification(kind: MATCH_REQUEST, programId: "${programId}") { subject body } }`,
    };
    const extra: string[] = [];
    const uncovered = fields.map((f) => f.name).filter((name) => !(name in calls) && !extra.includes(name));
    // A new query must be added above (and so checked) before this test passes.
    expect(uncovered).toEqual([]);
    for (const [name, text] of Object.entries(calls)) {
      const response = await t.gql(text, {}, { token: manager });
      expect({ name, leaked: JSON.stringify(response).includes(SECRET_MENTEE) }).toEqual({ name, leaked: false });
    }
    // The same queries as an admin do show the name, so the check above can fail.
    const asAdmin = await t.gql(calls.user!, {}, { token: admin });
    expect(JSON.stringify(asAdmin)).toContain(SECRET_MENTEE);
  });
});

announcePostgresSkip('manager report');
