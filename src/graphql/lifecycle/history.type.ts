import { Field, ID, Int, ObjectType } from 'type-graphql';
import { formatPosition, type GlobalPosition } from '../../eventstore/eventStore';
import type { HistoryField } from '../../../projections/lifecycle/lifecycle.types';
import { HISTORY_FIELD_ENUM } from './enums';

@ObjectType('Actor', { description: 'Who caused an event.' })
export class ActorType {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'admin, coordinator, mentor, mentee, manager, auditor, analyst, or system.' })
  role!: string;
}

@ObjectType('HistoryEntry', { description: 'One event that touched a user or one of their personas.' })
export class HistoryEntryType {
  @Field(() => ID, { name: 'id', description: 'The event id.' })
  eventId!: string;

  @Field({ description: 'The event type, e.g. UserStatusChanged.' })
  eventType!: string;

  @Field({ description: 'When it happened, ISO-8601.' })
  occurredAt!: string;

  @Field(() => HISTORY_FIELD_ENUM)
  field!: HistoryField;

  @Field(() => String, { nullable: true })
  personaId!: string | null;

  @Field(() => String, { nullable: true })
  matchId!: string | null;

  @Field(() => String, { nullable: true, description: 'The id a revert names (status changes and reverts only).' })
  changeId!: string | null;

  @Field(() => String, { nullable: true, description: 'The value before.' })
  from!: string | null;

  @Field(() => String, { nullable: true, description: 'The value after.' })
  to!: string | null;

  @Field({ description: 'One sentence saying what changed.' })
  summary!: string;

  @Field(() => ActorType, { description: 'Who did it.' })
  actor(): ActorType {
    return { id: this.actorId, role: this.actorRole };
  }

  actorId!: string;
  actorRole!: string;

  @Field(() => String, { nullable: true, description: 'Why, as the person who did it said.' })
  reason!: string | null;

  @Field(() => String, { nullable: true, description: 'The command that caused it.' })
  command!: string | null;

  @Field({ description: 'Shared by every event of one request.' })
  correlationId!: string;

  @Field({ name: 'position', description: 'Place in the global event log.' })
  positionText(): string {
    return formatPosition(this.position);
  }

  position!: GlobalPosition;

  @Field({ description: 'Whether a later revert undid this change.' })
  reverted(): boolean {
    return this.revertedByChangeId !== null;
  }

  @Field(() => String, { nullable: true, description: 'The change id of the revert that undid this change.' })
  revertedByChangeId!: string | null;

  @Field(() => String, { nullable: true })
  revertedAt!: string | null;
}

@ObjectType('PageInfo', { description: 'Relay page information.' })
export class PageInfoType {
  @Field()
  hasNextPage!: boolean;

  @Field()
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType('HistoryEdge')
export class HistoryEdgeType {
  @Field(() => HistoryEntryType)
  node!: HistoryEntryType;

  @Field()
  cursor!: string;
}

@ObjectType('HistoryConnection', { description: 'A user\'s history, newest first.' })
export class HistoryConnectionType {
  @Field(() => [HistoryEdgeType])
  edges!: HistoryEdgeType[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;

  @Field(() => Int)
  totalCount!: number;
}
