import { DeciderSpecification } from '../shared/deciderSpecification';
import { fold } from '../shared/decider';
import { programCreated } from '../shared/testEvents';
import { DEFAULT_TEMPLATES, type NotificationKind, type NotificationTemplate } from '../notification/templates';
import {
  DEFAULT_CLOSURE_REASONS,
  DEFAULT_PROGRAM_SETTINGS,
  canonicalTimeZone,
  findClosureReason,
  programDecider,
  type Program,
  type ProgramCommand,
  type ProgramSettings,
} from './program';

const given = DeciderSpecification.for(programDecider);
const P = 'prog-2025';
const create = (data: Partial<Extract<ProgramCommand, { type: 'CreateProgram' }>['data']> = {}): ProgramCommand => ({
  type: 'CreateProgram',
  data: { programId: P, name: 'Brooklyn 2025', timeZone: 'America/New_York', ...data },
});

describe('CreateProgram', () => {
  it('creates a program with default settings and closure reasons', () =>
    given([]).when(create()).then([
      {
        type: 'ProgramCreated',
        data: {
          programId: P,
          name: 'Brooklyn 2025',
          timeZone: 'America/New_York',
          settings: DEFAULT_PROGRAM_SETTINGS,
          partnerSites: [],
          mentorSiteLists: [],
          closureReasons: ['Program year ended', 'Mentor withdrew', 'Mentee withdrew', 'Scheduling conflict', 'Poor match fit', 'Other'],
        },
      },
    ]));

  it('takes settings, sites and extra closure reasons, and spells the time zone canonically', () =>
    given([])
      .when(
        create({
          timeZone: 'europe/paris',
          settings: { matchingEnabled: true, matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR', 'ADMIN'], matchingCriteria: [{ criterion: 'Industry', weight: 2 }] },
          partnerSites: [{ id: 'site-1', name: ' PS 321 ' }],
          mentorSiteLists: [{ id: 'list-1', name: 'Acme mentors' }],
          extraClosureReasons: ['Moved away', 'other'],
        }),
      )
      .then([
        {
          type: 'ProgramCreated',
          data: {
            programId: P,
            name: 'Brooklyn 2025',
            timeZone: 'Europe/Paris',
            settings: {
              ...DEFAULT_PROGRAM_SETTINGS,
              matchingEnabled: true,
              matchingProcess: 'USER_LED_WITH_APPROVAL',
              requiredApprovals: ['MENTOR', 'ADMIN'],
              matchingCriteria: [{ criterion: 'Industry', weight: 2 }],
            },
            partnerSites: [{ id: 'site-1', name: 'PS 321' }],
            mentorSiteLists: [{ id: 'list-1', name: 'Acme mentors' }],
            closureReasons: [...DEFAULT_CLOSURE_REASONS, 'Moved away'],
          },
        },
      ]));

  it('refuses a program id already used', () => given([programCreated()]).when(create()).thenThrows('ALREADY_EXISTS', P));
  it.each(['Mars/Olympus_Mons', '+01:00', 'GMT+1', ''])('refuses the time zone "%s"', (timeZone) =>
    given([]).when(create({ timeZone })).thenThrows('VALIDATION_FAILED', 'is not an IANA time zone'));
  it('refuses an empty name', () => given([]).when(create({ name: ' ' })).thenThrows('VALIDATION_FAILED', 'Program name'));
  it('refuses an unknown matching process', () =>
    given([]).when(create({ settings: { matchingProcess: 'RANDOM' as ProgramSettings['matchingProcess'] } })).thenThrows('VALIDATION_FAILED', 'Matching process'));
  it('refuses approval without an approving party', () =>
    given([]).when(create({ settings: { matchingProcess: 'USER_LED_WITH_APPROVAL' } })).thenThrows('VALIDATION_FAILED', 'at least one approving party'));
  it('refuses the same approving party twice', () =>
    given([]).when(create({ settings: { requiredApprovals: ['ADMIN', 'ADMIN'] } })).thenThrows('VALIDATION_FAILED', 'distinct'));
  it.each([0, -1, 1.5])('refuses a match duration of %s months', (matchDurationMonths) =>
    given([]).when(create({ settings: { matchDurationMonths } })).thenThrows('VALIDATION_FAILED', 'Match duration'));
  it('refuses a request expiry of 0 days', () =>
    given([]).when(create({ settings: { requestExpiryBusinessDays: 0 } })).thenThrows('VALIDATION_FAILED', 'Request expiry'));
  it('refuses a negative criterion weight', () =>
    given([]).when(create({ settings: { matchingCriteria: [{ criterion: 'Industry', weight: -1 }] } })).thenThrows('VALIDATION_FAILED', 'Industry'));
  it('refuses a criterion listed twice', () =>
    given([])
      .when(create({ settings: { matchingCriteria: [{ criterion: 'Industry', weight: 1 }, { criterion: 'industry', weight: 2 }] } }))
      .thenThrows('VALIDATION_FAILED', 'only once'));
  it('refuses a partner site listed twice', () =>
    given([]).when(create({ partnerSites: [{ id: 's1', name: 'A' }, { id: 's2', name: 'a' }] })).thenThrows('VALIDATION_FAILED', 'listed twice'));
});

describe('commands on a program that does not exist', () => {
  it.each<ProgramCommand>([
    { type: 'TurnMatchingOn', data: { programId: P } },
    { type: 'TurnMatchingOff', data: { programId: P } },
    { type: 'ChangeProgramSettings', data: { programId: P, settings: {} } },
    { type: 'AddClosureReason', data: { programId: P, closureReason: 'Moved away' } },
    { type: 'AddPartnerSite', data: { programId: P, partnerSite: { id: 's', name: 'S' } } },
    { type: 'AddMentorSiteList', data: { programId: P, mentorSiteList: { id: 'l', name: 'L' } } },
    { type: 'SetNotificationTemplate', data: { programId: P, kind: 'MATCH_REQUEST', template: null } },
  ])('$type is refused with NOT_FOUND', (command) => given([]).when(command).thenThrows('NOT_FOUND', P));
});

describe('matching on and off', () => {
  const off = [programCreated({ settings: DEFAULT_PROGRAM_SETTINGS })];
  it('turns matching on', () => given(off).when({ type: 'TurnMatchingOn', data: { programId: P } }).then([{ type: 'MatchingTurnedOn', data: { programId: P } }]));
  it('turns matching off', () => given([programCreated()]).when({ type: 'TurnMatchingOff', data: { programId: P } }).then([{ type: 'MatchingTurnedOff', data: { programId: P } }]));
  it('refuses turning on twice', () => given([programCreated()]).when({ type: 'TurnMatchingOn', data: { programId: P } }).thenThrows('ILLEGAL_TRANSITION', 'already on'));
  it('refuses turning off twice', () => given(off).when({ type: 'TurnMatchingOff', data: { programId: P } }).thenThrows('ILLEGAL_TRANSITION', 'already off'));
  it('folds the switch', () => {
    const state = fold(programDecider, [...off, { type: 'MatchingTurnedOn', data: { programId: P } }]) as Program;
    expect(state.settings.matchingEnabled).toBe(true);
  });
});

describe('ChangeProgramSettings', () => {
  it('records the settings before and after', () =>
    given([programCreated()])
      .when({ type: 'ChangeProgramSettings', data: { programId: P, settings: { matchDurationMonths: 9 } } })
      .then([
        {
          type: 'ProgramSettingsChanged',
          data: {
            programId: P,
            from: { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true },
            to: { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true, matchDurationMonths: 9 },
            changed: ['matchDurationMonths'],
          },
        },
      ]));
  it('cannot switch matching (that has its own commands)', () =>
    given([programCreated()])
      .when({ type: 'ChangeProgramSettings', data: { programId: P, settings: { matchingEnabled: false } as never } })
      .then([]));
  it('records nothing when nothing changes', () =>
    given([programCreated()]).when({ type: 'ChangeProgramSettings', data: { programId: P, settings: { matchDurationMonths: 6 } } }).then([]));
  it('validates the result', () =>
    given([programCreated()])
      .when({ type: 'ChangeProgramSettings', data: { programId: P, settings: { requestExpiryBusinessDays: -3 } } })
      .thenThrows('VALIDATION_FAILED', 'Request expiry'));
});

describe('ChangeProgramSettings: every setting of issue 18', () => {
  const on = { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true };
  const change = (settings: Record<string, unknown>, timeZone?: string): ProgramCommand => ({
    type: 'ChangeProgramSettings',
    data: { programId: P, settings: settings as never, ...(timeZone !== undefined ? { timeZone } : {}) },
  });

  it('changes process, approvals, expiry, duration, capacity, health thresholds, holidays and closed days in one event naming each', () =>
    given([programCreated()])
      .when(
        change({
          matchingProcess: 'USER_LED_WITH_APPROVAL',
          requiredApprovals: ['MENTOR', 'ADMIN'],
          requestExpiryBusinessDays: 5,
          matchDurationMonths: 9,
          mentorCapacity: 2,
          checkInAfterWeeks: 3,
          missedInARow: 3,
          holidayCountry: 'us',
          holidayRegion: 'ny',
          closedDays: ['2026-12-31', '2026-12-24', '2026-12-24'],
        }),
      )
      .then([
        {
          type: 'ProgramSettingsChanged',
          data: {
            programId: P,
            from: on,
            to: {
              ...on,
              matchingProcess: 'USER_LED_WITH_APPROVAL',
              requiredApprovals: ['MENTOR', 'ADMIN'],
              requestExpiryBusinessDays: 5,
              matchDurationMonths: 9,
              mentorCapacity: 2,
              checkInAfterWeeks: 3,
              missedInARow: 3,
              holidayCountry: 'US',
              holidayRegion: 'NY',
              closedDays: ['2026-12-24', '2026-12-31'],
            },
            changed: [
              'matchingProcess',
              'requiredApprovals',
              'matchDurationMonths',
              'requestExpiryBusinessDays',
              'mentorCapacity',
              'checkInAfterWeeks',
              'missedInARow',
              'holidayCountry',
              'holidayRegion',
              'closedDays',
            ],
          },
        },
      ]));

  it('changes the time zone with an event of its own, in its canonical spelling', () =>
    given([programCreated()])
      .when(change({}, 'europe/paris'))
      .then([{ type: 'ProgramTimeZoneChanged', data: { programId: P, from: 'America/New_York', to: 'Europe/Paris' } }]));
  it('records nothing for the time zone it already has', () => given([programCreated()]).when(change({}, 'America/New_York')).then([]));
  it('refuses a time zone it does not know', () =>
    given([programCreated()]).when(change({}, 'Mars/Olympus')).thenThrows('VALIDATION_FAILED', 'not an IANA time zone'));

  it.each<[string, Record<string, unknown>, string]>([
    ['with approval but nobody to approve', { matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: [] }, 'at least one approving party'],
    ['an approving party twice', { requiredApprovals: ['MENTOR', 'MENTOR'] }, 'distinct'],
    ['an expiry of 0 business days', { requestExpiryBusinessDays: 0 }, 'Request expiry (business days) must be a whole number of at least 1'],
    ['an expiry of 61 business days', { requestExpiryBusinessDays: 61 }, 'at most 60'],
    ['a duration of 1.5 months', { matchDurationMonths: 1.5 }, 'Match duration'],
    ['a capacity of 51', { mentorCapacity: 51 }, 'Mentor capacity must be at most 50'],
    ['a check-in after 0 weeks', { checkInAfterWeeks: 0 }, 'Check-in after (weeks)'],
    ['21 missed in a row', { missedInARow: 21 }, 'Meetings missed in a row must be at most 20'],
    ['an unknown country', { holidayCountry: 'XX' }, 'ISO 3166-1 two-letter code'],
    ['a region without its country', { holidayRegion: 'NY' }, 'needs its country'],
    ['a region the country does not have', { holidayCountry: 'US', holidayRegion: 'ZZ' }, 'is not a region of US'],
    ['a closed day that is not a date', { closedDays: ['2026-02-30'] }, 'Closed day "2026-02-30" is not a date'],
    ['a closed day in another spelling', { closedDays: ['24/12/2026'] }, 'write it as YYYY-MM-DD'],
  ])('refuses %s', (_case, settings, message) => given([programCreated()]).when(change(settings)).thenThrows('VALIDATION_FAILED', message));

  it('clears the holidays with null', () => {
    const withHolidays = fold(programDecider, [programCreated()]) as Program;
    expect(withHolidays.settings.holidayCountry).toBeNull();
    return given([
      programCreated(),
      { type: 'ProgramSettingsChanged', data: { programId: P, from: on, to: { ...on, holidayCountry: 'US', holidayRegion: 'NY' } } },
    ])
      .when(change({ holidayCountry: null, holidayRegion: null }))
      .then([
        {
          type: 'ProgramSettingsChanged',
          data: { programId: P, from: { ...on, holidayCountry: 'US', holidayRegion: 'NY' }, to: on, changed: ['holidayCountry', 'holidayRegion'] },
        },
      ]);
  });
});

describe('closure reasons and sites', () => {
  it('adds a closure reason', () =>
    given([programCreated()])
      .when({ type: 'AddClosureReason', data: { programId: P, closureReason: ' Moved away ' } })
      .then([{ type: 'ClosureReasonAdded', data: { programId: P, closureReason: 'Moved away' } }]));
  it('refuses a closure reason already there, whatever its case', () =>
    given([programCreated()]).when({ type: 'AddClosureReason', data: { programId: P, closureReason: 'poor MATCH fit' } }).thenThrows('ALREADY_EXISTS', '"Poor match fit"'));
  it('refuses an empty closure reason', () =>
    given([programCreated()]).when({ type: 'AddClosureReason', data: { programId: P, closureReason: '' } }).thenThrows('VALIDATION_FAILED'));
  it('finds closure reasons case-insensitively, in the program spelling', () => {
    const state = fold(programDecider, [programCreated(), { type: 'ClosureReasonAdded', data: { programId: P, closureReason: 'Moved away' } }]) as Program;
    expect(findClosureReason(state, 'moved AWAY')).toBe('Moved away');
    expect(findClosureReason(state, 'Bored')).toBeNull();
  });

  it('adds a partner site', () =>
    given([programCreated()])
      .when({ type: 'AddPartnerSite', data: { programId: P, partnerSite: { id: 'site-2', name: 'PS 29' } } })
      .then([{ type: 'PartnerSiteAdded', data: { programId: P, partnerSite: { id: 'site-2', name: 'PS 29' } } }]));
  it('refuses a partner site id already used', () =>
    given([programCreated()]).when({ type: 'AddPartnerSite', data: { programId: P, partnerSite: { id: 'site-1', name: 'Other' } } }).thenThrows('ALREADY_EXISTS', 'site-1'));
  it('refuses a partner site name already used', () =>
    given([programCreated()]).when({ type: 'AddPartnerSite', data: { programId: P, partnerSite: { id: 'site-9', name: 'ps 321' } } }).thenThrows('ALREADY_EXISTS', 'PS 321'));
  it('adds a mentor site list', () =>
    given([programCreated()])
      .when({ type: 'AddMentorSiteList', data: { programId: P, mentorSiteList: { id: 'list-2', name: 'Globex mentors' } } })
      .then([{ type: 'MentorSiteListAdded', data: { programId: P, mentorSiteList: { id: 'list-2', name: 'Globex mentors' } } }]));
  it('refuses a mentor site list already there', () =>
    given([programCreated()]).when({ type: 'AddMentorSiteList', data: { programId: P, mentorSiteList: { id: 'list-1', name: 'X' } } }).thenThrows('ALREADY_EXISTS', 'list-1'));
  it('folds sites and reasons', () => {
    const state = fold(programDecider, [
      programCreated(),
      { type: 'PartnerSiteAdded', data: { programId: P, partnerSite: { id: 'site-2', name: 'PS 29' } } },
      { type: 'MentorSiteListAdded', data: { programId: P, mentorSiteList: { id: 'list-2', name: 'Globex' } } },
    ]) as Program;
    expect(state.partnerSites.map((s) => s.id)).toEqual(['site-1', 'site-2']);
    expect(state.mentorSiteLists.map((s) => s.id)).toEqual(['list-1', 'list-2']);
  });
});

describe('SetNotificationTemplate', () => {
  const setTemplate = (kind: NotificationKind, template: NotificationTemplate | null): ProgramCommand => ({
    type: 'SetNotificationTemplate',
    data: { programId: P, kind, template },
  });
  const declined: NotificationTemplate = {
    subject: 'About your request in {{programName}}',
    body: 'Hello {{recipientName}},\n\n{{declinerName}} cannot take you on: {{message}}\n',
  };
  const set = (kind: NotificationKind, template: NotificationTemplate | null) =>
    ({ type: 'NotificationTemplateSet', data: { programId: P, kind, template } }) as const;

  it('replaces a default with the program’s own, trimming the subject', () =>
    given([programCreated()])
      .when(setTemplate('REQUEST_DECLINED', { ...declined, subject: `  ${declined.subject} ` }))
      .then([set('REQUEST_DECLINED', declined)]));
  it('replaces the program’s own template again', () =>
    given([programCreated(), set('REQUEST_DECLINED', declined)])
      .when(setTemplate('REQUEST_DECLINED', DEFAULT_TEMPLATES.REQUEST_DECLINED))
      .then([set('REQUEST_DECLINED', DEFAULT_TEMPLATES.REQUEST_DECLINED)]));
  it('resets to the default with null', () =>
    given([programCreated(), set('REQUEST_DECLINED', declined)]).when(setTemplate('REQUEST_DECLINED', null)).then([set('REQUEST_DECLINED', null)]));
  it('records nothing when resetting a kind that already uses the default', () =>
    given([programCreated(), set('REQUEST_DECLINED', declined)]).when(setTemplate('MATCH_REQUEST', null)).then([]));
  it('refuses an unknown placeholder, naming the allowed ones', () =>
    given([programCreated()])
      .when(setTemplate('MATCH_ACTIVATED', { subject: 'Matched!', body: 'Call {{mentorPhone}}.' }))
      .thenThrows(
        'VALIDATION_FAILED',
        'Unknown placeholder {{mentorPhone}} in the MATCH_ACTIVATED template; it may use {{programName}}, {{recipientName}}, {{mentorName}}, {{menteeName}}, {{mentorEmail}}, {{menteeEmail}}, {{endsAt}}.',
      ));
  it('refuses a placeholder of another kind (the decliner is only known to REQUEST_DECLINED)', () =>
    given([programCreated()])
      .when(setTemplate('MATCH_REQUEST', { subject: 'Request', body: '{{declinerName}}' }))
      .thenThrows('VALIDATION_FAILED', 'Unknown placeholder {{declinerName}} in the MATCH_REQUEST template'));
  it('refuses a subject of more than one line', () =>
    given([programCreated()])
      .when(setTemplate('REQUEST_DECLINED', { ...declined, subject: 'Declined\nSee below' }))
      .thenThrows('VALIDATION_FAILED', 'A notification subject must be one line.'));
  it('refuses an empty body', () =>
    given([programCreated()]).when(setTemplate('REQUEST_DECLINED', { ...declined, body: '   ' })).thenThrows('VALIDATION_FAILED', 'needs a subject and a body'));
  it('folds templates per kind: set, then reset', () => {
    const withOwn = fold(programDecider, [programCreated(), set('REQUEST_DECLINED', declined), set('REQUEST_EXPIRED', DEFAULT_TEMPLATES.REQUEST_EXPIRED)]) as Program;
    expect(withOwn.notificationTemplates).toEqual({ REQUEST_DECLINED: declined, REQUEST_EXPIRED: DEFAULT_TEMPLATES.REQUEST_EXPIRED });
    const reset = fold(programDecider, [programCreated(), set('REQUEST_DECLINED', declined), set('REQUEST_EXPIRED', declined), set('REQUEST_DECLINED', null)]) as Program;
    expect(reset.notificationTemplates).toEqual({ REQUEST_EXPIRED: declined });
  });
  it('a new program uses every default', () => expect((fold(programDecider, [programCreated()]) as Program).notificationTemplates).toEqual({}));
});

describe('matching settings', () => {
  it('a new program lets each mentor take one match at a time, for 6 months, with 3 business days to answer', () =>
    expect(DEFAULT_PROGRAM_SETTINGS).toMatchObject({ mentorCapacity: 1, matchDurationMonths: 6, requestExpiryBusinessDays: 3 }));
  it('changes the default mentor capacity', () =>
    given([programCreated()])
      .when({ type: 'ChangeProgramSettings', data: { programId: P, settings: { mentorCapacity: 3 } } })
      .then([
        {
          type: 'ProgramSettingsChanged',
          data: { programId: P, from: { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true }, to: { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true, mentorCapacity: 3 }, changed: ['mentorCapacity'] },
        },
      ]));
  it.each([0, 2.5])('refuses a mentor capacity of %s', (mentorCapacity) =>
    given([programCreated()])
      .when({ type: 'ChangeProgramSettings', data: { programId: P, settings: { mentorCapacity } } })
      .thenThrows('VALIDATION_FAILED', 'Mentor capacity'));
  it('reads a program created before mentor capacity existed with the default', () => {
    const { mentorCapacity: _dropped, ...older } = { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true };
    const state = fold(programDecider, [programCreated({ settings: older as ProgramSettings })]) as Program;
    expect(state.settings.mentorCapacity).toBe(1);
  });
});

describe('canonicalTimeZone', () => {
  it.each([
    ['America/New_York', 'America/New_York'],
    ['  asia/tokyo ', 'Asia/Tokyo'],
    ['UTC', 'UTC'],
  ])('%s → %s', (input, expected) => expect(canonicalTimeZone(input)).toBe(expected));
  it('returns null for an unknown zone', () => expect(canonicalTimeZone('Atlantis/Capital')).toBeNull());
});

describe('auto-matching criteria and banned pairs', () => {
  const created = programCreated({ programId: P });
  const criteria = [{ attribute: 'languages', kind: 'SET_SIMILARITY' as const, weight: 5, required: true }];
  const setCriteria = (objective: 'MAX_SCORE' | 'MAX_MATCHED_THEN_SCORE' = 'MAX_SCORE'): ProgramCommand => ({
    type: 'SetMatchingCriteria',
    data: { programId: P, criteria, objective },
  });
  const normalised = [{ ...criteria[0]!, preferenceAttribute: null, maxDistance: null, label: null }];

  it('each change of criteria is a new version', () =>
    given([created]).when(setCriteria()).then([{ type: 'MatchingCriteriaSet', data: { programId: P, version: 1, criteria: normalised, objective: 'MAX_SCORE' } }]));

  it('saving the same criteria again records nothing; changing the objective is a new version', () => {
    const first = { type: 'MatchingCriteriaSet' as const, data: { programId: P, version: 1, criteria: normalised, objective: 'MAX_SCORE' as const } };
    given([created, first]).when(setCriteria()).then([]);
    given([created, first])
      .when(setCriteria('MAX_MATCHED_THEN_SCORE'))
      .then([{ type: 'MatchingCriteriaSet', data: { programId: P, version: 2, criteria: normalised, objective: 'MAX_MATCHED_THEN_SCORE' } }]);
  });

  it('refuses an unknown objective', () =>
    given([created])
      .when({ type: 'SetMatchingCriteria', data: { programId: P, criteria, objective: 'FASTEST' as never } })
      .thenThrows('VALIDATION_FAILED', 'Objective must be one of'));

  it('bans a pair once, and lifts only a ban that exists', () => {
    const ban: ProgramCommand = { type: 'BanPair', data: { programId: P, mentorUserId: 'u-mentor', menteeUserId: 'u-mentee' } };
    const banned = { type: 'PairBanned' as const, data: { programId: P, mentorUserId: 'u-mentor', menteeUserId: 'u-mentee' } };
    given([created]).when(ban).then([banned]);
    given([created, banned]).when(ban).thenThrows('ALREADY_EXISTS', 'already banned');
    given([created]).when({ ...ban, type: 'LiftPairBan' }).thenThrows('NOT_FOUND', 'not banned');
    given([created, banned]).when({ ...ban, type: 'LiftPairBan' }).then([{ ...banned, type: 'PairBanLifted' }]);
  });
});
