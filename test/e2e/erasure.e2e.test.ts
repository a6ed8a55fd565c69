import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { exportNdjson } from '../../src/audit/exportNdjson';
import type { SqlEventLog } from '../../src/audit/eventLog';
import { serverProjections } from '../../projections';
import { RAW_PERSONAL_DATA, mintToken } from '../../src/graphql/auth';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { readModelRows } from '../support/readModelRows';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Erasing a person's personal data over real HTTP, as issue 15 asks: register, change e-mail (the old
 * address free for someone else at once; concurrent claims of one address: exactly one wins),
 * request, decline, match, meet, volunteer, appear in an issued manager report, e-mail; erase; then
 * search every table of every schema of the database (every column, as text), the event log, the
 * NDJSON export, the four CSV exports, the manager report and every e-mail of the outbox for their
 * name and e-mail and find none; the hash chains verify; a replay from zero (in SQL and in Node.js)
 * rebuilds the same rows.
 */

announcePostgresSkip('erasure of personal data over GraphQL');

const PAYLOAD = 'errors { code message field details } position eventCount';

describe.each(sqlBackends())('erasure of personal data on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let lastPosition = '';

  beforeAll(async () => {
    t = await startTestApp(await open(), '2026-09-01T13:00:00.000Z');
    admin = await t.token('admin', 'alice.admin');
  });
  afterAll(async () => {
    await t?.close();
  });

  const mutate = async (mutation: string, inputType: string, input: Record<string, unknown>, select = '', token = admin) => {
    const response = await t.gql(`mutation ($input: ${inputType}!) { ${mutation}(input: $input) { ${PAYLOAD} ${select} } }`, { input }, { token });
    expect(response.errors).toBeUndefined();
    const payload = response.data![mutation];
    if (payload.position) lastPosition = payload.position;
    return payload;
  };
  const ok = async (mutation: string, inputType: string, input: Record<string, unknown>, select = '', token = admin) => {
    const payload = await mutate(mutation, inputType, input, select, token);
    expect(payload.errors).toEqual([]);
    return payload;
  };
  const query = async (text: string, variables: Record<string, unknown> = {}, token = admin) => {
    const response = await t.gql(text, variables, { token, headers: lastPosition ? { 'x-consistent-with': lastPosition } : {} });
    expect(response.errors).toBeUndefined();
    return response.data!;
  };
  const download = async (path: string, token = admin) => {
    const response = await fetch(new URL(path, t.http.url), { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return response.text();
  };
  /**
   * Every row of every table of every schema of the database, as text (every column). On the shared
   * PostgreSQL test database the other test files' own schemas (t_..., bench_...) are theirs, not
   * this app's, and are left out; the needles carry this run's tag, so a replay schema of another run
   * could not match anyway.
   */
  const everyTable = async (): Promise<Record<string, string>> => {
    const { rows } = await t.app.db.query<{ table_schema: string; table_name: string }>(
      `SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg\\_%'
          AND (table_schema = current_schema() OR table_schema !~ '^(t|bench)_')
        ORDER BY table_schema, table_name`,
    );
    expect(rows.length).toBeGreaterThan(10);
    const tables: Record<string, string> = {};
    for (const { table_schema, table_name } of rows) {
      // A row as text shows bytea in hex: those columns are read as text too.
      const binary = await t.app.db.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND data_type = 'bytea'`,
        [table_schema, table_name],
      );
      const decoded = binary.rows.map(({ column_name }) => ` || ' ' || coalesce(encode(x."${column_name}", 'escape'), '')`).join('');
      const dump = await t.app.db.query<{ text: string | null }>(`SELECT string_agg(x::text${decoded}, E'\\n') AS text FROM "${table_schema}"."${table_name}" x`);
      tables[`${table_schema}.${table_name}`] = dump.rows[0]!.text ?? '';
    }
    return tables;
  };
  const mintRawAnalyst = () =>
    mintToken({ secret: t.app.config.tokenKeys!, subject: 'rita.raw', role: 'analyst', permissions: [RAW_PERSONAL_DATA], expiresIn: '1h', now: t.clock.now });
  const participant = async (programId: string, role: 'MENTOR' | 'MENTEE', name: string, email: string, extra: Record<string, unknown> = {}) => {
    const registered = await ok('registerUser', 'RegisterUserInput', { email, name, programId, role, ...extra }, 'user { id }');
    const userId = registered.user.id as string;
    await ok('completeApplication', 'UserInput', { userId });
    await ok('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A' });
    return { userId, personaId: `${userId}:p1`, email, token: await t.token(role === 'MENTOR' ? 'mentor' : 'mentee', email, userId) };
  };

  /** A GraphQL mutation's payload, or its refusal, whichever it is (for racing calls). */
  const attemptMutation = async (mutation: string, inputType: string, input: Record<string, unknown>) => {
    const response = await t.gql(`mutation ($input: ${inputType}!) { ${mutation}(input: $input) { ${PAYLOAD} } }`, { input }, { token: admin });
    expect(response.errors).toBeUndefined();
    return response.data![mutation] as { errors: { code: string }[]; position: string | null; eventCount: number };
  };

  test('an address changed away from is free for someone else at once; concurrent claims of one address: exactly one wins', async () => {
    const tag = randomBytes(3).toString('hex');
    const created = await ok('createProgram', 'CreateProgramInput', { name: 'Addresses', timeZone: 'Europe/Paris' }, 'program { id }');
    const programId = created.program.id as string;
    const pat = await participant(programId, 'MENTOR', 'Pat Changer', `pat.old.${tag}@example.org`);
    await ok('changeUserEmail', 'ChangeUserEmailInput', { userId: pat.userId, email: `pat.new.${tag}@example.org`, reason: 'New address' });
    // Someone else takes the old address at once; the new one is taken.
    const reuser = await ok('registerUser', 'RegisterUserInput', { email: `PAT.OLD.${tag}@example.org`, name: 'Quinn Reuser', programId, role: 'MENTEE' }, 'user { id email }');
    expect(reuser.user.id).not.toBe(pat.userId);
    const taken = await mutate('registerUser', 'RegisterUserInput', { email: `pat.new.${tag}@example.org`, name: 'Late', programId, role: 'MENTEE' });
    expect(taken.errors.map((e: { code: string }) => e.code)).toEqual(['ALREADY_EXISTS']);

    // Five registrations and two e-mail changes race for one address: one wins, the others are refused and write nothing.
    const contested = `contested.${tag}@example.org`;
    const others = [await participant(programId, 'MENTEE', 'Rex Racer', `rex.${tag}@example.org`), await participant(programId, 'MENTEE', 'Sam Racer', `sam.${tag}@example.org`)];
    const eventsBefore = Number((await t.app.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events`)).rows[0]!.n);
    const results = await Promise.all([
      ...[1, 2, 3, 4, 5].map((i) => attemptMutation('registerUser', 'RegisterUserInput', { email: contested, name: `Racer ${i}`, programId, role: 'MENTEE' })),
      ...others.map((other) => attemptMutation('changeUserEmail', 'ChangeUserEmailInput', { userId: other.userId, email: contested.toUpperCase() })),
    ]);
    const codes = results.map((result) => result.errors.map((e) => e.code).join(',') || 'OK');
    expect(codes.filter((code) => code === 'OK')).toHaveLength(1);
    expect(codes.filter((code) => code !== 'OK')).toEqual(Array(6).fill('ALREADY_EXISTS'));
    const eventsAfter = Number((await t.app.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events`)).rows[0]!.n);
    // The winner's events only; the refused wrote nothing.
    const winner = results.find((result) => result.errors.length === 0)!;
    expect(winner.eventCount).toBeGreaterThan(1);
    expect(eventsAfter - eventsBefore).toBe(winner.eventCount);
    lastPosition = winner.position!;
    const holders = await query(`query ($s: String!) { users(filter: { search: $s }, first: 10) { edges { node { id email } } } }`, { s: contested });
    expect(holders.users.edges.map((edge: { node: { email: string } }) => edge.node.email)).toEqual([contested]);
  });

  test('a person who had requests, a match, meetings, a registration, a manager report, e-mails and history is erased everywhere; the log verifies; replays agree', async () => {
    // Unique to this run: another run's rows (a replay schema of a concurrent run) cannot match.
    const tag = randomBytes(3).toString('hex');
    const NAME = `Zed Quillfeather${tag}`;
    const EMAIL = `Zed.Quillfeather.${tag}@Example.org`;
    const MANAGER = `Mona Quillmanager${tag}`;
    const MANAGER_EMAIL = `mona.quillmanager.${tag}@example.org`;
    const COMPANY = `Quill Co ${tag}`;
    // The address they changed to before the erasure, and the name as corrected then.
    const NEW_EMAIL = `zed.q.${tag}@quillmail.example`;
    const needles = [NAME, `Quillfeather${tag}`, EMAIL.toLowerCase(), NEW_EMAIL, `Quilly${tag}`, MANAGER.toLowerCase(), COMPANY];
    const containsNone = (where: string, text: string) => {
      for (const needle of needles) expect(`${where}: ${text.toLowerCase().includes(needle.toLowerCase()) ? needle : 'clean'}`).toBe(`${where}: clean`);
    };

    const created = await ok(
      'createProgram',
      'CreateProgramInput',
      { name: 'Erasure cohort', timeZone: 'America/New_York', settings: { matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'] } },
      'program { id }',
    );
    const programId = created.program.id as string;
    await ok('turnMatchingOn', 'ProgramInput', { programId });
    // Zed mentors; their manager gets the bi-weekly report about them.
    const zed = await participant(programId, 'MENTOR', NAME, EMAIL, { company: COMPANY, manager: { name: MANAGER, email: MANAGER_EMAIL } });
    const mentee = await participant(programId, 'MENTEE', 'Maya Mentee', `maya.mentee.${tag}@example.org`);
    const other = await participant(programId, 'MENTEE', 'Omar Mentee', `omar.mentee.${tag}@example.org`);
    await ok('setProfileAttributes', 'SetProfileAttributesInput', { userId: zed.userId, attributes: { nickname: `Quilly${tag}`, grade: 9 } });

    // A request declined with a message naming them, then one approved: a live match.
    const declined = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: zed.personaId, menteePersonaId: other.personaId, message: `Hi ${NAME}, Omar here` }, 'match { id }', other.token);
    await ok('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: declined.match.id, decision: 'DECLINE', message: `Sorry, ${NAME} is full` }, '', zed.token);
    const requested = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: zed.personaId, menteePersonaId: mentee.personaId, message: `${NAME}, robotics please` }, 'match { id }', mentee.token);
    const matchId = requested.match.id as string;
    await ok('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId, decision: 'APPROVE' }, '', zed.token);
    const meeting = await ok('scheduleMeeting', 'ScheduleMeetingInput', { matchId, startsAt: '2026-09-08T10:00:00-04:00', durationMinutes: 60, title: `Intro with ${NAME}` }, 'meetingId', zed.token);
    const cancelled = await ok('scheduleMeeting', 'ScheduleMeetingInput', { matchId, startsAt: '2026-09-09T10:00:00-04:00', durationMinutes: 30 }, 'meetingId', zed.token);
    await ok('cancelMeeting', 'CancelMeetingInput', { meetingId: cancelled.meetingId, reason: `${NAME} is sick` }, '', zed.token);
    t.clock.set('2026-09-10T13:00:00.000Z');
    await ok('recordMeeting', 'RecordMeetingInput', { meetingId: meeting.meetingId, notes: `${NAME} did great` }, '', zed.token);
    // Their identity changes before the erasure: a new address (the old one is free at once) and a corrected name.
    await ok('changeUserEmail', 'ChangeUserEmailInput', { userId: zed.userId, email: NEW_EMAIL, reason: 'New school account' });
    await ok('updateUserProfile', 'UpdateUserProfileInput', { userId: zed.userId, name: `${NAME}-Smith`, reason: 'Spelling' });
    // They volunteer in an initiative; their manager sends the dates back with a message, then approves.
    const coordinator = await t.token('coordinator', 'cora.coordinator');
    const manager = await t.token('manager', MANAGER_EMAIL);
    const initiative = await ok('createInitiative', 'CreateInitiativeInput', { name: 'Read with me', company: 'Acme', timeZone: 'Europe/Paris', managerValidationRequired: true }, 'initiativeId', coordinator);
    const registration = await ok('registerForInitiative', 'RegisterForInitiativeInput', { initiativeId: initiative.initiativeId }, 'registrationId', zed.token);
    const registrationId = registration.registrationId as string;
    await ok('validateRegistration', 'RegistrationInput', { registrationId }, '', coordinator);
    await ok('setEngagementDates', 'SetEngagementDatesInput', { registrationId, periods: [{ start: '2026-10-12' }] }, '', zed.token);
    await ok('rejectEngagementDates', 'RejectEngagementDatesInput', { registrationId, message: `Not in October, ${NAME}` }, '', manager);
    await ok('setEngagementDates', 'SetEngagementDatesInput', { registrationId, periods: [{ start: '2026-11-02', end: '2026-12-18' }] }, '', zed.token);
    await ok('approveEngagementDates', 'RegistrationInput', { registrationId }, '', manager);
    // E-mails rendered (request, decline, assignment, the manager's report) and some sent.
    await t.app.runner.catchUp();
    expect((await t.app.jobs.managerReports.tick()).sent).toBeGreaterThan(0);
    await t.app.runner.catchUp();
    await t.app.jobs.notifications.runOnce();
    const reportBefore = await query(`query ($m: String) { managerReport(managerEmail: $m) { mentorName mentorEmail } }`, { m: MANAGER_EMAIL });
    expect(reportBefore.managerReport).toEqual([{ mentorName: `${NAME}-Smith`, mentorEmail: NEW_EMAIL }]);

    const beforeErasure = await everyTable();
    expect(Object.values(beforeErasure).join('\n')).toContain(NAME);

    // Asked first: what it will erase, and nothing happens.
    const ask = await mutate('erasePersonalData', 'ErasePersonalDataInput', { userId: zed.userId, reason: 'GDPR request #42' });
    expect(ask.errors).toEqual([expect.objectContaining({ code: 'CONFIRMATION_REQUIRED', details: { userId: zed.userId, matches: 1, registrations: 1 } })]);
    expect(ask.errors[0].message).toContain('Confirm with confirm: true');
    expect(ask.eventCount).toBe(0);
    // Admins only.
    const byMentor = await t.gql(`mutation ($input: ErasePersonalDataInput!) { erasePersonalData(input: $input) { ${PAYLOAD} } }`, {
      input: { userId: zed.userId, confirm: true },
    }, { token: mentee.token });
    expect(byMentor.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const erased = await ok('erasePersonalData', 'ErasePersonalDataInput', { userId: zed.userId, reason: 'GDPR request #42', confirm: true }, 'user { id name email status }');
    // PersonalDataErased on the user's stream, and the release of their address's reservation.
    expect(erased.eventCount).toBe(2);
    expect(erased.user).toEqual({ id: zed.userId, name: '[erased]', email: '[erased]', status: 'A' });
    const again = await mutate('erasePersonalData', 'ErasePersonalDataInput', { userId: zed.userId, confirm: true });
    expect(again.errors.map((e: { code: string }) => e.code)).toEqual(['RULE_VIOLATED']);

    // The erased user's lifecycle goes on: a status change works; new profile data arrives erased.
    await ok('changeUserStatus', 'ChangeUserStatusInput', { userId: zed.userId, status: 'IW' });
    await ok('setProfileAttributes', 'SetProfileAttributesInput', { userId: zed.userId, attributes: { nickname: `Quilly${tag} again` } });
    await t.app.runner.catchUp();
    await t.app.jobs.notifications.runOnce();

    // Statistics stay: the match, its dates and the meetings are all there.
    const stats = await query(`query ($id: ID!) { match(id: $id) { id status activatedAt } }`, { id: matchId });
    expect(stats.match).toMatchObject({ id: matchId, status: 'ACTIVE' });
    expect(stats.match.activatedAt).toBeTruthy();
    const meetings = await query(`query ($matchId: ID!) { meetings(matchId: $matchId) { id state title notes cancellationReason } }`, { matchId });
    expect(meetings.meetings).toHaveLength(2);
    expect(meetings.meetings.map((m: { state: string }) => m.state).sort()).toEqual(['CANCELLED', 'RECORDED']);

    // Every table, every export, the event log (GraphQL and NDJSON), the history and the as-of view.
    const afterErasure = await everyTable();
    for (const [table, text] of Object.entries(afterErasure)) {
      if (process.env.DEBUG_ERASURE) for (const line of text.split('\n')) if (line.includes('Quillfeather')) console.log(table, line);
      containsNone(`table ${table}`, text);
    }
    const logged: { type: string }[] = [];
    for (let after: string | null = null, more = true; more; ) {
      const page: any = await query(`query ($after: String) { eventLog(first: 100, after: $after) { edges { cursor node { type data metadata { reason occurredAt actor { id role } } } } pageInfo { hasNextPage } } }`, { after });
      logged.push(...page.eventLog.edges.map((edge: { node: { type: string } }) => edge.node));
      more = page.eventLog.pageInfo.hasNextPage;
      after = page.eventLog.edges.at(-1)?.cursor ?? null;
    }
    expect(logged.map((event) => event.type)).toContain('PersonalDataErased');
    containsNone('eventLog', JSON.stringify(logged));
    let ndjson = '';
    await exportNdjson(t.app.services.eventLog as SqlEventLog, {}, new Writable({ write: (chunk, _encoding, done) => ((ndjson += chunk.toString()), done()) }));
    expect(ndjson.split('\n').filter(Boolean).length).toBeGreaterThan(20);
    containsNone('NDJSON export', ndjson);
    containsNone('matches.csv', await download(`/exports/matches.csv?programId=${programId}&status=ACTIVE&status=DECLINED`));
    containsNone('registrations.csv', await download('/exports/registrations.csv'));
    containsNone('participation-dates.csv', await download('/exports/participation-dates.csv'));
    containsNone('manager-report.csv', await download(`/exports/manager-report.csv?managerEmail=${encodeURIComponent(MANAGER_EMAIL)}`));
    const reportAfter = await query(`query ($m: String) { managerReport(managerEmail: $m) { mentorName mentorEmail company } }`, { m: MANAGER_EMAIL });
    containsNone('managerReport', JSON.stringify(reportAfter));
    const volunteering = await query(`{ registrations { registrationId volunteerName volunteerEmail managerName managerEmail rejectionMessage status } }`);
    expect(volunteering.registrations.map((r: { registrationId: string }) => r.registrationId)).toContain(registrationId);
    containsNone('registrations', JSON.stringify(volunteering));
    const history = await query(`query ($id: ID!) { user(id: $id) { name email history(first: 50) { edges { node { summary } } } } }`, { id: zed.userId });
    expect(history.user.history.edges.length).toBeGreaterThan(3);
    containsNone('history', JSON.stringify(history));
    const asOf = await query(`query ($s: String!, $at: DateTimeISO!) { stateAsOf(streamId: $s, at: $at) { state } }`, { s: `user-${zed.userId}`, at: '2026-09-05T00:00:00Z' });
    containsNone('stateAsOf', JSON.stringify(asOf));
    // Every e-mail of the outbox, of the program and not (the manager's report, the registration's).
    const outbox = await query(`{ notifications(first: 500) { kind toAddress toName subject body state lastError } }`);
    expect(outbox.notifications.length).toBeGreaterThan(3);
    expect(outbox.notifications.map((n: { kind: string }) => n.kind)).toEqual(expect.arrayContaining(['MATCH_REQUEST', 'MANAGER_REPORT']));
    containsNone('notifications', JSON.stringify(outbox));

    // Analysts read the log pseudonymised: no names or e-mails of anyone, stable pseudonyms; raw access is a separate permission.
    const analyst = await t.token('analyst', 'ana.analyst');
    const registrations = `query { eventLog(first: 100, filter: { eventTypes: ["UserRegistered", "MatchRequested"] }) { edges { node { type data metadata { reason } } } } }`;
    const pseudonymised = JSON.stringify(await query(registrations, {}, analyst));
    for (const needle of ['Maya Mentee', `maya.mentee.${tag}@example.org`, 'Omar Mentee', 'robotics']) expect(pseudonymised).not.toContain(needle);
    const registered = JSON.parse(pseudonymised).eventLog.edges.map((edge: { node: { type: string; data: { userId: string; name: string } } }) => edge.node);
    const mayaPseudonym = registered.find((event: { type: string; data: { userId: string } }) => event.type === 'UserRegistered' && event.data.userId === mentee.userId)?.data.name;
    expect(mayaPseudonym).toMatch(/^person-[0-9a-f]{16}$/);
    expect(mayaPseudonym).toBeDefined();
    expect(JSON.stringify(await query(registrations, {}, analyst))).toContain(mayaPseudonym);
    // The same pseudonym wherever the person appears: the log and the users query.
    const asAnalyst = await query(`query ($id: ID!) { user(id: $id) { name email company manager { name } } }`, { id: mentee.userId }, analyst);
    expect(asAnalyst.user).toEqual({ name: mayaPseudonym, email: mayaPseudonym, company: null, manager: null });
    const mayaState = JSON.stringify(await query(`query ($s: String!, $at: DateTimeISO!) { stateAsOf(streamId: $s, at: $at) { state } }`, { s: `user-${mentee.userId}`, at: '2026-12-01T00:00:00Z' }, analyst));
    expect(mayaState).not.toContain('Maya Mentee');
    const rawAllowed = await mintRawAnalyst();
    expect(JSON.stringify(await query(registrations, {}, rawAllowed))).toContain('Maya Mentee');
    expect((await query(`query ($id: ID!) { user(id: $id) { name } }`, { id: mentee.userId }, rawAllowed)).user.name).toBe('Maya Mentee');
    // Even raw access finds nothing of the erased person.
    containsNone('raw eventLog', JSON.stringify(await query(registrations, {}, rawAllowed)));

    // The log is whole.
    const report = await (t.app.services.eventLog as SqlEventLog).verify();
    expect(report).toMatchObject({ intact: true, problemCount: 0 });

    // A replay from zero gives the same erased state, in SQL and in Node.js alike (the outbox is never replayed).
    const readModels = () => readModelRows(t.app.db, serverProjections);
    const live = await readModels();
    for (const inDatabase of [true, false]) {
      await t.app.runner.replay([], undefined, undefined, { inDatabase });
      expect(await readModels()).toEqual(live);
    }
    for (const [table, text] of Object.entries(await everyTable())) containsNone(`table ${table} after replay`, text);

    // The erasure released the address they had then, and the change the one before: both can be
    // registered again, each by a new user with a new id.
    for (const address of [NEW_EMAIL, EMAIL.toLowerCase()]) {
      const newcomer = await ok('registerUser', 'RegisterUserInput', { email: address, name: 'New Owner', programId, role: 'MENTEE' }, 'user { id }');
      expect(newcomer.user.id).not.toBe(zed.userId);
    }
  });
});
