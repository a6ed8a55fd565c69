import { ArrayMaxSize, IsOptional, Length } from '../validators';
import { Field, InputType } from 'type-graphql';
import type { EventLogFilter } from '../../audit/eventLog';

@InputType('EventLogFilterInput', { description: 'Which events to list; every field given must match (AND).' })
export class EventLogFilterInput {
  @Field(() => String, { nullable: true, description: 'Exactly this stream, e.g. user-<id>.' })
  @IsOptional()
  @Length(1, 300)
  streamId?: string;

  @Field(() => String, {
    nullable: true,
    description: 'Every stream of one aggregate: user, program, match, meeting, initiative, registration or manager-report.',
  })
  @IsOptional()
  @Length(1, 50)
  aggregate?: string;

  @Field(() => [String], { nullable: true, description: 'Any of these event types, e.g. ["UserStatusChanged"].' })
  @IsOptional()
  @ArrayMaxSize(100)
  @Length(1, 100, { each: true })
  eventTypes?: string[];

  @Field(() => String, { nullable: true, description: 'Events caused by this actor id (the token subject; `system` jobs have their own).' })
  @IsOptional()
  @Length(1, 300)
  actorId?: string;

  @Field(() => String, { nullable: true, description: 'Events caused by actors in this role: admin, coordinator, mentor, mentee, manager, auditor, analyst, system.' })
  @IsOptional()
  @Length(1, 50)
  actorRole?: string;

  @Field(() => Date, { nullable: true, description: 'Events that occurred at or after this moment.' })
  @IsOptional()
  from?: Date;

  @Field(() => Date, { nullable: true, description: 'Events that occurred before this moment (exclusive, so adjacent ranges never overlap).' })
  @IsOptional()
  to?: Date;

  @Field(() => String, { nullable: true, description: 'Events of one request.' })
  @IsOptional()
  @Length(1, 300)
  correlationId?: string;

  @Field(() => String, { nullable: true, description: 'Events of one command (its id).' })
  @IsOptional()
  @Length(1, 300)
  causationId?: string;
}

/** The input as the event log takes it: unset fields left out, moments as ISO-8601. */
export const toEventLogFilter = (input: EventLogFilterInput | undefined | null): EventLogFilter => {
  if (!input) return {};
  const filter: Record<string, unknown> = {};
  for (const key of ['streamId', 'aggregate', 'actorId', 'actorRole', 'correlationId', 'causationId'] as const) {
    const value = input[key];
    if (value !== undefined && value !== null) filter[key] = value;
  }
  if (input.eventTypes !== undefined && input.eventTypes !== null) filter.eventTypes = input.eventTypes;
  if (input.from) filter.from = input.from.toISOString();
  if (input.to) filter.to = input.to.toISOString();
  return filter as EventLogFilter;
};
