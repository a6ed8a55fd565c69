import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { EventLogReader, LogEvent } from '../../audit/eventLog';
import { subjectOfStream } from '../../audit/readAudit';
import { recordRead } from '../readAudit';
import { DomainError } from '../../domain/shared/decider';
import { consistentRead } from '../lifecycle/support';
import { EventLogFilterInput, toEventLogFilter } from './audit.inputs';
import {
  AggregateStateType,
  EventChainType,
  EventLogConnectionType,
  StateDiffType,
  asAggregateState,
  asEventChain,
  asEventLogConnection,
  asStateDiff,
} from './audit.types';
import type { AuditContext } from './services';
import { personalDataView } from '../personalDataAccess';

/** Pages of the log are bounded like every other list of the API (query cost counts first/last). */
const MAX_LOG_PAGE = 100;
const DEFAULT_LOG_PAGE = 20;

/**
 * The log as the caller may read it: analysts see names and e-mails as pseudonyms and no free text,
 * unless their token grants personal-data:raw, and then each read is recorded in the read audit (RAW_PERSONAL_DATA).
 */
const eventLogOf = (context: AuditContext, via: string, objectId: string = via): EventLogReader => {
  const { eventLog } = context.services;
  if (!eventLog) throw new DomainError('RULE_VIOLATED', 'This server has no event log to browse.');
  const view = personalDataView(context, { objectId, subjectUserId: null, via: `Query.${via}` });
  return view === 'raw' ? eventLog : eventLog.pseudonymised(view);
};

const checkPageSize = (name: 'first' | 'last', value: number | undefined | null): void => {
  if (value === undefined || value === null) return;
  if (!Number.isInteger(value) || value < 1 || value > MAX_LOG_PAGE) {
    throw new DomainError('VALIDATION_FAILED', `${name} must be between 1 and ${MAX_LOG_PAGE}; got ${value}.`, { field: name });
  }
};

/** One USER_EVENTS read per user stream the answer showed (not one per event: the stream is what was looked at). */
const recordEventsRead = (context: AuditContext, events: readonly LogEvent[], via: string): void => {
  for (const event of events) {
    const subjectUserId = subjectOfStream(event.streamId);
    if (subjectUserId) recordRead(context, { kind: 'USER_EVENTS', objectId: event.streamId, subjectUserId, via });
  }
};

/** A user's or persona's state (as of a moment, or a diff) was read. */
const recordStateRead = (context: AuditContext, streamId: string, via: string): void => {
  const subjectUserId = subjectOfStream(streamId);
  if (subjectUserId) recordRead(context, { kind: 'USER_STATE', objectId: streamId, subjectUserId, via });
};

const present = <T>(value: T | undefined | null): value is T => value !== undefined && value !== null;

/** The event log for auditors and analysts: browse, follow a chain, an aggregate as of a moment. Reads only. */
@Resolver()
export class AuditResolver {
  @Authorized('admin', 'auditor', 'analyst')
  @Query(() => EventLogConnectionType, {
    description:
      'The whole event log with its metadata, oldest first, filtered. Page forward with first/after or backward with last/before (default: the first 20).',
  })
  async eventLog(
    @Ctx() context: AuditContext,
    @Arg('filter', () => EventLogFilterInput, { nullable: true }) filter?: EventLogFilterInput,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('last', () => Int, { nullable: true }) last?: number,
    @Arg('before', () => String, { nullable: true }) before?: string,
  ): Promise<EventLogConnectionType> {
    checkPageSize('first', first);
    checkPageSize('last', last);
    const page: { first?: number; after?: string; last?: number; before?: string } = {
      ...(present(first) ? { first } : {}),
      ...(present(after) ? { after } : {}),
      ...(present(last) ? { last } : {}),
      ...(present(before) ? { before } : {}),
    };
    // No size given: 20, in the direction the cursor (if any) says.
    if (!present(first) && !present(last)) {
      if (present(before)) page.last = DEFAULT_LOG_PAGE;
      else page.first = DEFAULT_LOG_PAGE;
    }
    await consistentRead(context);
    const connection = await eventLogOf(context, 'eventLog').browse(toEventLogFilter(filter), page);
    recordEventsRead(context, connection.edges.map((edge) => edge.node), 'Query.eventLog');
    return asEventLogConnection(connection);
  }

  @Authorized('admin', 'auditor', 'analyst')
  @Query(() => EventChainType, {
    description: 'One event, the command that caused it (who, why, and its other events), what it caused, and every event of the same request.',
  })
  async eventChain(@Arg('eventId', () => ID) eventId: string, @Ctx() context: AuditContext): Promise<EventChainType> {
    await consistentRead(context);
    const chain = await eventLogOf(context, 'eventChain', eventId).chain(eventId);
    recordEventsRead(context, [chain.event, ...(chain.causedBy ? [chain.causedBy] : []), ...chain.caused, ...chain.correlated, ...chain.command.events], 'Query.eventChain');
    return asEventChain(chain);
  }

  @Authorized('admin', 'auditor', 'analyst')
  @Query(() => AggregateStateType, {
    description:
      'A user, program, match (or any aggregate) as it stood at a moment, folded from its stream up to then. `persona-<personaId>` gives one persona.',
  })
  async stateAsOf(
    @Arg('streamId', () => String, { description: '<aggregate>-<id>, e.g. user-<id>, match-<id>, persona-<userId>:p1.' }) streamId: string,
    @Arg('at', () => Date) at: Date,
    @Ctx() context: AuditContext,
  ): Promise<AggregateStateType> {
    await consistentRead(context);
    const state = await eventLogOf(context, 'stateAsOf', streamId).streamAt(streamId, at);
    recordStateRead(context, streamId, 'Query.stateAsOf');
    return asAggregateState(state);
  }

  @Authorized('admin', 'auditor', 'analyst')
  @Query(() => StateDiffType, { description: 'What changed in one aggregate between two moments: every path added, removed or changed.' })
  async stateDiff(
    @Arg('streamId', () => String) streamId: string,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Ctx() context: AuditContext,
  ): Promise<StateDiffType> {
    await consistentRead(context);
    const diff = await eventLogOf(context, 'stateDiff', streamId).diff(streamId, from, to);
    recordStateRead(context, streamId, 'Query.stateDiff');
    return asStateDiff(diff);
  }
}
