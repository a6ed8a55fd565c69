import { GraphQLJSON, GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { aggregateOfStream } from '../../audit/aggregates';
import type { EventChain, LogEvent, LogPage, StateAt, StateDiff } from '../../audit/eventLog';
import type { ChangeKind, JsonChange, JsonValue } from '../../audit/jsonDiff';
import { formatPosition } from '../../eventstore/eventStore';
import { ActorType, PageInfoType } from '../lifecycle/history.type';

export const STATE_CHANGE_KIND_ENUM: { readonly [K in ChangeKind]: K } = { ADDED: 'ADDED', REMOVED: 'REMOVED', CHANGED: 'CHANGED' };

registerEnumType(STATE_CHANGE_KIND_ENUM, {
  name: 'StateChangeKind',
  description: 'How a value differs between two moments.',
  valuesConfig: {
    ADDED: { description: 'Absent before, present after.' },
    REMOVED: { description: 'Present before, absent after.' },
    CHANGED: { description: 'Present at both moments with different values.' },
  },
});

@ObjectType('EventMetadata', { description: 'Who caused an event, when, why, and through which command and request.' })
export class EventMetadataType {
  @Field({ description: 'When it happened, ISO-8601 (the application\'s clock).' })
  occurredAt!: string;

  @Field(() => ActorType, { description: 'Who did it (`system` for automatic moves).' })
  actor!: ActorType;

  @Field(() => String, { nullable: true, description: 'Why, as the person who did it said.' })
  reason!: string | null;

  @Field({ description: 'Shared by every event of one request: follow it with `eventLog(filter: { correlationId })` or `eventChain`.' })
  correlationId!: string;

  @Field({
    description:
      'The id of the command that produced the event; every event of one command shares it, except a move the system made by itself ' +
      '(the automatic AI → SI), which names the event that caused it.',
  })
  causationId!: string;

  @Field(() => String, { nullable: true, description: 'The command type, e.g. ChangeUserStatus.' })
  command!: string | null;
}

@ObjectType('LoggedEvent', { description: 'One event of the log, as stored, with its metadata.' })
export class LoggedEventType {
  @Field(() => ID, { description: 'The event id.' })
  id!: string;

  @Field({ description: 'Place in the global log ("major.minor"), as mutation payloads return it.' })
  position!: string;

  @Field({ description: 'The stream, `<aggregate>-<id>`.' })
  streamId!: string;

  @Field(() => String, { nullable: true, description: 'The stream prefix: user, program, match, meeting, initiative, registration, manager-report.' })
  aggregate!: string | null;

  @Field(() => Int, { description: 'The event\'s 0-based revision within its stream.' })
  revision!: number;

  @Field({ description: 'The event type, e.g. UserStatusChanged.' })
  type!: string;

  @Field(() => Int)
  schemaVersion!: number;

  @Field(() => GraphQLJSONObject, { description: 'The event\'s data as stored.' })
  data!: Record<string, unknown>;

  @Field(() => EventMetadataType)
  metadata!: EventMetadataType;
}

export const asLoggedEvent = (event: LogEvent): LoggedEventType =>
  Object.assign(new LoggedEventType(), {
    id: event.eventId,
    position: formatPosition(event.position),
    streamId: event.streamId,
    aggregate: aggregateOfStream(event.streamId)?.name ?? null,
    revision: event.revision,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: Object.assign(new EventMetadataType(), {
      occurredAt: event.metadata.occurredAt,
      actor: Object.assign(new ActorType(), event.metadata.actor),
      reason: event.metadata.reason ?? null,
      correlationId: event.metadata.correlationId,
      causationId: event.metadata.causationId,
      command: event.metadata.command ?? null,
    }),
  });

@ObjectType('EventLogEdge')
export class EventLogEdgeType {
  @Field(() => LoggedEventType)
  node!: LoggedEventType;

  @Field({ description: 'Opaque; pass it as `after` or `before`.' })
  cursor!: string;
}

@ObjectType('EventLogConnection', { description: 'A page of the event log, oldest first whichever way it was paged.' })
export class EventLogConnectionType {
  @Field(() => [EventLogEdgeType])
  edges!: EventLogEdgeType[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;
}

export const asEventLogConnection = (page: LogPage): EventLogConnectionType =>
  Object.assign(new EventLogConnectionType(), {
    edges: page.edges.map((edge) => Object.assign(new EventLogEdgeType(), { cursor: edge.cursor, node: asLoggedEvent(edge.node) })),
    pageInfo: Object.assign(new PageInfoType(), page.pageInfo),
  });

@ObjectType('EventCommand', { description: 'The command that produced an event, and everything it wrote.' })
export class EventCommandType {
  @Field(() => ID, { description: 'The command id (the causation id its events share).' })
  id!: string;

  @Field(() => String, { nullable: true, description: 'The command type, e.g. ChangeUserStatus.' })
  name!: string | null;

  @Field(() => ActorType)
  actor!: ActorType;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field()
  occurredAt!: string;

  @Field(() => [LoggedEventType], { description: 'Every event the command wrote, in log order.' })
  events!: LoggedEventType[];
}

@ObjectType('EventChain', { description: 'One event with its cause and its consequences.' })
export class EventChainType {
  @Field(() => LoggedEventType)
  event!: LoggedEventType;

  @Field(() => EventCommandType, { description: 'The command that caused it.' })
  command!: EventCommandType;

  @Field(() => LoggedEventType, { nullable: true, description: 'The event it reacted to, when an automatic move caused it.' })
  causedBy!: LoggedEventType | null;

  @Field(() => [LoggedEventType], { description: 'Events it directly caused (their causation id is this event\'s id).' })
  caused!: LoggedEventType[];

  @Field(() => [LoggedEventType], { description: 'Every event of the same request (correlation id), in log order.' })
  correlated!: LoggedEventType[];

  @Field({ description: 'True when the request has more events than `correlated` lists (1000); page the rest with eventLog.' })
  correlatedTruncated!: boolean;
}

export const asEventChain = (chain: EventChain): EventChainType =>
  Object.assign(new EventChainType(), {
    event: asLoggedEvent(chain.event),
    command: Object.assign(new EventCommandType(), {
      ...chain.command,
      actor: Object.assign(new ActorType(), chain.command.actor),
      events: chain.command.events.map(asLoggedEvent),
    }),
    causedBy: chain.causedBy ? asLoggedEvent(chain.causedBy) : null,
    caused: chain.caused.map(asLoggedEvent),
    correlated: chain.correlated.map(asLoggedEvent),
    correlatedTruncated: chain.correlatedTruncated,
  });

@ObjectType('AggregateState', { description: 'An aggregate as it stood at a moment, folded from its events up to then.' })
export class AggregateStateType {
  @Field()
  streamId!: string;

  @Field({ description: 'user, program, match, meeting, initiative, registration, manager-report, or persona.' })
  aggregate!: string;

  @Field({ description: 'The moment, ISO-8601.' })
  at!: string;

  @Field(() => Int, { description: 'How many of the stream\'s events were folded; 0 when it did not exist yet.' })
  eventCount!: number;

  @Field(() => String, { nullable: true, description: 'Position of the last event folded.' })
  lastPosition!: string | null;

  @Field(() => GraphQLJSONObject, { description: 'The folded state, as the domain keeps it.' })
  state!: Record<string, unknown>;
}

const asObject = (value: JsonValue): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };

export const asAggregateState = (state: StateAt): AggregateStateType =>
  Object.assign(new AggregateStateType(), {
    streamId: state.streamId,
    aggregate: state.aggregate,
    at: state.at,
    eventCount: state.eventCount,
    lastPosition: state.lastPosition ? formatPosition(state.lastPosition) : null,
    state: asObject(state.state),
  });

@ObjectType('StateChange', { description: 'One value that differs between two moments.' })
export class StateChangeType {
  @Field({ description: 'JSON Pointer into the state, e.g. /personas/0/matchStatus ("" is the whole state).' })
  path!: string;

  @Field(() => STATE_CHANGE_KIND_ENUM)
  kind!: ChangeKind;

  @Field(() => GraphQLJSON, { nullable: true, description: 'The value at `from` (null when added).' })
  before!: JsonValue;

  @Field(() => GraphQLJSON, { nullable: true, description: 'The value at `to` (null when removed).' })
  after!: JsonValue;
}

@ObjectType('StateDiff', { description: 'What changed in one aggregate between two moments.' })
export class StateDiffType {
  @Field()
  streamId!: string;

  @Field()
  aggregate!: string;

  @Field(() => AggregateStateType)
  from!: AggregateStateType;

  @Field(() => AggregateStateType)
  to!: AggregateStateType;

  @Field(() => [StateChangeType], { description: 'Every difference, in path order; empty when nothing changed.' })
  changes!: StateChangeType[];
}

export const asStateDiff = (diff: StateDiff): StateDiffType =>
  Object.assign(new StateDiffType(), {
    streamId: diff.streamId,
    aggregate: diff.aggregate,
    from: asAggregateState(diff.from),
    to: asAggregateState(diff.to),
    changes: diff.changes.map((change: JsonChange) => Object.assign(new StateChangeType(), change)),
  });
