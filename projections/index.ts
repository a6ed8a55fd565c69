import type { Projection } from '../src/projections/projection';
import { matchesProjection } from './matches.projection';
import { programsProjection } from './programs.projection';
import { userHistoryProjection } from './userHistory.projection';
import { usersProjection } from './users.projection';

export { matchesProjection } from './matches.projection';
export { meetingsProjection } from './meetings.projection';
export { SqlMeetingReadModel } from './meetingQueries';
export { programsProjection } from './programs.projection';
export { userHistoryProjection } from './userHistory.projection';
export { usersProjection } from './users.projection';
export { historyEntriesOf, type HistoryEntry } from './historyEntries';
export { SqlLifecycleReadModel } from './lifecycleQueries';

/** The read models `SqlLifecycleReadModel` queries; give them all to one `ProjectionRunner`. */
export const lifecycleProjections: readonly Projection[] = [programsProjection, usersProjection, matchesProjection, userHistoryProjection];

import { meetingsProjection as meetings } from './meetings.projection';
import { registrationsProjection } from './registrations.projection';
import { notificationsProjection } from './notifications.projection';

/** Every read model the server runs (the notification outbox last: it only reads events). */
export const serverProjections: readonly Projection[] = [...lifecycleProjections, meetings, registrationsProjection, notificationsProjection];
