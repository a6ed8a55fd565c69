import { userIdForEmail } from './user/userId';

/**
 * Which data of which event is personal, and whose: the one map the SQL event store splits appends
 * by, merges reads by, and erases by (see "Personal data and erasure" in the README).
 *
 * Personal values never enter `es_events.data`: the store keeps them in the event row's personal
 * columns (outside the hash chain), tagged with the subjects below, and records only the names of the
 * split fields in the event's metadata. Erasing a subject deletes the values of every event tagged
 * with it; reads then see each field's erased value (`ERASED_VALUES`) and `personalDataErased: true`
 * in the event's data. The hash chain covers the stored data and metadata, not those columns, so
 * erasing never breaks it. The free-text `reason` of an event's metadata is kept in those columns the
 * same way, with the subjects the event concerns (`subjectsOf`), and reads `[erased]` once erased.
 *
 * A subject is a user id, or a scope whose free text concerns both parties (`match:<id>`,
 * `registration:<id>`); erasing a user erases the scopes they took part in as well. Erasing any
 * subject of an event erases all of its personal fields: a user's registration names their manager,
 * and that goes with the user. Someone named only by e-mail (a manager) is the subject
 * `userIdForEmail(email)`, the id they would have as a user, of the events that are about them
 * (approvals, reports); a manager's erasure does not erase their employees' registrations.
 *
 * To mark a new event type's personal fields: add one line to `PERSONAL_DATA` (and, for a new field
 * name, its erased value to `ERASED_VALUES`).
 */

/** What an erased free-text or name field reads as: a text, so that readers that need one keep working. */
export const ERASED = '[erased]';

/** The event a user's erasure is recorded as (stream `user-<userId>`); the store erases when it appends it. */
export const PERSONAL_DATA_ERASED = 'PersonalDataErased';

/** Each personal field's value once erased: names and e-mails read `[erased]`, free text and details null. */
export const ERASED_VALUES = {
  email: ERASED,
  normalizedEmail: ERASED,
  previousEmail: ERASED,
  name: ERASED,
  volunteerName: ERASED,
  volunteerEmail: ERASED,
  managerName: null,
  managerEmail: ERASED,
  company: null,
  manager: null,
  attributes: {},
  message: null,
  title: null,
  notes: null,
  reason: null,
  lines: [],
  // Auto-matching's reasons name the profile attributes compared ("shares French, Spanish"): an empty
  // list once erased; the score stays.
  explanation: [],
  coordinatorEmail: null,
} as const satisfies Readonly<Record<string, unknown>>;

export type PersonalField = keyof typeof ERASED_VALUES;

type Data = Readonly<Record<string, unknown>>;

export interface PersonalDataRule {
  /** Top-level fields of the event's data that are personal. */
  readonly fields: readonly PersonalField[];
  /** Whose they are, from the event's data. */
  readonly subjects: (data: Data) => readonly string[];
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const ids = (...values: unknown[]): string[] => [...new Set(values.map(text).filter((value): value is string => value !== null))];
/** Someone named only by e-mail. */
const byEmail = (email: unknown): string | null => (text(email) === null ? null : userIdForEmail(email as string));
export const matchScope = (matchId: string): string => `match:${matchId}`;
export const registrationScope = (registrationId: string): string => `registration:${registrationId}`;
const matchOf = (data: Data): string | null => (text(data.matchId) === null ? null : matchScope(data.matchId as string));
const registrationOf = (data: Data): string | null =>
  text(data.registrationId) === null ? null : registrationScope(data.registrationId as string);
const reportLines = (lines: unknown): unknown[] => (Array.isArray(lines) ? lines : []);

export const PERSONAL_DATA: Readonly<Record<string, PersonalDataRule>> = {
  UserRegistered: { fields: ['email', 'normalizedEmail', 'name', 'company', 'manager'], subjects: (d) => ids(d.userId) },
  UserEmailChanged: { fields: ['email', 'normalizedEmail', 'previousEmail'], subjects: (d) => ids(d.userId) },
  UserProfileUpdated: { fields: ['name', 'company', 'managerName', 'managerEmail'], subjects: (d) => ids(d.userId) },
  ProfileAttributesSet: { fields: ['attributes'], subjects: (d) => ids(d.userId) },
  MatchCreated: { fields: ['explanation'], subjects: (d) => ids(d.mentorUserId, d.menteeUserId, matchOf(d)) },
  MatchRequested: { fields: ['message'], subjects: (d) => ids(d.mentorUserId, d.menteeUserId, matchOf(d)) },
  MatchRequestDeclined: { fields: ['message'], subjects: (d) => ids(d.mentorUserId, d.menteeUserId, matchOf(d)) },
  MeetingScheduled: { fields: ['title'], subjects: (d) => ids(d.mentorUserId, d.menteeUserId, matchOf(d)) },
  MeetingCancelled: { fields: ['reason'], subjects: (d) => ids(matchOf(d)) },
  MeetingRecorded: { fields: ['notes'], subjects: (d) => ids(matchOf(d)) },
  VolunteerRegistered: {
    fields: ['volunteerName', 'volunteerEmail', 'manager'],
    subjects: (d) => ids(d.userId, registrationOf(d)),
  },
  // Seed 003's conversation: the text is the registration's (erased with the volunteer), as is the address it went to.
  RegistrationMessageSent: { fields: ['message', 'coordinatorEmail'], subjects: (d) => ids(d.userId, registrationOf(d)) },
  EngagementDatesApproved: { fields: ['managerEmail'], subjects: (d) => ids(registrationOf(d), byEmail(d.managerEmail)) },
  EngagementDatesRejected: { fields: ['managerEmail', 'message'], subjects: (d) => ids(registrationOf(d), byEmail(d.managerEmail)) },
  ManagerReportIssued: {
    fields: ['managerEmail', 'lines'],
    // Each line is its mentor's: by user id (random since ids stopped being derived from addresses),
    // or, in reports issued before lines carried it, by the id their address would have as a user.
    subjects: (d) =>
      ids(
        byEmail(d.managerEmail),
        ...reportLines(d.lines).flatMap((line) => {
          const { mentorUserId, mentorEmail } = line as { mentorUserId?: unknown; mentorEmail?: unknown };
          return [text(mentorUserId), byEmail(mentorEmail)];
        }),
      ),
  },
};

export const PERSONAL_EVENT_TYPES: readonly string[] = Object.keys(PERSONAL_DATA);

/**
 * Whom any event concerns, from the ids its data names (users, match, registration): the subjects of
 * its metadata's free-text reason, which the store keeps beside the log too. None for an event about
 * no person (a program's settings): its reason stays in the log.
 */
export const subjectsOf = (data: Data): readonly string[] =>
  ids(data.userId, data.mentorUserId, data.menteeUserId, matchOf(data), registrationOf(data));

/** The marker an event whose personal fields were split off carries in its metadata. */
export interface PersonalDataMarker {
  /** The fields kept in the event's personal columns rather than in its data. */
  readonly fields: readonly string[];
  /** Likewise of its metadata: `reason`, free text. */
  readonly metadata?: readonly string[];
}

/** An event's data split in two: what the log keeps, and the personal part (null when it has none). */
export interface SplitData {
  readonly kept: Data;
  readonly personal: {
    readonly values: Data;
    /** The same fields with their erased values, and the flag: what reads see after erasure. */
    readonly erased: Data;
    readonly subjects: readonly string[];
  } | null;
}

export const erasedForm = (fields: readonly string[]): Record<string, unknown> => {
  const erased: Record<string, unknown> = {};
  for (const field of fields) erased[field] = field in ERASED_VALUES ? ERASED_VALUES[field as PersonalField] : null;
  erased.personalDataErased = true;
  return erased;
};

/** Splits the personal fields of one event off its data. Fields the event does not carry are not split. */
export const splitPersonalData = (type: string, data: Data): SplitData => {
  const rule = PERSONAL_DATA[type];
  if (!rule) return { kept: data, personal: null };
  const present = rule.fields.filter((field) => field in data);
  if (present.length === 0) return { kept: data, personal: null };
  const kept: Record<string, unknown> = {};
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if ((present as readonly string[]).includes(key)) values[key] = value;
    else kept[key] = value;
  }
  return { kept, personal: { values, erased: erasedForm(present), subjects: rule.subjects(data) } };
};

/**
 * The fields of an event written before personal data was split (its personal values still inline)
 * masked as erased, when one of `erasedSubjects` is its subject; null when it concerns none of them.
 */
export const maskInlinePersonalData = (type: string, data: Data, erasedSubjects: ReadonlySet<string>): Record<string, unknown> | null => {
  const rule = PERSONAL_DATA[type];
  if (!rule) return null;
  if (!rule.subjects(data).some((subject) => erasedSubjects.has(subject))) return null;
  const present = rule.fields.filter((field) => field in data);
  return present.length === 0 ? null : erasedForm(present);
};

/** The personal fields of an event, for code that must leave them out (analysts' pseudonymised reads). */
export const personalFieldsOf = (type: string): readonly PersonalField[] => PERSONAL_DATA[type]?.fields ?? [];
