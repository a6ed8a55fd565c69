import { readFileSync } from 'node:fs';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Seed 003: "The volunteer has signed up for the initiative and must initiate a conversation with the
 * coordinator." Messages both ways over real HTTP, e-mailed through the outbox to the other side,
 * under the access policy (the volunteer, coordinators and admins; never a manager), and erased with
 * the volunteer's personal data.
 */

announcePostgresSkip('registration messages');

const PAYLOAD = 'errors { code message field } position';
const MANAGER = 'morgan.manager@acme.test';
const COORDINATORS = 'volunteering@acme.test';
const FIRST = 'Hello, I signed up to read with a pupil on Tuesdays. Who do I talk to?';
const REPLY = 'Welcome Vic! I will call you this week.';

describe.each(sqlBackends())('registration messages on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let coordinator: string;
  let volunteer: string;
  let manager: string;
  let otherVolunteer: string;
  let userId: string;
  let registrationId: string;
  let initiativeId: string;
  let lastPosition = '';

  const eventCount = async (): Promise<number> => Number((await t.app.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events`)).rows[0]!.n);
  const mutate = async (mutation: string, inputType: string, input: Record<string, unknown>, token: string, select = '') => {
    const response = await t.gql(`mutation ($input: ${inputType}!) { ${mutation}(input: $input) { ${PAYLOAD} ${select} } }`, { input }, { token });
    if (response.data?.[mutation]?.position) lastPosition = response.data[mutation].position;
    return response;
  };
  const ok = async (mutation: string, inputType: string, input: Record<string, unknown>, token: string, select = '') => {
    const response = await mutate(mutation, inputType, input, token, select);
    expect(response.errors).toBeUndefined();
    expect(response.data![mutation].errors).toEqual([]);
    return response.data![mutation];
  };
  const thread = async (token: string) =>
    t.gql(`query ($id: ID!) { registration(id: $id) { registrationId messages { from senderId message erased sentAt } } }`, { id: registrationId }, {
      token,
      headers: { 'x-consistent-with': lastPosition },
    });

  beforeAll(async () => {
    t = await startTestApp(await open(), '2026-10-05T08:00:00.000Z');
    admin = await t.token('admin', 'alice.admin');
    coordinator = await t.token('coordinator', 'cora.coordinator');
    manager = await t.token('manager', MANAGER);
    const program = await ok('createProgram', 'CreateProgramInput', { name: 'Volunteers', timeZone: 'Europe/Paris' }, admin, 'program { id }');
    const register = async (email: string, name: string) =>
      (
        await ok(
          'registerUser',
          'RegisterUserInput',
          { email, name, programId: program.program.id, role: 'MENTOR', company: 'Acme', manager: { name: 'Morgan', email: MANAGER } },
          admin,
          'user { id }',
        )
      ).user.id as string;
    userId = await register('vic.volunteer@acme.test', 'Vic Volunteer');
    const otherId = await register('olga.other@acme.test', 'Olga Other');
    volunteer = await t.token('mentor', 'vic', userId);
    otherVolunteer = await t.token('mentor', 'olga', otherId);
    initiativeId = (
      await ok(
        'createInitiative',
        'CreateInitiativeInput',
        { name: 'Read with me', company: 'Acme', timeZone: 'Europe/Paris', coordinatorEmail: COORDINATORS },
        coordinator,
        'initiativeId',
      )
    ).initiativeId;
    registrationId = (await ok('registerForInitiative', 'RegisterForInitiativeInput', { initiativeId }, volunteer, 'registrationId')).registrationId;
    await ok('registerForInitiative', 'RegisterForInitiativeInput', { initiativeId }, otherVolunteer, 'registrationId');
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  }, 180_000);

  test('"must initiate a conversation with the coordinator" (seed 003): the volunteer writes, the coordinator answers, each e-mailed to the other side', async () => {
    const sent = await ok('sendRegistrationMessage', 'SendRegistrationMessageInput', { registrationId, message: FIRST }, volunteer, 'messageId');
    expect(sent.messageId).toEqual(expect.any(String));
    await ok('sendRegistrationMessage', 'SendRegistrationMessageInput', { registrationId, message: REPLY }, coordinator);

    for (const token of [volunteer, coordinator, admin]) {
      const response = await thread(token);
      expect(response.errors).toBeUndefined();
      expect(response.data!.registration.messages).toEqual([
        { from: 'VOLUNTEER', senderId: userId, message: FIRST, erased: false, sentAt: '2026-10-05T08:00:00.000Z' },
        { from: 'COORDINATOR', senderId: 'cora.coordinator', message: REPLY, erased: false, sentAt: '2026-10-05T08:00:00.000Z' },
      ]);
    }
    // The manager reads the registration (their team's) but none of the conversation; another volunteer reads nothing.
    const asManager = await thread(manager);
    expect(asManager.errors).toBeUndefined();
    expect(asManager.data!.registration).toEqual({ registrationId, messages: [] });
    expect((await thread(otherVolunteer)).data?.registration ?? null).toBeNull();

    // Through the outbox: the volunteer's message to the initiative's coordinator mailbox, the reply to the volunteer.
    await t.app.runner.catchUp();
    await t.app.jobs.notifications.runOnce();
    const outbox = await t.gql(`{ notifications(first: 100) { kind toAddress state subject body } }`, {}, { token: admin });
    const messages = outbox.data!.notifications.filter((n: any) => n.kind === 'REGISTRATION_MESSAGE');
    expect(messages.map((n: any) => [n.toAddress, n.state]).sort()).toEqual([
      ['vic.volunteer@acme.test', 'SENT'],
      [COORDINATORS, 'SENT'],
    ]);
    expect(messages.find((n: any) => n.toAddress === COORDINATORS).body).toContain(FIRST);
    expect(messages.find((n: any) => n.toAddress === COORDINATORS).subject).toContain('Vic Volunteer');
    const mailbox = readFileSync(t.app.config.mailboxFile, 'utf8');
    expect(mailbox).toContain(`<${COORDINATORS}>`);
    expect(mailbox).toContain('Welcome Vic!');
  }, 180_000);

  test('only the volunteer and the staff may write; bad input is refused and changes nothing', async () => {
    const before = await eventCount();
    const asManager = await mutate('sendRegistrationMessage', 'SendRegistrationMessageInput', { registrationId, message: 'Hi' }, manager);
    expect(asManager.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const asOther = await mutate('sendRegistrationMessage', 'SendRegistrationMessageInput', { registrationId, message: 'Hi' }, otherVolunteer);
    expect(asOther.data!.sendRegistrationMessage.errors).toEqual([expect.objectContaining({ code: 'FORBIDDEN' })]);
    const blank = await mutate('sendRegistrationMessage', 'SendRegistrationMessageInput', { registrationId, message: '   ' }, volunteer);
    expect(blank.data!.sendRegistrationMessage.errors).toEqual([expect.objectContaining({ code: 'VALIDATION_FAILED', field: 'message' })]);
    const control = await mutate('sendRegistrationMessage', 'SendRegistrationMessageInput', { registrationId, message: 'bell \u0007' }, volunteer);
    expect(control.data!.sendRegistrationMessage.errors[0]).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('control characters') });
    const unknown = await mutate('sendRegistrationMessage', 'SendRegistrationMessageInput', { registrationId: 'nope', message: 'Hi' }, coordinator);
    expect(unknown.data!.sendRegistrationMessage.errors).toEqual([expect.objectContaining({ code: 'NOT_FOUND' })]);
    expect(await eventCount()).toBe(before);
  }, 180_000);

  test('the text is personal data: after erasePersonalData it reads as erased everywhere', async () => {
    await t.app.runner.catchUp();
    await ok('erasePersonalData', 'ErasePersonalDataInput', { userId, reason: 'Request under GDPR art. 17', confirm: true }, admin);
    const response = await thread(coordinator);
    expect(response.data!.registration.messages).toEqual([
      expect.objectContaining({ from: 'VOLUNTEER', message: null, erased: true }),
      expect.objectContaining({ from: 'COORDINATOR', message: null, erased: true }),
    ]);
    // Not in the log's merged view, not in the read models, not in the outbox.
    const merged = await t.app.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM es_events_merged WHERE event_type = 'RegistrationMessageSent' AND (data::text LIKE '%Tuesdays%' OR data::text LIKE '%Welcome Vic%')`,
    );
    expect(merged.rows[0]!.n).toBe('0');
    const kept = await t.app.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events WHERE event_type = 'RegistrationMessageSent'`);
    expect(kept.rows[0]!.n).toBe('2');
    const outbox = await t.app.db.query<{ body: string }>(`SELECT body FROM notification_outbox WHERE kind = 'REGISTRATION_MESSAGE'`);
    expect(outbox.rows).toHaveLength(2);
    for (const row of outbox.rows) {
      expect(row.body).not.toContain('Tuesdays');
      expect(row.body).not.toContain('Welcome Vic');
    }
    const table = await t.app.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM rm_registration_messages WHERE message IS NOT NULL`);
    expect(table.rows[0]!.n).toBe('0');
  }, 180_000);

  test('"Awaiting confirmation(mission completed!)" (seed 003) is the export\'s label for that status', async () => {
    const other = (await t.gql(`{ registrations { registrationId userId status } }`, {}, { token: coordinator, headers: { 'x-consistent-with': lastPosition } })).data!
      .registrations.find((r: any) => r.userId !== userId);
    await ok('validateRegistration', 'RegistrationInput', { registrationId: other.registrationId }, coordinator);
    await ok('setEngagementDates', 'SetEngagementDatesInput', { registrationId: other.registrationId, periods: [{ start: '2026-10-01', end: '2026-10-04' }] }, otherVolunteer);
    await ok('completeMission', 'RegistrationInput', { registrationId: other.registrationId }, otherVolunteer);
    await t.app.runner.catchUp();
    const csv = await fetch(new URL(`exports/registrations.csv?initiativeId=${initiativeId}`, t.http.url), { headers: { authorization: `Bearer ${coordinator}` } });
    expect(csv.status).toBe(200);
    expect(await csv.text()).toContain('Awaiting confirmation (mission completed!)');
  }, 180_000);
});
