import type { Projection } from '../src/projectionEngine/projection';
import { matchesProjection } from './matches/matches.projection';
import { programsProjection } from './programs/programs.projection';
import { userHistoryProjection } from './userHistory/userHistory.projection';
import { usersProjection } from './users/users.projection';

export { matchesProjection } from './matches/matches.projection';
export { meetingsProjection } from './meetings/meetings.projection';
export { SqlMeetingReadModel } from './meetings/meetings.queries';
export { programsProjection } from './programs/programs.projection';
export { userHistoryProjection } from './userHistory/userHistory.projection';
export { usersProjection } from './users/users.projection';
export { historyEntriesOf, type HistoryEntry } from './userHistory/userHistory.entries';
export { SqlLifecycleReadModel } from './lifecycle/lifecycle.queries';

/** The read models `SqlLifecycleReadModel` queries; give them all to one `ProjectionRunner`. */
export const lifecycleProjections: readonly Projection[] = [programsProjection, usersProjection, matchesProjection, userHistoryProjection];

import { meetingsProjection as meetings } from './meetings/meetings.projection';
import { registrationsProjection } from './registrations/registrations.projection';
import { notificationsProjection } from './notifications/notifications.projection';

/** Every read model the server runs (the notification outbox last: it only reads events). */
export const serverProjections: readonly Projection[] = [...lifecycleProjections, meetings, registrationsProjection, notificationsProjection];
