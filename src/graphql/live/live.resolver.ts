import { Arg, Authorized, Ctx, Resolver, Root, Subscription } from 'type-graphql';
import type { Pseudonyms } from '../../audit/pseudonyms';
import type { RecordedEvent } from '../../eventstore/eventStore';
import type { LiveEventHub } from '../../live/liveEvents';
import { EventLogFilterInput } from '../audit/audit.inputs';
import { LoggedEventType, asLoggedEvent } from '../audit/audit.types';
import type { GraphQLContext } from '../context';
import { personalDataView } from '../personalDataAccess';

export interface LiveServices {
  readonly liveEvents: LiveEventHub;
}

/** Live events for auditors and analysts (graphql-ws at the GraphQL path). */
@Resolver()
export class LiveEventsResolver {
  @Authorized('auditor', 'analyst', 'admin')
  @Subscription(() => LoggedEventType, {
    description:
      'Events as they are committed from the moment of subscribing, filtered like `eventLog` (over WebSocket with graphql-ws; ' +
      'send the token as connectionParams.authorization = "Bearer <token>").',
    subscribe: async ({ args, context }) => {
      const filter = (args as { filter?: EventLogFilterInput }).filter ?? {};
      return (context as GraphQLContext<LiveServices>).services.liveEvents.subscribe({
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
    },
  })
  events(
    @Root() event: RecordedEvent,
    @Ctx() context: GraphQLContext<LiveServices & { readonly pseudonyms: Pseudonyms | null }>,
    @Arg('filter', () => EventLogFilterInput, { nullable: true }) _filter?: EventLogFilterInput,
  ): LoggedEventType {
    const logged = { ...event, eventId: event.id, data: event.data as Record<string, unknown> };
    // Analysts see live events as they see the log: pseudonymised unless their token grants raw access.
    const view = personalDataView(context, 'events subscription');
    return asLoggedEvent(view === 'raw' ? logged : view.event(logged));
  }
}
