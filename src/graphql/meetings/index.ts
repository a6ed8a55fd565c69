import { MeetingPayloadResolver, MeetingResolver } from './meetings.resolver';

export const meetingResolvers = [MeetingResolver, MeetingPayloadResolver] as const;

export type { MeetingServices } from './services';
