import { ArrayMaxSize, ArrayMinSize, IsBoolean, IsOptional, Length, Matches, ValidateNested } from '../validators';
import { Field, ID, InputType } from 'type-graphql';
import { MAX_ENGAGEMENT_PERIODS } from '../../domain/initiative';
import { CommandInput } from '../lifecycle/inputs';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

@InputType('CreateInitiativeInput')
export class CreateInitiativeInput extends CommandInput {
  @Field()
  @Length(1, 200)
  name!: string;

  @Field()
  @Length(1, 200)
  company!: string;

  @Field({ description: 'IANA name, e.g. "Europe/Paris".' })
  @Length(1, 100)
  timeZone!: string;

  @Field({ defaultValue: false, description: 'Whether the volunteer\'s manager must approve the engagement dates.' })
  @IsBoolean()
  managerValidationRequired!: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'The coordinators\' mailbox: volunteers\' messages (sendRegistrationMessage) are e-mailed there. Without it they are kept, not e-mailed.',
  })
  @IsOptional()
  @Length(3, 320)
  coordinatorEmail?: string | null;
}

@InputType('RegisterForInitiativeInput', { description: 'The caller (a mentor token naming their user id) volunteers for the initiative.' })
export class RegisterForInitiativeInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  initiativeId!: string;
}

@InputType('RegistrationInput')
export class RegistrationInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  registrationId!: string;
}

@InputType('SendRegistrationMessageInput', {
  description: 'A message of the conversation between the volunteer and the coordinator (seed 003), e-mailed to the other side.',
})
export class SendRegistrationMessageInput extends RegistrationInput {
  @Field({ description: 'Plain text, up to 4000 characters; line breaks are kept.' })
  @Length(1, 4000)
  message!: string;
}

@InputType('AssignRegistrationTaskInput')
export class AssignRegistrationTaskInput extends RegistrationInput {
  @Field()
  @Length(1, 500)
  title!: string;
}

@InputType('RegistrationTaskInput')
export class RegistrationTaskInput extends RegistrationInput {
  @Field(() => ID)
  @Length(1, 100)
  taskId!: string;
}

@InputType('EngagementPeriodInput')
export class EngagementPeriodInput {
  @Field({ description: 'YYYY-MM-DD.' })
  @Matches(DAY, { message: 'start must be a date like 2026-11-02' })
  start!: string;

  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD; omit while the engagement goes on.' })
  @IsOptional()
  @Matches(DAY, { message: 'end must be a date like 2026-11-02' })
  end?: string | null;
}

@InputType('SetEngagementDatesInput', {
  description: 'Every engagement period of the registration (to add or change one, send them all).',
})
export class SetEngagementDatesInput extends RegistrationInput {
  @Field(() => [EngagementPeriodInput])
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ENGAGEMENT_PERIODS)
  @ValidateNested({ each: true })
  periods!: EngagementPeriodInput[];
}

@InputType('RejectEngagementDatesInput')
export class RejectEngagementDatesInput extends RegistrationInput {
  @Field({ description: 'Sent to the volunteer: why, and what would do.' })
  @Length(1, 2000)
  message!: string;
}
