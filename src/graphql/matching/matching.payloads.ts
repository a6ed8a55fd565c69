import { Field, ID, Int, ObjectType } from 'type-graphql';
import { UserError } from '../errors';
import { MatchPayload } from '../lifecycle/payloads';

@ObjectType('BulkMatchPayload', { description: 'The outcome of approving or discarding several staged matches: one result per match.' })
export class BulkMatchPayload {
  @Field(() => [UserError], {
    description: 'Why the whole request was refused (e.g. CONFIRMATION_REQUIRED); empty when each match was tried. Nothing changed when it is not empty.',
  })
  errors!: UserError[];

  @Field(() => [MatchPayload], { description: 'One result per match, in the order tried.' })
  results!: MatchPayload[];

  @Field(() => Int)
  succeeded!: number;

  @Field(() => Int)
  refused!: number;

  @Field(() => Int, {
    description: 'E-mails this approval sent (or, when refused for confirmation, would send): a Mentorship Assignment to each mentor and mentee.',
  })
  notificationCount!: number;

  @Field(() => String, { nullable: true, description: 'The highest position written; use it as X-Consistent-With.' })
  position!: string | null;
}

@ObjectType('InvitationResult', { description: 'One mentee\'s outcome within an invitation.' })
export class InvitationResult {
  @Field(() => ID)
  personaId!: string;

  @Field({ description: 'True when this call invited the mentee (an e-mail goes out).' })
  invited!: boolean;

  @Field(() => [UserError], { description: 'Why this mentee was not invited (ALREADY_EXISTS: invited before).' })
  errors!: UserError[];
}

@ObjectType('InviteMenteesPayload')
export class InviteMenteesPayload {
  @Field(() => [UserError], { description: 'Why the whole request was refused (e.g. CONFIRMATION_REQUIRED); nothing changed when it is not empty.' })
  errors!: UserError[];

  @Field(() => Int, { description: 'Invitations sent by this call (or, when refused for confirmation, that would be sent).' })
  invitationsSent!: number;

  @Field(() => Int, { description: 'Mentees skipped because they had been invited before.' })
  alreadyInvited!: number;

  @Field(() => [InvitationResult])
  results!: InvitationResult[];

  @Field(() => String, { nullable: true, description: 'The highest position written; use it as X-Consistent-With.' })
  position!: string | null;
}
