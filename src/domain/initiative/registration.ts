import type { DomainEvent } from '../../eventstore/eventStore';
import { DomainError, assertNever, type Decider } from '../shared/decider';
import { requireText } from '../shared/validation';
import { describeUserStatus } from '../user/userStatus';
import { normalizeEmail, uuidV5 } from '../user/userId';
import type { Manager, UserState } from '../user/user';
import { requireInitiative, type InitiativeState } from './initiative';
import { isCalendarDate, reminderPeriod, type ReminderKind } from './reminderPeriods';

/**
 * A volunteer's registration to an initiative (seed 003). Stream: `registration-<id>`.
 *
 *   APPLICATION ── coordinator validates (once) ──▶ SEARCHING_MENTEE ── volunteer enters dates ──▶
 *     AWAITING_MANAGER_VALIDATION (only when the company requires it; a rejection goes back) ──▶
 *     IN_PROGRESS (dates can be added or changed, nobody validates again) ── mission completed ──▶
 *     AWAITING_CONFIRMATION ── volunteer or partner organization confirms ──▶ CONFIRMED
 */

export const registrationStream = (registrationId: string): string => `registration-${registrationId}`;

/** Fixed namespace for registration ids. Changing it would change every registration's id: never do. */
export const REGISTRATION_ID_NAMESPACE = '3c1f8a52-7d4e-4b9a-8f61-0e2d5c7a9b34';

/**
 * One registration per volunteer and initiative: its id is derived from both, so registering twice
 * (even at the same moment) targets the same stream and the store refuses the second.
 */
export const registrationIdFor = (initiativeId: string, userId: string): string =>
  uuidV5(`${initiativeId}\u0000${userId}`, REGISTRATION_ID_NAMESPACE);

export type RegistrationStatus =
  | 'APPLICATION'
  | 'SEARCHING_MENTEE'
  | 'AWAITING_MANAGER_VALIDATION'
  | 'IN_PROGRESS'
  | 'AWAITING_CONFIRMATION'
  | 'CONFIRMED';
export const REGISTRATION_STATUSES: readonly RegistrationStatus[] = [
  'APPLICATION',
  'SEARCHING_MENTEE',
  'AWAITING_MANAGER_VALIDATION',
  'IN_PROGRESS',
  'AWAITING_CONFIRMATION',
  'CONFIRMED',
];
/** As the seed names them. */
export const REGISTRATION_STATUS_LABELS: Readonly<Record<RegistrationStatus, string>> = {
  APPLICATION: 'Application / Exchange',
  SEARCHING_MENTEE: 'Search for a mentee',
  AWAITING_MANAGER_VALIDATION: 'Waiting for manager validation',
  IN_PROGRESS: 'In progress',
  // The seed's "Awaiting confirmation(mission completed!)", with the space its layout lost.
  AWAITING_CONFIRMATION: 'Awaiting confirmation (mission completed!)',
  CONFIRMED: 'Confirmed',
};

/** Statuses whose engagement dates count (the participation dates export lists them). */
export const STATUSES_WITH_ENGAGEMENT: readonly RegistrationStatus[] = [
  'AWAITING_MANAGER_VALIDATION',
  'IN_PROGRESS',
  'AWAITING_CONFIRMATION',
  'CONFIRMED',
];

export type ConfirmingParty = 'VOLUNTEER' | 'PARTNER_ORGANIZATION';
export const CONFIRMING_PARTIES: readonly ConfirmingParty[] = ['VOLUNTEER', 'PARTNER_ORGANIZATION'];

/** Days as YYYY-MM-DD in the initiative's calendar; `end: null` while the engagement goes on. */
export interface EngagementPeriod {
  readonly start: string;
  readonly end: string | null;
}

export const MAX_ENGAGEMENT_PERIODS = 50;

/** The reminder kind each status gets. */
export const REMINDER_STATUS: Readonly<Record<ReminderKind, RegistrationStatus>> = {
  MONTHLY_SEARCH: 'SEARCHING_MENTEE',
  QUARTERLY_PROGRESS: 'IN_PROGRESS',
};

// ---------------------------------------------------------------------------------------------
// Commands

export type RegisterVolunteer = {
  readonly type: 'RegisterVolunteer';
  readonly data: { readonly registrationId: string; readonly initiativeId: string; readonly userId: string; readonly now: string };
};
export type AssignTask = {
  readonly type: 'AssignTask';
  readonly data: { readonly registrationId: string; readonly taskId: string; readonly title: string };
};
export type CompleteTask = { readonly type: 'CompleteTask'; readonly data: { readonly registrationId: string; readonly taskId: string } };
export type ValidateRegistration = { readonly type: 'ValidateRegistration'; readonly data: { readonly registrationId: string; readonly now: string } };
/** The whole list of periods: adding one or changing one sends them all. */
export type SetEngagementDates = {
  readonly type: 'SetEngagementDates';
  readonly data: { readonly registrationId: string; readonly periods: readonly EngagementPeriod[]; readonly now: string };
};
/** `managerEmail`: who is approving (the token's subject); it must be the volunteer's manager. */
export type ApproveEngagementDates = {
  readonly type: 'ApproveEngagementDates';
  readonly data: { readonly registrationId: string; readonly managerEmail: string; readonly now: string };
};
export type RejectEngagementDates = {
  readonly type: 'RejectEngagementDates';
  readonly data: { readonly registrationId: string; readonly managerEmail: string; readonly message: string; readonly now: string };
};
export type CompleteMission = { readonly type: 'CompleteMission'; readonly data: { readonly registrationId: string; readonly now: string } };
export type ConfirmParticipation = {
  readonly type: 'ConfirmParticipation';
  readonly data: { readonly registrationId: string; readonly confirmedBy: ConfirmingParty; readonly now: string };
};
/** `period`: the month ("2026-11") or quarter ("2026-Q4") of `now` in the initiative's time zone. */
export type SendRegistrationReminder = {
  readonly type: 'SendRegistrationReminder';
  readonly data: { readonly registrationId: string; readonly kind: ReminderKind; readonly period: string; readonly now: string };
};

/** Commands on the registration stream alone (RegisterVolunteer also reads the initiative and the user). */
export type RegistrationCommand =
  | AssignTask
  | CompleteTask
  | ValidateRegistration
  | SetEngagementDates
  | ApproveEngagementDates
  | RejectEngagementDates
  | CompleteMission
  | ConfirmParticipation
  | SendRegistrationReminder;

// ---------------------------------------------------------------------------------------------
// Events

export type VolunteerRegistered = DomainEvent<
  'VolunteerRegistered',
  {
    readonly registrationId: string;
    readonly initiativeId: string;
    readonly userId: string;
    /** Copied from the user, so that the registration and its exports never depend on another stream. */
    readonly volunteerName: string;
    readonly volunteerEmail: string;
    readonly manager: Manager | null;
    /** The initiative's settings when the volunteer registered. */
    readonly managerValidationRequired: boolean;
    readonly timeZone: string;
    readonly registeredAt: string;
  }
>;
export type RegistrationTaskAssigned = DomainEvent<
  'RegistrationTaskAssigned',
  { readonly registrationId: string; readonly taskId: string; readonly title: string }
>;
export type RegistrationTaskCompleted = DomainEvent<'RegistrationTaskCompleted', { readonly registrationId: string; readonly taskId: string }>;
export type RegistrationValidated = DomainEvent<'RegistrationValidated', { readonly registrationId: string; readonly validatedAt: string }>;
export type EngagementDatesSet = DomainEvent<
  'EngagementDatesSet',
  {
    readonly registrationId: string;
    /** Sorted by start. */
    readonly periods: readonly EngagementPeriod[];
    readonly from: RegistrationStatus;
    readonly to: RegistrationStatus;
    readonly setAt: string;
  }
>;
export type EngagementDatesApproved = DomainEvent<
  'EngagementDatesApproved',
  { readonly registrationId: string; readonly managerEmail: string; readonly periods: readonly EngagementPeriod[]; readonly approvedAt: string }
>;
/** Back to SEARCHING_MENTEE; the dates stay as entered, for the volunteer to correct. */
export type EngagementDatesRejected = DomainEvent<
  'EngagementDatesRejected',
  { readonly registrationId: string; readonly managerEmail: string; readonly message: string; readonly rejectedAt: string }
>;
export type MissionCompleted = DomainEvent<'MissionCompleted', { readonly registrationId: string; readonly completedAt: string }>;
export type ParticipationConfirmed = DomainEvent<
  'ParticipationConfirmed',
  { readonly registrationId: string; readonly confirmedBy: ConfirmingParty; readonly confirmedAt: string }
>;
export type RegistrationReminderSent = DomainEvent<
  'RegistrationReminderSent',
  {
    readonly registrationId: string;
    readonly initiativeId: string;
    /** The volunteer, who receives it. */
    readonly userId: string;
    readonly kind: ReminderKind;
    readonly period: string;
    /** The summary the quarterly reminder shows (empty for the monthly one). */
    readonly engagementPeriods: readonly EngagementPeriod[];
    readonly sentAt: string;
  }
>;

/** Who writes in a registration's conversation: the volunteer, or the initiative's staff (coordinators, admins). */
export type MessageParty = 'VOLUNTEER' | 'COORDINATOR';
export const MESSAGE_PARTIES: readonly MessageParty[] = ['VOLUNTEER', 'COORDINATOR'];
export const MAX_MESSAGE_LENGTH = 4000;

/**
 * "The volunteer has signed up for the initiative and must initiate a conversation with the
 * coordinator" (seed 003): one message of that conversation. `message` (and the coordinator's
 * address it is e-mailed to) is personal data of the registration (personalData.ts).
 */
export type RegistrationMessageSent = DomainEvent<
  'RegistrationMessageSent',
  {
    readonly registrationId: string;
    readonly initiativeId: string;
    /** The volunteer. */
    readonly userId: string;
    readonly messageId: string;
    readonly from: MessageParty;
    /** The sender's token subject (the volunteer's user id, or the coordinator's). */
    readonly senderId: string;
    readonly message: string;
    /** The initiative's coordinator address when the volunteer wrote (their e-mail goes there); null otherwise. */
    readonly coordinatorEmail: string | null;
    readonly sentAt: string;
  }
>;

export type RegistrationEvent =
  | RegistrationMessageSent
  | VolunteerRegistered
  | RegistrationTaskAssigned
  | RegistrationTaskCompleted
  | RegistrationValidated
  | EngagementDatesSet
  | EngagementDatesApproved
  | EngagementDatesRejected
  | MissionCompleted
  | ParticipationConfirmed
  | RegistrationReminderSent;

export const REGISTRATION_EVENT_TYPES = [
  'VolunteerRegistered',
  'RegistrationTaskAssigned',
  'RegistrationTaskCompleted',
  'RegistrationValidated',
  'EngagementDatesSet',
  'EngagementDatesApproved',
  'EngagementDatesRejected',
  'MissionCompleted',
  'ParticipationConfirmed',
  'RegistrationReminderSent',
  'RegistrationMessageSent',
] as const satisfies readonly RegistrationEvent['type'][];

// ---------------------------------------------------------------------------------------------
// State

export interface RegistrationTask {
  readonly taskId: string;
  readonly title: string;
  readonly completed: boolean;
}

export interface Registration {
  readonly status: RegistrationStatus;
  readonly registrationId: string;
  readonly initiativeId: string;
  readonly userId: string;
  readonly volunteerName: string;
  readonly volunteerEmail: string;
  readonly manager: Manager | null;
  readonly managerValidationRequired: boolean;
  readonly timeZone: string;
  readonly tasks: readonly RegistrationTask[];
  readonly validated: boolean;
  readonly periods: readonly EngagementPeriod[];
  readonly confirmedBy: ConfirmingParty | null;
  /** `${kind}:${period}` of every reminder sent. */
  readonly remindersSent: readonly string[];
  readonly messageIds: readonly string[];
}

export type RegistrationState = { readonly status: 'NOT_REGISTERED' } | Registration;

// ---------------------------------------------------------------------------------------------
// Rules

const reminderKey = (kind: ReminderKind, period: string) => `${kind}:${period}`;

export const requireRegistration = (state: RegistrationState, registrationId: string): Registration => {
  if (state.status === 'NOT_REGISTERED') {
    throw new DomainError('NOT_FOUND', `Registration ${registrationId} does not exist.`, { registrationId });
  }
  return state;
};

const illegal = (registration: Registration, action: string, allowed: readonly RegistrationStatus[]): DomainError =>
  new DomainError(
    'ILLEGAL_TRANSITION',
    `Cannot ${action}: the registration is "${REGISTRATION_STATUS_LABELS[registration.status]}"; this is possible only in ` +
      `${allowed.map((status) => `"${REGISTRATION_STATUS_LABELS[status]}"`).join(' or ')}.`,
    { registrationId: registration.registrationId, status: registration.status, allowed },
  );

const requireStatus = (registration: Registration, action: string, ...allowed: RegistrationStatus[]): void => {
  if (!allowed.includes(registration.status)) throw illegal(registration, action, allowed);
};

/** Sorted by start, each a real day, ending on or after it starts; at least one. */
export const validatePeriods = (periods: readonly EngagementPeriod[]): EngagementPeriod[] => {
  if (periods.length === 0) {
    throw new DomainError('VALIDATION_FAILED', 'Give at least one engagement period (a start date, and an end date once known).', { field: 'periods' });
  }
  if (periods.length > MAX_ENGAGEMENT_PERIODS) {
    throw new DomainError('VALIDATION_FAILED', `A registration has at most ${MAX_ENGAGEMENT_PERIODS} engagement periods (got ${periods.length}).`, {
      field: 'periods',
    });
  }
  const cleaned = periods.map((period, index) => {
    const start = period.start.trim();
    const end = period.end === null ? null : period.end.trim();
    if (!isCalendarDate(start)) {
      throw new DomainError('VALIDATION_FAILED', `Start date "${period.start}" is not a date like 2026-11-02.`, { field: `periods.${index}.start` });
    }
    if (end !== null && !isCalendarDate(end)) {
      throw new DomainError('VALIDATION_FAILED', `End date "${period.end}" is not a date like 2026-11-02.`, { field: `periods.${index}.end` });
    }
    if (end !== null && end < start) {
      throw new DomainError('VALIDATION_FAILED', `The period starting ${start} ends before it starts (${end}).`, { field: `periods.${index}.end` });
    }
    return { start, end };
  });
  cleaned.sort((a, b) => a.start.localeCompare(b.start) || (a.end ?? '9999').localeCompare(b.end ?? '9999'));
  cleaned.forEach((period, index) => {
    const next = cleaned[index + 1];
    // Periods may not overlap: each is one stretch of engagement, and an open-ended one must be the last.
    if (next && (period.end === null || period.end >= next.start)) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `Engagement periods must not overlap: the one starting ${period.start} ${period.end === null ? 'has no end' : `ends ${period.end}`} and another starts ${next.start}.`,
        { field: 'periods' },
      );
    }
  });
  return cleaned;
};

const samePeriods = (a: readonly EngagementPeriod[], b: readonly EngagementPeriod[]) => JSON.stringify(a) === JSON.stringify(b);

/** Streams: `registration` = registrationStream(registrationIdFor(initiativeId, userId)), the initiative's, the user's. */
export const decideRegisterVolunteer = (
  command: RegisterVolunteer,
  states: { readonly registration: RegistrationState; readonly initiative: InitiativeState; readonly user: UserState },
): { readonly registration: readonly RegistrationEvent[] } => {
  const { registrationId, initiativeId, userId, now } = command.data;
  const initiative = requireInitiative(states.initiative, initiativeId);
  if (states.user.status !== 'REGISTERED') throw new DomainError('NOT_FOUND', `User ${userId} does not exist.`, { userId });
  const user = states.user;
  if (states.registration.status !== 'NOT_REGISTERED') {
    throw new DomainError(
      'ALREADY_EXISTS',
      `${user.name} is already registered to initiative "${initiative.name}" (status "${REGISTRATION_STATUS_LABELS[states.registration.status]}").`,
      { registrationId, status: states.registration.status },
    );
  }
  if (user.userStatus === 'IW' || user.userStatus === 'IR' || user.userStatus === 'ID') {
    throw new DomainError('RULE_VIOLATED', `${user.name} is ${describeUserStatus(user.userStatus)} and cannot volunteer.`, {
      userId,
      userStatus: user.userStatus,
    });
  }
  if (initiative.managerValidationRequired && user.manager === null) {
    throw new DomainError(
      'RULE_VIOLATED',
      `${initiative.company} requires a manager to approve engagement dates, and no manager is known for ${user.name}; add one to their profile first.`,
      { userId, initiativeId },
    );
  }
  return {
    registration: [
      {
        type: 'VolunteerRegistered',
        data: {
          registrationId,
          initiativeId,
          userId,
          volunteerName: user.name,
          volunteerEmail: user.email,
          manager: user.manager,
          managerValidationRequired: initiative.managerValidationRequired,
          timeZone: initiative.timeZone,
          registeredAt: now,
        },
      },
    ],
  };
};

const decide = (command: RegistrationCommand, state: RegistrationState): RegistrationEvent[] => {
  const { registrationId } = command.data;
  const registration = requireRegistration(state, registrationId);
  switch (command.type) {
    case 'AssignTask': {
      requireStatus(registration, 'assign a task', 'APPLICATION');
      const title = requireText('Task title', command.data.title);
      if (registration.tasks.some((task) => task.taskId === command.data.taskId)) {
        throw new DomainError('ALREADY_EXISTS', `Task ${command.data.taskId} is already assigned.`, { taskId: command.data.taskId });
      }
      return [{ type: 'RegistrationTaskAssigned', data: { registrationId, taskId: command.data.taskId, title } }];
    }
    case 'CompleteTask': {
      requireStatus(registration, 'complete a task', 'APPLICATION');
      const task = registration.tasks.find((candidate) => candidate.taskId === command.data.taskId);
      if (!task) throw new DomainError('NOT_FOUND', `Task ${command.data.taskId} is not assigned to this registration.`, { taskId: command.data.taskId });
      if (task.completed) throw new DomainError('ILLEGAL_TRANSITION', `Task "${task.title}" is already completed.`, { taskId: task.taskId });
      return [{ type: 'RegistrationTaskCompleted', data: { registrationId, taskId: task.taskId } }];
    }
    case 'ValidateRegistration':
      if (registration.validated) {
        throw new DomainError('ILLEGAL_TRANSITION', 'This application has already been validated; a coordinator validates it only once.', {
          registrationId,
          status: registration.status,
        });
      }
      requireStatus(registration, 'validate the application', 'APPLICATION');
      return [{ type: 'RegistrationValidated', data: { registrationId, validatedAt: command.data.now } }];
    case 'SetEngagementDates': {
      requireStatus(registration, 'enter engagement dates', 'SEARCHING_MENTEE', 'AWAITING_MANAGER_VALIDATION', 'IN_PROGRESS');
      const periods = validatePeriods(command.data.periods);
      const from = registration.status;
      // Once validated, dates added or changed in progress need nobody's approval again.
      const to: RegistrationStatus =
        from === 'SEARCHING_MENTEE' ? (registration.managerValidationRequired ? 'AWAITING_MANAGER_VALIDATION' : 'IN_PROGRESS') : from;
      if (from === to && samePeriods(periods, registration.periods)) return [];
      return [{ type: 'EngagementDatesSet', data: { registrationId, periods, from, to, setAt: command.data.now } }];
    }
    case 'ApproveEngagementDates':
    case 'RejectEngagementDates': {
      const action = command.type === 'ApproveEngagementDates' ? 'approve the engagement dates' : 'reject the engagement dates';
      requireStatus(registration, action, 'AWAITING_MANAGER_VALIDATION');
      const managerEmail = normalizeEmail(command.data.managerEmail);
      if (registration.manager === null || normalizeEmail(registration.manager.email) !== managerEmail) {
        throw new DomainError('FORBIDDEN', `Only ${registration.volunteerName}'s manager can ${action}.`, { registrationId });
      }
      if (command.type === 'ApproveEngagementDates') {
        return [{ type: 'EngagementDatesApproved', data: { registrationId, managerEmail, periods: registration.periods, approvedAt: command.data.now } }];
      }
      const message = requireText('Message to the volunteer', command.data.message);
      return [{ type: 'EngagementDatesRejected', data: { registrationId, managerEmail, message, rejectedAt: command.data.now } }];
    }
    case 'CompleteMission':
      requireStatus(registration, 'mark the mission completed', 'IN_PROGRESS');
      return [{ type: 'MissionCompleted', data: { registrationId, completedAt: command.data.now } }];
    case 'ConfirmParticipation': {
      const { confirmedBy } = command.data;
      if (!CONFIRMING_PARTIES.includes(confirmedBy)) {
        throw new DomainError('VALIDATION_FAILED', `Confirmed by must be one of ${CONFIRMING_PARTIES.join(', ')} (got ${confirmedBy}).`, {
          field: 'confirmedBy',
        });
      }
      requireStatus(registration, 'confirm the participation', 'AWAITING_CONFIRMATION');
      return [{ type: 'ParticipationConfirmed', data: { registrationId, confirmedBy, confirmedAt: command.data.now } }];
    }
    case 'SendRegistrationReminder': {
      const { kind, period, now } = command.data;
      const status = REMINDER_STATUS[kind];
      if (status === undefined) {
        throw new DomainError('VALIDATION_FAILED', `Reminder kind must be MONTHLY_SEARCH or QUARTERLY_PROGRESS (got ${kind}).`, { field: 'kind' });
      }
      requireStatus(registration, `send the ${kind === 'MONTHLY_SEARCH' ? 'monthly' : 'quarterly'} reminder`, status);
      const current = reminderPeriod(kind, now, registration.timeZone);
      if (period !== current) {
        throw new DomainError('VALIDATION_FAILED', `Reminders go out for the current period, ${current} in ${registration.timeZone} (got ${period}).`, {
          field: 'period',
          current,
        });
      }
      if (registration.remindersSent.includes(reminderKey(kind, period))) {
        throw new DomainError('ALREADY_EXISTS', `The ${kind} reminder for ${period} was already sent; it goes out once per period.`, {
          registrationId,
          kind,
          period,
        });
      }
      return [
        {
          type: 'RegistrationReminderSent',
          data: {
            registrationId,
            initiativeId: registration.initiativeId,
            userId: registration.userId,
            kind,
            period,
            engagementPeriods: kind === 'QUARTERLY_PROGRESS' ? registration.periods : [],
            sentAt: now,
          },
        },
      ];
    }
    default:
      return assertNever(command);
  }
};

const evolve = (state: RegistrationState, event: RegistrationEvent): RegistrationState => {
  if (event.type === 'VolunteerRegistered') {
    if (state.status !== 'NOT_REGISTERED') return state;
    const { registeredAt: _registeredAt, ...data } = event.data;
    return { ...data, status: 'APPLICATION', tasks: [], validated: false, periods: [], confirmedBy: null, remindersSent: [], messageIds: [] };
  }
  if (state.status === 'NOT_REGISTERED') return state;
  switch (event.type) {
    case 'RegistrationTaskAssigned':
      return { ...state, tasks: [...state.tasks, { taskId: event.data.taskId, title: event.data.title, completed: false }] };
    case 'RegistrationTaskCompleted':
      return { ...state, tasks: state.tasks.map((task) => (task.taskId === event.data.taskId ? { ...task, completed: true } : task)) };
    case 'RegistrationValidated':
      return { ...state, status: 'SEARCHING_MENTEE', validated: true };
    case 'EngagementDatesSet':
      return { ...state, status: event.data.to, periods: event.data.periods };
    case 'EngagementDatesApproved':
      return { ...state, status: 'IN_PROGRESS' };
    case 'EngagementDatesRejected':
      return { ...state, status: 'SEARCHING_MENTEE' };
    case 'MissionCompleted':
      return { ...state, status: 'AWAITING_CONFIRMATION' };
    case 'ParticipationConfirmed':
      return { ...state, status: 'CONFIRMED', confirmedBy: event.data.confirmedBy };
    case 'RegistrationReminderSent':
      return { ...state, remindersSent: [...state.remindersSent, reminderKey(event.data.kind, event.data.period)] };
    case 'RegistrationMessageSent':
      return { ...state, messageIds: [...state.messageIds, event.data.messageId] };
    default:
      return state;
  }
};

export const registrationDecider: Decider<RegistrationCommand, RegistrationState, RegistrationEvent> = {
  initialState: () => ({ status: 'NOT_REGISTERED' }),
  evolve,
  decide,
};

// ---------------------------------------------------------------------------------------------
// The conversation between the volunteer and the coordinator (reads the initiative too)

export type SendRegistrationMessage = {
  readonly type: 'SendRegistrationMessage';
  readonly data: {
    readonly registrationId: string;
    readonly messageId: string;
    readonly from: MessageParty;
    readonly senderId: string;
    readonly message: string;
    readonly now: string;
  };
};

/** Letters, digits, punctuation, line breaks and tabs; no other control character. */
const MESSAGE_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/**
 * Streams: `registration`, `initiative` (read for the coordinator's address). Possible at every
 * status, from the first day ("Application / Exchange") to after the confirmation: the conversation
 * is how the volunteer reaches the coordinator. Who may send as which party is the API's check.
 */
export const decideSendRegistrationMessage = (
  command: SendRegistrationMessage,
  states: { readonly registration: RegistrationState; readonly initiative: InitiativeState },
): { readonly registration: readonly RegistrationEvent[] } => {
  const { registrationId, messageId, from, senderId, now } = command.data;
  const registration = requireRegistration(states.registration, registrationId);
  const initiative = requireInitiative(states.initiative, registration.initiativeId);
  if (!MESSAGE_PARTIES.includes(from)) {
    throw new DomainError('VALIDATION_FAILED', `A message is from VOLUNTEER or COORDINATOR (got ${from}).`, { field: 'from' });
  }
  const message = (command.data.message ?? '').trim();
  if (message === '') {
    throw new DomainError('VALIDATION_FAILED', 'Write a message: it is empty.', { field: 'message' });
  }
  if (message.length > MAX_MESSAGE_LENGTH) {
    throw new DomainError('VALIDATION_FAILED', `A message has at most ${MAX_MESSAGE_LENGTH} characters (got ${message.length}); split it in two.`, {
      field: 'message',
    });
  }
  if (MESSAGE_CONTROL.test(message)) {
    throw new DomainError('VALIDATION_FAILED', 'A message must not contain control characters (line breaks and tabs are fine).', { field: 'message' });
  }
  if (registration.messageIds.includes(messageId)) {
    throw new DomainError('ALREADY_EXISTS', `Message ${messageId} was already sent on this registration.`, { messageId });
  }
  return {
    registration: [
      {
        type: 'RegistrationMessageSent',
        data: {
          registrationId,
          initiativeId: registration.initiativeId,
          userId: registration.userId,
          messageId: requireText('Message id', messageId),
          from,
          senderId: requireText('Sender', senderId),
          message,
          coordinatorEmail: from === 'VOLUNTEER' ? (initiative.coordinatorEmail ?? null) : null,
          sentAt: now,
        },
      },
    ],
  };
};
