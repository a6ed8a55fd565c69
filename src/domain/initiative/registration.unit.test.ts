import { DeciderSpecification } from '../shared/deciderSpecification';
import { fold } from '../shared/decider';
import { userDecider, type UserEvent, type UserState } from '../user/user';
import { initiativeDecider, type InitiativeEvent } from './initiative';
import {
  decideRegisterVolunteer,
  decideSendRegistrationMessage,
  registrationDecider,
  registrationIdFor,
  validatePeriods,
  type RegistrationCommand,
  type RegistrationEvent,
  type VolunteerRegistered,
} from './registration';
import { reminderPeriod } from './reminderPeriods';

const given = DeciderSpecification.for(registrationDecider);
const R = 'reg-1';
const NOW = '2026-11-10T15:00:00.000Z';
const MANAGER = { name: 'Marc Manager', email: 'Marc.Manager@acme.example' };
const PERIODS = [{ start: '2026-11-02', end: null }];

const registered = (managerValidationRequired: boolean, timeZone = 'America/New_York'): VolunteerRegistered => ({
  type: 'VolunteerRegistered',
  data: {
    registrationId: R,
    initiativeId: 'ini-1',
    userId: 'user-v',
    volunteerName: 'Vera Volunteer',
    volunteerEmail: 'vera@acme.example',
    manager: MANAGER,
    managerValidationRequired,
    timeZone,
    registeredAt: '2026-11-01T09:00:00.000Z',
  },
});
const validated: RegistrationEvent = { type: 'RegistrationValidated', data: { registrationId: R, validatedAt: NOW } };
const datesSet = (to: 'AWAITING_MANAGER_VALIDATION' | 'IN_PROGRESS'): RegistrationEvent => ({
  type: 'EngagementDatesSet',
  data: { registrationId: R, periods: PERIODS, from: 'SEARCHING_MENTEE', to, setAt: NOW },
});
const approved: RegistrationEvent = {
  type: 'EngagementDatesApproved',
  data: { registrationId: R, managerEmail: 'marc.manager@acme.example', periods: PERIODS, approvedAt: NOW },
};
const completed: RegistrationEvent = { type: 'MissionCompleted', data: { registrationId: R, completedAt: NOW } };

/** The events that bring a registration to each status. */
const upTo = {
  APPLICATION: (v: boolean) => [registered(v)],
  SEARCHING_MENTEE: (v: boolean) => [registered(v), validated],
  AWAITING_MANAGER_VALIDATION: () => [registered(true), validated, datesSet('AWAITING_MANAGER_VALIDATION')],
  IN_PROGRESS: (v: boolean) => (v ? [registered(true), validated, datesSet('AWAITING_MANAGER_VALIDATION'), approved] : [registered(false), validated, datesSet('IN_PROGRESS')]),
  AWAITING_CONFIRMATION: (v: boolean) => [...upTo.IN_PROGRESS(v), completed],
  CONFIRMED: (v: boolean) => [
    ...upTo.AWAITING_CONFIRMATION(v),
    { type: 'ParticipationConfirmed', data: { registrationId: R, confirmedBy: 'VOLUNTEER', confirmedAt: NOW } } as RegistrationEvent,
  ],
};

const cmd = {
  validate: (): RegistrationCommand => ({ type: 'ValidateRegistration', data: { registrationId: R, now: NOW } }),
  dates: (periods: { start: string; end: string | null }[] = PERIODS, now = NOW): RegistrationCommand => ({
    type: 'SetEngagementDates',
    data: { registrationId: R, periods, now },
  }),
  approve: (managerEmail = 'marc.manager@ACME.example'): RegistrationCommand => ({
    type: 'ApproveEngagementDates',
    data: { registrationId: R, managerEmail, now: NOW },
  }),
  reject: (message = 'Those weeks are our busiest.'): RegistrationCommand => ({
    type: 'RejectEngagementDates',
    data: { registrationId: R, managerEmail: MANAGER.email, message, now: NOW },
  }),
  complete: (): RegistrationCommand => ({ type: 'CompleteMission', data: { registrationId: R, now: NOW } }),
  confirm: (confirmedBy: 'VOLUNTEER' | 'PARTNER_ORGANIZATION' = 'VOLUNTEER'): RegistrationCommand => ({
    type: 'ConfirmParticipation',
    data: { registrationId: R, confirmedBy, now: NOW },
  }),
  remind: (kind: 'MONTHLY_SEARCH' | 'QUARTERLY_PROGRESS', period: string, now = NOW): RegistrationCommand => ({
    type: 'SendRegistrationReminder',
    data: { registrationId: R, kind, period, now },
  }),
};

describe('RegisterVolunteer', () => {
  const initiative = (managerValidationRequired: boolean) =>
    fold(initiativeDecider, [
      {
        type: 'InitiativeCreated',
        data: { initiativeId: 'ini-1', name: 'Read with me', company: 'Acme', timeZone: 'Europe/Paris', managerValidationRequired },
      } satisfies InitiativeEvent,
    ]);
  const user = (manager: typeof MANAGER | null, userStatus: 'AI' | 'IW' = 'AI'): UserState =>
    fold(userDecider, [
      {
        type: 'UserRegistered',
        data: {
          userId: 'user-v',
          email: 'Vera@acme.example',
          normalizedEmail: 'vera@acme.example',
          name: 'Vera Volunteer',
          programId: 'p',
          role: 'MENTOR',
          company: 'Acme',
          manager,
          userStatus,
        },
      } satisfies UserEvent,
    ]);
  const register = (states: Parameters<typeof decideRegisterVolunteer>[1]) =>
    decideRegisterVolunteer({ type: 'RegisterVolunteer', data: { registrationId: R, initiativeId: 'ini-1', userId: 'user-v', now: NOW } }, states);
  const none = registrationDecider.initialState();

  it('copies the volunteer, their manager and the initiative’s settings into the registration', () =>
    expect(register({ registration: none, initiative: initiative(true), user: user(MANAGER) })).toEqual({
      registration: [
        {
          type: 'VolunteerRegistered',
          data: {
            registrationId: R,
            initiativeId: 'ini-1',
            userId: 'user-v',
            volunteerName: 'Vera Volunteer',
            volunteerEmail: 'Vera@acme.example',
            manager: MANAGER,
            managerValidationRequired: true,
            timeZone: 'Europe/Paris',
            registeredAt: NOW,
          },
        },
      ],
    }));
  it('refuses an unknown initiative or user', () => {
    expect(() => register({ registration: none, initiative: initiativeDecider.initialState(), user: user(MANAGER) })).toThrow('Initiative ini-1 does not exist');
    expect(() => register({ registration: none, initiative: initiative(false), user: userDecider.initialState() })).toThrow('User user-v does not exist');
  });
  it('refuses a second registration of the same volunteer to the same initiative', () =>
    expect(() => register({ registration: fold(registrationDecider, [registered(false)]), initiative: initiative(false), user: user(MANAGER) })).toThrow(
      'already registered',
    ));
  it('refuses a volunteer without a manager when the company requires manager validation, accepts them otherwise', () => {
    expect(() => register({ registration: none, initiative: initiative(true), user: user(null) })).toThrow('requires a manager');
    expect(register({ registration: none, initiative: initiative(false), user: user(null) }).registration).toHaveLength(1);
  });
  it('refuses an inactive user', () =>
    expect(() => register({ registration: none, initiative: initiative(false), user: user(MANAGER, 'IW') })).toThrow('cannot volunteer'));
  it('derives one registration id per volunteer and initiative', () => {
    expect(registrationIdFor('ini-1', 'user-v')).toBe(registrationIdFor('ini-1', 'user-v'));
    expect(registrationIdFor('ini-1', 'user-v')).not.toBe(registrationIdFor('ini-2', 'user-v'));
  });
});

describe('Application / Exchange: tasks and validation', () => {
  const assign: RegistrationCommand = { type: 'AssignTask', data: { registrationId: R, taskId: 't1', title: 'Send your CV' } };
  const assigned: RegistrationEvent = { type: 'RegistrationTaskAssigned', data: { registrationId: R, taskId: 't1', title: 'Send your CV' } };
  const done: RegistrationCommand = { type: 'CompleteTask', data: { registrationId: R, taskId: 't1' } };

  it('assigns and completes a task', () => {
    given([registered(false)]).when(assign).then([assigned]);
    given([registered(false), assigned]).when(done).then([{ type: 'RegistrationTaskCompleted', data: { registrationId: R, taskId: 't1' } }]);
  });
  it('refuses completing an unknown or completed task, and tasks after validation', () => {
    given([registered(false)]).when(done).thenThrows('NOT_FOUND');
    given([registered(false), assigned, { type: 'RegistrationTaskCompleted', data: { registrationId: R, taskId: 't1' } }]).when(done).thenThrows('ILLEGAL_TRANSITION', 'already completed');
    given(upTo.SEARCHING_MENTEE(false)).when(assign).thenThrows('ILLEGAL_TRANSITION', 'Cannot assign a task');
    given([registered(false), assigned, validated]).when(done).thenThrows('ILLEGAL_TRANSITION');
  });
  it('validates once: APPLICATION → SEARCHING_MENTEE; a second validation is refused', () => {
    given(upTo.APPLICATION(false)).when(cmd.validate()).then([validated]);
    given(upTo.SEARCHING_MENTEE(false)).when(cmd.validate()).thenThrows('ILLEGAL_TRANSITION', 'only once');
    // Sent back by the manager, the registration is searching again, still validated.
    given([...upTo.AWAITING_MANAGER_VALIDATION(), { type: 'EngagementDatesRejected', data: { registrationId: R, managerEmail: 'x', message: 'no', rejectedAt: NOW } }])
      .when(cmd.validate())
      .thenThrows('ILLEGAL_TRANSITION', 'only once');
  });
  it('refuses any command on a registration that does not exist', () => given([]).when(cmd.validate()).thenThrows('NOT_FOUND'));
});

describe('engagement dates, without manager validation', () => {
  it('go straight to IN_PROGRESS', () => given(upTo.SEARCHING_MENTEE(false)).when(cmd.dates()).then([datesSet('IN_PROGRESS')]));
  it('can be added or changed in progress with no further validation', () => {
    const more = [{ start: '2027-01-04', end: '2027-01-29' }, { start: '2026-11-02', end: '2026-12-18' }];
    given(upTo.IN_PROGRESS(false))
      .when(cmd.dates(more))
      .then([
        {
          type: 'EngagementDatesSet',
          data: { registrationId: R, periods: [more[1]!, more[0]!], from: 'IN_PROGRESS', to: 'IN_PROGRESS', setAt: NOW },
        },
      ]);
  });
  it('record nothing when unchanged', () => given(upTo.IN_PROGRESS(false)).when(cmd.dates()).then([]));
  it('are refused before validation and after completion', () => {
    given(upTo.APPLICATION(false)).when(cmd.dates()).thenThrows('ILLEGAL_TRANSITION', 'Cannot enter engagement dates');
    given(upTo.AWAITING_CONFIRMATION(false)).when(cmd.dates()).thenThrows('ILLEGAL_TRANSITION');
    given(upTo.CONFIRMED(false)).when(cmd.dates()).thenThrows('ILLEGAL_TRANSITION');
  });
  it('refuse a manager approval: there is nothing to approve', () =>
    given(upTo.IN_PROGRESS(false)).when(cmd.approve()).thenThrows('ILLEGAL_TRANSITION'));
});

describe('engagement dates, with manager validation', () => {
  it('wait for the manager', () => given(upTo.SEARCHING_MENTEE(true)).when(cmd.dates()).then([datesSet('AWAITING_MANAGER_VALIDATION')]));
  it('the volunteer’s manager approves them (e-mail compared case-insensitively): IN_PROGRESS', () =>
    given(upTo.AWAITING_MANAGER_VALIDATION()).when(cmd.approve()).then([approved]));
  it('another manager cannot approve or reject', () => {
    given(upTo.AWAITING_MANAGER_VALIDATION()).when(cmd.approve('someone.else@acme.example')).thenThrows('FORBIDDEN', 'Vera Volunteer');
  });
  it('a rejection sends the registration back to the search, with the manager’s message', () =>
    given(upTo.AWAITING_MANAGER_VALIDATION())
      .when(cmd.reject())
      .then([
        {
          type: 'EngagementDatesRejected',
          data: { registrationId: R, managerEmail: 'marc.manager@acme.example', message: 'Those weeks are our busiest.', rejectedAt: NOW },
        },
      ]));
  it('a rejection needs a message', () => given(upTo.AWAITING_MANAGER_VALIDATION()).when(cmd.reject('  ')).thenThrows('VALIDATION_FAILED'));
  it('the volunteer may correct the dates while waiting (still waiting)', () =>
    given(upTo.AWAITING_MANAGER_VALIDATION())
      .when(cmd.dates([{ start: '2026-11-09', end: null }]))
      .then([
        {
          type: 'EngagementDatesSet',
          data: {
            registrationId: R,
            periods: [{ start: '2026-11-09', end: null }],
            from: 'AWAITING_MANAGER_VALIDATION',
            to: 'AWAITING_MANAGER_VALIDATION',
            setAt: NOW,
          },
        },
      ]));
  it('once approved, dates change in progress without the manager', () =>
    given(upTo.IN_PROGRESS(true))
      .when(cmd.dates([{ start: '2026-11-02', end: '2026-12-20' }]))
      .then([
        {
          type: 'EngagementDatesSet',
          data: { registrationId: R, periods: [{ start: '2026-11-02', end: '2026-12-20' }], from: 'IN_PROGRESS', to: 'IN_PROGRESS', setAt: NOW },
        },
      ]));
  it('approval is refused when nothing waits for it', () => given(upTo.SEARCHING_MENTEE(true)).when(cmd.approve()).thenThrows('ILLEGAL_TRANSITION'));
});

describe('period validation', () => {
  it('sorts periods and refuses bad, reversed or overlapping ones', () => {
    expect(validatePeriods([{ start: '2027-01-01', end: null }, { start: '2026-01-01', end: '2026-02-01' }])).toEqual([
      { start: '2026-01-01', end: '2026-02-01' },
      { start: '2027-01-01', end: null },
    ]);
    expect(() => validatePeriods([])).toThrow('at least one');
    expect(() => validatePeriods([{ start: '2026-02-30', end: null }])).toThrow('not a date');
    expect(() => validatePeriods([{ start: '2026-03-01', end: '2026-02-01' }])).toThrow('ends before it starts');
    expect(() => validatePeriods([{ start: '2026-01-01', end: null }, { start: '2026-03-01', end: null }])).toThrow('must not overlap');
    expect(() => validatePeriods([{ start: '2026-01-01', end: '2026-03-01' }, { start: '2026-03-01', end: null }])).toThrow('must not overlap');
  });
});

describe.each([false, true])('completion and confirmation (manager validation %s)', (v) => {
  it('IN_PROGRESS → AWAITING_CONFIRMATION', () => given(upTo.IN_PROGRESS(v)).when(cmd.complete()).then([completed]));
  it('confirmation by the volunteer or by the partner organization → CONFIRMED', () => {
    given(upTo.AWAITING_CONFIRMATION(v))
      .when(cmd.confirm())
      .then([{ type: 'ParticipationConfirmed', data: { registrationId: R, confirmedBy: 'VOLUNTEER', confirmedAt: NOW } }]);
    given(upTo.AWAITING_CONFIRMATION(v))
      .when(cmd.confirm('PARTNER_ORGANIZATION'))
      .then([{ type: 'ParticipationConfirmed', data: { registrationId: R, confirmedBy: 'PARTNER_ORGANIZATION', confirmedAt: NOW } }]);
  });
  it('refuses completing outside IN_PROGRESS and confirming outside AWAITING_CONFIRMATION', () => {
    given(upTo.SEARCHING_MENTEE(v)).when(cmd.complete()).thenThrows('ILLEGAL_TRANSITION');
    given(upTo.AWAITING_CONFIRMATION(v)).when(cmd.complete()).thenThrows('ILLEGAL_TRANSITION');
    given(upTo.IN_PROGRESS(v)).when(cmd.confirm()).thenThrows('ILLEGAL_TRANSITION');
    given(upTo.CONFIRMED(v)).when(cmd.confirm('PARTNER_ORGANIZATION')).thenThrows('ILLEGAL_TRANSITION', 'Confirmed');
  });
  it('the folded state ends CONFIRMED', () => expect(fold(registrationDecider, upTo.CONFIRMED(v)).status).toBe('CONFIRMED'));
});

describe('reminders', () => {
  const sent = (kind: 'MONTHLY_SEARCH' | 'QUARTERLY_PROGRESS', period: string, engagementPeriods: typeof PERIODS = [], sentAt = NOW): RegistrationEvent => ({
    type: 'RegistrationReminderSent',
    data: { registrationId: R, initiativeId: 'ini-1', userId: 'user-v', kind, period, engagementPeriods, sentAt },
  });

  it('monthly while searching, once per month', () => {
    given(upTo.SEARCHING_MENTEE(false)).when(cmd.remind('MONTHLY_SEARCH', '2026-11')).then([sent('MONTHLY_SEARCH', '2026-11')]);
    given([...upTo.SEARCHING_MENTEE(false), sent('MONTHLY_SEARCH', '2026-11')]).when(cmd.remind('MONTHLY_SEARCH', '2026-11')).thenThrows('ALREADY_EXISTS', 'once per period');
    const december = '2026-12-01T12:00:00.000Z';
    given([...upTo.SEARCHING_MENTEE(false), sent('MONTHLY_SEARCH', '2026-11')])
      .when(cmd.remind('MONTHLY_SEARCH', '2026-12', december))
      .then([sent('MONTHLY_SEARCH', '2026-12', [], december)]);
  });
  it('quarterly in progress, carrying the engagement dates, once per quarter', () => {
    given(upTo.IN_PROGRESS(true)).when(cmd.remind('QUARTERLY_PROGRESS', '2026-Q4')).then([sent('QUARTERLY_PROGRESS', '2026-Q4', PERIODS)]);
    given([...upTo.IN_PROGRESS(true), sent('QUARTERLY_PROGRESS', '2026-Q4', PERIODS)]).when(cmd.remind('QUARTERLY_PROGRESS', '2026-Q4')).thenThrows('ALREADY_EXISTS');
  });
  it('only in the matching status', () => {
    given(upTo.APPLICATION(false)).when(cmd.remind('MONTHLY_SEARCH', '2026-11')).thenThrows('ILLEGAL_TRANSITION');
    given(upTo.IN_PROGRESS(false)).when(cmd.remind('MONTHLY_SEARCH', '2026-11')).thenThrows('ILLEGAL_TRANSITION');
    given(upTo.SEARCHING_MENTEE(false)).when(cmd.remind('QUARTERLY_PROGRESS', '2026-Q4')).thenThrows('ILLEGAL_TRANSITION');
    given(upTo.AWAITING_MANAGER_VALIDATION()).when(cmd.remind('MONTHLY_SEARCH', '2026-11')).thenThrows('ILLEGAL_TRANSITION');
    given(upTo.AWAITING_CONFIRMATION(false)).when(cmd.remind('QUARTERLY_PROGRESS', '2026-Q4')).thenThrows('ILLEGAL_TRANSITION');
  });
  it('only for the current period in the initiative’s time zone', () => {
    // 1 December 03:00 UTC is still 30 November in New York.
    const lateNovemberInNewYork = '2026-12-01T03:00:00.000Z';
    given(upTo.SEARCHING_MENTEE(false)).when(cmd.remind('MONTHLY_SEARCH', '2026-12', lateNovemberInNewYork)).thenThrows('VALIDATION_FAILED', '2026-11 in America/New_York');
    given(upTo.SEARCHING_MENTEE(false)).when(cmd.remind('MONTHLY_SEARCH', '2026-11', lateNovemberInNewYork)).then([sent('MONTHLY_SEARCH', '2026-11', [], lateNovemberInNewYork)]);
  });
});

describe('reminderPeriod', () => {
  it.each([
    ['MONTHLY_SEARCH', '2026-11-30T23:30:00.000Z', 'UTC', '2026-11'],
    ['MONTHLY_SEARCH', '2026-11-30T23:30:00.000Z', 'Europe/Paris', '2026-12'],
    ['MONTHLY_SEARCH', '2026-12-01T03:00:00.000Z', 'America/New_York', '2026-11'],
    ['QUARTERLY_PROGRESS', '2026-10-01T02:00:00.000Z', 'America/Los_Angeles', '2026-Q3'],
    ['QUARTERLY_PROGRESS', '2026-09-30T22:30:00.000Z', 'Europe/Paris', '2026-Q4'],
    ['QUARTERLY_PROGRESS', '2027-01-01T00:00:00.000Z', 'UTC', '2027-Q1'],
  ] as const)('%s at %s in %s is %s', (kind, instant, zone, period) => expect(reminderPeriod(kind, instant, zone)).toBe(period));
});

describe('SendRegistrationMessage: "must initiate a conversation with the coordinator" (seed 003)', () => {
  const initiativeWith = (coordinatorEmail?: string) =>
    fold(initiativeDecider, [
      {
        type: 'InitiativeCreated',
        data: { initiativeId: 'ini-1', name: 'Read with me', company: 'Acme', timeZone: 'Europe/Paris', managerValidationRequired: false, ...(coordinatorEmail ? { coordinatorEmail } : {}) },
      } satisfies InitiativeEvent,
    ]);
  const registration = (...events: RegistrationEvent[]) => fold(registrationDecider, [registered(false), ...events]);
  const send = (from: 'VOLUNTEER' | 'COORDINATOR', message: string, messageId = 'msg-1') =>
    ({ type: 'SendRegistrationMessage', data: { registrationId: R, messageId, from, senderId: from === 'VOLUNTEER' ? 'user-v' : 'cora', message, now: NOW } }) as const;
  const sent = (from: 'VOLUNTEER' | 'COORDINATOR', message: string, coordinatorEmail: string | null): RegistrationEvent => ({
    type: 'RegistrationMessageSent',
    data: { registrationId: R, initiativeId: 'ini-1', userId: 'user-v', messageId: 'msg-1', from, senderId: from === 'VOLUNTEER' ? 'user-v' : 'cora', message, coordinatorEmail, sentAt: NOW },
  });

  it('records the volunteer\'s message with the coordinator mailbox it goes to, from the first status on', () =>
    expect(decideSendRegistrationMessage(send('VOLUNTEER', '  Hello!\nWho do I talk to?  '), { registration: registration(), initiative: initiativeWith('team@acme.example') })).toEqual({
      registration: [sent('VOLUNTEER', 'Hello!\nWho do I talk to?', 'team@acme.example')],
    }));

  it('records the coordinator\'s answer (to the volunteer: no mailbox)', () =>
    expect(decideSendRegistrationMessage(send('COORDINATOR', 'Welcome!'), { registration: registration(validated, completed), initiative: initiativeWith('team@acme.example') })).toEqual({
      registration: [sent('COORDINATOR', 'Welcome!', null)],
    }));

  it.each([
    ['empty', '   ', 'empty'],
    ['too long', 'x'.repeat(4001), 'at most 4000'],
    ['with a control character', 'ring \u0007', 'control characters'],
  ])('refuses a message %s', (_label, message, text) =>
    expect(() => decideSendRegistrationMessage(send('VOLUNTEER', message), { registration: registration(), initiative: initiativeWith() })).toThrow(text));

  it('refuses a message id already used, and an unknown registration', () => {
    const withOne = registration(sent('VOLUNTEER', 'Hi', null));
    expect(() => decideSendRegistrationMessage(send('VOLUNTEER', 'Again'), { registration: withOne, initiative: initiativeWith() })).toThrow('already sent');
    expect(() => decideSendRegistrationMessage(send('VOLUNTEER', 'Hi'), { registration: { status: 'NOT_REGISTERED' }, initiative: initiativeWith() })).toThrow('does not exist');
  });
});
