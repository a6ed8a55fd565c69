import type { MeetingCommands } from '../../application/meetingCommands';
import type { SqlMeetingReadModel } from '../../../projections/meetings/meetings.queries';
import type { GraphQLContext } from '../context';
import type { LifecycleServices } from '../lifecycle/services';

/** What the meeting resolvers need besides the lifecycle services (built in the composition root). */
export interface MeetingServices {
  readonly meetings: MeetingCommands;
  readonly meetingReadModel: SqlMeetingReadModel;
}

export type MeetingContext = GraphQLContext<LifecycleServices & MeetingServices>;
