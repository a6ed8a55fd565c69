import type { Role } from '../../eventstore/eventStore';
import type { MatchLifecycleStatus } from '../match/match';

/**
 * Who may see which object, and which of its fields: one rule per kind of object, whatever path
 * led the caller to it (issue 15). Pure: the caller's relations (their matches, their programs)
 * come in with the viewer; the GraphQL layer asks `visibility` for every object it returns and
 * every field it resolves, so a resolver holds no rule of its own.
 */

/** The caller, with what the rules need to know about them. */
export interface Viewer {
  readonly role: Exclude<Role, 'system'>;
  /** The token's subject; a manager's is their e-mail. */
  readonly actorId: string;
  /** The domain user a mentor, mentee or manager token names. */
  readonly userId?: string;
  /** Programs the caller has a persona in (participants). */
  readonly programIds: readonly string[];
  /** Matches and requests the caller is a party of (participants), whatever their status. */
  readonly matches: readonly MatchFacts[];
}

/** What the rules read of a match (or match request). */
export interface MatchFacts {
  readonly matchId: string;
  readonly status: MatchLifecycleStatus;
  readonly mentorUserId: string;
  readonly menteeUserId: string;
  readonly mentorPersonaId: string;
  readonly menteePersonaId: string;
}

/** Every kind of object the API hands out, with the facts its rule reads. */
export interface AccessObjects {
  readonly user: { readonly userId: string };
  readonly persona: { readonly personaId: string; readonly userId: string };
  readonly match: MatchFacts;
  /** A row of a match list (requests, a program's matches): the match plus both parties' names and e-mails. */
  readonly matchListItem: MatchFacts;
  /** One entry of a user's history: `userId` is whose history it is. */
  readonly historyEntry: { readonly userId: string; readonly eventType: string };
  readonly meeting: { readonly matchId: string; readonly mentorUserId: string; readonly menteeUserId: string };
  readonly registration: { readonly userId: string; readonly managerEmail: string | null };
  /** A message of a registration's conversation: `userId` is the volunteer's. */
  readonly registrationMessage: { readonly userId: string };
  readonly notification: { readonly recipientUserId: string };
  readonly managerReportRow: { readonly managerEmail: string };
  readonly loggedEvent: { readonly streamId: string };
  readonly availableMentor: { readonly programId: string };
  readonly unmatchedMentee: { readonly programId: string };
  readonly mentorSuggestion: { readonly menteeUserId: string };
  readonly matchNeedingCheckIn: { readonly matchId: string };
  /** A user as they stood at a past moment (`userAsOf`, `stateAsOf`). */
  readonly pastState: { readonly userId: string | null };
}

export type AccessKind = keyof AccessObjects;

/**
 * Hidden: the object is absent (null, or left out of a list). Otherwise its fields: all of them, only
 * the ones listed, or all but the ones listed. Fields are named as the API names them.
 */
export type Visibility =
  | { readonly visible: false }
  | { readonly visible: true; readonly only?: ReadonlySet<string>; readonly except?: ReadonlySet<string> };

const HIDDEN: Visibility = { visible: false };
const ALL: Visibility = { visible: true };
const only = (...fields: string[]): Visibility => ({ visible: true, only: new Set(fields) });
const allBut = (...fields: string[]): Visibility => ({ visible: true, except: new Set(fields) });

/** Roles that read every record (analysts' pseudonymisation is a separate concern). */
export const READS_EVERYTHING: readonly Viewer['role'][] = ['admin', 'auditor', 'analyst'];
/** Roles whose token names a participant: they read their own records and, of their partners, little. */
export const PARTICIPANTS: readonly Viewer['role'][] = ['mentor', 'mentee'];

const readsEverything = (viewer: Viewer): boolean => READS_EVERYTHING.includes(viewer.role);
const isParticipant = (viewer: Viewer): boolean => PARTICIPANTS.includes(viewer.role) && viewer.userId !== undefined;
const isSelf = (viewer: Viewer, userId: string): boolean => isParticipant(viewer) && viewer.userId === userId;

/**
 * Matches a participant never sees: staged ones are not live and nobody was told (seed 002), and a
 * discarded staged match never was theirs.
 */
export const STAFF_ONLY_MATCH_STATUSES: readonly MatchLifecycleStatus[] = ['STAGED', 'DISCARDED'];
/** History entries a participant never sees: those of staged and discarded matches. */
export const STAFF_ONLY_HISTORY_EVENTS: readonly string[] = ['MatchCreated', 'MatchDiscarded'];

/** Whether the caller's history pages include the staff-only entries (the read model leaves them out otherwise, count included). */
export const seesStaffOnlyHistory = (viewer: Viewer): boolean => readsEverything(viewer);

const partyOf = (viewer: Viewer, match: MatchFacts): boolean =>
  isParticipant(viewer) && (match.mentorUserId === viewer.userId || match.menteeUserId === viewer.userId);

/** A match this participant may see: theirs, and past the staff-only stages. */
const sharedWith = (viewer: Viewer, match: MatchFacts): boolean => partyOf(viewer, match) && !STAFF_ONLY_MATCH_STATUSES.includes(match.status);

/** The other side of the caller's visible matches and requests: people the caller knows by name. */
const partnersOf = (viewer: Viewer): { readonly userIds: ReadonlySet<string>; readonly personaIds: ReadonlySet<string> } => {
  const userIds = new Set<string>();
  const personaIds = new Set<string>();
  for (const match of viewer.matches.filter((m) => sharedWith(viewer, m))) {
    const mentorSide = match.mentorUserId === viewer.userId;
    userIds.add(mentorSide ? match.menteeUserId : match.mentorUserId);
    personaIds.add(mentorSide ? match.menteePersonaId : match.mentorPersonaId);
  }
  return { userIds, personaIds };
};

/** What a participant sees of a partner: their name, nothing that reaches further (e-mail, status, other personas, history). */
export const PARTNER_USER_FIELDS = ['id', 'name'] as const;
/** Of a partner's persona in the shared match: which side they are on, the program, and the link to their name. */
export const PARTNER_PERSONA_FIELDS = ['id', 'role', 'programId', 'program', 'user'] as const;
/** Auto-matching's workings stay with staff. */
const MATCH_STAFF_FIELDS = ['score', 'runId', 'explanation'] as const;
/** What a mentee choosing a mentor sees: who is available, not their workload or contact details. */
export const MENTEE_AVAILABLE_MENTOR_FIELDS = ['userId', 'personaId', 'name', 'capacity', 'capacityLeft', 'capacityIsProgramDefault'] as const;

type Rule<K extends AccessKind> = (viewer: Viewer, object: AccessObjects[K]) => Visibility;

/** The rules, one per kind. Read them as the access table of the API. */
const RULES: { readonly [K in AccessKind]: Rule<K> } = {
  user: (viewer, user) => {
    if (readsEverything(viewer) || isSelf(viewer, user.userId)) return ALL;
    if (isParticipant(viewer) && partnersOf(viewer).userIds.has(user.userId)) return only(...PARTNER_USER_FIELDS);
    return HIDDEN;
  },
  persona: (viewer, persona) => {
    if (readsEverything(viewer) || isSelf(viewer, persona.userId)) return ALL;
    if (isParticipant(viewer) && partnersOf(viewer).personaIds.has(persona.personaId)) return only(...PARTNER_PERSONA_FIELDS);
    return HIDDEN;
  },
  match: (viewer, match) => {
    if (readsEverything(viewer)) return ALL;
    if (sharedWith(viewer, match)) return allBut(...MATCH_STAFF_FIELDS);
    return HIDDEN;
  },
  matchListItem: (viewer, match) => {
    if (readsEverything(viewer)) return ALL;
    if (sharedWith(viewer, match)) {
      // A participant knows their partner by name, never by e-mail.
      return allBut(...MATCH_STAFF_FIELDS, match.mentorUserId === viewer.userId ? 'menteeEmail' : 'mentorEmail');
    }
    return HIDDEN;
  },
  historyEntry: (viewer, entry) => {
    if (readsEverything(viewer)) return ALL;
    if (isSelf(viewer, entry.userId) && !STAFF_ONLY_HISTORY_EVENTS.includes(entry.eventType)) return ALL;
    return HIDDEN;
  },
  meeting: (viewer, meeting) => {
    if (readsEverything(viewer)) return ALL;
    if (isSelf(viewer, meeting.mentorUserId) || isSelf(viewer, meeting.menteeUserId)) return ALL;
    return HIDDEN;
  },
  registration: (viewer, registration) => {
    if (readsEverything(viewer) || viewer.role === 'coordinator') return ALL;
    if (viewer.role === 'mentor' && viewer.userId === registration.userId) return ALL;
    if (viewer.role === 'manager' && sameEmail(registration.managerEmail, viewer.actorId)) return ALL;
    return HIDDEN;
  },
  // The conversation is between the volunteer and the initiative's staff (seed 003): never a manager's, nor
  // read through the API by auditors and analysts (who have the event log for what happened).
  registrationMessage: (viewer, message) => {
    if (viewer.role === 'admin' || viewer.role === 'coordinator') return ALL;
    if (viewer.role === 'mentor' && viewer.userId === message.userId) return ALL;
    return HIDDEN;
  },
  notification: (viewer) => (readsEverything(viewer) ? ALL : HIDDEN),
  managerReportRow: (viewer, row) => {
    if (readsEverything(viewer)) return ALL;
    if (viewer.role === 'manager' && sameEmail(row.managerEmail, viewer.actorId)) return ALL;
    return HIDDEN;
  },
  loggedEvent: (viewer) => (readsEverything(viewer) ? ALL : HIDDEN),
  availableMentor: (viewer, mentor) => {
    if (readsEverything(viewer)) return ALL;
    if (viewer.role === 'mentee' && isParticipant(viewer) && viewer.programIds.includes(mentor.programId)) return only(...MENTEE_AVAILABLE_MENTOR_FIELDS);
    return HIDDEN;
  },
  unmatchedMentee: (viewer) => (readsEverything(viewer) ? ALL : HIDDEN),
  mentorSuggestion: (viewer, suggestion) => (readsEverything(viewer) || (viewer.role === 'mentee' && isSelf(viewer, suggestion.menteeUserId)) ? ALL : HIDDEN),
  matchNeedingCheckIn: (viewer) => (readsEverything(viewer) ? ALL : HIDDEN),
  pastState: (viewer, state) => (readsEverything(viewer) || (state.userId !== null && isSelf(viewer, state.userId)) ? ALL : HIDDEN),
};

const sameEmail = (a: string | null, b: string): boolean => a !== null && a.trim().toLowerCase() === b.trim().toLowerCase();

/** Whether `viewer` may see `object` of kind `kind`, and which of its fields. */
export const visibility = <K extends AccessKind>(viewer: Viewer, kind: K, object: AccessObjects[K]): Visibility => RULES[kind](viewer, object);

/** Whether a visible object's field may be shown. */
export const fieldVisible = (seen: Visibility, field: string): boolean => {
  if (!seen.visible) return false;
  if (seen.only && !seen.only.has(field)) return false;
  return !seen.except?.has(field);
};

export const ACCESS_KINDS = Object.keys(RULES) as AccessKind[];
