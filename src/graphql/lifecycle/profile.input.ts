import { IsEmail, IsOptional, Length } from '../validators';
import { Field, InputType } from 'type-graphql';
import { UserInput } from './inputs';

@InputType('ChangeUserEmailInput', { description: 'A new e-mail address for a user.' })
export class ChangeUserEmailInput extends UserInput {
  @Field({
    description:
      'The new address: unique across the whole system, compared case-insensitively. The old address becomes free for someone else.',
  })
  @IsEmail({}, { message: 'email must be an e-mail address' })
  @Length(3, 320)
  email!: string;
}

@InputType('UpdateUserProfileInput', {
  description: 'Corrections to a user\'s name, company or manager. Omitted fields stay as they are; null clears company or manager.',
})
export class UpdateUserProfileInput extends UserInput {
  @Field(() => String, { nullable: true, description: 'The corrected name.' })
  @IsOptional()
  @Length(1, 200)
  name?: string;

  @Field(() => String, { nullable: true, description: 'The corrected company; null removes it.' })
  @IsOptional()
  @Length(0, 200)
  company?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The manager\'s name; null (with managerEmail null) removes the manager. A new manager needs both fields.',
  })
  @IsOptional()
  @Length(1, 200)
  managerName?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The manager\'s e-mail: the manager report of this address lists the user. null (with managerName null) removes the manager.',
  })
  @IsOptional()
  @IsEmail({}, { message: 'managerEmail must be an e-mail address' })
  @Length(3, 320)
  managerEmail?: string | null;
}
