import { IsInt, IsOptional, Length, Max, Min } from '../validators';
import { Field, ID, InputType, Int } from 'type-graphql';
import { MAX_MEETING_MINUTES, MAX_MEETING_NOTES, MAX_MEETING_TITLE, MIN_MEETING_MINUTES } from '../../domain/meeting/meeting';
import { CommandInput } from '../lifecycle/inputs';

const START_DESCRIPTION = 'When it starts: ISO-8601 with a time zone offset, like 2026-10-01T10:00:00-04:00 or 2026-10-01T14:00:00Z. Must be in the future.';

@InputType('ScheduleMeetingInput', { description: 'A session for a live (ACTIVE) match; its mentor, its mentee or an admin schedules it.' })
export class ScheduleMeetingInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  matchId!: string;

  @Field({ description: START_DESCRIPTION })
  @Length(10, 40)
  startsAt!: string;

  @Field(() => Int, { description: `Length in minutes, ${MIN_MEETING_MINUTES} to ${MAX_MEETING_MINUTES}.` })
  @IsInt()
  @Min(MIN_MEETING_MINUTES)
  @Max(MAX_MEETING_MINUTES)
  durationMinutes!: number;

  @Field(() => String, { nullable: true, description: 'What the meeting is about, shown to both participants.' })
  @IsOptional()
  @Length(1, MAX_MEETING_TITLE)
  title?: string;
}

@InputType('MeetingInput', { description: 'Names a meeting.' })
export class MeetingInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  meetingId!: string;
}

@InputType('RescheduleMeetingInput', { description: 'Moves a scheduled meeting; its match must still be ACTIVE.' })
export class RescheduleMeetingInput extends MeetingInput {
  @Field({ description: START_DESCRIPTION })
  @Length(10, 40)
  startsAt!: string;

  @Field(() => Int, { nullable: true, description: 'A new length in minutes; omit to keep the current one.' })
  @IsOptional()
  @IsInt()
  @Min(MIN_MEETING_MINUTES)
  @Max(MAX_MEETING_MINUTES)
  durationMinutes?: number;
}

@InputType('CancelMeetingInput', {
  description: 'Cancels a scheduled meeting before it starts (one that has started is recorded or marked missed instead). `reason` is kept with the meeting.',
})
export class CancelMeetingInput extends MeetingInput {}

@InputType('RecordMeetingInput', { description: 'The meeting took place (only once its start has passed); notes are optional.' })
export class RecordMeetingInput extends MeetingInput {
  @Field(() => String, { nullable: true, description: 'What was discussed; readable by the match\'s participants and program staff.' })
  @IsOptional()
  @Length(1, MAX_MEETING_NOTES)
  notes?: string;
}
