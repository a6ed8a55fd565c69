import { MATCH_STATUS_ALLOWS_ACCESS, type MatchStatus } from './matchStatus';
import type { Persona, User } from './user';

type WithPersonas = Pick<User, 'userStatus'> & { readonly personas: readonly Pick<Persona, 'personaStatus' | 'matchStatus'>[] };
import { USER_STATUS_TABLE, type LogInAccess, type UserStatus } from './userStatus';

/**
 * Who can log in and see curriculum (seed 000): both the user status and the persona's match
 * status must allow it. AI logs in only to finish the application; IW, IR and ID not at all; a
 * CLOSED persona cannot log in or see curriculum.
 */
export interface Access {
  readonly logIn: LogInAccess;
  readonly seeCurriculum: boolean;
}

const NO_ACCESS: Access = { logIn: 'NO', seeCurriculum: false };

export const accessFor = (userStatus: UserStatus, matchStatus: MatchStatus): Access => {
  if (!MATCH_STATUS_ALLOWS_ACCESS[matchStatus]) return NO_ACCESS;
  const logIn = USER_STATUS_TABLE[userStatus].logIn;
  return { logIn, seeCurriculum: logIn === 'YES' };
};

/** An inactive persona (created in error) grants nothing. */
export const personaAccess = (userStatus: UserStatus, persona: Pick<Persona, 'personaStatus' | 'matchStatus'>): Access =>
  persona.personaStatus === 'ACTIVE' ? accessFor(userStatus, persona.matchStatus) : NO_ACCESS;

const RANK: Readonly<Record<LogInAccess, number>> = { NO: 0, APPLICATION_ONLY: 1, YES: 2 };

/** The user logs in through any persona that allows it: the most any active persona allows. */
export const canLogIn = (user: WithPersonas): LogInAccess =>
  user.personas
    .map((persona) => personaAccess(user.userStatus, persona).logIn)
    .reduce<LogInAccess>((best, logIn) => (RANK[logIn] > RANK[best] ? logIn : best), 'NO');

export const canSeeCurriculum = (user: WithPersonas): boolean =>
  user.personas.some((persona) => personaAccess(user.userStatus, persona).seeCurriculum);

/** "Can be matched?" of the user-status table. */
export const canBeMatched = (userStatus: UserStatus): boolean => USER_STATUS_TABLE[userStatus].canBeMatched;
