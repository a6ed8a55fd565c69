import { CrossStreamSpecification, DeciderSpecification } from '../shared/deciderSpecification';
import { fold } from '../shared/decider';
import { MENTEE_ID, MENTOR_ID, PROGRAM_ID, matchActivated, matchCompleted, matchCreated, matchPair, personaIdsOf } from '../shared/testEvents';
import { matchDecider, type MatchEvent } from '../match/match';
import {
  decideRescheduleMeeting,
  decideScheduleMeeting,
  meetingDecider,
  type MeetingEvent,
  type RescheduleMeeting,
  type ScheduleMeeting,
} from './meeting';

const streams = { meeting: meetingDecider, match: matchDecider };
const scheduling = CrossStreamSpecification.for(streams, (command: ScheduleMeeting, states) => ({ meeting: decideScheduleMeeting(command, states) }));
const rescheduling = CrossStreamSpecification.for(streams, (command: RescheduleMeeting, states) => ({
  meeting: decideRescheduleMeeting(command, states),
}));
const deciding = DeciderSpecification.for(meetingDecider);

const M = 'match-1';
const MEETING = 'meet-1';
/** Monday 5 October 2026, 10:00 in New York. */
const NOW = '2026-10-05T14:00:00.000Z';
const TOMORROW = '2026-10-06T14:00:00.000Z';
const NEXT_WEEK = '2026-10-12T14:00:00.000Z';
const YESTERDAY = '2026-10-04T14:00:00.000Z';
const MATCH_ENDS = '2027-04-05T14:00:00.000Z';

const pair = matchPair(M);
const live: MatchEvent[] = [matchCreated(pair), matchActivated(pair, MATCH_ENDS)];
const ids = { meetingId: MEETING, matchId: M, programId: PROGRAM_ID };

const schedule = (overrides: Partial<ScheduleMeeting['data']> = {}): ScheduleMeeting => ({
  type: 'ScheduleMeeting',
  data: { meetingId: MEETING, matchId: M, startsAt: TOMORROW, durationMinutes: 60, title: 'First chat', now: NOW, ...overrides },
});
const reschedule = (overrides: Partial<RescheduleMeeting['data']> = {}): RescheduleMeeting => ({
  type: 'RescheduleMeeting',
  data: { meetingId: MEETING, startsAt: NEXT_WEEK, now: NOW, ...overrides },
});
const scheduled = (startsAt = TOMORROW, durationMinutes = 60): MeetingEvent => ({
  type: 'MeetingScheduled',
  data: { ...ids, mentorUserId: MENTOR_ID, menteeUserId: MENTEE_ID, startsAt, durationMinutes, title: 'First chat' },
});
const cancelled: MeetingEvent = { type: 'MeetingCancelled', data: { ...ids, startsAt: TOMORROW, reason: null } };
const recorded: MeetingEvent = { type: 'MeetingRecorded', data: { ...ids, startsAt: YESTERDAY, notes: null } };
const missed: MeetingEvent = { type: 'MeetingMarkedMissed', data: { ...ids, startsAt: YESTERDAY } };

describe('scheduling a meeting', () => {
  it('records the match, program and both users on the meeting', () =>
    scheduling({ match: live }).when(schedule()).then({ meeting: [scheduled()] }));

  it('normalises the start to UTC and trims the title (an empty one is none)', () =>
    scheduling({ match: live })
      .when(schedule({ startsAt: '2026-10-06T10:00:00-04:00', title: '   ' }))
      .then({ meeting: [{ ...scheduled(), data: { ...scheduled().data, title: null } } as MeetingEvent] }));

  it('needs a start with a time zone', () =>
    scheduling({ match: live }).when(schedule({ startsAt: '2026-10-06T10:00:00' })).thenThrows('VALIDATION_FAILED', 'with a time zone'));

  it('refuses garbage as a start', () => scheduling({ match: live }).when(schedule({ startsAt: 'next tuesday' })).thenThrows('VALIDATION_FAILED'));

  it('refuses a start in the past', () =>
    scheduling({ match: live }).when(schedule({ startsAt: YESTERDAY })).thenThrows('RULE_VIOLATED', 'cannot be scheduled in the past'));

  it('refuses a start exactly now', () => scheduling({ match: live }).when(schedule({ startsAt: NOW })).thenThrows('RULE_VIOLATED'));

  it('refuses a start after the match ends', () =>
    scheduling({ match: live }).when(schedule({ startsAt: '2027-05-01T14:00:00.000Z' })).thenThrows('RULE_VIOLATED', `runs until ${MATCH_ENDS}`));

  it.each([0, 4, 481, 60.5, Number.NaN])('refuses a duration of %p minutes', (durationMinutes) =>
    scheduling({ match: live })
      .when(schedule({ durationMinutes }))
      .thenThrows('VALIDATION_FAILED', 'from 5 to 480', (error) => expect(error.details.field).toBe('durationMinutes')));

  it.each([5, 480])('accepts %p minutes', (durationMinutes) =>
    scheduling({ match: live }).when(schedule({ durationMinutes })).then({ meeting: [scheduled(TOMORROW, durationMinutes)] }));

  it('refuses a title over 200 characters', () =>
    scheduling({ match: live }).when(schedule({ title: 'x'.repeat(201) })).thenThrows('VALIDATION_FAILED', 'at most 200'));

  it('refuses an unknown match', () => scheduling({}).when(schedule()).thenThrows('NOT_FOUND', `Match ${M} does not exist.`));

  it('refuses a staged match', () =>
    scheduling({ match: [matchCreated(pair)] }).when(schedule()).thenThrows('RULE_VIOLATED', `Match ${M} is STAGED; meetings can be scheduled only for an ACTIVE match.`));

  it('refuses a match that ran its duration', () =>
    scheduling({ match: [...live, matchCompleted(pair, MATCH_ENDS)] }).when(schedule()).thenThrows('RULE_VIOLATED', 'is COMPLETED'));

  it('refuses a closed match', () =>
    scheduling({
      match: [
        ...live,
        { type: 'MatchClosed', data: { ...personaIdsOf(pair), closureReason: 'Other', mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' } },
      ],
    })
      .when(schedule())
      .thenThrows('RULE_VIOLATED', 'is CLOSED'));

  it('refuses an id already used', () => scheduling({ match: live, meeting: [scheduled()] }).when(schedule()).thenThrows('ALREADY_EXISTS'));
});

describe('rescheduling a meeting', () => {
  const moved = (startsAt: string, durationMinutes: number, from = TOMORROW, fromDuration = 60): MeetingEvent => ({
    type: 'MeetingRescheduled',
    data: { ...ids, previousStartsAt: from, previousDurationMinutes: fromDuration, startsAt, durationMinutes },
  });

  it('moves the start and keeps the duration', () =>
    rescheduling({ match: live, meeting: [scheduled()] }).when(reschedule()).then({ meeting: [moved(NEXT_WEEK, 60)] }));

  it('can change only the duration', () =>
    rescheduling({ match: live, meeting: [scheduled()] })
      .when(reschedule({ startsAt: TOMORROW, durationMinutes: 30 }))
      .then({ meeting: [moved(TOMORROW, 30)] }));

  it('moves a meeting whose time passed without being recorded', () =>
    rescheduling({ match: live, meeting: [scheduled(YESTERDAY)] }).when(reschedule()).then({ meeting: [moved(NEXT_WEEK, 60, YESTERDAY)] }));

  it('refuses a change that changes nothing', () =>
    rescheduling({ match: live, meeting: [scheduled()] }).when(reschedule({ startsAt: TOMORROW })).thenThrows('RULE_VIOLATED', 'already at'));

  it('refuses the past', () =>
    rescheduling({ match: live, meeting: [scheduled()] }).when(reschedule({ startsAt: YESTERDAY })).thenThrows('RULE_VIOLATED', 'in the past'));

  it('refuses a bad duration', () =>
    rescheduling({ match: live, meeting: [scheduled()] }).when(reschedule({ durationMinutes: 600 })).thenThrows('VALIDATION_FAILED'));

  it.each([
    ['cancelled', [scheduled(), cancelled], 'already cancelled'],
    ['recorded', [scheduled(YESTERDAY), recorded], 'already recorded as held'],
    ['missed', [scheduled(YESTERDAY), missed], 'already marked missed'],
  ])('refuses a %s meeting', (_label, meeting, message) =>
    rescheduling({ match: live, meeting: meeting as MeetingEvent[] }).when(reschedule()).thenThrows('ILLEGAL_TRANSITION', message as string));

  it('refuses when the match is no longer live', () =>
    rescheduling({ match: [...live, matchCompleted(pair, MATCH_ENDS)], meeting: [scheduled()] })
      .when(reschedule())
      .thenThrows('RULE_VIOLATED', 'rescheduled only for an ACTIVE match'));

  it('refuses an unknown meeting', () => rescheduling({ match: live }).when(reschedule()).thenThrows('NOT_FOUND', `Meeting ${MEETING} does not exist.`));
});

describe('cancelling, recording and missing a meeting', () => {
  it('cancels an upcoming meeting with the reason', () =>
    deciding([scheduled()])
      .when({ type: 'CancelMeeting', data: { meetingId: MEETING, reason: ' Exam week ', now: NOW } })
      .then([{ type: 'MeetingCancelled', data: { ...ids, startsAt: TOMORROW, reason: 'Exam week' } }]));

  it('does not cancel a meeting that has started', () =>
    deciding([scheduled(YESTERDAY)])
      .when({ type: 'CancelMeeting', data: { meetingId: MEETING, now: NOW } })
      .thenThrows('RULE_VIOLATED', 'record it, or mark it missed'));

  it('does not cancel twice', () =>
    deciding([scheduled(), cancelled]).when({ type: 'CancelMeeting', data: { meetingId: MEETING, now: NOW } }).thenThrows('ILLEGAL_TRANSITION'));

  it('records a meeting whose start has passed, with notes', () =>
    deciding([scheduled(YESTERDAY)])
      .when({ type: 'RecordMeeting', data: { meetingId: MEETING, notes: 'Talked about college essays.', now: NOW } })
      .then([{ type: 'MeetingRecorded', data: { ...ids, startsAt: YESTERDAY, notes: 'Talked about college essays.' } }]));

  it('does not record a meeting before its start', () =>
    deciding([scheduled()])
      .when({ type: 'RecordMeeting', data: { meetingId: MEETING, now: NOW } })
      .thenThrows('RULE_VIOLATED', `starts at ${TOMORROW}; it can be recorded as held only once it has started`));

  it('records a meeting marked missed by mistake', () =>
    deciding([scheduled(YESTERDAY), missed])
      .when({ type: 'RecordMeeting', data: { meetingId: MEETING, now: NOW } })
      .then([{ type: 'MeetingRecorded', data: { ...ids, startsAt: YESTERDAY, notes: null } }]));

  it('does not record twice, nor a cancelled meeting', () => {
    deciding([scheduled(YESTERDAY), recorded]).when({ type: 'RecordMeeting', data: { meetingId: MEETING, now: NOW } }).thenThrows('ILLEGAL_TRANSITION');
    deciding([scheduled(), cancelled]).when({ type: 'RecordMeeting', data: { meetingId: MEETING, now: NEXT_WEEK } }).thenThrows('ILLEGAL_TRANSITION');
  });

  it('refuses notes over 5000 characters', () =>
    deciding([scheduled(YESTERDAY)])
      .when({ type: 'RecordMeeting', data: { meetingId: MEETING, notes: 'n'.repeat(5001), now: NOW } })
      .thenThrows('VALIDATION_FAILED', 'at most 5000'));

  it('marks a meeting missed once its start has passed', () =>
    deciding([scheduled(YESTERDAY)])
      .when({ type: 'MarkMeetingMissed', data: { meetingId: MEETING, now: NOW } })
      .then([{ type: 'MeetingMarkedMissed', data: { ...ids, startsAt: YESTERDAY } }]));

  it('does not mark missed before the start', () =>
    deciding([scheduled()]).when({ type: 'MarkMeetingMissed', data: { meetingId: MEETING, now: NOW } }).thenThrows('RULE_VIOLATED', 'cancel it instead'));

  it('does not mark a recorded meeting missed', () =>
    deciding([scheduled(YESTERDAY), recorded]).when({ type: 'MarkMeetingMissed', data: { meetingId: MEETING, now: NOW } }).thenThrows('ILLEGAL_TRANSITION'));

  it('refuses an unknown meeting', () =>
    deciding([]).when({ type: 'MarkMeetingMissed', data: { meetingId: MEETING, now: NOW } }).thenThrows('NOT_FOUND'));
});

describe('folding a meeting', () => {
  it('follows its moves and ignores events before it was scheduled', () => {
    const state = fold(meetingDecider, [
      missed,
      scheduled(),
      { type: 'MeetingRescheduled', data: { ...ids, previousStartsAt: TOMORROW, previousDurationMinutes: 60, startsAt: NEXT_WEEK, durationMinutes: 45 } },
    ]);
    expect(state).toEqual({
      status: 'SCHEDULED',
      ...ids,
      mentorUserId: MENTOR_ID,
      menteeUserId: MENTEE_ID,
      startsAt: NEXT_WEEK,
      durationMinutes: 45,
      title: 'First chat',
    });
    expect(fold(meetingDecider, [scheduled(YESTERDAY), missed, recorded]).status).toBe('RECORDED');
  });
});
