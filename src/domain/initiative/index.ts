export * from './initiative';
export * from './registration';
export * from './reminderPeriods';

import type { InitiativeEvent } from './initiative';
import type { RegistrationEvent } from './registration';

/** Every event of seed 003's initiatives and registrations. */
export type InitiativesEvent = InitiativeEvent | RegistrationEvent;
