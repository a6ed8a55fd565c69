import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';
import { startSmtpServer, type TestSmtpServer } from '../notifications/support';
import { formatPosition } from '../../src/eventstore/eventStore';

/**
 * Issue 18, item 4, over real HTTP with a real SMTP server: e-mail previews ("click on the email to
 * preview it"), the administrators' e-mail when a request needs admin approval, and the signed
 * one-click links of the reminder e-mails (seed 003: "Volunteers can add new dates or indicate the
 * mission has ended directly from the email or dashboard").
 */

const PAYLOAD = 'errors { code message field } position';
const PREVIEW = 'kind programId subject body custom values { name value given }';

const eventCount = async (t: TestApp): Promise<number> =>
  Number((await t.app.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events`)).rows[0]!.n);
const outboxCount = async (t: TestApp): Promise<number> =>
  Number((await t.app.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM notification_outbox`)).rows[0]!.n);

announcePostgresSkip('mail preview and one-click links e2e');

describe.each(sqlBackends())('e-mail previews, admin approval e-mails and one-click links on $name', ({ open }) => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  let admin: string;
  let coordinator: string;
  let lastPosition = '';

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp(await open(), '2026-10-05T08:00:00.000Z', {
      smtpUrl: smtp.url,
      env: { ADMIN_NOTIFICATION_EMAIL: 'program-team@acme.example', PUBLIC_URL: 'https://mentoring.acme.example/', ONE_CLICK_LINK_DAYS: '7' },
    });
    admin = await t.token('admin', 'alice.admin');
    coordinator = await t.token('coordinator', 'coco');
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  const ok = async (mutation: string, inputType: string, input: Record<string, unknown>, select = '', token = admin) => {
    const response = await t.gql(`mutation ($input: ${inputType}!) { ${mutation}(input: $input) { ${PAYLOAD} ${select} } }`, { input }, { token });
    expect(response.errors).toBeUndefined();
    const payload = response.data![mutation];
    expect(payload.errors).toEqual([]);
    if (payload.position) lastPosition = payload.position;
    return payload;
  };
  const preview = (variables: Record<string, unknown>, token = admin) =>
    t.gql(`query ($kind: NotificationKind!, $programId: ID!, $sample: [PreviewValueInput!]) { previewNotification(kind: $kind, programId: $programId, sample: $sample) { ${PREVIEW} } }`, variables, {
      token,
      headers: lastPosition ? { 'x-consistent-with': lastPosition } : {},
    });
  /** Runs the worker until the outbox is empty; what arrived since `from`. */
  const deliver = async (from = smtp.accepted.length) => {
    await t.app.runner.catchUp();
    await t.app.jobs.notifications.runOnce();
    return smtp.accepted.slice(from);
  };

  let counter = 0;
  const participant = async (programId: string, role: 'MENTOR' | 'MENTEE', name: string) => {
    counter += 1;
    const email = `${name.toLowerCase().replace(/[^a-z]+/g, '.')}.${counter}@acme.example`;
    const registered = await ok('registerUser', 'RegisterUserInput', { email, name, programId, role, manager: { name: 'Marc Manager', email: 'marc@acme.example' } }, 'userId');
    const userId = registered.userId as string;
    await ok('completeApplication', 'UserInput', { userId });
    await ok('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A' });
    return { userId, personaId: `${userId}:p1`, email, token: await t.token(role === 'MENTOR' ? 'mentor' : 'mentee', email, userId) };
  };

  test('"click on the email to preview it": previewNotification renders the program\'s template with sample values, sends and records nothing', async () => {
    const created = await ok('createProgram', 'CreateProgramInput', { name: 'Riverside', timeZone: 'America/New_York' }, 'program { id }');
    const programId = created.program.id as string;
    const [events, outbox, mails] = [await eventCount(t), await outboxCount(t), smtp.seen.length];

    const defaults = (await preview({ kind: 'MATCH_REQUEST', programId })).data!.previewNotification;
    expect(defaults.custom).toBe(false);
    expect(defaults.subject).toBe('Sam Sample would like to be matched with you in Riverside');
    expect(defaults.body).toContain('Hello Alex Example,');
    expect(defaults.body).toMatch(/Please approve or decline the request by \w+day, October 8, 2026 at 4:00 AM EDT\./);
    expect(defaults.values.find((v: { name: string }) => v.name === 'programName')).toEqual({ name: 'programName', value: 'Riverside', given: false });

    await ok('setNotificationTemplate', 'SetNotificationTemplateInput', {
      programId,
      kind: 'MATCH_REQUEST',
      subject: '{{requesterName}} asks for you ({{programName}})',
      body: 'Dear {{recipientName}}, reply by {{expiresAt}}. Message: {{message}}',
    });
    const custom = (await preview({ kind: 'MATCH_REQUEST', programId, sample: [{ name: 'requesterName', value: 'Priya' }, { name: 'message', value: 'Hi!' }] })).data!
      .previewNotification;
    expect(custom.custom).toBe(true);
    expect(custom.subject).toBe('Priya asks for you (Riverside)');
    expect(custom.body).toMatch(/^Dear Alex Example, reply by .+\. Message: Hi!$/);
    expect(custom.values.filter((v: { given: boolean }) => v.given).map((v: { name: string }) => v.name)).toEqual(['requesterName', 'message']);

    // The admin approval e-mail can be previewed (and customised) like the others.
    const adminMail = (await preview({ kind: 'ADMIN_APPROVAL_REQUEST', programId })).data!.previewNotification;
    expect(adminMail.subject).toBe('A match request in Riverside waits for your approval');

    const unknown = await preview({ kind: 'MATCH_REQUEST', programId, sample: [{ name: 'menteeEmail', value: 'x' }] });
    expect(unknown.errors![0]!.extensions!.code).toBe('VALIDATION_FAILED');
    expect(unknown.errors![0]!.message).toContain('has no placeholder {{menteeEmail}}');
    const missing = await preview({ kind: 'MATCH_REQUEST', programId: 'no-such-program' });
    expect(missing.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    const mentee = await t.token('mentee', 'someone@acme.example', 'someone');
    expect((await preview({ kind: 'MATCH_REQUEST', programId }, mentee)).errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect((await preview({ kind: 'MATCH_REQUEST', programId }, coordinator)).data!.previewNotification.custom).toBe(true);

    // Nothing sent, nothing appended: only the template change above wrote an event.
    await deliver();
    expect(await eventCount(t)).toBe(events + 1);
    expect(await outboxCount(t)).toBe(outbox);
    expect(smtp.seen.length).toBe(mails);
  });

  test('a request that needs admin approval e-mails the administrators (ADMIN_NOTIFICATION_EMAIL) over SMTP', async () => {
    const created = await ok('createProgram', 'CreateProgramInput', {
      name: 'Approvals',
      timeZone: 'Europe/Paris',
      settings: { matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['ADMIN'] },
    }, 'program { id }');
    const programId = created.program.id as string;
    await ok('turnMatchingOn', 'ProgramInput', { programId });
    const mentor = await participant(programId, 'MENTOR', 'Jo Mentor');
    const mentee = await participant(programId, 'MENTEE', 'Kim Mentee');
    await deliver();
    const from = smtp.accepted.length;
    await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId, message: 'Keen to learn' }, 'match { id }', mentee.token);
    const arrived = await deliver(from);
    const toAdmins = arrived.filter((m) => m.to.includes('program-team@acme.example'));
    expect(toAdmins).toHaveLength(1);
    expect(toAdmins[0]!.subject).toBe('A match request in Approvals waits for your approval');
    expect(toAdmins[0]!.text).toContain('Kim Mentee asked for a match in Approvals (mentor: Jo Mentor, mentee: Kim Mentee)');
    expect(toAdmins[0]!.text).toContain('Their message: Keen to learn');
    // A request needing only the mentor's approval sends the administrators nothing.
    const other = await ok('createProgram', 'CreateProgramInput', {
      name: 'Mentor only',
      timeZone: 'Europe/Paris',
      settings: { matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'] },
    }, 'program { id }');
    await ok('turnMatchingOn', 'ProgramInput', { programId: other.program.id });
    const [mentor2, mentee2] = [await participant(other.program.id, 'MENTOR', 'Lu Mentor'), await participant(other.program.id, 'MENTEE', 'Max Mentee')];
    await deliver();
    const from2 = smtp.accepted.length;
    await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor2.personaId, menteePersonaId: mentee2.personaId }, 'match { id }', mentee2.token);
    const second = await deliver(from2);
    expect(second.map((m) => m.to)).toEqual([expect.stringContaining(mentor2.email)]);
  });

  describe('one-click links in the reminder e-mails', () => {
    let registrationId: string;
    let volunteer: { userId: string; token: string; email: string };
    let links: { addDates: string; missionEnded: string };

    const linksIn = (text: string) => {
      const add = /Add new dates: (\S+)/.exec(text)?.[1];
      const ended = /The mission has ended: (\S+)/.exec(text)?.[1];
      return { addDates: add!, missionEnded: ended! };
    };
    const open = async (link: string) => {
      const url = new URL(link);
      const response = await fetch(new URL(`${url.pathname}${url.search}`, t.http.url));
      return { status: response.status, html: await response.text(), headers: response.headers };
    };
    const submit = async (link: string, fields: Record<string, string> = {}) => {
      const token = new URL(link).searchParams.get('t')!;
      const response = await fetch(new URL('/links', t.http.url), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ t: token, ...fields }).toString(),
      });
      return { status: response.status, html: await response.text() };
    };
    const registration = async () => {
      const response = await t.gql(`query ($id: ID!) { registration(id: $id) { status engagementPeriods { start end } } }`, { id: registrationId }, {
        token: coordinator,
        headers: { 'x-consistent-with': formatPosition(await t.app.store.readCommittedHead()) },
      });
      return response.data!.registration;
    };

    beforeAll(async () => {
      const initiative = await ok('createInitiative', 'CreateInitiativeInput', { name: 'Read with me', company: 'Acme', timeZone: 'Europe/Paris', managerValidationRequired: false }, 'initiativeId', coordinator);
      const created = await ok('createProgram', 'CreateProgramInput', { name: 'Staff', timeZone: 'Europe/Paris' }, 'program { id }');
      const person = await participant(created.program.id, 'MENTOR', 'Vera Volunteer');
      volunteer = person;
      const registered = await ok('registerForInitiative', 'RegisterForInitiativeInput', { initiativeId: initiative.initiativeId }, 'registrationId', person.token);
      registrationId = registered.registrationId;
      await ok('validateRegistration', 'RegistrationInput', { registrationId }, '', coordinator);
      await ok('setEngagementDates', 'SetEngagementDatesInput', { registrationId, periods: [{ start: '2026-10-01', end: '2026-10-31' }] }, '', person.token);
      await deliver();
      const from = smtp.accepted.length;
      // What the quarterly reminder job does for an engagement in progress.
      await t.app.services.initiatives.sendReminder(
        { actor: { id: 'system', role: 'system' }, now: t.clock.now.toISOString(), correlationId: 'reminder-test' },
        registrationId,
        'QUARTERLY_PROGRESS',
        '2026-Q4',
      );
      const reminder = (await deliver(from)).filter((m) => m.to.includes(person.email));
      expect(reminder).toHaveLength(1);
      links = linksIn(reminder[0]!.text);
    });

    test('the reminder carries two signed links to the service\'s public address, and nothing of them is in the outbox', async () => {
      expect(links.addDates).toMatch(/^https:\/\/mentoring\.acme\.example\/links\?t=[\w-]+\.[\w-]+$/);
      expect(links.missionEnded).toMatch(/^https:\/\/mentoring\.acme\.example\/links\?t=/);
      expect(links.addDates).not.toBe(links.missionEnded);
      const stored = await t.app.db.query<{ body: string }>(`SELECT body FROM notification_outbox WHERE kind = 'REGISTRATION_PROGRESS_REMINDER'`);
      expect(stored.rows[0]!.body).toContain('[[one-click:ADD_DATES:');
      expect(stored.rows[0]!.body).not.toContain('/links?t=');
    });

    test('opening a link only shows a page; a forged or cut link is refused', async () => {
      const events = await eventCount(t);
      const page = await open(links.addDates);
      expect(page.status).toBe(200);
      expect(page.html).toContain('Add engagement dates');
      expect(page.html).toContain('2026-10-01 to 2026-10-31');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await eventCount(t)).toBe(events);

      const token = new URL(links.addDates).searchParams.get('t')!;
      const [body, mac] = token.split('.');
      const forgedBody = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), r: 'someone-else' })).toString('base64url');
      expect((await open(`https://x/links?t=${forgedBody}.${mac}`)).status).toBe(400);
      expect((await open(`https://x/links?t=${token.slice(0, -3)}`)).status).toBe(400);
      expect((await submit(`https://x/links?t=${forgedBody}.${mac}`, { start: '2026-11-01' })).status).toBe(400);
      expect(await eventCount(t)).toBe(events);
    });

    test('"add new dates ... directly from the email": the link adds the dates once; a second use is refused', async () => {
      const missingStart = await submit(links.addDates, {});
      expect(missingStart.status).toBe(400);
      expect(missingStart.html).toContain('Enter the first day.');
      const badDate = await submit(links.addDates, { start: 'soon' });
      expect(badDate.status).toBe(400);
      expect(badDate.html).toContain('is not a date like');

      const added = await submit(links.addDates, { start: '2026-11-02', end: '2026-12-18' });
      expect(added.status).toBe(200);
      expect(added.html).toContain('your dates were added');
      expect((await registration()).engagementPeriods).toEqual([
        { start: '2026-10-01', end: '2026-10-31' },
        { start: '2026-11-02', end: '2026-12-18' },
      ]);
      const events = await eventCount(t);
      const again = await submit(links.addDates, { start: '2027-01-04' });
      expect(again.status).toBe(409);
      expect(again.html).toContain('already used');
      expect((await open(links.addDates)).status).toBe(409);
      expect(await eventCount(t)).toBe(events);

      // Recorded as the volunteer's own change, with why.
      const history = await t.app.db.query<{ actor: string; reason: string | null }>(
        `SELECT metadata->'actor'->>'id' AS actor, metadata->>'reason' AS reason FROM es_events_merged WHERE stream_id = $1 AND event_type = 'EngagementDatesSet' ORDER BY revision DESC LIMIT 1`,
        [`registration-${registrationId}`],
      );
      expect(history.rows[0]).toEqual({ actor: volunteer.userId, reason: 'One-click link in a reminder e-mail' });
    });

    test('"indicate the mission has ended directly from the email": the link ends the mission, once; links expire', async () => {
      const ended = await submit(links.missionEnded);
      expect(ended.status).toBe(200);
      expect((await registration()).status).toBe('AWAITING_CONFIRMATION');
      expect((await submit(links.missionEnded)).status).toBe(409);

      // A week later (ONE_CLICK_LINK_DAYS=7) an unused link of that e-mail would have expired.
      const token = new URL(links.missionEnded).searchParams.get('t')!;
      const payload = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { x: string };
      expect(Date.parse(payload.x) - Date.parse('2026-10-05T08:00:00.000Z')).toBe(7 * 86_400_000);
      const saved = t.clock.now;
      t.clock.set('2026-10-13T08:00:00.000Z');
      try {
        const expired = await open(links.addDates);
        expect(expired.status).toBe(410);
        expect(expired.html).toContain('This link has expired');
      } finally {
        t.clock.set(saved.toISOString());
      }
    });
  });
});
