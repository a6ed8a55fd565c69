import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Meetings of a match and the program's health view (seed 002's "Monitor Health") over real HTTP,
 * as a frontend would send them, with the test clock moving the meetings from upcoming to completed.
 */

announcePostgresSkip('meetings over GraphQL');

const PAYLOAD = 'errors { code message field details } position replayed eventCount';
const MEETING_FIELDS = 'id matchId programId mentorUserId menteeUserId startsAt endsAt durationMinutes title status state notes cancellationReason';

describe.each(sqlBackends())('meetings over GraphQL on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let lastPosition = '';

  beforeAll(async () => {
    // Tuesday 1 September 2026, 9:00 in New York.
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
  const refusedWith = async (code: string, mutation: string, inputType: string, input: Record<string, unknown>, token = admin) => {
    const payload = await mutate(mutation, inputType, input, '', token);
    expect(payload.errors.map((e: { code: string }) => e.code)).toEqual([code]);
    expect(payload.eventCount).toBe(0);
    return payload.errors[0] as { code: string; message: string; field: string | null };
  };
  const query = (text: string, variables: Record<string, unknown> = {}, token = admin) =>
    t.gql(text, variables, { token, headers: lastPosition ? { 'x-consistent-with': lastPosition } : {} });
  const meetingsOf = async (matchId: string, token = admin) => {
    const response = await query(`query ($matchId: ID!) { meetings(matchId: $matchId) { ${MEETING_FIELDS} } }`, { matchId }, token);
    expect(response.errors).toBeUndefined();
    return response.data!.meetings as Record<string, unknown>[];
  };
  const health = async (programId: string, args = '', token = admin) => {
    const response = await query(
      `query ($programId: ID!) { matchHealth(programId: $programId${args}) {
         programId asOf thresholds { checkInAfterWeeks missedInARow } activeMatches sessionsCompleted upcomingSessions missedSessions
         matchesNeedingCheckIn { matchId mentorName menteeName lastMeetingAt nextMeetingAt missedInARow reasons { kind message } } } }`,
      { programId },
      token,
    );
    return response;
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

  test('a mentor and a mentee schedule, move, record, miss and cancel their meetings; admins watch the health view', async () => {
    const created = await ok('createProgram', 'CreateProgramInput', { name: 'Riverside 2026', timeZone: 'America/New_York' }, 'program { id }');
    const programId = created.program.id as string;
    await ok('turnMatchingOn', 'ProgramInput', { programId });
    const mentor = await participant(programId, 'MENTOR', 'Maya Mentor');
    const mentee = await participant(programId, 'MENTEE', 'Theo Mentee');
    const outsider = await participant(programId, 'MENTOR', 'Olga Outsider');
    const matched = await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId }, 'match { id status }');
    expect(matched.match.status).toBe('ACTIVE');
    const matchId = matched.match.id as string;

    // The mentor schedules the first meeting; the payload's meeting already includes it.
    const first = await ok(
      'scheduleMeeting',
      'ScheduleMeetingInput',
      { matchId, startsAt: '2026-09-08T10:00:00-04:00', durationMinutes: 60, title: 'Getting to know each other' },
      `meetingId meeting { ${MEETING_FIELDS} }`,
      mentor.token,
    );
    expect(first.meeting).toEqual({
      id: first.meetingId,
      matchId,
      programId,
      mentorUserId: mentor.userId,
      menteeUserId: mentee.userId,
      startsAt: '2026-09-08T14:00:00.000Z',
      endsAt: '2026-09-08T15:00:00.000Z',
      durationMinutes: 60,
      title: 'Getting to know each other',
      status: 'UPCOMING',
      state: 'SCHEDULED',
      notes: null,
      cancellationReason: null,
    });
    const second = await ok('scheduleMeeting', 'ScheduleMeetingInput', { matchId, startsAt: '2026-09-15T14:00:00Z', durationMinutes: 45 }, 'meetingId', mentee.token);
    const third = await ok('scheduleMeeting', 'ScheduleMeetingInput', { matchId, startsAt: '2026-09-22T14:00:00Z', durationMinutes: 45 }, 'meetingId');

    // Refusals are data, and nothing is written.
    expect((await refusedWith('FORBIDDEN', 'scheduleMeeting', 'ScheduleMeetingInput', { matchId, startsAt: '2026-09-10T14:00:00Z', durationMinutes: 30 }, outsider.token)).message).toBe(
      "Only the match's mentor, its mentee or an admin can schedule its meetings.",
    );
    expect((await refusedWith('RULE_VIOLATED', 'scheduleMeeting', 'ScheduleMeetingInput', { matchId, startsAt: '2026-08-31T14:00:00Z', durationMinutes: 30 })).message).toContain(
      'cannot be scheduled in the past',
    );
    expect((await refusedWith('VALIDATION_FAILED', 'scheduleMeeting', 'ScheduleMeetingInput', { matchId, startsAt: '2026-09-10 10:00', durationMinutes: 30 })).field).toBe('startsAt');
    await refusedWith('NOT_FOUND', 'scheduleMeeting', 'ScheduleMeetingInput', { matchId: 'no-such-match', startsAt: '2026-09-10T14:00:00Z', durationMinutes: 30 });
    await refusedWith('NOT_FOUND', 'markMeetingMissed', 'MeetingInput', { meetingId: 'no-such-meeting' });
    await refusedWith('RULE_VIOLATED', 'recordMeeting', 'RecordMeetingInput', { meetingId: first.meetingId }, mentor.token);
    // Input the schema's validation refuses never reaches the command.
    const tooShort = await t.gql(
      'mutation ($input: ScheduleMeetingInput!) { scheduleMeeting(input: $input) { eventCount } }',
      { input: { matchId, startsAt: '2026-09-10T14:00:00Z', durationMinutes: 3 } },
      { token: admin },
    );
    expect(tooShort.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    // Roles that change nothing cannot schedule.
    const auditor = await t.token('auditor', 'audrey.auditor');
    const byAuditor = await t.gql(
      'mutation ($input: ScheduleMeetingInput!) { scheduleMeeting(input: $input) { eventCount } }',
      { input: { matchId, startsAt: '2026-09-10T14:00:00Z', durationMinutes: 30 } },
      { token: auditor },
    );
    expect(byAuditor.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // Participants read their own match's meetings; others cannot.
    expect((await meetingsOf(matchId, mentee.token)).map((m) => [m.id, m.status])).toEqual([
      [first.meetingId, 'UPCOMING'],
      [second.meetingId, 'UPCOMING'],
      [third.meetingId, 'UPCOMING'],
    ]);
    const byOutsider = await query(`query ($matchId: ID!) { meetings(matchId: $matchId) { id } }`, { matchId }, outsider.token);
    expect(byOutsider.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await meetingsOf(matchId, auditor)).toHaveLength(3);

    // The first meeting took place; the mentor records it.
    t.clock.set('2026-09-08T15:30:00.000Z');
    const recorded = await ok('recordMeeting', 'RecordMeetingInput', { meetingId: first.meetingId, notes: 'Talked about college essays.' }, 'meeting { status state notes }', mentor.token);
    expect(recorded.meeting).toEqual({ status: 'COMPLETED', state: 'RECORDED', notes: 'Talked about college essays.' });
    await refusedWith('ILLEGAL_TRANSITION', 'rescheduleMeeting', 'RescheduleMeetingInput', { meetingId: first.meetingId, startsAt: '2026-09-30T14:00:00Z' }, mentor.token);

    // The mentee moves the second; an admin cancels the third with a reason.
    const moved = await ok(
      'rescheduleMeeting',
      'RescheduleMeetingInput',
      { meetingId: second.meetingId, startsAt: '2026-09-16T14:00:00Z', durationMinutes: 30 },
      'meeting { startsAt durationMinutes status }',
      mentee.token,
    );
    expect(moved.meeting).toEqual({ startsAt: '2026-09-16T14:00:00.000Z', durationMinutes: 30, status: 'UPCOMING' });
    await ok('cancelMeeting', 'CancelMeetingInput', { meetingId: third.meetingId, reason: 'Mentor travelling' }, '');
    await refusedWith('FORBIDDEN', 'cancelMeeting', 'CancelMeetingInput', { meetingId: second.meetingId }, outsider.token);

    // The second did not happen.
    t.clock.set('2026-09-17T12:00:00.000Z');
    await ok('markMeetingMissed', 'MeetingInput', { meetingId: second.meetingId }, '', mentor.token);
    expect((await meetingsOf(matchId)).map((m) => [m.status, m.state, m.cancellationReason])).toEqual([
      ['COMPLETED', 'RECORDED', null],
      ['MISSED', 'MISSED', null],
      ['CANCELLED', 'CANCELLED', 'Mentor travelling'],
    ]);

    // Six weeks after the only meeting that took place, the match needs a check-in.
    t.clock.set('2026-10-20T15:00:00.000Z');
    const report = await health(programId);
    expect(report.errors).toBeUndefined();
    expect(report.data!.matchHealth).toEqual({
      programId,
      asOf: '2026-10-20T15:00:00.000Z',
      thresholds: { checkInAfterWeeks: 4, missedInARow: 2 },
      activeMatches: 1,
      sessionsCompleted: 1,
      upcomingSessions: 0,
      missedSessions: 1,
      matchesNeedingCheckIn: [
        {
          matchId,
          mentorName: 'Maya Mentor',
          menteeName: 'Theo Mentee',
          lastMeetingAt: '2026-09-08T14:00:00.000Z',
          nextMeetingAt: null,
          missedInARow: 1,
          reasons: [{ kind: 'NO_RECENT_MEETING', message: 'no meeting for 6 weeks (last on 2026-09-08)' }],
        },
      ],
    });
    const strict = await health(programId, ', checkInAfterWeeks: 8, missedInARow: 1');
    expect(strict.data!.matchHealth.matchesNeedingCheckIn[0].reasons).toEqual([{ kind: 'MISSED_IN_A_ROW', message: '1 meeting missed in a row' }]);
    const relaxed = await health(programId, ', checkInAfterWeeks: 8');
    expect(relaxed.data!.matchHealth.matchesNeedingCheckIn).toEqual([]);
    expect((await health(programId, ', checkInAfterWeeks: 0')).errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect((await health(programId, '', mentor.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await health('no-such-program')).data!.matchHealth).toBeNull();

    // Once the match is closed it takes no more meetings and leaves the health view.
    await ok('closeMatch', 'CloseMatchInput', { matchId, closureReason: 'Other', mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' });
    expect((await refusedWith('RULE_VIOLATED', 'scheduleMeeting', 'ScheduleMeetingInput', { matchId, startsAt: '2026-10-27T14:00:00Z', durationMinutes: 30 }, mentor.token)).message).toBe(
      `Match ${matchId} is CLOSED; meetings can be scheduled only for an ACTIVE match.`,
    );
    const after = (await health(programId)).data!.matchHealth;
    expect(after).toMatchObject({ activeMatches: 0, sessionsCompleted: 1, matchesNeedingCheckIn: [] });
  });
});
