import { DomainError } from '../shared/decider';

/**
 * The e-mails the matching workflow sends (seed 002), and the placeholders each may use. Programs
 * can replace a default with their own (`SetNotificationTemplate`); an unknown placeholder is refused
 * when the template is saved, not discovered when an e-mail goes out.
 */

export type NotificationKind =
  /** The bi-weekly manager report (seed 004), with the CSV attached; to a manager. */
  | 'MANAGER_REPORT'
  /** "Submit Your Mentor Preferences": a mentee is invited to request a mentor. */
  | 'PREFERENCES_INVITATION'
  /** A participant is asked to approve or decline a match request. */
  | 'MATCH_REQUEST'
  /** The requester learns that the request was declined, with the decliner's message. */
  | 'REQUEST_DECLINED'
  /** The requester learns that nobody answered in time and is asked to request someone else. */
  | 'REQUEST_EXPIRED'
  /** "Mentorship Assignment": the match is live; sent to the mentor and to the mentee. */
  | 'MATCH_ACTIVATED'
  /** Seed 003, monthly: a volunteer still searching for a mentee is asked whether they found one. */
  | 'REGISTRATION_SEARCH_REMINDER'
  /** Seed 003, quarterly: a volunteer in progress reflects on the engagement, with a summary of its dates. */
  | 'REGISTRATION_PROGRESS_REMINDER'
  /** Seed 003: a message of the conversation between a volunteer and the coordinator, to the other side. */
  | 'REGISTRATION_MESSAGE'
  /** To the program's administrators (ADMIN_NOTIFICATION_EMAIL): a match request waits for their approval. */
  | 'ADMIN_APPROVAL_REQUEST';

export const NOTIFICATION_KINDS: readonly NotificationKind[] = [
  'PREFERENCES_INVITATION',
  'MATCH_REQUEST',
  'REQUEST_DECLINED',
  'REQUEST_EXPIRED',
  'MATCH_ACTIVATED',
  'REGISTRATION_SEARCH_REMINDER',
  'REGISTRATION_PROGRESS_REMINDER',
  'REGISTRATION_MESSAGE',
  'MANAGER_REPORT',
  'ADMIN_APPROVAL_REQUEST',
];

export interface NotificationTemplate {
  readonly subject: string;
  readonly body: string;
}

const COMMON = ['programName', 'recipientName'] as const;

/** Placeholders (`{{name}}`) each kind may use. */
export const TEMPLATE_PLACEHOLDERS: Readonly<Record<NotificationKind, readonly string[]>> = {
  MANAGER_REPORT: [...COMMON, 'period', 'mentorCount'],
  PREFERENCES_INVITATION: [...COMMON],
  MATCH_REQUEST: [...COMMON, 'requesterName', 'mentorName', 'menteeName', 'message', 'expiresAt'],
  REQUEST_DECLINED: [...COMMON, 'declinerName', 'mentorName', 'menteeName', 'message'],
  REQUEST_EXPIRED: [...COMMON, 'mentorName', 'menteeName'],
  MATCH_ACTIVATED: [...COMMON, 'mentorName', 'menteeName', 'mentorEmail', 'menteeEmail', 'endsAt'],
  // For an initiative's e-mails, programName is the initiative's name.
  // The links are signed one-click links, made for each recipient when the e-mail is sent (src/links/).
  REGISTRATION_SEARCH_REMINDER: [...COMMON, 'period', 'addDatesLink'],
  REGISTRATION_PROGRESS_REMINDER: [...COMMON, 'period', 'engagementDates', 'addDatesLink', 'missionEndedLink'],
  ADMIN_APPROVAL_REQUEST: [...COMMON, 'requesterName', 'mentorName', 'menteeName', 'message', 'expiresAt'],
  REGISTRATION_MESSAGE: [...COMMON, 'senderName', 'message'],
};

export const DEFAULT_TEMPLATES: Readonly<Record<NotificationKind, NotificationTemplate>> = {
  MANAGER_REPORT: {
    subject: 'Your team in mentoring programs: report for {{period}}',
    body:
      'Hello,\n\nAttached is the bi-weekly report on the {{mentorCount}} people you manage who take part in mentoring programs as ' +
      'mentors or mentees: their matching status, meetings, program and match date. Mentees\' names are not shown.\n',
  },
  PREFERENCES_INVITATION: {
    subject: 'Submit Your Mentor Preferences for {{programName}}',
    body:
      'Hello {{recipientName}},\n\nMatching has started in {{programName}}. Sign in, look through the mentors ' +
      'and request the one you would like to work with.\n',
  },
  MATCH_REQUEST: {
    subject: '{{requesterName}} would like to be matched with you in {{programName}}',
    body:
      'Hello {{recipientName}},\n\n{{requesterName}} has asked to be matched with you in {{programName}} ' +
      '(mentor: {{mentorName}}, mentee: {{menteeName}}).\n\nTheir message: {{message}}\n\n' +
      'Please approve or decline the request by {{expiresAt}}.\n',
  },
  REQUEST_DECLINED: {
    subject: 'Your match request in {{programName}} was declined',
    body:
      'Hello {{recipientName}},\n\n{{declinerName}} declined your match request in {{programName}}.\n\n' +
      'Their message: {{message}}\n\nYou can request another match.\n',
  },
  REQUEST_EXPIRED: {
    subject: 'Your match request in {{programName}} expired',
    body:
      'Hello {{recipientName}},\n\nYour request to be matched (mentor: {{mentorName}}, mentee: {{menteeName}}) ' +
      'received no answer in time and has expired. Please request someone else.\n',
  },
  MATCH_ACTIVATED: {
    subject: 'Mentorship Assignment: {{programName}}',
    body:
      'Hello {{recipientName}},\n\nYou have been matched in {{programName}}.\n\nMentor: {{mentorName}} <{{mentorEmail}}>\n' +
      'Mentee: {{menteeName}} <{{menteeEmail}}>\n\nThe match runs until {{endsAt}}.\n',
  },
  REGISTRATION_SEARCH_REMINDER: {
    subject: 'Have you found a mentee for {{programName}}?',
    body:
      'Hello {{recipientName}},\n\nYou are looking for a mentee in {{programName}}. Once you have found one, enter ' +
      'your engagement dates on your dashboard, or straight from here:\n\n{{addDatesLink}}\n',
  },
  REGISTRATION_PROGRESS_REMINDER: {
    subject: 'How is your mentoring in {{programName}} going?',
    body:
      'Hello {{recipientName}},\n\nTake a moment to reflect on your engagement in {{programName}}. Your engagement dates:\n\n' +
      '{{engagementDates}}\n\nYou can add new dates, or tell us the mission has ended, from your dashboard or straight from here:\n\n' +
      'Add new dates: {{addDatesLink}}\nThe mission has ended: {{missionEndedLink}}\n',
  },
  ADMIN_APPROVAL_REQUEST: {
    subject: 'A match request in {{programName}} waits for your approval',
    body:
      'Hello,\n\n{{requesterName}} asked for a match in {{programName}} (mentor: {{mentorName}}, mentee: {{menteeName}}), ' +
      'and the program requires an administrator\'s approval.\n\nTheir message: {{message}}\n\n' +
      'Please approve or decline it in the program\'s administration by {{expiresAt}}; after that it expires.\n',
  },
  REGISTRATION_MESSAGE: {
    subject: 'New message about {{programName}} from {{senderName}}',
    body: 'Hello {{recipientName}},\n\n{{senderName}} wrote about the registration to {{programName}}:\n\n{{message}}\n\nReply from your dashboard.\n',
  },
};

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

export const placeholdersIn = (text: string): string[] => [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);

/** Throws VALIDATION_FAILED naming the unknown placeholders and the allowed ones. */
export const validateTemplate = (kind: NotificationKind, template: NotificationTemplate): NotificationTemplate => {
  if (!NOTIFICATION_KINDS.includes(kind)) {
    throw new DomainError('VALIDATION_FAILED', `Notification kind must be one of ${NOTIFICATION_KINDS.join(', ')} (got ${kind}).`, {
      field: 'kind',
    });
  }
  const subject = template.subject.trim();
  const body = template.body;
  if (subject === '' || body.trim() === '') {
    throw new DomainError('VALIDATION_FAILED', 'A notification template needs a subject and a body.', { field: subject === '' ? 'subject' : 'body' });
  }
  if (/[\r\n]/.test(subject)) {
    throw new DomainError('VALIDATION_FAILED', 'A notification subject must be one line.', { field: 'subject' });
  }
  const allowed = TEMPLATE_PLACEHOLDERS[kind];
  const unknown = [...new Set([...placeholdersIn(subject), ...placeholdersIn(body)])].filter((name) => !allowed.includes(name));
  if (unknown.length > 0) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `Unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `{{${n}}}`).join(', ')} in the ${kind} template; ` +
        `it may use ${allowed.map((n) => `{{${n}}}`).join(', ')}.`,
      { field: 'template', unknown },
    );
  }
  return { subject, body };
};

/** Fills `{{name}}` from `values`; a placeholder without a value becomes an empty string. */
export const renderTemplate = (text: string, values: Readonly<Record<string, string>>): string =>
  // Own properties only: `{{constructor}}` must not render Object's prototype.
  text.replace(PLACEHOLDER, (_, name: string) => (Object.hasOwn(values, name) ? values[name] : undefined) ?? '');
