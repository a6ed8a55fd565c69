/**
 * Stream ids of the lifecycle aggregates. One stream per aggregate instance; the prefix names the
 * aggregate so the global log can be filtered by category.
 */
export const userStream = (userId: string): string => `user-${userId}`;
export const programStream = (programId: string): string => `program-${programId}`;
export const matchStream = (matchId: string): string => `match-${matchId}`;
export const meetingStream = (meetingId: string): string => `meeting-${meetingId}`;
