import type { DomainEvent } from '../../eventstore/eventStore';
import { DomainError, assertNever, type Decider } from '../shared/decider';
import { requireText } from '../shared/validation';
import { holidayRegionsOf, isKnownHolidayCountry, type BusinessCalendar } from '../shared/calendar';
import { validateTemplate, type NotificationKind, type NotificationTemplate } from '../notification/templates';
import {
  DEFAULT_AUTO_MATCHING,
  requireObjective,
  validateCriteria,
  type AutoMatchingConfiguration,
  type MatchingCriterionDefinition,
  type Objective,
} from '../autoMatching/criteria';

// ---------------------------------------------------------------------------------------------
// Settings

export type MatchingProcess = 'ADMIN_LED' | 'USER_LED_WITH_APPROVAL' | 'USER_LED';
export const MATCHING_PROCESSES: readonly MatchingProcess[] = ['ADMIN_LED', 'USER_LED_WITH_APPROVAL', 'USER_LED'];
export type ApprovingParty = 'MENTEE' | 'MENTOR' | 'ADMIN';
export const APPROVING_PARTIES: readonly ApprovingParty[] = ['MENTEE', 'MENTOR', 'ADMIN'];

export interface MatchingCriterion {
  readonly criterion: string;
  readonly weight: number;
}

export interface ProgramSettings {
  /** Off until the program is ready to match ("Turn on Matching"); no match goes live while off. */
  readonly matchingEnabled: boolean;
  readonly matchingProcess: MatchingProcess;
  /** Who must approve a match request before it goes live. */
  readonly requiredApprovals: readonly ApprovingParty[];
  readonly matchDurationMonths: number;
  /** Business days, counted in the program's time zone. */
  readonly requestExpiryBusinessDays: number;
  /** How many live matches a mentor may have at once, unless set for that mentor (SetMentorCapacity). */
  readonly mentorCapacity: number;
  readonly managerValidationRequired: boolean;
  /** Auto-matching criteria and their weights. */
  readonly matchingCriteria: readonly MatchingCriterion[];
  /** Health: a live match with no meeting for this many weeks needs a check-in (default 4). */
  readonly checkInAfterWeeks: number;
  /** Health: a live match whose latest meetings were this many missed in a row needs a check-in (default 2). */
  readonly missedInARow: number;
  /** Public holidays of this country (ISO 3166-1 alpha-2, e.g. "US") are not business days; null: none. */
  readonly holidayCountry: string | null;
  /** A subdivision of the country (ISO 3166-2 code, e.g. "NY") whose own public holidays are added. */
  readonly holidayRegion: string | null;
  /** The program's own closed days (local dates "YYYY-MM-DD", sorted): not business days. */
  readonly closedDays: readonly string[];
}

export const DEFAULT_PROGRAM_SETTINGS: ProgramSettings = {
  matchingEnabled: false,
  matchingProcess: 'ADMIN_LED',
  requiredApprovals: [],
  matchDurationMonths: 6,
  requestExpiryBusinessDays: 3,
  mentorCapacity: 1,
  managerValidationRequired: false,
  matchingCriteria: [],
  checkInAfterWeeks: 4,
  missedInARow: 2,
  holidayCountry: null,
  holidayRegion: null,
  closedDays: [],
};

/** Bounds of the settings, shared with the API's input checks. */
export const SETTING_LIMITS = {
  matchDurationMonths: 60,
  requestExpiryBusinessDays: 60,
  mentorCapacity: 50,
  checkInAfterWeeks: 52,
  missedInARow: 20,
  closedDays: 1000,
} as const;

/** The calendar the program's business days are counted in (request expiry). */
export const businessCalendarOf = (program: Pick<Program, 'timeZone' | 'settings'>): BusinessCalendar => ({
  timeZone: program.timeZone,
  holidayCountry: program.settings.holidayCountry,
  holidayRegion: program.settings.holidayRegion,
  closedDays: program.settings.closedDays,
});

/** Every program starts with these; it can add its own (AddClosureReason), never remove one. */
export const DEFAULT_CLOSURE_REASONS: readonly string[] = [
  'Program year ended',
  'Mentor withdrew',
  'Mentee withdrew',
  'Scheduling conflict',
  'Poor match fit',
  'Other',
];

/** A partner site (e.g. a school) or a mentor site list, referred to by its id. */
export interface Site {
  readonly id: string;
  readonly name: string;
}

// ---------------------------------------------------------------------------------------------
// Commands, events, state

export type CreateProgram = {
  readonly type: 'CreateProgram';
  readonly data: {
    readonly programId: string;
    readonly name: string;
    /** IANA name, e.g. "America/New_York"; stored in its canonical spelling. */
    readonly timeZone: string;
    /** Missing fields take DEFAULT_PROGRAM_SETTINGS. */
    readonly settings?: Partial<ProgramSettings>;
    readonly partnerSites?: readonly Site[];
    readonly mentorSiteLists?: readonly Site[];
    /** Reasons added to DEFAULT_CLOSURE_REASONS. */
    readonly extraClosureReasons?: readonly string[];
  };
};
/**
 * Change any of the settings (those not given stay). What a change does to matches already under
 * way is in `decideRequestMatch`'s neighbourhood (src/domain/match/match.ts, "Settings changes").
 */
export type ChangeProgramSettings = {
  readonly type: 'ChangeProgramSettings';
  readonly data: {
    readonly programId: string;
    /** Matching on/off has its own commands (TurnMatchingOn/Off). */
    readonly settings: Partial<Omit<ProgramSettings, 'matchingEnabled'>>;
    /** IANA name; changes where business days and durations are counted from now on. */
    readonly timeZone?: string;
  };
};
export type TurnMatchingOn = { readonly type: 'TurnMatchingOn'; readonly data: { readonly programId: string } };
export type TurnMatchingOff = { readonly type: 'TurnMatchingOff'; readonly data: { readonly programId: string } };
export type AddClosureReason = {
  readonly type: 'AddClosureReason';
  readonly data: { readonly programId: string; readonly closureReason: string };
};
export type AddPartnerSite = {
  readonly type: 'AddPartnerSite';
  readonly data: { readonly programId: string; readonly partnerSite: Site };
};
export type AddMentorSiteList = {
  readonly type: 'AddMentorSiteList';
  readonly data: { readonly programId: string; readonly mentorSiteList: Site };
};

/** Replace the default e-mail of one kind with the program's own (`template: null` goes back to the default). */
export type SetNotificationTemplate = {
  readonly type: 'SetNotificationTemplate';
  readonly data: { readonly programId: string; readonly kind: NotificationKind; readonly template: NotificationTemplate | null };
};

/** Auto-matching's criteria and objective; each change is a new version. */
export type SetMatchingCriteria = {
  readonly type: 'SetMatchingCriteria';
  readonly data: { readonly programId: string; readonly criteria: readonly MatchingCriterionDefinition[]; readonly objective: Objective };
};
/** Never pair these two (by user id), whatever their scores. */
export type BanPair = {
  readonly type: 'BanPair';
  readonly data: { readonly programId: string; readonly mentorUserId: string; readonly menteeUserId: string };
};
export type LiftPairBan = {
  readonly type: 'LiftPairBan';
  readonly data: { readonly programId: string; readonly mentorUserId: string; readonly menteeUserId: string };
};
/** Records an auto-matching run (the application solved it and staged its pairs). */
export type RecordAutoMatchingRun = { readonly type: 'RecordAutoMatchingRun'; readonly data: AutoMatchingRan['data'] };

export type ProgramCommand =
  | CreateProgram
  | SetMatchingCriteria
  | BanPair
  | LiftPairBan
  | RecordAutoMatchingRun
  | SetNotificationTemplate
  | ChangeProgramSettings
  | TurnMatchingOn
  | TurnMatchingOff
  | AddClosureReason
  | AddPartnerSite
  | AddMentorSiteList;

export type ProgramCreated = DomainEvent<
  'ProgramCreated',
  {
    readonly programId: string;
    readonly name: string;
    readonly timeZone: string;
    readonly settings: ProgramSettings;
    readonly partnerSites: readonly Site[];
    readonly mentorSiteLists: readonly Site[];
    /** The full list: defaults, then the program's own. */
    readonly closureReasons: readonly string[];
  }
>;
export type ProgramSettingsChanged = DomainEvent<
  'ProgramSettingsChanged',
  {
    readonly programId: string;
    readonly from: ProgramSettings;
    readonly to: ProgramSettings;
    /** The names of the settings that differ (absent on events recorded before it was added). */
    readonly changed?: readonly string[];
  }
>;
export type ProgramTimeZoneChanged = DomainEvent<'ProgramTimeZoneChanged', { readonly programId: string; readonly from: string; readonly to: string }>;
export type MatchingTurnedOn = DomainEvent<'MatchingTurnedOn', { readonly programId: string }>;
export type MatchingTurnedOff = DomainEvent<'MatchingTurnedOff', { readonly programId: string }>;
export type ClosureReasonAdded = DomainEvent<'ClosureReasonAdded', { readonly programId: string; readonly closureReason: string }>;
export type PartnerSiteAdded = DomainEvent<'PartnerSiteAdded', { readonly programId: string; readonly partnerSite: Site }>;
export type MentorSiteListAdded = DomainEvent<
  'MentorSiteListAdded',
  { readonly programId: string; readonly mentorSiteList: Site }
>;

/** `template: null`: back to the default. */
export type NotificationTemplateSet = DomainEvent<
  'NotificationTemplateSet',
  { readonly programId: string; readonly kind: NotificationKind; readonly template: NotificationTemplate | null }
>;

export type MatchingCriteriaSet = DomainEvent<
  'MatchingCriteriaSet',
  { readonly programId: string; readonly version: number; readonly criteria: readonly MatchingCriterionDefinition[]; readonly objective: Objective }
>;
export type PairBanned = DomainEvent<'PairBanned', { readonly programId: string; readonly mentorUserId: string; readonly menteeUserId: string }>;
export type PairBanLifted = DomainEvent<'PairBanLifted', { readonly programId: string; readonly mentorUserId: string; readonly menteeUserId: string }>;
/** One "Run Auto-Matching": what it considered, what it staged, and how close to optimal it is proven to be. */
export type AutoMatchingRan = DomainEvent<
  'AutoMatchingRan',
  {
    readonly programId: string;
    readonly runId: string;
    readonly criteriaVersion: number;
    readonly objective: Objective;
    readonly menteesConsidered: number;
    readonly mentorsConsidered: number;
    readonly stagedMatchIds: readonly string[];
    /** Pairs the solver chose that could not be staged (a participant changed meanwhile). */
    readonly refusedPairs: number;
    readonly totalScore: number;
    /** The dual bound: no assignment can score more. */
    readonly upperBound: number;
    readonly gap: number;
    readonly method: string;
  }
>;

export type ProgramEvent =
  | ProgramCreated
  | MatchingCriteriaSet
  | PairBanned
  | PairBanLifted
  | AutoMatchingRan
  | NotificationTemplateSet
  | ProgramSettingsChanged
  | ProgramTimeZoneChanged
  | MatchingTurnedOn
  | MatchingTurnedOff
  | ClosureReasonAdded
  | PartnerSiteAdded
  | MentorSiteListAdded;

export interface Program {
  readonly status: 'CREATED';
  readonly programId: string;
  readonly name: string;
  readonly timeZone: string;
  readonly settings: ProgramSettings;
  readonly partnerSites: readonly Site[];
  readonly mentorSiteLists: readonly Site[];
  readonly closureReasons: readonly string[];
  /** The program's own e-mails; kinds not listed use DEFAULT_TEMPLATES. */
  readonly notificationTemplates: Readonly<Partial<Record<NotificationKind, NotificationTemplate>>>;
  readonly autoMatching: AutoMatchingConfiguration;
  /** Pairs (mentor user, mentee user) an admin has banned. */
  readonly bannedPairs: readonly { readonly mentorUserId: string; readonly menteeUserId: string }[];
}
export type ProgramState = { readonly status: 'NOT_CREATED' } | Program;

// ---------------------------------------------------------------------------------------------
// Rules

/** The canonical IANA spelling ("europe/paris" → "Europe/Paris"), or null when Intl does not know it. */
export const canonicalTimeZone = (timeZone: string): string | null => {
  const trimmed = timeZone.trim();
  // Intl in newer runtimes also accepts offsets such as "+01:00"; a program needs a named zone
  // so that its business days follow daylight-saving changes.
  if (trimmed === '' || /^[+-]/.test(trimmed)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: trimmed }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
};

const sameText = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** The program's own spelling of a closure reason (compared case-insensitively), or null. */
export const findClosureReason = (program: Program, closureReason: string): string | null =>
  program.closureReasons.find((reason) => sameText(reason, closureReason)) ?? null;

export const requireProgram = (state: ProgramState, programId: string): Program => {
  if (state.status === 'NOT_CREATED') {
    throw new DomainError('NOT_FOUND', `Program ${programId} does not exist.`, { programId });
  }
  return state;
};

const validateSettings = (settings: ProgramSettings): ProgramSettings => {
  if (!MATCHING_PROCESSES.includes(settings.matchingProcess)) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `Matching process must be one of ${MATCHING_PROCESSES.join(', ')} (got ${settings.matchingProcess}).`,
      { field: 'matchingProcess' },
    );
  }
  const approvals = settings.requiredApprovals;
  if (approvals.some((party) => !APPROVING_PARTIES.includes(party)) || new Set(approvals).size !== approvals.length) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `Required approvals must be distinct values among ${APPROVING_PARTIES.join(', ')} (got ${approvals.join(', ')}).`,
      { field: 'requiredApprovals' },
    );
  }
  if (settings.matchingProcess === 'USER_LED_WITH_APPROVAL' && approvals.length === 0) {
    throw new DomainError(
      'VALIDATION_FAILED',
      'A user-led matching process with approval needs at least one approving party (mentee, mentor or admin).',
      { field: 'requiredApprovals' },
    );
  }
  requireWholeInRange('matchDurationMonths', 'Match duration (months)', settings.matchDurationMonths, SETTING_LIMITS.matchDurationMonths);
  requireWholeInRange(
    'requestExpiryBusinessDays',
    'Request expiry (business days)',
    settings.requestExpiryBusinessDays,
    SETTING_LIMITS.requestExpiryBusinessDays,
  );
  requireWholeInRange('mentorCapacity', 'Mentor capacity', settings.mentorCapacity, SETTING_LIMITS.mentorCapacity);
  requireWholeInRange('checkInAfterWeeks', 'Check-in after (weeks)', settings.checkInAfterWeeks, SETTING_LIMITS.checkInAfterWeeks);
  requireWholeInRange('missedInARow', 'Meetings missed in a row', settings.missedInARow, SETTING_LIMITS.missedInARow);
  const holidays = validateHolidays(settings.holidayCountry, settings.holidayRegion);
  const closedDays = validateClosedDays(settings.closedDays);
  const criteria = settings.matchingCriteria.map((c) => ({ criterion: requireText('Matching criterion', c.criterion), weight: c.weight }));
  for (const { criterion, weight } of criteria) {
    if (!Number.isFinite(weight) || weight < 0) {
      throw new DomainError('VALIDATION_FAILED', `Weight of matching criterion "${criterion}" must be 0 or more (got ${weight}).`, {
        field: 'matchingCriteria',
      });
    }
  }
  if (new Set(criteria.map((c) => c.criterion.toLowerCase())).size !== criteria.length) {
    throw new DomainError('VALIDATION_FAILED', 'Each matching criterion may appear only once.', { field: 'matchingCriteria' });
  }
  return { ...settings, ...holidays, closedDays, requiredApprovals: [...approvals], matchingCriteria: criteria };
};

const requireWholeInRange = (field: string, label: string, value: number, max: number): void => {
  if (!Number.isInteger(value) || value < 1) {
    throw new DomainError('VALIDATION_FAILED', `${label} must be a whole number of at least 1 (got ${value}).`, { field });
  }
  if (value > max) throw new DomainError('VALIDATION_FAILED', `${label} must be at most ${max} (got ${value}).`, { field });
};

const validateHolidays = (country: string | null, region: string | null): Pick<ProgramSettings, 'holidayCountry' | 'holidayRegion'> => {
  const holidayCountry = country?.trim().toUpperCase() || null;
  const holidayRegion = region?.trim().toUpperCase() || null;
  if (holidayCountry === null) {
    if (holidayRegion !== null) {
      throw new DomainError('VALIDATION_FAILED', `Holiday region "${region}" needs its country: set holidayCountry too (e.g. "US" for "NY").`, {
        field: 'holidayRegion',
      });
    }
    return { holidayCountry, holidayRegion };
  }
  if (!/^[A-Z]{2}$/.test(holidayCountry) || !isKnownHolidayCountry(holidayCountry)) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `"${country}" is not a country whose public holidays are known; use an ISO 3166-1 two-letter code such as "US", "FR" or "DE".`,
      { field: 'holidayCountry' },
    );
  }
  if (holidayRegion !== null) {
    const regions = holidayRegionsOf(holidayCountry);
    if (!regions.includes(holidayRegion)) {
      throw new DomainError(
        'VALIDATION_FAILED',
        regions.length === 0
          ? `Country ${holidayCountry} has no regions with holidays of their own; leave holidayRegion empty.`
          : `"${region}" is not a region of ${holidayCountry}; use one of: ${regions.join(', ')}.`,
        { field: 'holidayRegion' },
      );
    }
  }
  return { holidayCountry, holidayRegion };
};

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const validateClosedDays = (days: readonly string[]): string[] => {
  if (days.length > SETTING_LIMITS.closedDays) {
    throw new DomainError('VALIDATION_FAILED', `At most ${SETTING_LIMITS.closedDays} closed days (got ${days.length}).`, { field: 'closedDays' });
  }
  const cleaned = days.map((day) => day.trim());
  for (const day of cleaned) {
    const parts = ISO_DATE.exec(day);
    const date = parts ? new Date(Date.UTC(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3]))) : null;
    if (!parts || !date || date.getUTCFullYear() !== Number(parts[1]) || date.getUTCMonth() !== Number(parts[2]) - 1 || date.getUTCDate() !== Number(parts[3])) {
      throw new DomainError('VALIDATION_FAILED', `Closed day "${day}" is not a date; write it as YYYY-MM-DD, e.g. 2026-12-24.`, {
        field: 'closedDays',
        value: day,
      });
    }
  }
  return [...new Set(cleaned)].sort();
};

const validateSites = (kind: string, sites: readonly Site[]): Site[] => {
  const cleaned = sites.map((site) => ({ id: requireText(`${kind} id`, site.id), name: requireText(`${kind} name`, site.name) }));
  cleaned.forEach((site, index) => {
    const earlier = cleaned.slice(0, index).find((other) => other.id === site.id || sameText(other.name, site.name));
    if (earlier) {
      throw new DomainError('VALIDATION_FAILED', `${kind} "${site.name}" (${site.id}) is listed twice.`, { id: site.id });
    }
  });
  return cleaned;
};

const addSite = (kind: string, existing: readonly Site[], site: Site): Site => {
  const [added] = validateSites(kind, [site]);
  const clash = existing.find((other) => other.id === added!.id || sameText(other.name, added!.name));
  if (clash) {
    throw new DomainError('ALREADY_EXISTS', `${kind} "${clash.name}" (${clash.id}) already exists in this program.`, {
      id: clash.id,
    });
  }
  return added!;
};

/** The settings given: a field present but undefined means "not given", never "unset". */
const definedOnly = <T extends object>(settings: T): Partial<T> =>
  Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as Partial<T>;

const sameSettings = (a: ProgramSettings, b: ProgramSettings) => JSON.stringify(a) === JSON.stringify(b);

const decide = (command: ProgramCommand, state: ProgramState): ProgramEvent[] => {
  const { programId } = command.data;
  if (command.type === 'CreateProgram') {
    if (state.status === 'CREATED') {
      throw new DomainError('ALREADY_EXISTS', `Program ${programId} already exists ("${state.name}").`, { programId });
    }
    const { data } = command;
    const timeZone = canonicalTimeZone(data.timeZone);
    if (timeZone === null) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `"${data.timeZone}" is not an IANA time zone; use a name such as "America/New_York" or "Europe/Paris".`,
        { field: 'timeZone' },
      );
    }
    const extra = (data.extraClosureReasons ?? []).map((reason) => requireText('Closure reason', reason));
    const closureReasons = [...DEFAULT_CLOSURE_REASONS];
    for (const reason of extra) if (!closureReasons.some((known) => sameText(known, reason))) closureReasons.push(reason);
    return [
      {
        type: 'ProgramCreated',
        data: {
          programId: requireText('Program id', programId),
          name: requireText('Program name', data.name),
          timeZone,
          settings: validateSettings({ ...DEFAULT_PROGRAM_SETTINGS, ...definedOnly(data.settings ?? {}) }),
          partnerSites: validateSites('Partner site', data.partnerSites ?? []),
          mentorSiteLists: validateSites('Mentor site list', data.mentorSiteLists ?? []),
          closureReasons,
        },
      },
    ];
  }

  const program = requireProgram(state, programId);
  switch (command.type) {
    case 'ChangeProgramSettings': {
      const to = validateSettings({ ...program.settings, ...definedOnly(command.data.settings), matchingEnabled: program.settings.matchingEnabled });
      const events: ProgramEvent[] = [];
      if (command.data.timeZone !== undefined) {
        const timeZone = canonicalTimeZone(command.data.timeZone);
        if (timeZone === null) {
          throw new DomainError(
            'VALIDATION_FAILED',
            `"${command.data.timeZone}" is not an IANA time zone; use a name such as "America/New_York" or "Europe/Paris".`,
            { field: 'timeZone' },
          );
        }
        if (timeZone !== program.timeZone) events.push({ type: 'ProgramTimeZoneChanged', data: { programId, from: program.timeZone, to: timeZone } });
      }
      // Saving unchanged settings is not a fact worth recording.
      if (!sameSettings(program.settings, to)) {
        const changed = (Object.keys(to) as (keyof ProgramSettings)[]).filter(
          (key) => JSON.stringify(program.settings[key]) !== JSON.stringify(to[key]),
        );
        events.unshift({ type: 'ProgramSettingsChanged', data: { programId, from: program.settings, to, changed } });
      }
      return events;
    }
    case 'TurnMatchingOn':
      if (program.settings.matchingEnabled) {
        throw new DomainError('ILLEGAL_TRANSITION', `Matching is already on in program "${program.name}".`, { programId });
      }
      return [{ type: 'MatchingTurnedOn', data: { programId } }];
    case 'TurnMatchingOff':
      if (!program.settings.matchingEnabled) {
        throw new DomainError('ILLEGAL_TRANSITION', `Matching is already off in program "${program.name}".`, { programId });
      }
      return [{ type: 'MatchingTurnedOff', data: { programId } }];
    case 'AddClosureReason': {
      const closureReason = requireText('Closure reason', command.data.closureReason);
      const known = findClosureReason(program, closureReason);
      if (known !== null) {
        throw new DomainError('ALREADY_EXISTS', `Closure reason "${known}" is already in program "${program.name}".`, {
          closureReason: known,
        });
      }
      return [{ type: 'ClosureReasonAdded', data: { programId, closureReason } }];
    }
    case 'SetNotificationTemplate': {
      const { kind, template } = command.data;
      if (template === null) {
        if (!program.notificationTemplates[kind]) return [];
        return [{ type: 'NotificationTemplateSet', data: { programId, kind, template: null } }];
      }
      return [{ type: 'NotificationTemplateSet', data: { programId, kind, template: validateTemplate(kind, template) } }];
    }
    case 'SetMatchingCriteria': {
      const criteria = validateCriteria(command.data.criteria);
      const objective = requireObjective(command.data.objective);
      const current = program.autoMatching;
      if (JSON.stringify(current.criteria) === JSON.stringify(criteria) && current.objective === objective) return [];
      return [{ type: 'MatchingCriteriaSet', data: { programId, version: current.version + 1, criteria, objective } }];
    }
    case 'BanPair':
    case 'LiftPairBan': {
      const mentorUserId = requireText('Mentor user id', command.data.mentorUserId);
      const menteeUserId = requireText('Mentee user id', command.data.menteeUserId);
      const banned = program.bannedPairs.some((pair) => pair.mentorUserId === mentorUserId && pair.menteeUserId === menteeUserId);
      if (command.type === 'BanPair') {
        if (banned) throw new DomainError('ALREADY_EXISTS', 'This pair is already banned in the program.', { mentorUserId, menteeUserId });
        return [{ type: 'PairBanned', data: { programId, mentorUserId, menteeUserId } }];
      }
      if (!banned) throw new DomainError('NOT_FOUND', 'This pair is not banned in the program.', { mentorUserId, menteeUserId });
      return [{ type: 'PairBanLifted', data: { programId, mentorUserId, menteeUserId } }];
    }
    case 'RecordAutoMatchingRun':
      return [{ type: 'AutoMatchingRan', data: { ...command.data, programId } }];
    case 'AddPartnerSite':
      return [
        { type: 'PartnerSiteAdded', data: { programId, partnerSite: addSite('Partner site', program.partnerSites, command.data.partnerSite) } },
      ];
    case 'AddMentorSiteList':
      return [
        {
          type: 'MentorSiteListAdded',
          data: { programId, mentorSiteList: addSite('Mentor site list', program.mentorSiteLists, command.data.mentorSiteList) },
        },
      ];
    default:
      return assertNever(command);
  }
};

const evolve = (state: ProgramState, event: ProgramEvent): ProgramState => {
  if (event.type === 'ProgramCreated') {
    // Programs created before a setting existed take its default.
    return {
      status: 'CREATED',
      ...event.data,
      settings: { ...DEFAULT_PROGRAM_SETTINGS, ...event.data.settings },
      notificationTemplates: {},
      autoMatching: DEFAULT_AUTO_MATCHING,
      bannedPairs: [],
    };
  }
  if (state.status === 'NOT_CREATED') return state;
  switch (event.type) {
    case 'ProgramSettingsChanged':
      return { ...state, settings: { ...DEFAULT_PROGRAM_SETTINGS, ...event.data.to } };
    case 'ProgramTimeZoneChanged':
      return { ...state, timeZone: event.data.to };
    case 'MatchingCriteriaSet': {
      const { version, criteria, objective } = event.data;
      return { ...state, autoMatching: { version, criteria, objective } };
    }
    case 'PairBanned':
      return { ...state, bannedPairs: [...state.bannedPairs, { mentorUserId: event.data.mentorUserId, menteeUserId: event.data.menteeUserId }] };
    case 'PairBanLifted':
      return {
        ...state,
        bannedPairs: state.bannedPairs.filter((p) => !(p.mentorUserId === event.data.mentorUserId && p.menteeUserId === event.data.menteeUserId)),
      };
    case 'AutoMatchingRan':
      return state;
    case 'NotificationTemplateSet': {
      const { [event.data.kind]: _previous, ...others } = state.notificationTemplates;
      return { ...state, notificationTemplates: event.data.template ? { ...others, [event.data.kind]: event.data.template } : others };
    }
    case 'MatchingTurnedOn':
      return { ...state, settings: { ...state.settings, matchingEnabled: true } };
    case 'MatchingTurnedOff':
      return { ...state, settings: { ...state.settings, matchingEnabled: false } };
    case 'ClosureReasonAdded':
      return { ...state, closureReasons: [...state.closureReasons, event.data.closureReason] };
    case 'PartnerSiteAdded':
      return { ...state, partnerSites: [...state.partnerSites, event.data.partnerSite] };
    case 'MentorSiteListAdded':
      return { ...state, mentorSiteLists: [...state.mentorSiteLists, event.data.mentorSiteList] };
    default:
      return state;
  }
};

export const programDecider: Decider<ProgramCommand, ProgramState, ProgramEvent> = {
  initialState: () => ({ status: 'NOT_CREATED' }),
  evolve,
  decide,
};
