import { DateTime } from 'luxon';
import type { DomainEvent } from '../../eventstore/eventStore';
import { DomainError, assertNever, type Decider } from '../shared/decider';
import { hasPassed } from '../shared/calendar';
import { requireText } from '../shared/validation';
import { requireMatch, type MatchState } from '../match/match';

/**
 * The Meeting aggregate (stream `meeting-<meetingId>`): one session of a match. It is scheduled,
 * possibly moved or cancelled, and once its start has passed it is recorded as held (with notes)
 * or marked missed. Whether a meeting is "upcoming" or "completed" is not stored: it depends on
 * when you ask, so read models derive it from `startsAt` and the reader's clock.
 *
 * Scheduling and rescheduling read the match stream as well (the match must be live); the other
 * decisions need the meeting alone.
 */

export type MeetingLifecycleState = 'SCHEDULED' | 'CANCELLED' | 'RECORDED' | 'MISSED';
export const MEETING_STATES: readonly MeetingLifecycleState[] = ['SCHEDULED', 'CANCELLED', 'RECORDED', 'MISSED'];

/** A meeting's length, in minutes: at least a quick call, at most a working day. */
export const MIN_MEETING_MINUTES = 5;
export const MAX_MEETING_MINUTES = 480;
export const MAX_MEETING_TITLE = 200;
export const MAX_MEETING_NOTES = 5000;

export interface ExistingMeeting {
  readonly status: MeetingLifecycleState;
  readonly meetingId: string;
  readonly matchId: string;
  readonly programId: string;
  readonly mentorUserId: string;
  readonly menteeUserId: string;
  /** ISO-8601, UTC. */
  readonly startsAt: string;
  readonly durationMinutes: number;
  readonly title: string | null;
}

export type MeetingState = { readonly status: 'NONE' } | ExistingMeeting;

// ---------------------------------------------------------------------------------------------
// Events. Each carries the match and program, so read models need no joins.

interface MeetingIds {
  readonly meetingId: string;
  readonly matchId: string;
  readonly programId: string;
}

export type MeetingScheduled = DomainEvent<
  'MeetingScheduled',
  MeetingIds & {
    readonly mentorUserId: string;
    readonly menteeUserId: string;
    readonly startsAt: string;
    readonly durationMinutes: number;
    readonly title: string | null;
  }
>;
export type MeetingRescheduled = DomainEvent<
  'MeetingRescheduled',
  MeetingIds & {
    readonly previousStartsAt: string;
    readonly previousDurationMinutes: number;
    readonly startsAt: string;
    readonly durationMinutes: number;
  }
>;
export type MeetingCancelled = DomainEvent<'MeetingCancelled', MeetingIds & { readonly startsAt: string; readonly reason: string | null }>;
/** It took place. */
export type MeetingRecorded = DomainEvent<'MeetingRecorded', MeetingIds & { readonly startsAt: string; readonly notes: string | null }>;
export type MeetingMarkedMissed = DomainEvent<'MeetingMarkedMissed', MeetingIds & { readonly startsAt: string }>;

export type MeetingEvent = MeetingScheduled | MeetingRescheduled | MeetingCancelled | MeetingRecorded | MeetingMarkedMissed;

/** Every meeting event type; the meetings projection handles these. */
export const MEETING_EVENT_TYPES = [
  'MeetingScheduled',
  'MeetingRescheduled',
  'MeetingCancelled',
  'MeetingRecorded',
  'MeetingMarkedMissed',
] as const satisfies readonly MeetingEvent['type'][];

// Fails to compile when an event type is added to the union but not to the list above.
type Unlisted = Exclude<MeetingEvent['type'], (typeof MEETING_EVENT_TYPES)[number]>;
const _allMeetingEventsListed: [Unlisted] extends [never] ? true : Unlisted = true;
void _allMeetingEventsListed;

// ---------------------------------------------------------------------------------------------
// Commands. `now` is the command's clock reading (ISO-8601), filled in by the application.

/** Streams: `meeting` (new) and `match` (must be ACTIVE). */
export type ScheduleMeeting = {
  readonly type: 'ScheduleMeeting';
  readonly data: {
    readonly meetingId: string;
    readonly matchId: string;
    /** ISO-8601 with a time zone offset (or Z); stored in UTC. */
    readonly startsAt: string;
    readonly durationMinutes: number;
    readonly title?: string | null;
    readonly now: string;
  };
};
/** Streams: `meeting` and its `match` (must still be ACTIVE). Omitting the duration keeps it. */
export type RescheduleMeeting = {
  readonly type: 'RescheduleMeeting';
  readonly data: { readonly meetingId: string; readonly startsAt: string; readonly durationMinutes?: number | null; readonly now: string };
};
export type CancelMeeting = {
  readonly type: 'CancelMeeting';
  readonly data: { readonly meetingId: string; readonly reason?: string | null; readonly now: string };
};
/** The meeting took place; only once its start has passed. */
export type RecordMeeting = {
  readonly type: 'RecordMeeting';
  readonly data: { readonly meetingId: string; readonly notes?: string | null; readonly now: string };
};
/** The meeting did not take place; only once its start has passed. */
export type MarkMeetingMissed = { readonly type: 'MarkMeetingMissed'; readonly data: { readonly meetingId: string; readonly now: string } };

/** The commands decided on the meeting stream alone (`meetingDecider.decide`). */
export type MeetingCommand = CancelMeeting | RecordMeeting | MarkMeetingMissed;

/** What scheduling and rescheduling read. */
export interface MeetingStreams {
  readonly meeting: MeetingState;
  readonly match: MatchState;
}

// ---------------------------------------------------------------------------------------------
// Checks

export const requireMeeting = (state: MeetingState, meetingId: string): ExistingMeeting => {
  if (state.status === 'NONE') throw new DomainError('NOT_FOUND', `Meeting ${meetingId} does not exist.`, { meetingId });
  return state;
};

const EXPLICIT_ZONE = /(Z|[+-]\d{2}(:?\d{2})?)$/i;

/** An instant with an explicit offset, normalised to UTC (`2026-10-01T14:00:00.000Z`). */
const requireInstant = (field: string, value: string): string => {
  const parsed = DateTime.fromISO(value.trim(), { setZone: true });
  if (!parsed.isValid || !EXPLICIT_ZONE.test(value.trim()) || !value.includes('T')) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `${field} "${value}" is not a date and time with a time zone; write it like 2026-10-01T10:00:00-04:00 or 2026-10-01T14:00:00Z.`,
      { field, value },
    );
  }
  return parsed.toUTC().toISO()!;
};

const requireDuration = (value: number): number => {
  if (!Number.isInteger(value) || value < MIN_MEETING_MINUTES || value > MAX_MEETING_MINUTES) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `A meeting lasts a whole number of minutes from ${MIN_MEETING_MINUTES} to ${MAX_MEETING_MINUTES} (got ${value}).`,
      { field: 'durationMinutes', value },
    );
  }
  return value;
};

/** Optional free text: trimmed, empty means none, and at most `max` characters. */
const optionalText = (field: string, label: string, value: string | null | undefined, max: number): string | null => {
  const trimmed = value?.trim() ?? '';
  if (trimmed.length > max) {
    throw new DomainError('VALIDATION_FAILED', `${label} can be at most ${max} characters (got ${trimmed.length}); shorten it.`, { field });
  }
  return trimmed.length === 0 ? null : trimmed;
};

/** The start must be ahead of `now`, and (when the match has an end) before the match's end. */
const requireFutureStart = (startsAt: string, now: string, match: { matchId: string; endsAt: string | null }, doing: string): void => {
  if (hasPassed(startsAt, now)) {
    throw new DomainError('RULE_VIOLATED', `A meeting cannot be ${doing} in the past (${startsAt} is not after now, ${now}); choose a later time.`, {
      field: 'startsAt',
      startsAt,
      now,
    });
  }
  if (match.endsAt !== null && hasPassed(match.endsAt, startsAt)) {
    throw new DomainError(
      'RULE_VIOLATED',
      `Match ${match.matchId} runs until ${match.endsAt}; choose a time before then (${startsAt} is not).`,
      { field: 'startsAt', startsAt, matchEndsAt: match.endsAt },
    );
  }
};

/** Meetings are arranged only for a live match. */
const requireLiveMatch = (state: MatchState, matchId: string, doing: string) => {
  const match = requireMatch(state, matchId);
  if (match.status !== 'ACTIVE') {
    throw new DomainError(
      'RULE_VIOLATED',
      `Match ${match.matchId} is ${match.status}; meetings can be ${doing} only for an ACTIVE match.`,
      { matchId: match.matchId, status: match.status },
    );
  }
  return match;
};

const VERB: Readonly<Record<MeetingLifecycleState, string>> = {
  SCHEDULED: 'scheduled',
  CANCELLED: 'cancelled',
  RECORDED: 'recorded as held',
  MISSED: 'marked missed',
};

const requireScheduled = (meeting: ExistingMeeting, doing: string, allowed: readonly MeetingLifecycleState[] = ['SCHEDULED']): void => {
  if (!allowed.includes(meeting.status)) {
    throw new DomainError(
      'ILLEGAL_TRANSITION',
      `Meeting ${meeting.meetingId} was already ${VERB[meeting.status]}; only a ${allowed.join(' or ')} meeting can be ${doing}.`,
      { meetingId: meeting.meetingId, status: meeting.status },
    );
  }
};

const requireStarted = (meeting: ExistingMeeting, now: string, doing: string, instead: string): void => {
  if (!hasPassed(meeting.startsAt, now)) {
    throw new DomainError(
      'RULE_VIOLATED',
      `Meeting ${meeting.meetingId} starts at ${meeting.startsAt}; it can be ${doing} only once it has started (${instead}).`,
      { meetingId: meeting.meetingId, startsAt: meeting.startsAt },
    );
  }
};

const idsOf = (meeting: ExistingMeeting): MeetingIds => ({ meetingId: meeting.meetingId, matchId: meeting.matchId, programId: meeting.programId });

// ---------------------------------------------------------------------------------------------
// Decisions over the meeting and its match

/** A new meeting for an ACTIVE match, starting in the future and before the match's end. */
export const decideScheduleMeeting = (command: ScheduleMeeting, states: MeetingStreams): readonly MeetingEvent[] => {
  const { data } = command;
  const meetingId = requireText('Meeting id', data.meetingId);
  if (states.meeting.status !== 'NONE') {
    throw new DomainError('ALREADY_EXISTS', `Meeting ${meetingId} already exists; use a new meeting id.`, { meetingId });
  }
  const match = requireLiveMatch(states.match, data.matchId, 'scheduled');
  const startsAt = requireInstant('startsAt', data.startsAt);
  const durationMinutes = requireDuration(data.durationMinutes);
  requireFutureStart(startsAt, data.now, match, 'scheduled');
  return [
    {
      type: 'MeetingScheduled',
      data: {
        meetingId,
        matchId: match.matchId,
        programId: match.programId,
        mentorUserId: match.mentor.userId,
        menteeUserId: match.mentee.userId,
        startsAt,
        durationMinutes,
        title: optionalText('title', 'A meeting title', data.title, MAX_MEETING_TITLE),
      },
    },
  ];
};

/**
 * A SCHEDULED meeting moves to a new time in the future (also one whose start has passed without
 * being recorded: it did not happen and is being moved). The match must still be ACTIVE.
 */
export const decideRescheduleMeeting = (command: RescheduleMeeting, states: MeetingStreams): readonly MeetingEvent[] => {
  const { data } = command;
  const meeting = requireMeeting(states.meeting, data.meetingId);
  requireScheduled(meeting, 'rescheduled');
  const match = requireLiveMatch(states.match, meeting.matchId, 'rescheduled');
  if (match.matchId !== meeting.matchId) {
    throw new Error(`Loaded match ${match.matchId} for meeting ${meeting.meetingId} of match ${meeting.matchId}.`);
  }
  const startsAt = requireInstant('startsAt', data.startsAt);
  const durationMinutes = data.durationMinutes === undefined || data.durationMinutes === null ? meeting.durationMinutes : requireDuration(data.durationMinutes);
  if (startsAt === meeting.startsAt && durationMinutes === meeting.durationMinutes) {
    throw new DomainError(
      'RULE_VIOLATED',
      `Meeting ${meeting.meetingId} is already at ${startsAt} for ${durationMinutes} minutes; give a different time or duration.`,
      { meetingId: meeting.meetingId, startsAt, durationMinutes },
    );
  }
  requireFutureStart(startsAt, data.now, match, 'rescheduled');
  return [
    {
      type: 'MeetingRescheduled',
      data: {
        ...idsOf(meeting),
        previousStartsAt: meeting.startsAt,
        previousDurationMinutes: meeting.durationMinutes,
        startsAt,
        durationMinutes,
      },
    },
  ];
};

// ---------------------------------------------------------------------------------------------
// The meeting stream alone

const evolve = (state: MeetingState, event: MeetingEvent): MeetingState => {
  if (event.type === 'MeetingScheduled') {
    const { meetingId, matchId, programId, mentorUserId, menteeUserId, startsAt, durationMinutes, title } = event.data;
    return { status: 'SCHEDULED', meetingId, matchId, programId, mentorUserId, menteeUserId, startsAt, durationMinutes, title };
  }
  if (state.status === 'NONE') return state;
  switch (event.type) {
    case 'MeetingRescheduled':
      return { ...state, startsAt: event.data.startsAt, durationMinutes: event.data.durationMinutes };
    case 'MeetingCancelled':
      return { ...state, status: 'CANCELLED' };
    case 'MeetingRecorded':
      return { ...state, status: 'RECORDED' };
    case 'MeetingMarkedMissed':
      return { ...state, status: 'MISSED' };
    default:
      return assertNever(event);
  }
};

const decide = (command: MeetingCommand, state: MeetingState): readonly MeetingEvent[] => {
  const meeting = requireMeeting(state, command.data.meetingId);
  switch (command.type) {
    case 'CancelMeeting': {
      requireScheduled(meeting, 'cancelled');
      if (hasPassed(meeting.startsAt, command.data.now)) {
        throw new DomainError(
          'RULE_VIOLATED',
          `Meeting ${meeting.meetingId} started at ${meeting.startsAt}; a meeting that has started cannot be cancelled: record it, or mark it missed.`,
          { meetingId: meeting.meetingId, startsAt: meeting.startsAt },
        );
      }
      return [
        {
          type: 'MeetingCancelled',
          data: { ...idsOf(meeting), startsAt: meeting.startsAt, reason: optionalText('reason', 'A reason', command.data.reason, 1000) },
        },
      ];
    }
    case 'RecordMeeting':
      // A meeting marked missed by mistake can still be recorded as held.
      requireScheduled(meeting, 'recorded', ['SCHEDULED', 'MISSED']);
      requireStarted(meeting, command.data.now, 'recorded as held', 'reschedule it if the time changed');
      return [
        {
          type: 'MeetingRecorded',
          data: { ...idsOf(meeting), startsAt: meeting.startsAt, notes: optionalText('notes', 'Meeting notes', command.data.notes, MAX_MEETING_NOTES) },
        },
      ];
    case 'MarkMeetingMissed':
      requireScheduled(meeting, 'marked missed');
      requireStarted(meeting, command.data.now, 'marked missed', 'cancel it instead if it will not happen');
      return [{ type: 'MeetingMarkedMissed', data: { ...idsOf(meeting), startsAt: meeting.startsAt } }];
    default:
      return assertNever(command);
  }
};

/** Folds the meeting stream and decides cancel, record and missed; scheduling reads the match too (above). */
export const meetingDecider: Decider<MeetingCommand, MeetingState, MeetingEvent> = {
  initialState: () => ({ status: 'NONE' }),
  evolve,
  decide,
};
