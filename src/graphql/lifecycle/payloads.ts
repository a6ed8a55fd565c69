import { Field, ID, Int, InterfaceType, ObjectType } from 'type-graphql';
import { formatPosition, type GlobalPosition } from '../../eventstore/eventStore';
import type { CommandOutcome } from '../../commands/pipeline';
import { UserError } from '../errors';

/** What every mutation payload carries. */
@InterfaceType('CommandPayload', { description: 'What every mutation returns: refusals as data, and where the events landed.' })
export abstract class CommandPayload {
  @Field(() => [UserError], { description: 'Why the command was refused; empty when it succeeded. Nothing was changed when it is not empty.' })
  errors!: UserError[];

  @Field(() => String, {
    name: 'position',
    nullable: true,
    description:
      'Where the events landed in the global log. Send it as the X-Consistent-With header to read your own write in later queries.',
  })
  positionText(): string | null {
    return this.position ? formatPosition(this.position) : null;
  }

  position!: GlobalPosition | null;

  @Field({ description: 'True when an earlier call with the same idempotency key did the work; nothing new happened.' })
  replayed!: boolean;

  @Field(() => Int, { description: 'How many events the command recorded.' })
  eventCount!: number;
}

export const succeeded = <P extends CommandPayload>(payload: P, outcome: CommandOutcome, fields: Partial<P>): P =>
  Object.assign(payload, {
    errors: [],
    position: outcome.events.length > 0 ? outcome.position : null,
    replayed: outcome.duplicate,
    eventCount: outcome.events.length,
    ...fields,
  });

export const refused = <P extends CommandPayload>(payload: P, errors: UserError[], fields: Partial<P>): P =>
  Object.assign(payload, { errors, position: null, replayed: false, eventCount: 0, ...fields });

@ObjectType('ProgramPayload', { implements: CommandPayload })
export class ProgramPayload extends CommandPayload {
  programId!: string | null;
}

@ObjectType('UserPayload', { implements: CommandPayload })
export class UserPayload extends CommandPayload {
  @Field(() => ID, { nullable: true, description: 'The user the command was about.' })
  userId!: string | null;
}

@ObjectType('PersonaPayload', { implements: CommandPayload })
export class PersonaPayload extends CommandPayload {
  personaId!: string | null;
}

@ObjectType('MatchPayload', { implements: CommandPayload })
export class MatchPayload extends CommandPayload {
  @Field(() => ID, { nullable: true, description: 'The match the command was about (null when a new match was refused).' })
  matchId!: string | null;
}

@ObjectType('UserStatusChangeResult', { implements: CommandPayload, description: 'One user\'s outcome within a bulk status change.' })
export class UserStatusChangeResult extends UserPayload {}

@ObjectType('ChangeUserStatusesPayload')
export class ChangeUserStatusesPayload {
  @Field(() => [UserStatusChangeResult], { description: 'One result per requested change, in the order given.' })
  results!: UserStatusChangeResult[];

  @Field(() => Int)
  changed!: number;

  @Field(() => Int)
  refused!: number;

  @Field(() => String, { nullable: true, description: 'The highest position written; use it as X-Consistent-With.' })
  position!: string | null;
}
