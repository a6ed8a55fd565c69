/**
 * The user-status table (seed 000). A user status belongs to the user and applies to every one of
 * the user's personas.
 */

export type UserStatus = 'A' | 'AI' | 'SI' | 'IW' | 'IR' | 'ID';

/** What a status lets a person do: log in fully, only to finish the application, or not at all. */
export type LogInAccess = 'YES' | 'APPLICATION_ONLY' | 'NO';

export interface UserStatusInfo {
  readonly status: UserStatus;
  readonly name: string;
  readonly definition: string;
  readonly canBeMatched: boolean;
  /** "Can log in & see curriculum?" — APPLICATION_ONLY: can log in only to complete the application. */
  readonly logIn: LogInAccess;
}

export const USER_STATUS_TABLE: Readonly<Record<UserStatus, UserStatusInfo>> = {
  A: {
    status: 'A',
    name: 'Active',
    definition: 'Participating actively in the program.',
    canBeMatched: true,
    logIn: 'YES',
  },
  AI: {
    status: 'AI',
    name: 'Application Incomplete',
    definition: "The user's application is not finished; finishing it moves the user to SI automatically.",
    canBeMatched: false,
    logIn: 'APPLICATION_ONLY',
  },
  SI: {
    status: 'SI',
    name: 'Screening Incomplete',
    definition: "Not yet ready to be matched under the program's screening policies.",
    canBeMatched: false,
    logIn: 'YES',
  },
  IW: {
    status: 'IW',
    name: 'Inactive Withdrawn',
    definition: 'Left the program of their own accord.',
    canBeMatched: false,
    logIn: 'NO',
  },
  IR: {
    status: 'IR',
    name: 'Inactive Rejected',
    definition: 'Rejected by the program.',
    canBeMatched: false,
    logIn: 'NO',
  },
  ID: {
    status: 'ID',
    name: 'Inactive Deleted',
    definition: 'Deleted by an admin: errors, duplicate applications, test users.',
    canBeMatched: false,
    logIn: 'NO',
  },
};

export const USER_STATUSES: readonly UserStatus[] = ['A', 'AI', 'SI', 'IW', 'IR', 'ID'];

export const isUserStatus = (value: string): value is UserStatus => (USER_STATUSES as readonly string[]).includes(value);

export const describeUserStatus = (status: UserStatus): string => `${USER_STATUS_TABLE[status].name} (${status})`;
