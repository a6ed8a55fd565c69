import { Arg, Authorized, Ctx, Resolver, Root, Subscription } from 'type-graphql';
import type { Pseudonyms } from '../../audit/pseudonyms';
import type { RecordedEvent } from '../../eventstore/eventStore';
import type { LiveEventHub } from '../../live/liveEvents';
import { EventLogFilterInput } from '../audit/audit.inputs';
import { LoggedEventType, asLoggedEvent } from '../audit/audit.types';
import type { GraphQLContext } from '../context';
import { visibility } from '../../domain/access/policy';
import { viewerOf } from '../access';
import { personalDataView } from '../personalDataAccess';
import type { ReadAuditServices } from '../readAudit';

export interface LiveServices {
  readonly liveEvents: LiveEventHub;
}

/** The events of `source` that pass `keep`; ending it ends the source at once (no event needs to arrive first). */
const keepOnly = (source: AsyncIterableIterator<RecordedEvent>, keep: (event: RecordedEvent) => boolean): AsyncIterableIterator<RecordedEvent> => {
  const iterator: AsyncIterableIterator<RecordedEvent> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      for (;;) {
        const result = await source.next();
        if (result.done || keep(result.value)) return result;
      }
    },
    return: async (value?: unknown) => (source.return ? source.return(value) : { value: undefined, done: true }),
  };
  return iterator;
};

/** Live events for auditors and analysts (graphql-ws at the GraphQL path). */
@Resolver()
export class LiveEventsResolver {
  @Authorized('auditor', 'analyst', 'admin')
  @Subscription(() => LoggedEventType, {
    description:
      'Events as they are committed from the moment of subscribing, filtered like `eventLog` (over WebSocket with graphql-ws; ' +
      'send the token as connectionParams.authorization = "Bearer <token>"). The socket is closed with code 4401 when the token expires; ' +
      'reconnect with a new one.',
    subscribe: async ({ args, context }) => {
      const filter = (args as { filter?: EventLogFilterInput }).filter ?? {};
      const viewer = await viewerOf(context as GraphQLContext<unknown>);
      const events = await (context as GraphQLContext<LiveServices>).services.liveEvents.subscribe({
        streamId: filter.streamId ?? null,
        aggregate: filter.aggregate ?? null,
        eventTypes: filter.eventTypes ?? null,
        actorId: filter.actorId ?? null,
        actorRole: filter.actorRole ?? null,
        correlationId: filter.correlationId ?? null,
        causationId: filter.causationId ?? null,
        from: filter.from ? filter.from.toISOString() : null,
        to: filter.to ? filter.to.toISOString() : null,
      });
      // The same policy as every other read decides which events this caller is shown.
      return keepOnly(events, (event) => visibility(viewer, 'loggedEvent', { streamId: event.streamId }).visible);
    },
  })
  events(
    @Root() event: RecordedEvent,
    @Ctx() context: GraphQLContext<LiveServices & ReadAuditServices & { readonly pseudonyms: Pseudonyms | null }>,
    @Arg('filter', () => EventLogFilterInput, { nullable: true }) _filter?: EventLogFilterInput,
  ): LoggedEventType {
    const logged = { ...event, eventId: event.id, data: event.data as Record<string, unknown> };
    // Analysts see live events as they see the log: pseudonymised unless their token grants raw access.
    const view = personalDataView(context, { objectId: event.streamId, subjectUserId: null, via: 'Subscription.events' });
    return asLoggedEvent(view === 'raw' ? logged : view.event(logged));
  }
}
