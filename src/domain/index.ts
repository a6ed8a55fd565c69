import type { MatchEvent } from './match/match';
import type { ProgramEvent } from './program/program';
import type { UserEvent } from './user/user';

export * from './streams';
export * from './program/program';
export * from './user/userStatus';
export * from './user/matchStatus';
export * from './user/userId';
export * from './user/user';
export * from './user/emailReservation';
export * from './user/access';
export * from './match/match';
export * from './match/participation';
export * from './meeting/meeting';
export * from './notification/templates';
export * from './shared/calendar';
export * from './autoMatching/criteria';
export * from './autoMatching/scoring';
export * from './personalData';

/** Every event of the participant lifecycle: what projections switch on. */
export type LifecycleEvent = ProgramEvent | UserEvent | MatchEvent;
export type LifecycleEventType = LifecycleEvent['type'];

/** Every event type of each aggregate; projections name what they handle from these. */
export const PROGRAM_EVENT_TYPES = [
  'ProgramCreated',
  'NotificationTemplateSet',
  'MatchingCriteriaSet',
  'PairBanned',
  'PairBanLifted',
  'AutoMatchingRan',
  'ProgramSettingsChanged',
  'ProgramTimeZoneChanged',
  'MatchingTurnedOn',
  'MatchingTurnedOff',
  'ClosureReasonAdded',
  'PartnerSiteAdded',
  'MentorSiteListAdded',
] as const satisfies readonly ProgramEvent['type'][];

export const USER_EVENT_TYPES = [
  'UserRegistered',
  'UserEmailChanged',
  'UserProfileUpdated',
  'PersonalDataErased',
  'ProfileAttributesSet',
  'PersonaCreated',
  'ApplicationCompleted',
  'UserStatusChanged',
  'UserStatusChangeReverted',
  'PersonaMatchStatusChanged',
  'PersonaInactivated',
  'PersonaAssignedToSite',
  'MenteeInvitedToMatch',
  'MentorCapacitySet',
  'PersonaMatchCompleted',
] as const satisfies readonly UserEvent['type'][];

export const MATCH_EVENT_TYPES = [
  'MatchCreated',
  'MatchRequested',
  'MatchRequestApproved',
  'MatchRequestDeclined',
  'MatchRequestExpired',
  'MatchRequestWithdrawn',
  'MatchDiscarded',
  'MatchActivated',
  'MatchCompleted',
  'MatchClosed',
  'MatchReopened',
] as const satisfies readonly MatchEvent['type'][];

export const LIFECYCLE_EVENT_TYPES = [...PROGRAM_EVENT_TYPES, ...USER_EVENT_TYPES, ...MATCH_EVENT_TYPES] as const;

// Fails to compile when an event type is added to the unions but not to the list above.
type Missing = Exclude<LifecycleEventType, (typeof LIFECYCLE_EVENT_TYPES)[number]>;
const _allListed: [Missing] extends [never] ? true : Missing = true;
void _allListed;

export const isLifecycleEvent = (event: { readonly type: string }): event is LifecycleEvent =>
  (LIFECYCLE_EVENT_TYPES as readonly string[]).includes(event.type);
