import { registerEnumType } from 'type-graphql';
import { MATCH_SOURCES, NOTIFICATION_KINDS } from '../../domain';

const asEnum = <T extends string>(values: readonly T[]): { [K in T]: K } =>
  Object.fromEntries(values.map((value) => [value, value])) as { [K in T]: K };

export const MATCH_SOURCE_ENUM = asEnum(MATCH_SOURCES);
export const NOTIFICATION_KIND_ENUM = asEnum(NOTIFICATION_KINDS);
export const REQUEST_DECISION_ENUM = asEnum(['APPROVE', 'DECLINE'] as const);
export const REQUESTING_PARTY_ENUM = asEnum(['MENTEE', 'MENTOR'] as const);
/** Seed 004's "Match Request-Waiting ..." categories. */
export const REQUEST_WAITING_ENUM = asEnum([
  'WAITING_MENTEE_APPROVAL',
  'WAITING_MENTOR_APPROVAL',
  'WAITING_2_APPROVALS',
  'WAITING_ADMIN_APPROVAL',
] as const);

registerEnumType(MATCH_SOURCE_ENUM, { name: 'MatchSource', description: 'How a match was made: by an admin, by auto-matching, or from a request.' });
registerEnumType(NOTIFICATION_KIND_ENUM, {
  name: 'NotificationKind',
  description: 'The e-mails of the matching workflow.',
  valuesConfig: {
    PREFERENCES_INVITATION: { description: '"Submit Your Mentor Preferences", to a mentee.' },
    MATCH_REQUEST: { description: 'A request to approve or decline a match.' },
    REQUEST_DECLINED: { description: 'To the requester, with the decliner\'s message.' },
    REQUEST_EXPIRED: { description: 'To the requester: nobody answered in time; request someone else.' },
    MATCH_ACTIVATED: { description: '"Mentorship Assignment", to the mentor and the mentee.' },
  },
});
registerEnumType(REQUEST_DECISION_ENUM, { name: 'RequestDecision' });
registerEnumType(REQUESTING_PARTY_ENUM, { name: 'RequestingParty', description: 'Who asked for a requested match.' });
registerEnumType(REQUEST_WAITING_ENUM, {
  name: 'RequestWaitingFor',
  description: 'Whose approval an open match request waits for (seed 004\'s "Match Request-Waiting ..." statuses).',
});
