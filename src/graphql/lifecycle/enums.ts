import { registerEnumType } from 'type-graphql';
import {
  APPROVING_PARTIES,
  MATCH_LIFECYCLE_STATUSES,
  MATCHING_PROCESSES,
  PARTICIPANT_ROLES,
  REMATCH_INTENTS,
  USER_STATUSES,
  USER_STATUS_TABLE,
  type MatchStatus,
} from '../../domain';

const asEnum = <T extends string>(values: readonly T[]): { [K in T]: K } =>
  Object.fromEntries(values.map((value) => [value, value])) as { [K in T]: K };

/** GraphQL enum names cannot contain "/": N/A is spelled NA in the schema (its value inside stays "N/A"). */
export const MATCH_STATUS_ENUM = { NA: 'N/A', RTBM: 'RTBM', MATCHED: 'MATCHED', CLOSED: 'CLOSED', RESCREENING: 'RESCREENING', NOT_MATCHING: 'NOT_MATCHING' } as const satisfies Record<string, MatchStatus>;

export const USER_STATUS_ENUM = asEnum(USER_STATUSES);
export const ROLE_ENUM = asEnum(PARTICIPANT_ROLES);
export const REMATCH_INTENT_ENUM = asEnum(REMATCH_INTENTS);
export const PERSONA_STATUS_ENUM = asEnum(['ACTIVE', 'INACTIVE'] as const);
export const LOG_IN_ENUM = asEnum(['YES', 'APPLICATION_ONLY', 'NO'] as const);
export const MATCHING_PROCESS_ENUM = asEnum(MATCHING_PROCESSES);
export const APPROVING_PARTY_ENUM = asEnum(APPROVING_PARTIES);
export const MATCH_STATE_ENUM = asEnum(MATCH_LIFECYCLE_STATUSES);
export const HISTORY_FIELD_ENUM = asEnum([
  'REGISTRATION',
  'APPLICATION',
  'USER_STATUS',
  'PERSONA',
  'MATCH_STATUS',
  'PERSONA_STATUS',
  'SITE',
  'MATCH',
  'INVITATION',
  'MENTOR_CAPACITY',
  'MATCH_COMPLETION',
  'EMAIL',
  'PROFILE',
] as const);

registerEnumType(USER_STATUS_ENUM, {
  name: 'UserStatus',
  description: 'The user status: applies to every persona of the user.',
  valuesConfig: Object.fromEntries(
    USER_STATUSES.map((status) => [
      status,
      {
        description: `${USER_STATUS_TABLE[status].name}: ${USER_STATUS_TABLE[status].definition} Can be matched: ${
          USER_STATUS_TABLE[status].canBeMatched ? 'yes' : 'no'
        }.`,
      },
    ]),
  ),
});
registerEnumType(MATCH_STATUS_ENUM, {
  name: 'MatchStatus',
  description: 'Where one persona stands in matching.',
  valuesConfig: {
    NA: { description: 'N/A: never matched; becomes RTBM when the user becomes Active.' },
    RTBM: { description: 'Ready to be matched.' },
    MATCHED: { description: 'In an active match.' },
    CLOSED: { description: 'The match is closed; cannot log in through this persona. Can be reopened ("Open Match").' },
    RESCREENING: { description: 'Being assessed for a new match; can be made RTBM (or Not Matching, mentees only).' },
    NOT_MATCHING: { description: 'Mentees only: will not be matched again but stays in class.' },
  },
});
registerEnumType(ROLE_ENUM, { name: 'ParticipantRole', description: 'A persona is a mentor or a mentee.' });
registerEnumType(REMATCH_INTENT_ENUM, {
  name: 'RematchIntent',
  description: 'Asked of each participant when a match closes: YES and MAYBE create a new Rescreening persona at once.',
});
registerEnumType(PERSONA_STATUS_ENUM, { name: 'PersonaStatus', description: 'INACTIVE only for a persona created in error.' });
registerEnumType(LOG_IN_ENUM, {
  name: 'LogInAccess',
  description: 'Whether a person can log in: fully, only to finish the application, or not at all.',
});
registerEnumType(MATCHING_PROCESS_ENUM, { name: 'MatchingProcess', description: 'Who drives matching in a program.' });
registerEnumType(APPROVING_PARTY_ENUM, { name: 'ApprovingParty', description: 'A party whose approval a match request needs.' });
registerEnumType(MATCH_STATE_ENUM, {
  name: 'MatchState',
  description: 'Where a match stands.',
  valuesConfig: {
    REQUESTED: { description: 'Asked for by a participant; waiting for the approvals the program requires.' },
    STAGED: { description: 'Made by an admin or auto-matching, not live; nobody has been notified. Approve or discard it.' },
    ACTIVE: { description: 'Live: both participants were notified.' },
    COMPLETED: { description: 'The program\'s match duration ran out.' },
    CLOSED: { description: 'Ended early, with a reason and each side\'s rematch intent.' },
    DISCARDED: { description: 'A staged match thrown away.' },
    DECLINED: { description: 'A request declined, with the decliner\'s message.' },
    EXPIRED: { description: 'A request nobody answered within the program\'s expiry.' },
    WITHDRAWN: { description: 'A request withdrawn, e.g. because the mentee was matched through another one.' },
  },
});
registerEnumType(HISTORY_FIELD_ENUM, { name: 'HistoryField', description: 'What a history entry is about.' });
