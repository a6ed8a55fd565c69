import { ArrayMaxSize, ArrayMinSize, IsBoolean, IsIn, IsInt, IsOptional, Length, Max, Min } from '../validators';
import { Field, ID, InputType, Int } from 'type-graphql';
import { MAX_MENTOR_CAPACITY, NOTIFICATION_KINDS, type NotificationKind } from '../../domain';
import { CommandInput } from '../lifecycle/inputs';
import { NOTIFICATION_KIND_ENUM, REQUEST_DECISION_ENUM } from './matching.enums';

/** The most matches or mentees one bulk command takes; larger programs page through. */
export const MAX_BULK = 500;

@InputType('StagedMatchesInput', {
  description: 'Staged matches of one program to approve or discard: the listed ones, or every staged match of the program when matchIds is omitted.',
})
export class StagedMatchesInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  programId!: string;

  @Field(() => [ID], { nullable: true, description: 'Omit for "Approve All" / "Discard All".' })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BULK)
  @Length(1, 100, { each: true })
  matchIds?: string[];

  @Field({
    defaultValue: false,
    description: 'Approving sends e-mails: without confirm: true the command is refused with CONFIRMATION_REQUIRED and says how many would be sent.',
  })
  @IsBoolean()
  confirm!: boolean;
}

@InputType('InviteMenteesInput', {
  description: '"Submit Your Mentor Preferences": invite the listed mentee personas, or every unmatched mentee not yet invited when personaIds is omitted.',
})
export class InviteMenteesInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  programId!: string;

  @Field(() => [ID], { nullable: true, description: 'Omit for "Invite all Mentees" (those not yet invited).' })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BULK)
  @Length(1, 200, { each: true })
  personaIds?: string[];

  @Field({
    defaultValue: false,
    description: 'Without confirm: true the command is refused with CONFIRMATION_REQUIRED and says how many invitations would be sent.',
  })
  @IsBoolean()
  confirm!: boolean;
}

@InputType('RequestMatchInput', {
  description: 'A mentee asks for a mentor (or a mentor for a mentee) in a user-led program. The caller must be one of the two.',
})
export class RequestMatchInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 200)
  mentorPersonaId!: string;

  @Field(() => ID)
  @Length(1, 200)
  menteePersonaId!: string;

  @Field(() => String, { nullable: true, description: 'Shown to the people asked to approve.' })
  @IsOptional()
  @Length(1, 2000)
  message?: string;
}

@InputType('RespondToMatchRequestInput', {
  description: 'Approve or decline a match request as the party the caller is (the mentor, the mentee, or an admin).',
})
export class RespondToMatchRequestInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  matchId!: string;

  @Field(() => REQUEST_DECISION_ENUM)
  @IsIn(['APPROVE', 'DECLINE'])
  decision!: 'APPROVE' | 'DECLINE';

  @Field(() => String, { nullable: true, description: 'With a decline: sent back to the requester.' })
  @IsOptional()
  @Length(1, 2000)
  message?: string;
}

@InputType('SetMentorCapacityInput')
export class SetMentorCapacityInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  userId!: string;

  @Field(() => ID)
  @Length(1, 100)
  programId!: string;

  @Field(() => Int, { description: `Live matches at once, 1 to ${MAX_MENTOR_CAPACITY}.` })
  @IsInt()
  @Min(1)
  @Max(MAX_MENTOR_CAPACITY)
  capacity!: number;
}

@InputType('SetNotificationTemplateInput', {
  description: 'The program\'s own e-mail of one kind. Placeholders such as {{recipientName}}; unknown ones are refused with the list of allowed ones.',
})
export class SetNotificationTemplateInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  programId!: string;

  @Field(() => NOTIFICATION_KIND_ENUM)
  @IsIn(NOTIFICATION_KINDS as NotificationKind[])
  kind!: NotificationKind;

  @Field(() => String, { nullable: true, description: 'Omit subject and body to go back to the default template.' })
  @IsOptional()
  @Length(1, 300)
  subject?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 20000)
  body?: string;
}
