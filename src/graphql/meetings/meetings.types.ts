import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { MEETING_STATES, type MeetingLifecycleState } from '../../domain/meeting/meeting';
import { CHECK_IN_REASON_KINDS, MEETING_STATUSES, type CheckInReasonKind, type MeetingStatus } from '../../../projections/meetings/meetings.queries';
import { CommandPayload } from '../lifecycle/payloads';

const asEnum = <T extends string>(values: readonly T[]): { [K in T]: K } =>
  Object.fromEntries(values.map((value) => [value, value])) as { [K in T]: K };

export const MEETING_STATUS_ENUM = asEnum(MEETING_STATUSES);
export const MEETING_STATE_ENUM = asEnum(MEETING_STATES);
export const CHECK_IN_REASON_ENUM = asEnum(CHECK_IN_REASON_KINDS);

registerEnumType(MEETING_STATUS_ENUM, {
  name: 'MeetingStatus',
  description: 'Where a meeting stands at the time of the request.',
  valuesConfig: {
    UPCOMING: { description: 'Scheduled, and its start is still ahead.' },
    COMPLETED: { description: 'Its start has passed and it was not marked missed or cancelled (recorded or not).' },
    MISSED: { description: 'Marked as not having taken place.' },
    CANCELLED: { description: 'Cancelled before it started.' },
  },
});
registerEnumType(MEETING_STATE_ENUM, {
  name: 'MeetingState',
  description: 'What was recorded about a meeting, whatever the time now.',
  valuesConfig: {
    SCHEDULED: { description: 'Scheduled; nobody has recorded how it went.' },
    CANCELLED: { description: 'Cancelled before it started.' },
    RECORDED: { description: 'Recorded as held, possibly with notes.' },
    MISSED: { description: 'Marked missed.' },
  },
});
registerEnumType(CHECK_IN_REASON_ENUM, {
  name: 'CheckInReasonKind',
  description: 'Why a live match needs a check-in.',
  valuesConfig: {
    NO_RECENT_MEETING: { description: 'The last meeting that took place is older than the check-in threshold.' },
    NEVER_MET: { description: 'No meeting has taken place since the match went live, longer ago than the threshold.' },
    MISSED_IN_A_ROW: { description: 'The latest meetings, at least the threshold\'s number of them, were all missed.' },
  },
});

@ObjectType('Meeting', { description: 'One session of a match.' })
export class MeetingType {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  matchId!: string;

  @Field(() => ID)
  programId!: string;

  @Field(() => ID)
  mentorUserId!: string;

  @Field(() => ID)
  menteeUserId!: string;

  @Field({ description: 'ISO-8601, UTC.' })
  startsAt!: string;

  @Field({ description: 'startsAt plus the duration, ISO-8601, UTC.' })
  endsAt!: string;

  @Field(() => Int)
  durationMinutes!: number;

  @Field(() => String, { nullable: true })
  title!: string | null;

  @Field(() => MEETING_STATUS_ENUM, { description: 'As of the time of the request: upcoming until its start has passed, then completed unless missed or cancelled.' })
  status!: MeetingStatus;

  @Field(() => MEETING_STATE_ENUM, { description: 'What was recorded, whatever the time.' })
  state!: MeetingLifecycleState;

  @Field(() => String, { nullable: true })
  cancelledAt!: string | null;

  @Field(() => String, { nullable: true })
  cancellationReason!: string | null;

  @Field(() => String, { nullable: true, description: 'When it was recorded as held.' })
  recordedAt!: string | null;

  @Field(() => String, { nullable: true })
  notes!: string | null;

  @Field(() => String, { nullable: true, description: 'When it was marked missed.' })
  missedAt!: string | null;

  @Field({ description: 'When it was scheduled.' })
  createdAt!: string;

  @Field()
  updatedAt!: string;
}

@ObjectType('MeetingPayload', { implements: CommandPayload })
export class MeetingPayload extends CommandPayload {
  @Field(() => ID, { nullable: true, description: 'The meeting the command was about (null when a new meeting was refused).' })
  meetingId!: string | null;
}

@ObjectType('CheckInReason')
export class CheckInReasonType {
  @Field(() => CHECK_IN_REASON_ENUM)
  kind!: CheckInReasonKind;

  @Field({ description: 'For people: "no meeting for 5 weeks (last on 2026-10-01)", "3 meetings missed in a row".' })
  message!: string;
}

@ObjectType('MatchNeedingCheckIn', { description: 'A live match program staff should check in with, and why.' })
export class MatchNeedingCheckInType {
  @Field(() => ID)
  matchId!: string;

  @Field(() => ID)
  mentorUserId!: string;

  @Field(() => String, { nullable: true })
  mentorName!: string | null;

  @Field(() => ID)
  menteeUserId!: string;

  @Field(() => String, { nullable: true })
  menteeName!: string | null;

  @Field({ description: 'When the match went live.' })
  liveSince!: string;

  @Field(() => String, { nullable: true, description: 'Start of the last meeting that took place; null if none.' })
  lastMeetingAt!: string | null;

  @Field(() => String, { nullable: true, description: 'Start of the next upcoming meeting, if one is scheduled.' })
  nextMeetingAt!: string | null;

  @Field(() => Int, { description: 'Meetings missed since the last one that took place.' })
  missedInARow!: number;

  @Field(() => [CheckInReasonType], { description: 'At least one.' })
  reasons!: CheckInReasonType[];
}

@ObjectType('HealthThresholds', { description: 'The thresholds a health view was computed with.' })
export class HealthThresholdsType {
  @Field(() => Int)
  checkInAfterWeeks!: number;

  @Field(() => Int)
  missedInARow!: number;
}

@ObjectType('MatchHealth', { description: '"Monitor Health": how a program\'s live matches are doing, as of the time of the request.' })
export class MatchHealthType {
  @Field(() => ID)
  programId!: string;

  @Field({ description: 'The time the view was computed for.' })
  asOf!: string;

  @Field(() => HealthThresholdsType)
  thresholds!: HealthThresholdsType;

  @Field(() => Int, { description: 'Matches now ACTIVE.' })
  activeMatches!: number;

  @Field(() => Int, { description: 'The program\'s meetings that are COMPLETED (their start passed, not missed or cancelled).' })
  sessionsCompleted!: number;

  @Field(() => Int)
  upcomingSessions!: number;

  @Field(() => Int)
  missedSessions!: number;

  @Field(() => [MatchNeedingCheckInType], { description: 'ACTIVE matches needing a check-in, the longest without a meeting first.' })
  matchesNeedingCheckIn!: MatchNeedingCheckInType[];
}
