import { formatPosition } from '../../src/eventstore/eventStore';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Issue 18, items 1 and 3, over real HTTP as a frontend would send them: `updateProgramSettings`
 * (every setting, who and why in the program's history, refusals that change nothing), what a
 * settings change does to open requests and staged matches, request expiry in business days with
 * public holidays and closed days, and the health thresholds as program settings.
 */

announcePostgresSkip('program settings over GraphQL');

const PAYLOAD = 'errors { code message field } position eventCount';
const SETTINGS = `matchingProcess requiredApprovals requestExpiryBusinessDays matchDurationMonths mentorCapacity managerValidationRequired
  checkInAfterWeeks missedInARow holidayCountry holidayRegion closedDays`;
const MATCH_FIELDS = 'id status requestedBy pendingApprovals expiresAt endsAt';

describe.each(sqlBackends())('program settings over GraphQL on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let lastPosition = '';

  beforeAll(async () => {
    // Thursday 3 September 2026, 10:00 in New York.
    t = await startTestApp(await open(), '2026-09-03T14:00:00.000Z');
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
  const update = (input: Record<string, unknown>, token = admin) =>
    mutate('updateProgramSettings', 'UpdateProgramSettingsInput', input, `program { timeZone settings { ${SETTINGS} } }`, token);
  const match = async (id: string) => (await query(`query ($id: ID!) { match(id: $id) { ${MATCH_FIELDS} } }`, { id })).match;
  const programEvents = async (programId: string) =>
    (
      await query(
        `query ($streamId: String!) { eventLog(filter: { streamId: $streamId }, first: 100) {
           edges { node { type data metadata { reason command actor { id role } } } } } }`,
        { streamId: `program-${programId}` },
      )
    ).eventLog.edges.map((edge: { node: Record<string, any> }) => edge.node);
  const tick = async () => {
    await t.app.runner.catchUp();
    const report = await t.app.jobs.scheduler.tick();
    lastPosition = formatPosition(await t.app.store.readCommittedHead());
    return report;
  };

  let programCounter = 0;
  const program = async (settings: Record<string, unknown> = {}) => {
    programCounter += 1;
    const created = await ok('createProgram', 'CreateProgramInput', { name: `Settings ${programCounter}`, timeZone: 'America/New_York', settings }, 'program { id }');
    const programId = created.program.id as string;
    await ok('turnMatchingOn', 'ProgramInput', { programId });
    return programId;
  };
  let userCounter = 0;
  const participant = async (programId: string, role: 'MENTOR' | 'MENTEE', name: string) => {
    userCounter += 1;
    const email = `${name.toLowerCase().replace(/[^a-z]+/g, '.')}.${userCounter}@example.org`;
    const registered = await ok('registerUser', 'RegisterUserInput', { email, name, programId, role }, 'user { id }');
    const userId = registered.user.id as string;
    await ok('completeApplication', 'UserInput', { userId });
    await ok('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A' });
    const token = await t.token(role === 'MENTOR' ? 'mentor' : 'mentee', email, userId);
    return { userId, personaId: `${userId}:p1`, token };
  };

  test('an admin changes every setting; the program history says who changed what, from what, and why', async () => {
    const programId = await program();
    const changed = await update({
      programId,
      reason: 'Moving to mentee-led matching for the spring cohort',
      matchingProcess: 'USER_LED_WITH_APPROVAL',
      requiredApprovals: ['MENTOR', 'ADMIN'],
      requestExpiryBusinessDays: 5,
      matchDurationMonths: 9,
      mentorCapacity: 2,
      managerValidationRequired: true,
      timeZone: 'europe/paris',
      checkInAfterWeeks: 3,
      missedInARow: 3,
      holidayCountry: 'fr',
      closedDays: ['2026-12-31', '2026-12-24'],
    });
    expect(changed).toMatchObject({ errors: [], eventCount: 2 });
    expect(changed.program).toEqual({
      timeZone: 'Europe/Paris',
      settings: {
        matchingProcess: 'USER_LED_WITH_APPROVAL',
        requiredApprovals: ['MENTOR', 'ADMIN'],
        requestExpiryBusinessDays: 5,
        matchDurationMonths: 9,
        mentorCapacity: 2,
        managerValidationRequired: true,
        checkInAfterWeeks: 3,
        missedInARow: 3,
        holidayCountry: 'FR',
        holidayRegion: null,
        closedDays: ['2026-12-24', '2026-12-31'],
      },
    });

    // Saving the same values again records nothing.
    expect(await update({ programId, reason: 'Double-checking', mentorCapacity: 2, timeZone: 'Europe/Paris' })).toMatchObject({ errors: [], eventCount: 0 });

    const history = await programEvents(programId);
    const settingsChanges = history.filter((event: { type: string }) => event.type === 'ProgramSettingsChanged' || event.type === 'ProgramTimeZoneChanged');
    expect(settingsChanges).toHaveLength(2);
    const [settingsEvent, zoneEvent] = settingsChanges;
    expect(settingsEvent.metadata).toEqual({
      reason: 'Moving to mentee-led matching for the spring cohort',
      command: 'ChangeProgramSettings',
      actor: { id: 'alice.admin', role: 'admin' },
    });
    expect(settingsEvent.data.changed).toEqual([
      'matchingProcess',
      'requiredApprovals',
      'matchDurationMonths',
      'requestExpiryBusinessDays',
      'mentorCapacity',
      'managerValidationRequired',
      'checkInAfterWeeks',
      'missedInARow',
      'holidayCountry',
      'closedDays',
    ]);
    expect(settingsEvent.data.from).toMatchObject({ matchingProcess: 'ADMIN_LED', requestExpiryBusinessDays: 3, mentorCapacity: 1 });
    expect(zoneEvent).toMatchObject({ data: { from: 'America/New_York', to: 'Europe/Paris' }, metadata: { reason: 'Moving to mentee-led matching for the spring cohort' } });

    // Clearing the holidays: null.
    const cleared = await update({ programId, reason: 'No holidays after all', holidayCountry: null });
    expect(cleared.program.settings).toMatchObject({ holidayCountry: null, holidayRegion: null });
  });

  test('bad settings are refused with a code, the field and a sentence to act on, and record nothing', async () => {
    const programId = await program();
    const before = (await programEvents(programId)).length;
    const refusals: [Record<string, unknown>, string, string][] = [
      [{ mentorCapacity: 2 }, 'reason', 'Say why the settings change'],
      [{ reason: 'Nothing named' }, 'input', 'Name at least one setting'],
      [{ reason: 'r', matchingProcess: 'USER_LED_WITH_APPROVAL' }, 'requiredApprovals', 'needs at least one approving party'],
      [{ reason: 'r', timeZone: 'Mars/Olympus' }, 'timeZone', 'not an IANA time zone'],
      [{ reason: 'r', holidayCountry: 'XX' }, 'holidayCountry', 'two-letter code such as "US"'],
      [{ reason: 'r', holidayCountry: 'US', holidayRegion: 'ZZ' }, 'holidayRegion', 'is not a region of US'],
      [{ reason: 'r', holidayRegion: 'NY' }, 'holidayRegion', 'needs its country'],
      [{ reason: 'r', closedDays: ['2026-02-30'] }, 'closedDays', 'write it as YYYY-MM-DD'],
    ];
    for (const [input, field, message] of refusals) {
      const refused = await update({ programId, ...input });
      expect(refused.errors).toEqual([expect.objectContaining({ code: 'VALIDATION_FAILED', field })]);
      expect(refused.errors[0].message).toContain(message);
      expect(refused).toMatchObject({ eventCount: 0, program: null });
    }
    // Out of the API's bounds: refused before any command runs.
    const outOfBounds = await t.gql(
      `mutation ($input: UpdateProgramSettingsInput!) { updateProgramSettings(input: $input) { ${PAYLOAD} } }`,
      { input: { programId, reason: 'r', requestExpiryBusinessDays: 0, missedInARow: 99 } },
      { token: admin },
    );
    expect(outOfBounds.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(outOfBounds.errors?.[0]?.message).toMatch(/requestExpiryBusinessDays.*missedInARow|missedInARow.*requestExpiryBusinessDays/);
    // Only admins change settings (coordinators run initiatives, not programs).
    const mentor = await participant(programId, 'MENTOR', 'Nosy Mentor');
    for (const role of ['coordinator', 'mentor'] as const) {
      const token = role === 'mentor' ? mentor.token : await t.token('coordinator', 'cora.coordinator');
      const forbidden = await t.gql(
        `mutation ($input: UpdateProgramSettingsInput!) { updateProgramSettings(input: $input) { ${PAYLOAD} } }`,
        { input: { programId, reason: 'mine now', mentorCapacity: 9 } },
        { token },
      );
      expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(await programEvents(programId)).toHaveLength(before);
    expect((await query(`query ($id: ID!) { program(id: $id) { settings { mentorCapacity matchingProcess } } }`, { id: programId })).program.settings).toEqual({
      mentorCapacity: 1,
      matchingProcess: 'ADMIN_LED',
    });
  });

  test('an open request keeps the approvals and expiry it was made with; a staged match stays staged', async () => {
    // Seed 002: "If the mentor does not decide within 3 business days, the request will expire" — the
    // request is judged by the rules the mentee and mentor were told; and "Staged Matches: these are
    // matches that you have created between a mentor and mentee, but haven't sent to be live/active yet."
    t.clock.set('2026-09-03T14:00:00.000Z'); // Thursday 10:00 in New York
    const programId = await program({ matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'] });
    const [mentor1, mentor2, mentor3] = [
      await participant(programId, 'MENTOR', 'Ana Mentor'),
      await participant(programId, 'MENTOR', 'Ben Mentor'),
      await participant(programId, 'MENTOR', 'Cy Mentor'),
    ];
    const [mentee1, mentee2, mentee3] = [
      await participant(programId, 'MENTEE', 'Dee Mentee'),
      await participant(programId, 'MENTEE', 'Eli Mentee'),
      await participant(programId, 'MENTEE', 'Flo Mentee'),
    ];
    const requested = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor1.personaId, menteePersonaId: mentee1.personaId }, `match { ${MATCH_FIELDS} }`, mentee1.token);
    expect(requested.match).toMatchObject({ status: 'REQUESTED', pendingApprovals: ['MENTOR'], expiresAt: '2026-09-08T14:00:00.000Z' }); // Fri, Mon, Tue 10:00
    const staged = await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor2.personaId, menteePersonaId: mentee2.personaId, stage: true }, 'match { id status }');

    // The admin takes matching over and lengthens the expiry.
    await ok('updateProgramSettings', 'UpdateProgramSettingsInput', { programId, reason: 'Admins match from now on', matchingProcess: 'ADMIN_LED', requestExpiryBusinessDays: 10 });
    expect(await match(requested.match.id)).toMatchObject({ status: 'REQUESTED', pendingApprovals: ['MENTOR'], expiresAt: '2026-09-08T14:00:00.000Z' });
    expect(await match(staged.match.id)).toMatchObject({ status: 'STAGED' });
    const refused = await mutate('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor3.personaId, menteePersonaId: mentee3.personaId }, '', mentee3.token);
    expect(refused).toMatchObject({ errors: [expect.objectContaining({ code: 'RULE_VIOLATED' })], eventCount: 0 });
    expect(refused.errors[0].message).toContain('admin-led');

    // The open request can still be answered as it was made; the staged match still goes live when approved.
    await ok('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: requested.match.id, decision: 'APPROVE' }, '', mentor1.token);
    expect(await match(requested.match.id)).toMatchObject({ status: 'ACTIVE' });
    const approval = await t.gql(
      `mutation ($input: StagedMatchesInput!) { approveStagedMatches(input: $input) { errors { code } succeeded refused position } }`,
      { input: { programId, matchIds: [staged.match.id], confirm: true } },
      { token: admin },
    );
    expect(approval.data!.approveStagedMatches).toMatchObject({ errors: [], succeeded: 1, refused: 0 });
    lastPosition = approval.data!.approveStagedMatches.position;
    expect(await match(staged.match.id)).toMatchObject({ status: 'ACTIVE' });

    // Back to user-led with two approvals: new requests follow the new settings.
    await ok('updateProgramSettings', 'UpdateProgramSettingsInput', {
      programId,
      reason: 'Mentees choose again, admins check',
      matchingProcess: 'USER_LED_WITH_APPROVAL',
      requiredApprovals: ['MENTOR', 'ADMIN'],
    });
    const next = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor3.personaId, menteePersonaId: mentee3.personaId }, `match { ${MATCH_FIELDS} }`, mentee3.token);
    // Thursday 3 September + 10 business days; Monday 7 September is Labor Day only when holidays are on (they are not here).
    expect(next.match).toMatchObject({ status: 'REQUESTED', pendingApprovals: ['MENTOR', 'ADMIN'], expiresAt: '2026-09-17T14:00:00.000Z' });
  });

  test('a request made on Saturday expires at the end of its third whole business day, past holidays and closed days', async () => {
    // Issue 18: "a request made on Saturday 10:00 expires Wednesday 10:00, 58 hours of business time
    // instead of 3 whole business days; public holidays are not known at all."
    t.clock.set('2026-09-03T14:00:00.000Z');
    const programId = await program({ matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'] });
    await ok('updateProgramSettings', 'UpdateProgramSettingsInput', {
      programId,
      reason: 'US holidays, and the office closes on 9 September',
      holidayCountry: 'US',
      holidayRegion: 'NY',
      closedDays: ['2026-09-09'],
    });
    const mentor = await participant(programId, 'MENTOR', 'Gus Mentor');
    const mentee = await participant(programId, 'MENTEE', 'Hal Mentee');

    // Saturday 5 September 2026, 10:00 in New York. Monday 7 is Labor Day, Wednesday 9 is closed:
    // the business days are Tuesday 8, Thursday 10 and Friday 11; the request expires at the end of
    // Friday, Saturday 12 September 00:00 in New York.
    t.clock.set('2026-09-05T14:00:00.000Z');
    const requested = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId }, `match { ${MATCH_FIELDS} }`, mentee.token);
    expect(requested.match.expiresAt).toBe('2026-09-12T04:00:00.000Z');

    t.clock.set('2026-09-12T03:59:00.000Z'); // Friday 23:59
    expect((await tick()).expired).toBe(0);
    expect((await match(requested.match.id)).status).toBe('REQUESTED');
    t.clock.set('2026-09-12T04:00:01.000Z'); // Saturday 00:00:01
    expect((await tick()).expired).toBe(1);
    expect((await match(requested.match.id)).status).toBe('EXPIRED');
  });

  test('a new time zone moves where business days are counted and how the e-mails write dates; open requests keep theirs', async () => {
    t.clock.set('2026-09-03T14:00:00.000Z');
    const programId = await program({ matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'] });
    const [mentor1, mentor2] = [await participant(programId, 'MENTOR', 'Kai Mentor'), await participant(programId, 'MENTOR', 'Lea Mentor')];
    const [mentee1, mentee2] = [await participant(programId, 'MENTEE', 'Max Mentee'), await participant(programId, 'MENTEE', 'Noa Mentee')];
    // Friday 4 September 2026, 19:00 in New York, already Saturday 01:00 in Paris.
    t.clock.set('2026-09-04T23:00:00.000Z');
    const inNewYork = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor1.personaId, menteePersonaId: mentee1.personaId }, `match { ${MATCH_FIELDS} }`, mentee1.token);
    expect(inNewYork.match.expiresAt).toBe('2026-09-09T23:00:00.000Z'); // Wednesday 19:00 in New York
    await ok('updateProgramSettings', 'UpdateProgramSettingsInput', { programId, reason: 'The program moves to the Paris office', timeZone: 'Europe/Paris' });
    const inParis = await ok('requestMatch', 'RequestMatchInput', { mentorPersonaId: mentor2.personaId, menteePersonaId: mentee2.personaId }, `match { ${MATCH_FIELDS} }`, mentee2.token);
    // A Saturday request in Paris: Monday to Wednesday whole, expiring at Thursday 00:00 there.
    expect(inParis.match.expiresAt).toBe('2026-09-09T22:00:00.000Z');
    expect((await match(inNewYork.match.id)).expiresAt).toBe('2026-09-09T23:00:00.000Z');
    const mails = (
      await query(`query ($programId: ID!) { notifications(programId: $programId) { kind recipientUserId body } }`, { programId })
    ).notifications.filter((n: { kind: string }) => n.kind === 'MATCH_REQUEST');
    const bodyFor = (userId: string) => mails.find((n: { recipientUserId: string }) => n.recipientUserId === userId)?.body as string;
    expect(bodyFor(mentor1.userId)).toContain('Wednesday, September 9, 2026 at 7:00 PM');
    expect(bodyFor(mentor2.userId)).toContain('Thursday, September 10, 2026 at 12:00 AM');
  });

  test('the health thresholds are program settings; query arguments override them for one query', async () => {
    t.clock.set('2026-09-03T14:00:00.000Z');
    const programId = await program({ checkInAfterWeeks: 6 });
    const mentor = await participant(programId, 'MENTOR', 'Ida Mentor');
    const mentee = await participant(programId, 'MENTEE', 'Jon Mentee');
    const live = await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId }, 'match { id }');
    // Seed 002: "what matches might need a check-in". Live for three and a half weeks without meeting.
    t.clock.set('2026-09-27T14:00:00.000Z');
    const health = async (args = '') =>
      (
        await query(
          `query ($programId: ID!) { matchHealth(programId: $programId${args}) { thresholds { checkInAfterWeeks missedInARow }
             matchesNeedingCheckIn { matchId reasons { kind } } } }`,
          { programId },
        )
      ).matchHealth;
    expect(await health()).toEqual({ thresholds: { checkInAfterWeeks: 6, missedInARow: 2 }, matchesNeedingCheckIn: [] });

    await ok('updateProgramSettings', 'UpdateProgramSettingsInput', { programId, reason: 'Check in sooner', checkInAfterWeeks: 3, missedInARow: 1 });
    expect(await health()).toEqual({
      thresholds: { checkInAfterWeeks: 3, missedInARow: 1 },
      matchesNeedingCheckIn: [{ matchId: live.match.id, reasons: [{ kind: 'NEVER_MET' }] }],
    });
    expect(await health(', checkInAfterWeeks: 5')).toEqual({ thresholds: { checkInAfterWeeks: 5, missedInARow: 1 }, matchesNeedingCheckIn: [] });
  });
});
