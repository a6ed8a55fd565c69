import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { MatchingScheduler } from '../../src/scheduler/matchingScheduler';
import { createLogger } from '../../src/log';
import { formatPosition } from '../../src/eventstore/eventStore';
import { announceKurrentSkip, announcePostgresSkip, storeBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * The matching workflows of seeds 002 and 004 over real HTTP, with the notification worker
 * talking SMTP to a real server in this process and the scheduler moved by a controlled clock.
 */

interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  readonly notificationId: string;
}

/** An SMTP server that keeps what it is sent. */
const startMailServer = async () => {
  const received: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const text = chunks.map(String).join('');
        const [head = '', ...rest] = text.split(/\r?\n\r?\n/);
        const headers = head.replace(/\r?\n[ \t]+/g, ' ');
        const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(headers)?.[1]?.trim() ?? '';
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address).join(','),
          subject: decodeMimeWords(header('Subject')),
          body: decodeBody(rest.join('\n\n'), header('Content-Transfer-Encoding')),
          notificationId: header('X-Notification-Id'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
};

const decodeMimeWords = (value: string) =>
  value.replace(/=\?utf-8\?([BQ])\?([^?]*)\?=\s*/gi, (_, enc: string, text: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
  );
const decodeBody = (body: string, encoding: string) =>
  /quoted-printable/i.test(encoding)
    ? Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8')
    : /base64/i.test(encoding)
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
      : body;

const PAYLOAD = 'errors { code message field details } position replayed eventCount';
const MATCH_FIELDS = `id status source requestedBy requestWaitingFor pendingApprovals expiresAt endsAt activatedAt declineMessage
  mentor { id matchStatus user { id name } } mentee { id matchStatus user { id name } }`;

describe.each(storeBackends())('matching workflows over GraphQL on $name', ({ open, env }) => {
  let t: TestApp;
  let mail: Awaited<ReturnType<typeof startMailServer>>;
  let admin: string;
  let lastPosition = '';

  beforeAll(async () => {
    mail = await startMailServer();
    // Thursday 3 September 2026, 10:00 in New York.
    t = await startTestApp(await open(), '2026-09-03T14:00:00.000Z', { smtpUrl: mail.url, env });
    admin = await t.token('admin', 'alice.admin');
  });
  afterAll(async () => {
    await t?.close();
    await mail?.close();
  });

  const mutate = async (mutation: string, inputType: string, input: Record<string, unknown>, select = '', token = admin) => {
    const response = await t.gql(`mutation ($input: ${inputType}!) { ${mutation}(input: $input) { ${select} } }`, { input }, { token });
    expect(response.errors).toBeUndefined();
    const payload = response.data![mutation];
    if (payload.position) lastPosition = payload.position;
    return payload;
  };
  const ok = async (mutation: string, inputType: string, input: Record<string, unknown>, select = '', token = admin) => {
    const payload = await mutate(mutation, inputType, input, `${PAYLOAD} ${select}`, token);
    expect(payload.errors).toEqual([]);
    return payload;
  };
  const query = async (text: string, variables: Record<string, unknown> = {}, token = admin) => {
    const response = await t.gql(text, variables, { token, headers: lastPosition ? { 'x-consistent-with': lastPosition } : {} });
    expect(response.errors).toBeUndefined();
    return response.data!;
  };
  const match = async (id: string) => (await query(`query ($id: ID!) { match(id: $id) { ${MATCH_FIELDS} } }`, { id })).match;
  /** Runs the notification worker until the outbox is empty, and returns what arrived since `from`. */
  const deliver = async (from = mail.received.length) => {
    await t.app.runner.catchUp();
    await t.app.jobs.notifications.runOnce();
    return mail.received.slice(from);
  };
  /** Runs the scheduler once; later reads wait for what it wrote. */
  const tick = async () => {
    await t.app.runner.catchUp();
    const report = await t.app.jobs.scheduler.tick();
    lastPosition = formatPosition(await t.app.store.readCommittedHead());
    return report;
  };

  // Each test counts the e-mails it causes: what earlier tests left in the outbox goes out first.
  beforeEach(async () => {
    await deliver();
  });

  let programCounter = 0;
  const program = async (settings: Record<string, unknown>, matchingOn = true) => {
    programCounter += 1;
    const created = await ok('createProgram', 'CreateProgramInput', { name: `Cohort ${programCounter}`, timeZone: 'America/New_York', settings }, 'program { id }');
    const programId = created.program.id as string;
    if (matchingOn) await ok('turnMatchingOn', 'ProgramInput', { programId });
    return programId;
  };
  let userCounter = 0;
  /** A registered, screened and Active participant; returns the user id and the first persona id. */
  const participant = async (programId: string, role: 'MENTOR' | 'MENTEE', name: string) => {
    userCounter += 1;
    const email = `${name.toLowerCase().replace(/[^a-z]+/g, '.').replace(/^\.|\.$/g, '')}.${userCounter}@example.org`;
    const registered = await ok('registerUser', 'RegisterUserInput', { email, name, programId, role }, 'user { id }');
    const userId = registered.user.id as string;
    await ok('completeApplication', 'UserInput', { userId });
    await ok('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A' });
    const token = await t.token(role === 'MENTOR' ? 'mentor' : 'mentee', email, userId);
    return { userId, personaId: `${userId}:p1`, email, name, token };
  };
  // Every committed event: the visible head can lag while any other transaction runs on the cluster.
  const headOf = () => t.app.store.readCommittedHead();

  test('admin-led: stage two matches, approve all after confirming how many e-mails go out, each e-mail sent once', async () => {
    const programId = await program({ matchingProcess: 'ADMIN_LED' });
    const [mentor1, mentor2] = [await participant(programId, 'MENTOR', 'Maya Mentor'), await participant(programId, 'MENTOR', 'Omar Mentor')];
    const [mentee1, mentee2] = [await participant(programId, 'MENTEE', 'Ana Mentee'), await participant(programId, 'MENTEE', 'Ben Mentee')];
    const before = mail.received.length;

    const staged = [];
    for (const [mentor, mentee] of [[mentor1, mentee1], [mentor2, mentee2]] as const) {
      const payload = await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId, stage: true }, `match { ${MATCH_FIELDS} }`);
      expect(payload.match).toMatchObject({ status: 'STAGED', source: 'ADMIN', mentor: { matchStatus: 'RTBM' }, mentee: { matchStatus: 'RTBM' } });
      staged.push(payload.match.id as string);
    }
    expect(await deliver(before)).toEqual([]); // staging notifies nobody

    const funnel = await query(`query ($programId: ID!) { matchingFunnel(programId: $programId) { unmatchedMentees availableMentors stagedMatches activeMatches } }`, { programId });
    expect(funnel.matchingFunnel).toEqual({ unmatchedMentees: 2, availableMentors: 0, stagedMatches: 2, activeMatches: 0 });

    // Approve All asks first, saying how many e-mails will go out; nothing changes.
    const head = await headOf();
    const unconfirmed = await mutate('approveStagedMatches', 'StagedMatchesInput', { programId }, `errors { code message details } succeeded notificationCount`);
    expect(unconfirmed).toMatchObject({ errors: [{ code: 'CONFIRMATION_REQUIRED', details: { matches: 2, notifications: 4 } }], succeeded: 0, notificationCount: 4 });
    expect(unconfirmed.errors[0].message).toContain('4 e-mails');
    expect(await headOf()).toEqual(head);

    const approved = await mutate('approveStagedMatches', 'StagedMatchesInput', { programId, confirm: true }, `errors { code } succeeded refused notificationCount position results { matchId errors { code } }`);
    expect(approved).toMatchObject({ errors: [], succeeded: 2, refused: 0, notificationCount: 4 });
    for (const id of staged) expect(await match(id)).toMatchObject({ status: 'ACTIVE', mentor: { matchStatus: 'MATCHED' }, mentee: { matchStatus: 'MATCHED' } });

    const sent = await deliver(before);
    expect(sent.map((m) => [m.to, m.subject]).sort()).toEqual(
      [mentor1, mentor2, mentee1, mentee2].map((p) => [p.email, `Mentorship Assignment: Cohort ${programCounter}`]).sort(),
    );
    expect(sent.find((m) => m.to === mentee1.email)!.body).toContain('Maya Mentor');
    // Running the worker again, or replaying the projections, sends nothing more.
    await t.app.runner.rebuild('notifications');
    expect(await deliver(before + 4)).toEqual([]);
    expect(new Set(mail.received.slice(before).map((m) => m.notificationId)).size).toBe(4);

    // Approving an already approved match is refused; no e-mail.
    const again = await mutate('approveStagedMatches', 'StagedMatchesInput', { programId, matchIds: [staged[0]], confirm: true }, `succeeded refused results { errors { code } }`);
    expect(again).toMatchObject({ succeeded: 0, refused: 1, results: [{ errors: [{ code: 'ILLEGAL_TRANSITION' }] }] });
  });

  test('admin-led: a discarded staged match notifies nobody and leaves both ready to be matched', async () => {
    const programId = await program({});
    const mentor = await participant(programId, 'MENTOR', 'Dana Mentor');
    const mentee = await participant(programId, 'MENTEE', 'Eli Mentee');
    const before = mail.received.length;
    const { match: staged } = await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId, stage: true }, 'match { id }');
    const discarded = await mutate('discardStagedMatches', 'StagedMatchesInput', { programId, matchIds: [staged.id] }, `errors { code } succeeded position results { matchId errors { code } }`);
    expect(discarded).toMatchObject({ errors: [], succeeded: 1 });
    expect(await match(staged.id)).toMatchObject({ status: 'DISCARDED', mentor: { matchStatus: 'RTBM' }, mentee: { matchStatus: 'RTBM' } });
    expect(await deliver(before)).toEqual([]);
    // The admins' draft stays theirs: the mentee's own history does not show it, the admin's view does.
    const historyQuery = `query ($userId: ID!) { userHistory(userId: $userId, first: 50) { totalCount edges { node { eventType } } } }`;
    const asAdmin = (await query(historyQuery, { userId: mentee.userId })).userHistory;
    const asMentee = (await query(historyQuery, { userId: mentee.userId }, mentee.token)).userHistory;
    const types = (page: any) => page.edges.map((edge: any) => edge.node.eventType);
    expect(types(asAdmin)).toEqual(expect.arrayContaining(['MatchCreated', 'MatchDiscarded']));
    expect(types(asMentee)).not.toEqual(expect.arrayContaining(['MatchCreated']));
    expect(types(asMentee)).not.toEqual(expect.arrayContaining(['MatchDiscarded']));
    expect(asMentee.totalCount).toBe(asAdmin.totalCount - 2);
  });

  test('turning matching off blocks activation (direct and approval) but keeps staging; capacity is respected', async () => {
    const programId = await program({});
    const mentor = await participant(programId, 'MENTOR', 'Fay Mentor');
    const [m1, m2, m3] = [await participant(programId, 'MENTEE', 'Gus Mentee'), await participant(programId, 'MENTEE', 'Hal Mentee'), await participant(programId, 'MENTEE', 'Ida Mentee')];
    const { match: staged } = await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: m1.personaId, stage: true }, 'match { id }');
    await ok('turnMatchingOff', 'ProgramInput', { programId });

    const head = await headOf();
    const direct = await mutate('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: m2.personaId }, PAYLOAD);
    expect(direct.errors).toEqual([expect.objectContaining({ code: 'RULE_VIOLATED', message: expect.stringContaining('Matching is off') })]);
    const approval = await mutate('approveStagedMatches', 'StagedMatchesInput', { programId, confirm: true }, `succeeded refused results { errors { code message } }`);
    expect(approval).toMatchObject({ succeeded: 0, refused: 1, results: [{ errors: [{ code: 'RULE_VIOLATED' }] }] });
    expect(await headOf()).toEqual(head);
    // Pausing keeps everything staged; staging still works.
    const stagedWhileOff = await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: m2.personaId, stage: true }, 'match { id status }');
    expect(stagedWhileOff.match.status).toBe('STAGED');
    expect((await match(staged.id)).status).toBe('STAGED');

    // Back on: the first approval fills the mentor's capacity (1); the second is refused for capacity.
    await ok('turnMatchingOn', 'ProgramInput', { programId });
    const both = await mutate('approveStagedMatches', 'StagedMatchesInput', { programId, matchIds: [staged.id, stagedWhileOff.match.id], confirm: true }, `succeeded refused results { matchId errors { code message } }`);
    expect(both).toMatchObject({ succeeded: 1, refused: 1 });
    expect(both.results[1].errors[0]).toMatchObject({ code: 'RULE_VIOLATED', message: expect.stringContaining('capacity (1)') });

    // Capacity 2 for this mentor: the next match goes live through a persona of its own.
    await ok('setMentorCapacity', 'SetMentorCapacityInput', { userId: mentor.userId, programId, capacity: 2 });
    const second = await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: m3.personaId }, `match { ${MATCH_FIELDS} }`);
    expect(second.match).toMatchObject({ status: 'ACTIVE', mentor: { id: `${mentor.userId}:p2`, matchStatus: 'MATCHED' } });
    const third = await mutate('approveStagedMatches', 'StagedMatchesInput', { programId, confirm: true }, `succeeded refused results { errors { code message } }`);
    expect(third).toMatchObject({ succeeded: 0, refused: 1, results: [{ errors: [{ code: 'RULE_VIOLATED', message: expect.stringContaining('capacity (2)') }] }] });
  });

  test('user-led with mentor approval: invite, request, decline with a message, request again, approve; other requests withdrawn', async () => {
    const programId = await program({ matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'] });
    const [mentorA, mentorB, mentorC] = [
      await participant(programId, 'MENTOR', 'Ann Mentor'),
      await participant(programId, 'MENTOR', 'Bob Mentor'),
      await participant(programId, 'MENTOR', 'Cat Mentor'),
    ];
    const mentee = await participant(programId, 'MENTEE', 'Zoe Mentee');
    const other = await participant(programId, 'MENTEE', 'Yan Mentee');
    const before = mail.received.length;

    // Invite all: asks first with the count; then sends; a second "invite all" finds nobody.
    const ask = await mutate('inviteMenteesToMatch', 'InviteMenteesInput', { programId }, 'errors { code details } invitationsSent');
    expect(ask).toMatchObject({ errors: [{ code: 'CONFIRMATION_REQUIRED', details: { invitations: 2 } }], invitationsSent: 2 });
    const invited = await mutate('inviteMenteesToMatch', 'InviteMenteesInput', { programId, confirm: true }, 'errors { code } invitationsSent alreadyInvited position');
    expect(invited).toMatchObject({ errors: [], invitationsSent: 2, alreadyInvited: 0 });
    const again = await mutate('inviteMenteesToMatch', 'InviteMenteesInput', { programId, confirm: true }, 'errors { code } invitationsSent');
    expect(again).toMatchObject({ errors: [{ code: 'NOT_FOUND' }], invitationsSent: 0 });
    const single = await mutate('inviteMenteesToMatch', 'InviteMenteesInput', { programId, personaIds: [mentee.personaId], confirm: true }, 'invitationsSent alreadyInvited results { errors { code } }');
    expect(single).toMatchObject({ invitationsSent: 0, alreadyInvited: 1, results: [{ errors: [{ code: 'ALREADY_EXISTS' }] }] });
    const invitations = await deliver(before);
    expect(invitations.map((m) => [m.to, m.subject]).sort()).toEqual(
      [mentee, other].map((p) => [p.email, `Submit Your Mentor Preferences for Cohort ${programCounter}`]).sort(),
    );

    // The mentee requests mentor A; A is asked by e-mail.
    const requested = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentorA.personaId, menteePersonaId: mentee.personaId, message: 'I love robotics' }, `match { ${MATCH_FIELDS} }`, mentee.token);
    expect(requested.match).toMatchObject({ status: 'REQUESTED', source: 'REQUEST', requestedBy: 'MENTEE', requestWaitingFor: 'WAITING_MENTOR_APPROVAL', pendingApprovals: ['MENTOR'] });
    const asked = await deliver();
    expect(asked).toEqual([expect.objectContaining({ to: mentorA.email })]);
    expect(asked[0]!.body).toContain('I love robotics');

    // Only the request's mentor (or an admin for ADMIN) may answer; another mentor is refused.
    const stranger = await mutate('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: requested.match.id, decision: 'APPROVE' }, PAYLOAD, mentorB.token);
    expect(stranger.errors).toEqual([expect.objectContaining({ code: 'FORBIDDEN' })]);

    // A declines with a message, which reaches the mentee.
    await ok('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: requested.match.id, decision: 'DECLINE', message: 'Fully booked this term, sorry!' }, '', mentorA.token);
    expect(await match(requested.match.id)).toMatchObject({ status: 'DECLINED', declineMessage: 'Fully booked this term, sorry!' });
    const declined = await deliver();
    expect(declined).toEqual([expect.objectContaining({ to: mentee.email })]);
    expect(declined[0]!.body).toContain('Fully booked this term, sorry!');

    // New requests to B and C; B approves first: the match goes live, the request to C is withdrawn.
    const toB = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentorB.personaId, menteePersonaId: mentee.personaId }, 'match { id }', mentee.token);
    const toC = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentorC.personaId, menteePersonaId: mentee.personaId }, 'match { id }', mentee.token);
    await ok('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: toB.match.id, decision: 'APPROVE' }, '', mentorB.token);
    expect(await match(toB.match.id)).toMatchObject({ status: 'ACTIVE', mentor: { matchStatus: 'MATCHED' }, mentee: { matchStatus: 'MATCHED' } });
    await tick();
    expect(await match(toC.match.id)).toMatchObject({ status: 'WITHDRAWN' });
    const late = await mutate('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: toC.match.id, decision: 'APPROVE' }, PAYLOAD, mentorC.token);
    expect(late.errors).toEqual([expect.objectContaining({ code: 'ILLEGAL_TRANSITION' })]);
    const assignment = (await deliver()).filter((m) => m.subject.startsWith('Mentorship Assignment'));
    expect(assignment.map((m) => m.to).sort()).toEqual([mentorB.email, mentee.email].sort());
  });

  test('a mentee registered a moment ago can request a match at once, before the read models have caught up', async () => {
    const programId = await program({ matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'] });
    const mentor = await participant(programId, 'MENTOR', 'Ned Mentor');
    // The read models fall behind: what follows is committed but not projected until the runner restarts.
    await t.app.runner.stop();
    let restarted: NodeJS.Timeout | undefined;
    try {
      const email = `quick.mentee.${++userCounter}@example.org`;
      // No `user { ... }` selection and no X-Consistent-With: nothing here waits for the read models.
      const registered = await ok('registerUser', 'RegisterUserInput', { email, name: 'Quinn Mentee', programId, role: 'MENTEE' }, 'userId');
      const userId = registered.userId as string;
      await ok('completeApplication', 'UserInput', { userId });
      await ok('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A' });
      const token = await t.token('mentee', email, userId);
      restarted = setTimeout(() => t.app.runner.start(), 300);
      const requested = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor.personaId, menteePersonaId: `${userId}:p1` }, 'match { id status }', token);
      expect(requested.match).toMatchObject({ status: 'REQUESTED' });
      // Answered, so that no open request is left for the later tests' scheduler to expire.
      await ok('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: requested.match.id, decision: 'DECLINE', message: 'Not this term.' }, '', mentor.token);
    } finally {
      clearTimeout(restarted);
      t.app.runner.start();
    }
  });

  test('seed 004 waiting states: mentor and admin approval, then admin alone', async () => {
    const programId = await program({ matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR', 'ADMIN'] });
    const mentor = await participant(programId, 'MENTOR', 'Jo Mentor');
    const mentee = await participant(programId, 'MENTEE', 'Kim Mentee');
    const requested = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId }, 'match { id requestWaitingFor }', mentee.token);
    expect(requested.match.requestWaitingFor).toBe('WAITING_2_APPROVALS');
    await ok('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: requested.match.id, decision: 'APPROVE' }, '', mentor.token);
    expect(await match(requested.match.id)).toMatchObject({ status: 'REQUESTED', requestWaitingFor: 'WAITING_ADMIN_APPROVAL', pendingApprovals: ['ADMIN'] });
    await ok('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: requested.match.id, decision: 'APPROVE' });
    expect(await match(requested.match.id)).toMatchObject({ status: 'ACTIVE', requestWaitingFor: null });
  });

  test('a request expires after 3 business days across a weekend, once, by the scheduler', async () => {
    // Thursday 10:00 in New York: expires on Tuesday 10:00 (Friday, Monday, Tuesday).
    t.clock.set('2026-09-10T14:00:00.000Z');
    const programId = await program({ matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'] });
    const mentor = await participant(programId, 'MENTOR', 'Lou Mentor');
    const mentee = await participant(programId, 'MENTEE', 'Mia Mentee');
    const requested = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId }, `match { id expiresAt }`, mentee.token);
    expect(requested.match.expiresAt).toBe('2026-09-15T14:00:00.000Z');
    await deliver();

    t.clock.set('2026-09-14T14:00:00.000Z'); // Monday 10:00: two business days gone
    expect((await tick()).expired).toBe(0);
    expect((await match(requested.match.id)).status).toBe('REQUESTED');

    t.clock.set('2026-09-15T14:00:01.000Z'); // Tuesday, just after 10:00
    expect((await tick()).expired).toBe(1);
    expect(await match(requested.match.id)).toMatchObject({ status: 'EXPIRED', mentee: { matchStatus: 'RTBM' } });
    expect((await tick()).expired).toBe(0);
    const expiredMail = await deliver();
    expect(expiredMail).toEqual([expect.objectContaining({ to: mentee.email, subject: `Your match request in Cohort ${programCounter} expired` })]);
    expect(expiredMail[0]!.body).toContain('request someone else');

    // The expiry is the system's event, with its reason.
    const events = (await t.app.store.readStream(`match-${requested.match.id}`)).events;
    expect(events.at(-1)).toMatchObject({ type: 'MatchRequestExpired', metadata: { actor: { role: 'system' }, command: 'ExpireMatchRequest' } });

    // Answering after the expiry is refused.
    const late = await mutate('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: requested.match.id, decision: 'APPROVE' }, PAYLOAD, mentor.token);
    expect(late.errors).toEqual([expect.objectContaining({ code: 'ILLEGAL_TRANSITION' })]);
  });

  test('a live match completes when its duration runs out; two schedulers record it once', async () => {
    t.clock.set('2026-10-01T14:00:00.000Z');
    const programId = await program({ matchDurationMonths: 6 });
    const mentor = await participant(programId, 'MENTOR', 'Ned Mentor');
    const mentee = await participant(programId, 'MENTEE', 'Ola Mentee');
    const live = await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId }, 'match { id endsAt }');
    expect(live.match.endsAt).toBe('2027-04-01T14:00:00.000Z');
    t.clock.set('2027-04-01T14:00:00.000Z');
    await t.app.runner.catchUp();
    // A second server instance's scheduler, on the same database, at the same moment.
    const other = new MatchingScheduler({ commands: t.app.services.commands, queries: t.app.services.matching, clock: () => t.clock.now, logger: createLogger({ level: 'silent' }) });
    const [a, b] = await Promise.all([t.app.jobs.scheduler.tick(), other.tick()]);
    lastPosition = formatPosition(await t.app.store.readCommittedHead());
    // Matches of the earlier tests fall due at the same time; each is completed by one of the two.
    expect(a.completed + b.completed).toBeGreaterThanOrEqual(1);
    expect(await match(live.match.id)).toMatchObject({ status: 'COMPLETED', mentor: { matchStatus: 'MATCHED' } });
    const completions = (await t.app.store.readStream(`match-${live.match.id}`)).events.filter((e) => e.type === 'MatchCompleted');
    expect(completions).toHaveLength(1);
  });

  test('export: active and staged matches as CSV over HTTP, for admins only', async () => {
    t.clock.set('2027-05-03T14:00:00.000Z');
    const programId = await program({});
    const mentor = await participant(programId, 'MENTOR', 'Pia Mentor');
    const [m1, m2] = [await participant(programId, 'MENTEE', 'Quin Mentee'), await participant(programId, 'MENTEE', '=HYPERLINK("x") Mentee')];
    await ok('setMentorCapacity', 'SetMentorCapacityInput', { userId: mentor.userId, programId, capacity: 2 });
    await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: m1.personaId });
    await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: m2.personaId, stage: true });
    await t.app.runner.catchUp();
    const url = new URL(`exports/matches.csv?programId=${programId}`, t.http.url);
    const response = await fetch(url, { headers: { authorization: `Bearer ${admin}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await response.text()).trim().split(/\r?\n/);
    expect(lines[0]).toBe('Mentor,Mentor e-mail,Mentee,Mentee e-mail,Program,Status,Source,Matched date,Score');
    expect(lines.slice(1).sort()).toEqual(
      [
        `Pia Mentor,${mentor.email},Quin Mentee,${m1.email},Cohort ${programCounter},ACTIVE,ADMIN,2027-05-03,`,
        `Pia Mentor,${mentor.email},"'=HYPERLINK(""x"") Mentee",${m2.email},Cohort ${programCounter},STAGED,ADMIN,2027-05-03,`,
      ].sort(),
    );
    const forbidden = await fetch(url, { headers: { authorization: `Bearer ${mentor.token}` } });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await fetch(url)).status).toBe(401);
  });
});

announcePostgresSkip('matching workflows over GraphQL');
announceKurrentSkip('matching workflows over GraphQL');
