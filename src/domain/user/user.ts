import type { DomainEvent } from '../../eventstore/eventStore';
import { DomainError, assertNever, type Decider } from '../shared/decider';
import { requireEmailAddress, requirePlainText, requireText } from '../shared/validation';
import { requireProgram, type ProgramState } from '../program/program';
import { describeMovesFrom, findMove, movesFrom, PARTICIPANT_ROLES, type MatchStatus, type MatchStatusMoveVia, type ParticipantRole } from './matchStatus';
import { describeUserStatus, isUserStatus, type UserStatus } from './userStatus';
import { normalizeEmail, personaIdFor } from './userId';
import { addressHolder, releaseBy, type EmailReservationEvent, type EmailReservationState } from './emailReservation';
import type { AttributeValue } from '../autoMatching/scoring';
import { ERASED, matchScope, registrationScope } from '../personalData';

const PROFILE_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Up to 50 attributes: text, number, yes/no, or a list of up to 100 short texts. */
const validateProfile = (attributes: Readonly<Record<string, unknown>>): Record<string, AttributeValue> => {
  const entries = Object.entries(attributes);
  if (entries.length > 50) throw new DomainError('VALIDATION_FAILED', `A profile has at most 50 attributes (got ${entries.length}).`, { field: 'attributes' });
  const clean: Record<string, AttributeValue> = {};
  for (const [key, value] of entries.sort(([a], [b]) => a.localeCompare(b))) {
    const field = `attributes.${key}`;
    if (!PROFILE_KEY.test(key)) throw new DomainError('VALIDATION_FAILED', `"${key}" is not an attribute name (letters, digits and _).`, { field });
    if (typeof value === 'number' && Number.isFinite(value)) clean[key] = value;
    else if (typeof value === 'boolean') clean[key] = value;
    else if (typeof value === 'string' && value.length <= 200) clean[key] = value.trim();
    else if (Array.isArray(value) && value.length <= 100 && value.every((item) => typeof item === 'string' && item.length <= 200)) {
      clean[key] = [...new Set(value.map((item: string) => item.trim()).filter((item) => item !== ''))];
    } else {
      throw new DomainError(
        'VALIDATION_FAILED',
        `Attribute "${key}" must be a text (up to 200 characters), a number, true/false, or a list of up to 100 texts.`,
        { field },
      );
    }
  }
  return clean;
};

// ---------------------------------------------------------------------------------------------
// Facts that several events share

export interface Manager {
  readonly name: string;
  readonly email: string;
}

export type PersonaStatus = 'ACTIVE' | 'INACTIVE';

/** Asked of each participant when a match closes. */
export type RematchIntent = 'YES' | 'MAYBE' | 'NO';
export const REMATCH_INTENTS: readonly RematchIntent[] = ['YES', 'MAYBE', 'NO'];

/** Why a persona exists. */
export type PersonaOrigin =
  | { readonly kind: 'REGISTRATION' }
  /** The participant answered yes or maybe to "another match?" when their match closed. */
  | { readonly kind: 'REMATCH_REQUESTED'; readonly matchId: string; readonly rematchIntent: 'YES' | 'MAYBE' }
  /** "Make RS": an admin brought back a participant who had said no. */
  | { readonly kind: 'MADE_RESCREENING' }
  /**
   * A mentor with capacity for several mentees at once: each live match has its own persona, so a
   * second concurrent match creates one (RTBM, then MATCHED in the same step).
   */
  | { readonly kind: 'ADDITIONAL_MATCH'; readonly matchId: string; readonly alongsidePersonaId: string };

/** What moved a persona's match status. */
export type MatchStatusCause =
  /** The user became Active (by a status change or a revert, named by `changeId`): N/A → RTBM. */
  | { readonly kind: 'USER_ACTIVATED'; readonly changeId: string }
  /**
   * Recorded before reverting an activation followed the seed's table: RTBM → N/A, undoing the
   * activation's automatic move. No longer made (the table has no such move: personas stay RTBM, as
   * after a direct A → SI); kept so that the logs that hold it still fold and replay.
   */
  | { readonly kind: 'ACTIVATION_REVERTED'; readonly changeId: string; readonly revertedChangeId: string }
  | { readonly kind: 'MATCH_ACTIVATED'; readonly matchId: string }
  | {
      readonly kind: 'MATCH_CLOSED';
      readonly matchId: string;
      readonly closureReason: string;
      readonly rematchIntent: RematchIntent;
    }
  | { readonly kind: 'MATCH_REOPENED'; readonly matchId: string }
  /** Make RTBM, Make Not Matching, back to Rescreening. */
  | { readonly kind: 'ADMIN' };

export type InactivationCause =
  | { readonly kind: 'CREATED_IN_ERROR' }
  /** The match the user was in reopened, so the rematch persona created at its closure is moot. */
  | { readonly kind: 'SUPERSEDED_BY_REOPENED_MATCH'; readonly matchId: string };

// ---------------------------------------------------------------------------------------------
// Events

export type UserRegistered = DomainEvent<
  'UserRegistered',
  {
    readonly userId: string;
    /** As typed (trimmed). */
    readonly email: string;
    /** Trimmed, lower-cased: what uniqueness and the user id are based on. */
    readonly normalizedEmail: string;
    readonly name: string;
    readonly programId: string;
    readonly role: ParticipantRole;
    readonly company: string | null;
    readonly manager: Manager | null;
    /** Always AI: every user starts with an incomplete application. */
    readonly userStatus: UserStatus;
  }
>;
export type PersonaCreated = DomainEvent<
  'PersonaCreated',
  {
    readonly userId: string;
    readonly personaId: string;
    readonly programId: string;
    readonly role: ParticipantRole;
    readonly matchStatus: MatchStatus;
    readonly origin: PersonaOrigin;
  }
>;
export type ApplicationCompleted = DomainEvent<'ApplicationCompleted', { readonly userId: string }>;
export type UserStatusChanged = DomainEvent<
  'UserStatusChanged',
  {
    readonly userId: string;
    /** Names this change, so that it can be reverted. */
    readonly changeId: string;
    readonly from: UserStatus;
    readonly to: UserStatus;
    /** True when the system made the change (AI → SI on a completed application). */
    readonly automatic: boolean;
    readonly trigger: 'MANUAL' | 'APPLICATION_COMPLETED';
  }
>;
export type UserStatusChangeReverted = DomainEvent<
  'UserStatusChangeReverted',
  {
    readonly userId: string;
    /** Names this revert, so that it can be reverted in turn. */
    readonly changeId: string;
    /** The change (a UserStatusChanged or an earlier revert) this one undoes. */
    readonly revertedChangeId: string;
    readonly from: UserStatus;
    readonly to: UserStatus;
  }
>;
export type PersonaMatchStatusChanged = DomainEvent<
  'PersonaMatchStatusChanged',
  {
    readonly userId: string;
    readonly personaId: string;
    readonly from: MatchStatus;
    readonly to: MatchStatus;
    /** The match the move is about (matched, closed, reopened); null otherwise. */
    readonly matchId: string | null;
    readonly cause: MatchStatusCause;
  }
>;
export type PersonaInactivated = DomainEvent<
  'PersonaInactivated',
  {
    readonly userId: string;
    readonly personaId: string;
    readonly matchStatus: MatchStatus;
    readonly matchId: string | null;
    /** True when the persona was MATCHED: its mentor and mentee can no longer communicate. */
    readonly communicationCut: boolean;
    readonly cause: InactivationCause;
  }
>;
export type PersonaAssignedToSite = DomainEvent<
  'PersonaAssignedToSite',
  {
    readonly userId: string;
    readonly personaId: string;
    readonly programId: string;
    readonly partnerSiteId: string;
    readonly mentorSiteListId: string | null;
    readonly previousPartnerSiteId: string | null;
    readonly previousMentorSiteListId: string | null;
  }
>;

/** "Submit Your Mentor Preferences": the mentee was invited to request a mentor (user-led matching). */
export type MenteeInvitedToMatch = DomainEvent<
  'MenteeInvitedToMatch',
  { readonly userId: string; readonly personaId: string; readonly programId: string }
>;
/** How many live matches this mentor may have at once in the program (overrides the program's default). */
export type MentorCapacitySet = DomainEvent<
  'MentorCapacitySet',
  { readonly userId: string; readonly programId: string; readonly capacity: number; readonly previous: number | null }
>;
/** The match's duration ran out: the persona stays MATCHED, and no longer takes a mentor's capacity. */
export type PersonaMatchCompleted = DomainEvent<
  'PersonaMatchCompleted',
  { readonly userId: string; readonly personaId: string; readonly matchId: string }
>;

/** The profile attributes auto-matching compares (interests, languages, time zone, ...), replaced whole. */
export type ProfileAttributesSet = DomainEvent<
  'ProfileAttributesSet',
  { readonly userId: string; readonly attributes: Readonly<Record<string, AttributeValue>> }
>;

/**
 * The user's e-mail address changed. Personal values are top-level fields of `data` (erasure maps
 * them by name). The address's reservation moves in the same append (emailReservation.ts).
 */
export type UserEmailChanged = DomainEvent<
  'UserEmailChanged',
  {
    readonly userId: string;
    /** As typed (trimmed). */
    readonly email: string;
    /** Trimmed, lower-cased: what uniqueness is based on. */
    readonly normalizedEmail: string;
    readonly previousEmail: string;
  }
>;

/**
 * A correction of the user's name, company or manager. Only the fields that changed are present;
 * null clears company or manager (a manager is both a name and an e-mail, or neither).
 */
export type UserProfileUpdated = DomainEvent<
  'UserProfileUpdated',
  {
    readonly userId: string;
    readonly name?: string;
    readonly company?: string | null;
    readonly managerName?: string | null;
    readonly managerEmail?: string | null;
  }
>;

/**
 * The person's personal data was erased (GDPR, a district's policy): their name, e-mail, company,
 * manager and profile, and the free text of `subjectIds` (the user and the matches and
 * registrations they took part in, see personalData.ts), everywhere. The SQL store erases it when it
 * appends this event; the log keeps every event and its hash chain.
 */
export type PersonalDataErased = DomainEvent<'PersonalDataErased', { readonly userId: string; readonly subjectIds: readonly string[] }>;

export type UserEvent =
  | PersonalDataErased
  | UserRegistered
  | UserEmailChanged
  | UserProfileUpdated
  | ProfileAttributesSet
  | MenteeInvitedToMatch
  | MentorCapacitySet
  | PersonaMatchCompleted
  | PersonaCreated
  | ApplicationCompleted
  | UserStatusChanged
  | UserStatusChangeReverted
  | PersonaMatchStatusChanged
  | PersonaInactivated
  | PersonaAssignedToSite;

// ---------------------------------------------------------------------------------------------
// State

export interface Persona {
  readonly personaId: string;
  /** n in `${userId}:p${n}`. */
  readonly number: number;
  readonly programId: string;
  readonly role: ParticipantRole;
  readonly personaStatus: PersonaStatus;
  readonly matchStatus: MatchStatus;
  /** The one match this persona was ever in; set when it is matched and never cleared. */
  readonly matchId: string | null;
  readonly partnerSiteId: string | null;
  readonly mentorSiteListId: string | null;
  readonly origin: PersonaOrigin;
  readonly lastMatchStatusCause: MatchStatusCause | null;
  /** Invited to submit mentor preferences (mentees in user-led programs). */
  readonly invited: boolean;
  /** Its match ran its full duration (the persona stays MATCHED). */
  readonly matchCompleted: boolean;
}

/** One entry of the user's status history: a change or a revert. */
export interface StatusChangeRecord {
  readonly changeId: string;
  readonly from: UserStatus;
  readonly to: UserStatus;
  /** The change this record reverts, when it is a revert. */
  readonly reverts: string | null;
  /** The revert that undid this record, if any. */
  readonly revertedBy: string | null;
}

export interface User {
  readonly status: 'REGISTERED';
  readonly userId: string;
  readonly email: string;
  readonly normalizedEmail: string;
  readonly name: string;
  readonly programId: string;
  readonly role: ParticipantRole;
  readonly company: string | null;
  readonly manager: Manager | null;
  readonly userStatus: UserStatus;
  readonly applicationCompleted: boolean;
  /** Oldest first. */
  readonly statusChanges: readonly StatusChangeRecord[];
  /** In creation order. */
  readonly personas: readonly Persona[];
  /** Per program id, where set for this mentor; otherwise the program's default applies. */
  readonly mentorCapacities: Readonly<Record<string, number>>;
  readonly profile: Readonly<Record<string, AttributeValue>>;
  /** Their personal data was erased: name and e-mail read `[erased]`; statuses and matches go on. */
  readonly personalDataErased: boolean;
}

export type UserState = { readonly status: 'NOT_REGISTERED' } | User;

// ---------------------------------------------------------------------------------------------
// Commands on the user stream alone

export type CompleteApplication = {
  readonly type: 'CompleteApplication';
  readonly data: { readonly userId: string; /** Id for the automatic AI → SI change. */ readonly changeId: string };
};
export type ChangeUserStatus = {
  readonly type: 'ChangeUserStatus';
  readonly data: { readonly userId: string; readonly changeId: string; readonly to: UserStatus };
};
export type RevertUserStatusChange = {
  readonly type: 'RevertUserStatusChange';
  readonly data: {
    readonly userId: string;
    /** Id for this revert. */
    readonly changeId: string;
    readonly revertedChangeId: string;
  };
};
/** The manual match-status moves: Make RTBM (RS → RTBM), Make Not Matching (RS → NM), NM → RS. */
export type ChangePersonaMatchStatus = {
  readonly type: 'ChangePersonaMatchStatus';
  readonly data: { readonly userId: string; readonly personaId: string; readonly to: MatchStatus };
};
/** "Make [user] RS": a new RESCREENING persona for a participant whose matches are all closed. */
export type MakeUserRescreening = { readonly type: 'MakeUserRescreening'; readonly data: { readonly userId: string } };
export type InactivatePersona = {
  readonly type: 'InactivatePersona';
  readonly data: {
    readonly userId: string;
    readonly personaId: string;
    /** Must be true to inactivate a MATCHED persona, whose pair can then no longer communicate. */
    readonly confirmCutCommunication?: boolean;
  };
};

export type SetProfileAttributes = {
  readonly type: 'SetProfileAttributes';
  readonly data: { readonly userId: string; readonly attributes: Readonly<Record<string, AttributeValue>> };
};

/**
 * Correct the name, company or manager. Absent fields stay; null clears company, or the manager
 * (managerName and managerEmail both null).
 */
export type UpdateUserProfile = {
  readonly type: 'UpdateUserProfile';
  readonly data: {
    readonly userId: string;
    readonly name?: string;
    readonly company?: string | null;
    readonly managerName?: string | null;
    readonly managerEmail?: string | null;
  };
};

/**
 * Erase the user's personal data. `registrationIds`: their registrations to initiatives (another
 * aggregate's, looked up by the application), whose free text goes too. Without `confirm` it is
 * refused with CONFIRMATION_REQUIRED, saying what would be erased.
 */
export type ErasePersonalData = {
  readonly type: 'ErasePersonalData';
  readonly data: { readonly userId: string; readonly registrationIds: readonly string[]; readonly confirm: boolean };
};

export type UserCommand =
  | UpdateUserProfile
  | ErasePersonalData
  | SetProfileAttributes
  | CompleteApplication
  | ChangeUserStatus
  | RevertUserStatusChange
  | ChangePersonaMatchStatus
  | MakeUserRescreening
  | InactivatePersona;

// ---------------------------------------------------------------------------------------------
// Helpers shared with the cross-aggregate decisions

export const requireUser = (state: UserState, userId: string): User => {
  if (state.status === 'NOT_REGISTERED') throw new DomainError('NOT_FOUND', `User ${userId} does not exist.`, { userId });
  return state;
};

export const findPersona = (user: User, personaId: string): Persona | null =>
  user.personas.find((persona) => persona.personaId === personaId) ?? null;

export const requirePersona = (user: User, personaId: string): Persona => {
  const persona = findPersona(user, personaId);
  if (!persona) {
    throw new DomainError('NOT_FOUND', `User ${user.name} (${user.userId}) has no persona ${personaId}.`, {
      userId: user.userId,
      personaId,
    });
  }
  return persona;
};

export const requireActivePersona = (user: User, persona: Persona, doing: string): void => {
  if (persona.personaStatus === 'INACTIVE') {
    throw new DomainError(
      'RULE_VIOLATED',
      `Persona ${persona.personaId} of ${user.name} is inactive (created in error), so it cannot ${doing}.`,
      { userId: user.userId, personaId: persona.personaId },
    );
  }
};

export const requireActiveUser = (user: User, doing: string): void => {
  if (user.userStatus !== 'A') {
    throw new DomainError(
      'RULE_VIOLATED',
      `${user.name} (${user.userId}) is ${describeUserStatus(user.userStatus)}; only Active (A) users can ${doing}. ` +
        'Change the user status to A first.',
      { userId: user.userId, userStatus: user.userStatus },
    );
  }
};

/**
 * The event for one move of the match-status table, or ILLEGAL_TRANSITION naming the moves that are
 * allowed from the persona's current status.
 */
export const moveMatchStatus = (
  user: User,
  persona: Persona,
  to: MatchStatus,
  /** How the caller makes the move; null when it has no way to make it (then it is refused). */
  via: MatchStatusMoveVia | null,
  cause: MatchStatusCause,
  matchId: string | null = null,
): PersonaMatchStatusChanged => {
  const from = persona.matchStatus;
  if (via === null || !findMove(from, to, persona.role, via)) {
    const sameTarget = movesFrom(from, persona.role).find((move) => move.to === to);
    const onlyOnce =
      via === 'MATCH' && persona.matchId !== null
        ? ` A persona is matched only once (this one was in match ${persona.matchId}); a new match needs a new persona.`
        : '';
    const message = sameTarget
      ? `Persona ${persona.personaId} is ${from}; it moves to ${to} only ${sameTarget.how}.${onlyOnce}`
      : `Persona ${persona.personaId} is ${from}; ${describeMovesFrom(from, persona.role)}.${onlyOnce}`;
    throw new DomainError('ILLEGAL_TRANSITION', message, {
      userId: user.userId,
      personaId: persona.personaId,
      from,
      to,
      allowed: movesFrom(from, persona.role).map((move) => move.to),
    });
  }
  return { type: 'PersonaMatchStatusChanged', data: { userId: user.userId, personaId: persona.personaId, from, to, matchId, cause } };
};

export const nextPersonaId = (user: User): string => personaIdFor(user.userId, user.personas.length + 1);

export const personaCreated = (
  user: User,
  template: Pick<Persona, 'programId' | 'role'>,
  matchStatus: MatchStatus,
  origin: PersonaOrigin,
): PersonaCreated => ({
  type: 'PersonaCreated',
  data: { userId: user.userId, personaId: nextPersonaId(user), programId: template.programId, role: template.role, matchStatus, origin },
});

const activePersonas = (user: User) => user.personas.filter((persona) => persona.personaStatus === 'ACTIVE');

/**
 * Where each change id sits in a `statusChanges` list, so a command finds a change (or learns the id
 * is unused, which every status command does) without walking the user's whole history: on a user
 * with ~1,000 changes that walk was 3.7 % of a `changeUserStatus`'s CPU. Kept beside the lists, not
 * in the state, so states stay plain data; `evolve` hands a list's positions on to the list it makes
 * from it, so the index is built once per stream, not once per event. Lists that fork from one list
 * (a cached state and a state decided again) share the positions, and a position recorded by another
 * fork is checked against this list before it is believed.
 */
const changePositions = new WeakMap<readonly StatusChangeRecord[], Map<string, number>>();

const positionsOf = (changes: readonly StatusChangeRecord[]): Map<string, number> => {
  let positions = changePositions.get(changes);
  if (!positions) {
    positions = new Map();
    for (let at = 0; at < changes.length; at++) if (!positions.has(changes[at]!.changeId)) positions.set(changes[at]!.changeId, at);
    changePositions.set(changes, positions);
  }
  return positions;
};

/** `changes` (the same ids at the same places as `previous`) with `record` after them. */
const withChange = (previous: readonly StatusChangeRecord[], changes: readonly StatusChangeRecord[], record: StatusChangeRecord): StatusChangeRecord[] => {
  const next = [...changes, record];
  const positions = positionsOf(previous);
  if (!positions.has(record.changeId)) positions.set(record.changeId, changes.length);
  changePositions.set(next, positions);
  return next;
};

/** The first change in the user's history with this id. */
const findChange = (user: User, changeId: string): StatusChangeRecord | undefined => {
  const at = positionsOf(user.statusChanges).get(changeId);
  // Every id of every list sharing the positions is in them: an id not there is in none of the lists.
  if (at === undefined) return undefined;
  const found = user.statusChanges[at];
  return found?.changeId === changeId ? found : user.statusChanges.find((change) => change.changeId === changeId);
};

const requireUnusedChangeId = (user: User, changeId: string): string => {
  const id = requireText('Change id', changeId);
  if (findChange(user, id) !== undefined) {
    throw new DomainError('ALREADY_EXISTS', `Status change ${id} already exists for ${user.name}; use a new change id.`, {
      userId: user.userId,
      changeId: id,
    });
  }
  return id;
};

/** Becoming Active makes every active never-matched (N/A) persona ready to be matched. */
const activationMoves = (user: User, changeId: string): PersonaMatchStatusChanged[] =>
  activePersonas(user)
    .filter((persona) => persona.matchStatus === 'N/A')
    .map((persona) => moveMatchStatus(user, persona, 'RTBM', 'USER_ACTIVATED', { kind: 'USER_ACTIVATED', changeId }));

/** Whether a record's change is in effect: not reverted, or its revert was itself undone. */
const inEffect = (user: User, change: StatusChangeRecord): boolean => {
  if (change.revertedBy === null) return true;
  const revert = findChange(user, change.revertedBy);
  return revert === undefined ? false : !inEffect(user, revert);
};

/**
 * The changes after a target that stand in the way of reverting it: a change still in effect, or a
 * revert in effect that undid something before the target. A later change that was itself reverted
 * (and a revert of a later change) cancel out: "You can always revert any user status changes you
 * make" (seed 000).
 */
const changesInTheWay = (user: User, later: readonly StatusChangeRecord[]): StatusChangeRecord[] => {
  const laterIds = new Set(later.map((change) => change.changeId));
  return later.filter((change) => inEffect(user, change) && (change.reverts === null || !laterIds.has(change.reverts)));
};

const describeChange = (change: StatusChangeRecord) =>
  `${change.reverts ? 'revert' : 'change'} ${change.changeId} (${change.from} → ${change.to})`;

/**
 * The user-status moves an admin may make directly (seeds 000 and 001). A direct move never skips a
 * step the user has not passed: the application is finished by the user (AI → SI happens
 * automatically), screening is passed by making the user Active from SI, and nobody is sent back to
 * an earlier step except by reverting the change that moved them (which is always possible, see
 * `revertUserStatusChange`). Leaving the program (IW, IR, ID) is possible from every status.
 */
export const allowedDirectMoves = (user: Pick<User, 'userStatus' | 'applicationCompleted' | 'statusChanges'>): readonly UserStatus[] => {
  const inactive: readonly UserStatus[] = ['IW', 'IR', 'ID'];
  const leave = inactive.filter((status) => status !== user.userStatus);
  switch (user.userStatus) {
    case 'AI':
      return leave;
    case 'SI':
      return ['A', ...leave];
    case 'A':
      return ['SI', ...leave];
    case 'IW':
    case 'IR':
    case 'ID': {
      // Coming back: to the step the user had reached before leaving.
      const wasActive = user.statusChanges.some((change) => change.to === 'A');
      const back: UserStatus[] = !user.applicationCompleted ? ['AI'] : wasActive ? ['SI', 'A'] : ['SI'];
      return [...back, ...leave];
    }
    default:
      return assertNever(user.userStatus);
  }
};

/** Why a move that is not direct is refused, and what to do instead. */
const whyNotDirect = (user: User, to: UserStatus): string => {
  if (user.userStatus === 'AI' && to === 'SI') return 'The user moves to SI automatically when their application is completed (completeApplication).';
  if (user.userStatus === 'AI' && to === 'A') return 'That would skip the application and the screening: complete the application (AI → SI), then make the user Active after screening (SI → A).';
  if (to === 'AI') return 'Nobody is sent back to an incomplete application; to undo the change that completed it, revert that change.';
  if (to === 'A' && user.applicationCompleted) return 'The user was never screened (never Active): move them to SI first, then to A.';
  if (to === 'A' || to === 'SI') return 'Their application was never completed: move them back to AI so they can finish it.';
  return 'To undo an earlier change, revert it instead.';
};

// ---------------------------------------------------------------------------------------------
// Decisions on the user stream alone

const changeUserStatus = (user: User, command: ChangeUserStatus): UserEvent[] => {
  const changeId = requireUnusedChangeId(user, command.data.changeId);
  const { to } = command.data;
  if (!isUserStatus(to)) {
    throw new DomainError('VALIDATION_FAILED', `"${to}" is not a user status; use one of A, AI, SI, IW, IR, ID.`, { field: 'to' });
  }
  if (to === user.userStatus) {
    throw new DomainError('ILLEGAL_TRANSITION', `${user.name} is already ${describeUserStatus(to)}.`, {
      userId: user.userId,
      from: user.userStatus,
      to,
    });
  }
  const allowed = allowedDirectMoves(user);
  if (!allowed.includes(to)) {
    throw new DomainError(
      'ILLEGAL_TRANSITION',
      `${user.name} is ${describeUserStatus(user.userStatus)} and cannot be moved directly to ${describeUserStatus(to)}. ${whyNotDirect(user, to)} ` +
        `From ${user.userStatus} an admin may move them to: ${allowed.map(describeUserStatus).join(', ')}.`,
      { userId: user.userId, from: user.userStatus, to, allowed },
    );
  }
  return [
    {
      type: 'UserStatusChanged',
      data: { userId: user.userId, changeId, from: user.userStatus, to, automatic: false, trigger: 'MANUAL' },
    },
    ...(to === 'A' ? activationMoves(user, changeId) : []),
  ];
};

const revertUserStatusChange = (user: User, command: RevertUserStatusChange): UserEvent[] => {
  const changeId = requireUnusedChangeId(user, command.data.changeId);
  const { revertedChangeId } = command.data;
  const target = findChange(user, revertedChangeId);
  if (!target) {
    throw new DomainError('NOT_FOUND', `${user.name} has no status change ${revertedChangeId}.`, {
      userId: user.userId,
      changeId: revertedChangeId,
    });
  }
  if (target.revertedBy !== null) {
    const revert = findChange(user, target.revertedBy)!;
    const hint =
      revert.revertedBy !== null
        ? ` That revert was itself reverted by ${revert.revertedBy}; to undo the status again, revert ${revert.revertedBy}.`
        : ` To restore ${target.to}, revert ${revert.changeId} instead.`;
    throw new DomainError('RULE_VIOLATED', `Status ${describeChange(target)} was already reverted by ${revert.changeId}.${hint}`, {
      userId: user.userId,
      changeId: target.changeId,
      revertedBy: revert.changeId,
    });
  }
  const later = user.statusChanges.slice(user.statusChanges.indexOf(target) + 1);
  const blocking = changesInTheWay(user, later);
  if (blocking.length > 0 || user.userStatus !== target.to) {
    const latest = blocking.at(-1) ?? later.at(-1)!;
    throw new DomainError(
      'REVERT_AMBIGUOUS',
      `Cannot revert ${describeChange(target)} of ${user.name}: the status has moved on since, by ${(blocking.length > 0 ? blocking : later).map(describeChange).join(', ')}. ` +
        `Revert ${latest.changeId} first, or change the status directly.`,
      { userId: user.userId, changeId: target.changeId, laterChangeIds: (blocking.length > 0 ? blocking : later).map((change) => change.changeId) },
    );
  }
  const to = target.from;
  // The table (seed 001) has no way back from RTBM: personas made RTBM by an activation stay RTBM
  // when the activation is reverted, as they do when an admin moves the user from A to SI; only a
  // user who is Active again can be matched.
  return [
    { type: 'UserStatusChangeReverted', data: { userId: user.userId, changeId, revertedChangeId, from: user.userStatus, to } },
    ...(to === 'A' ? activationMoves(user, changeId) : []),
  ];
};

const completeApplication = (user: User, command: CompleteApplication): UserEvent[] => {
  const changeId = requireUnusedChangeId(user, command.data.changeId);
  if (user.userStatus !== 'AI') {
    throw new DomainError(
      'ILLEGAL_TRANSITION',
      `${user.name} is ${describeUserStatus(user.userStatus)}; only a user whose application is incomplete (AI) can complete it.`,
      { userId: user.userId, userStatus: user.userStatus },
    );
  }
  return [
    { type: 'ApplicationCompleted', data: { userId: user.userId } },
    {
      type: 'UserStatusChanged',
      data: { userId: user.userId, changeId, from: 'AI', to: 'SI', automatic: true, trigger: 'APPLICATION_COMPLETED' },
    },
  ];
};

const MANUAL_MOVES: Partial<Record<MatchStatus, MatchStatusMoveVia>> = {
  RTBM: 'MAKE_RTBM',
  NOT_MATCHING: 'MAKE_NOT_MATCHING',
  RESCREENING: 'MAKE_RESCREENING',
};

const changePersonaMatchStatus = (user: User, command: ChangePersonaMatchStatus): UserEvent[] => {
  const persona = requirePersona(user, command.data.personaId);
  requireActivePersona(user, persona, 'change match status');
  const { to } = command.data;
  // Moves into MATCHED or CLOSED belong to match commands, and N/A → RTBM to activation; the
  // table check below refuses them here with a message naming the right way.
  const via = MANUAL_MOVES[to] ?? null;
  const event = moveMatchStatus(user, persona, to, via, { kind: 'ADMIN' });
  if (to === 'RTBM') requireActiveUser(user, 'be made ready to be matched (RTBM)');
  return [event];
};

/** Match statuses that make a new rescreening persona pointless or confusing. */
const BLOCKS_MAKE_RESCREENING: Readonly<Partial<Record<MatchStatus, string>>> = {
  'N/A': 'it becomes RTBM when the user is Active, no new persona is needed',
  RTBM: 'it is already waiting to be matched',
  MATCHED: 'the user is in a match; close it first (answering yes or maybe creates the rescreening persona)',
  RESCREENING: 'the user is already being rescreened',
  NOT_MATCHING: 'move that persona back to RESCREENING instead of creating a new one',
};

const makeUserRescreening = (user: User): UserEvent[] => {
  const active = activePersonas(user);
  for (const persona of active) {
    const why = BLOCKS_MAKE_RESCREENING[persona.matchStatus];
    if (why !== undefined) {
      throw new DomainError(
        'RULE_VIOLATED',
        `${user.name} already has persona ${persona.personaId} in ${persona.matchStatus}: ${why}.`,
        { userId: user.userId, personaId: persona.personaId, matchStatus: persona.matchStatus },
      );
    }
  }
  // Only CLOSED personas remain: the new one continues the most recent of them.
  const template = active.at(-1) ?? user;
  return [personaCreated(user, template, 'RESCREENING', { kind: 'MADE_RESCREENING' })];
};

/**
 * The checks and the event of an inactivation. A MATCHED persona needs `confirmCutCommunication`,
 * and then its match closes in the same step ("if you inactivate a matched mentor they will not be
 * able to communicate with their mentee", seed 001): that decision reads the match and the partner
 * too (`decideInactivateMatchedPersona` in match.ts, which passes `closesMatch`); on the user stream
 * alone a confirmed MATCHED persona is refused, as the persona was matched after the caller looked.
 */
export const inactivation = (
  user: User,
  command: InactivatePersona,
  options: { readonly closesMatch: boolean } = { closesMatch: false },
): PersonaInactivated => {
  const persona = requirePersona(user, command.data.personaId);
  if (persona.personaStatus === 'INACTIVE') {
    throw new DomainError('ILLEGAL_TRANSITION', `Persona ${persona.personaId} of ${user.name} is already inactive.`, {
      userId: user.userId,
      personaId: persona.personaId,
    });
  }
  if (activePersonas(user).length === 1) {
    throw new DomainError(
      'RULE_VIOLATED',
      `Persona ${persona.personaId} is the last active persona of ${user.name}. To take the user out of the program, ` +
        'change the user status instead (IW, IR or ID).',
      { userId: user.userId, personaId: persona.personaId },
    );
  }
  const matched = persona.matchStatus === 'MATCHED';
  if (matched && command.data.confirmCutCommunication !== true) {
    throw new DomainError(
      'CONFIRMATION_REQUIRED',
      `Persona ${persona.personaId} of ${user.name} is MATCHED (match ${persona.matchId}): inactivating it stops the mentor ` +
        'and mentee from communicating, so the match is closed and the mentor\'s place is freed. Confirm with ' +
        'confirmCutCommunication: true to go ahead.',
      { userId: user.userId, personaId: persona.personaId, matchId: persona.matchId },
    );
  }
  if (matched && !options.closesMatch) {
    throw new DomainError(
      'CONCURRENCY_CONFLICT',
      `Persona ${persona.personaId} of ${user.name} was matched (match ${persona.matchId}) while this command ran; try again.`,
      { userId: user.userId, personaId: persona.personaId, matchId: persona.matchId },
    );
  }
  return {
    type: 'PersonaInactivated',
    data: {
      userId: user.userId,
      personaId: persona.personaId,
      matchStatus: persona.matchStatus,
      matchId: persona.matchId,
      communicationCut: matched,
      cause: { kind: 'CREATED_IN_ERROR' },
    },
  };
};

const inactivatePersona = (user: User, command: InactivatePersona): UserEvent[] => [inactivation(user, command)];

/** An erased person's personal data is gone for good: it is not written again under their id. */
const requireNotErased = (user: User, what: string): void => {
  if (user.personalDataErased) {
    throw new DomainError(
      'RULE_VIOLATED',
      `The personal data of user ${user.userId} was erased; their ${what} cannot be set again. Register the person anew if they come back.`,
      { userId: user.userId },
    );
  }
};

const updateUserProfile = (user: User, command: UpdateUserProfile): UserEvent[] => {
  requireNotErased(user, 'profile');
  const { name, company, managerName, managerEmail } = command.data;
  if (name === undefined && company === undefined && managerName === undefined && managerEmail === undefined) {
    throw new DomainError('VALIDATION_FAILED', 'Give at least one of name, company, managerName or managerEmail to change.', { field: 'input' });
  }
  const nextName = name === undefined ? user.name : requirePlainText('Name', name, 200);
  const nextCompany = company === undefined ? user.company : company === null || company.trim() === '' ? null : requirePlainText('Company', company, 200);
  const nextManagerName =
    managerName === undefined ? (user.manager?.name ?? null) : managerName === null ? null : requirePlainText('Manager name', managerName, 200);
  const nextManagerEmail =
    managerEmail === undefined ? (user.manager?.email ?? null) : managerEmail === null ? null : requireEmailAddress('Manager e-mail', managerEmail);
  if ((nextManagerName === null) !== (nextManagerEmail === null)) {
    throw new DomainError(
      'VALIDATION_FAILED',
      user.manager === null
        ? 'A manager needs both a name and an e-mail address: give managerName and managerEmail together.'
        : 'A manager is a name and an e-mail address together: to remove the manager, set both managerName and managerEmail to null.',
      { field: nextManagerName === null ? 'managerName' : 'managerEmail' },
    );
  }
  const data: { -readonly [K in keyof UserProfileUpdated['data']]: UserProfileUpdated['data'][K] } = { userId: user.userId };
  if (nextName !== user.name) data.name = nextName;
  if (nextCompany !== user.company) data.company = nextCompany;
  if (nextManagerName !== (user.manager?.name ?? null)) data.managerName = nextManagerName;
  if (nextManagerEmail !== (user.manager?.email ?? null)) data.managerEmail = nextManagerEmail;
  if (Object.keys(data).length === 1) {
    throw new DomainError('RULE_VIOLATED', `Nothing to change: ${user.name}'s profile already has these values.`, { userId: user.userId });
  }
  return [{ type: 'UserProfileUpdated', data }];
};

const erasePersonalData = (user: User, command: ErasePersonalData): UserEvent[] => {
  if (user.personalDataErased) {
    throw new DomainError('RULE_VIOLATED', `The personal data of user ${user.userId} was already erased; there is nothing left to erase.`, {
      userId: user.userId,
    });
  }
  const matchIds = [...new Set(user.personas.flatMap((persona) => (persona.matchId === null ? [] : [persona.matchId])))];
  const registrationIds = [...new Set(command.data.registrationIds)];
  if (!command.data.confirm) {
    throw new DomainError(
      'CONFIRMATION_REQUIRED',
      `Erasing the personal data of ${user.name} (user ${user.userId}) removes, everywhere and for good, their name, e-mail, company, ` +
        `manager and profile attributes, the messages of their match requests, the titles, notes and cancellation reasons of the ` +
        `meetings of their ${matchIds.length} match(es), and the manager details and messages of their ${registrationIds.length} ` +
        `registration(s); e-mails to them are no longer sent. Statuses, matches, dates and counts stay. Confirm with confirm: true.`,
      { userId: user.userId, matches: matchIds.length, registrations: registrationIds.length },
    );
  }
  return [
    {
      type: 'PersonalDataErased',
      data: { userId: user.userId, subjectIds: [user.userId, ...matchIds.map(matchScope), ...registrationIds.map(registrationScope)] },
    },
  ];
};

const decide = (command: UserCommand, state: UserState): UserEvent[] => {
  const user = requireUser(state, command.data.userId);
  switch (command.type) {
    case 'CompleteApplication':
      return completeApplication(user, command);
    case 'ChangeUserStatus':
      return changeUserStatus(user, command);
    case 'RevertUserStatusChange':
      return revertUserStatusChange(user, command);
    case 'ChangePersonaMatchStatus':
      return changePersonaMatchStatus(user, command);
    case 'MakeUserRescreening':
      return makeUserRescreening(user);
    case 'InactivatePersona':
      return inactivatePersona(user, command);
    case 'UpdateUserProfile':
      return updateUserProfile(user, command);
    case 'ErasePersonalData':
      return erasePersonalData(user, command);
    case 'SetProfileAttributes': {
      const attributes = validateProfile(command.data.attributes);
      if (JSON.stringify(attributes) === JSON.stringify(user.profile)) return [];
      return [{ type: 'ProfileAttributesSet', data: { userId: user.userId, attributes } }];
    }
    default:
      return assertNever(command);
  }
};

// ---------------------------------------------------------------------------------------------
// Evolve

const updatePersona = (user: User, personaId: string, update: (persona: Persona) => Persona): User => ({
  ...user,
  personas: user.personas.map((persona) => (persona.personaId === personaId ? update(persona) : persona)),
});

const evolve = (state: UserState, event: UserEvent): UserState => {
  if (event.type === 'UserRegistered') {
    return {
      status: 'REGISTERED',
      ...event.data,
      applicationCompleted: false,
      statusChanges: [],
      personas: [],
      mentorCapacities: {},
      profile: {},
      personalDataErased: event.data.name === ERASED,
    };
  }
  if (state.status === 'NOT_REGISTERED') return state;
  switch (event.type) {
    case 'UserEmailChanged':
      return { ...state, email: event.data.email, normalizedEmail: event.data.normalizedEmail };
    case 'UserProfileUpdated': {
      const { name, company, managerName, managerEmail } = event.data;
      const nextManagerName = managerName === undefined ? (state.manager?.name ?? null) : managerName;
      const nextManagerEmail = managerEmail === undefined ? (state.manager?.email ?? null) : managerEmail;
      return {
        ...state,
        name: name ?? state.name,
        company: company === undefined ? state.company : company,
        manager: nextManagerName !== null && nextManagerEmail !== null ? { name: nextManagerName, email: nextManagerEmail } : null,
      };
    }
    case 'PersonaCreated': {
      const { userId: _userId, ...data } = event.data;
      const persona: Persona = {
        ...data,
        number: state.personas.length + 1,
        personaStatus: 'ACTIVE',
        matchId: null,
        partnerSiteId: null,
        mentorSiteListId: null,
        lastMatchStatusCause: null,
        invited: false,
        matchCompleted: false,
      };
      return { ...state, personas: [...state.personas, persona] };
    }
    case 'ApplicationCompleted':
      return { ...state, applicationCompleted: true };
    case 'UserStatusChanged': {
      const { changeId, from, to } = event.data;
      return { ...state, userStatus: to, statusChanges: withChange(state.statusChanges, state.statusChanges, { changeId, from, to, reverts: null, revertedBy: null }) };
    }
    case 'UserStatusChangeReverted': {
      const { changeId, revertedChangeId, from, to } = event.data;
      return {
        ...state,
        userStatus: to,
        statusChanges: withChange(
          state.statusChanges,
          state.statusChanges.map((change) => (change.changeId === revertedChangeId ? { ...change, revertedBy: changeId } : change)),
          { changeId, from, to, reverts: revertedChangeId, revertedBy: null },
        ),
      };
    }
    case 'PersonaMatchStatusChanged': {
      const { to, cause } = event.data;
      return updatePersona(state, event.data.personaId, (persona) => ({
        ...persona,
        matchStatus: to,
        matchId: cause.kind === 'MATCH_ACTIVATED' ? cause.matchId : persona.matchId,
        matchCompleted: cause.kind === 'MATCH_REOPENED' ? false : persona.matchCompleted,
        lastMatchStatusCause: cause,
      }));
    }
    case 'PersonaInactivated':
      return updatePersona(state, event.data.personaId, (persona) => ({ ...persona, personaStatus: 'INACTIVE' }));
    case 'PersonaAssignedToSite': {
      const { partnerSiteId, mentorSiteListId } = event.data;
      return updatePersona(state, event.data.personaId, (persona) => ({ ...persona, partnerSiteId, mentorSiteListId }));
    }
    case 'MenteeInvitedToMatch':
      return updatePersona(state, event.data.personaId, (persona) => ({ ...persona, invited: true }));
    case 'ProfileAttributesSet':
      return { ...state, profile: event.data.attributes };
    case 'MentorCapacitySet':
      return { ...state, mentorCapacities: { ...state.mentorCapacities, [event.data.programId]: event.data.capacity } };
    case 'PersonaMatchCompleted':
      return updatePersona(state, event.data.personaId, (persona) => ({ ...persona, matchCompleted: true }));
    case 'PersonalDataErased':
      return { ...state, email: ERASED, normalizedEmail: ERASED, name: ERASED, company: null, manager: null, profile: {}, personalDataErased: true };
    default:
      return state;
  }
};

export const userDecider: Decider<UserCommand, UserState, UserEvent> = {
  initialState: () => ({ status: 'NOT_REGISTERED' }),
  evolve,
  decide,
};

// ---------------------------------------------------------------------------------------------
// Decisions that also read the program stream (nothing is written to it)

export type RegisterUser = {
  readonly type: 'RegisterUser';
  readonly data: {
    /** A new random id (made by the application, never derived from the address). */
    readonly userId: string;
    readonly email: string;
    readonly name: string;
    readonly programId: string;
    readonly role: ParticipantRole;
    readonly company?: string | null;
    readonly manager?: Manager | null;
  };
};

/** What a decision that claims an address reads besides the user: see `addressHolder`. */
export interface AddressStates {
  /** The address's reservation stream. */
  readonly reservation: EmailReservationState;
  /** The legacy stream `user-<uuidv5(address)>`, which held the address before reservations existed. */
  readonly legacyUser: UserState;
}

const requireFreeAddress = (address: AddressStates, email: string, normalizedEmail: string): void => {
  const holder = addressHolder(address.reservation, address.legacyUser, normalizedEmail);
  if (holder !== null) {
    throw new DomainError('ALREADY_EXISTS', `A user with e-mail ${email} already exists (user ${holder}).`, { userId: holder, email });
  }
};

/**
 * Streams: `user` = userStream(userId) with a new random id, `program` = programStream(programId),
 * `reservation` = the address's reservation stream, `legacyUser` = userStream(uuidv5(address)).
 * The claim is appended with the reservation's expected revision (`no_stream` the first time) in
 * the same append as the user's events: of two concurrent registrations of one address exactly one
 * succeeds; the other is decided again and refused here.
 */
export const decideRegisterUser = (
  command: RegisterUser,
  states: { readonly user: UserState; readonly program: ProgramState } & AddressStates,
): { readonly user: readonly UserEvent[]; readonly reservation: readonly EmailReservationEvent[] } => {
  const email = requireEmailAddress('E-mail', command.data.email);
  const normalizedEmail = normalizeEmail(email);
  const { userId } = command.data;
  if (states.user.status === 'REGISTERED') {
    throw new DomainError('ALREADY_EXISTS', `User ${userId} already exists (${states.user.name}).`, { userId });
  }
  requireFreeAddress(states, email, normalizedEmail);
  const program = requireProgram(states.program, command.data.programId);
  if (!PARTICIPANT_ROLES.includes(command.data.role)) {
    throw new DomainError('VALIDATION_FAILED', `Role must be MENTOR or MENTEE (got ${command.data.role}).`, { field: 'role' });
  }
  const manager = command.data.manager
    ? { name: requirePlainText('Manager name', command.data.manager.name, 200), email: requireEmailAddress('Manager e-mail', command.data.manager.email) }
    : null;
  const company = command.data.company?.trim() ? requirePlainText('Company', command.data.company, 200) : null;
  const registered: UserRegistered = {
    type: 'UserRegistered',
    data: {
      userId,
      email,
      normalizedEmail,
      name: requirePlainText('Name', command.data.name, 200),
      programId: program.programId,
      role: command.data.role,
      company,
      manager,
      userStatus: 'AI',
    },
  };
  const user = evolve(userDecider.initialState(), registered) as User;
  return {
    user: [registered, personaCreated(user, user, 'N/A', { kind: 'REGISTRATION' })],
    reservation: [{ type: 'EmailAddressReserved', data: { userId } }],
  };
};

export type ChangeUserEmail = {
  readonly type: 'ChangeUserEmail';
  readonly data: {
    readonly userId: string;
    readonly email: string;
    /**
     * The normalised address the user had when the command was built: it named the old address's
     * reservation stream. If the user's address changed since, the command is refused with
     * CONCURRENCY_CONFLICT and built again.
     */
    readonly currentNormalizedEmail: string;
  };
};

/**
 * Streams: `user`; `reservation` and `legacyUser` of the new address (as for a registration);
 * `previousReservation` = the old address's reservation stream, which gets the release (created with
 * it for a legacy user, whose old address had none), so the old address is free for anyone.
 */
export const decideChangeUserEmail = (
  command: ChangeUserEmail,
  states: { readonly user: UserState; readonly previousReservation: EmailReservationState } & AddressStates,
): { readonly user: readonly UserEvent[]; readonly reservation: readonly EmailReservationEvent[]; readonly previousReservation: readonly EmailReservationEvent[] } => {
  const user = requireUser(states.user, command.data.userId);
  requireNotErased(user, 'e-mail address');
  const email = requireEmailAddress('E-mail', command.data.email);
  const normalizedEmail = normalizeEmail(email);
  if (user.normalizedEmail !== command.data.currentNormalizedEmail) {
    throw new DomainError('CONCURRENCY_CONFLICT', `The e-mail address of ${user.name} changed while this command ran; try again.`, {
      userId: user.userId,
      emailChangedMeanwhile: true,
    });
  }
  if (email === user.email) {
    throw new DomainError('RULE_VIOLATED', `Nothing to change: ${email} is already the e-mail address of ${user.name}.`, { userId: user.userId });
  }
  const changed: UserEmailChanged = {
    type: 'UserEmailChanged',
    data: { userId: user.userId, email, normalizedEmail, previousEmail: user.email },
  };
  // Only the spelling changed (case): the user keeps the same reservation.
  if (normalizedEmail === user.normalizedEmail) return { user: [changed], reservation: [], previousReservation: [] };
  requireFreeAddress(states, email, normalizedEmail);
  return {
    user: [changed],
    reservation: [{ type: 'EmailAddressReserved', data: { userId: user.userId } }],
    previousReservation: releaseBy(states.previousReservation, user.userId),
  };
};

/**
 * Streams: `user` = userStream(userId), `reservation` = the reservation stream of the address the
 * user has when the command starts. Erasing releases the address in the same append (its holder, or
 * a legacy user who never had a reservation stream), so it can be registered again by a new user
 * with a new id; the erased user keeps their id, statuses and history.
 */
export const decideErasePersonalData = (
  command: ErasePersonalData,
  states: { readonly user: UserState; readonly reservation: EmailReservationState },
): { readonly user: readonly UserEvent[]; readonly reservation: readonly EmailReservationEvent[] } => {
  const user = requireUser(states.user, command.data.userId);
  return { user: erasePersonalData(user, command), reservation: releaseBy(states.reservation, user.userId) };
};

export type AssignPersonaToSite = {
  readonly type: 'AssignPersonaToSite';
  readonly data: {
    readonly userId: string;
    readonly personaId: string;
    /** The persona's program, whose stream holds the sites. */
    readonly programId: string;
    readonly partnerSiteId: string;
    readonly mentorSiteListId: string | null;
  };
};

/** Streams: `user` = userStream(userId), `program` = programStream(programId). */
export const decideAssignPersonaToSite = (
  command: AssignPersonaToSite,
  states: { readonly user: UserState; readonly program: ProgramState },
): { readonly user: readonly UserEvent[] } => {
  const { userId, personaId, programId, partnerSiteId, mentorSiteListId } = command.data;
  const user = requireUser(states.user, userId);
  const persona = requirePersona(user, personaId);
  requireActivePersona(user, persona, 'be assigned to a site');
  const program = requireProgram(states.program, programId);
  if (persona.programId !== program.programId) {
    throw new DomainError(
      'RULE_VIOLATED',
      `Persona ${personaId} belongs to program ${persona.programId}, not ${program.programId}; assign it to a site of its own program.`,
      { personaId, programId: persona.programId },
    );
  }
  if (!program.partnerSites.some((site) => site.id === partnerSiteId)) {
    throw new DomainError(
      'NOT_FOUND',
      `Program "${program.name}" has no partner site ${partnerSiteId}; its partner sites are: ` +
        `${program.partnerSites.map((site) => `${site.name} (${site.id})`).join(', ') || 'none yet'}.`,
      { partnerSiteId },
    );
  }
  if (mentorSiteListId !== null && !program.mentorSiteLists.some((list) => list.id === mentorSiteListId)) {
    throw new DomainError(
      'NOT_FOUND',
      `Program "${program.name}" has no mentor site list ${mentorSiteListId}; its mentor site lists are: ` +
        `${program.mentorSiteLists.map((list) => `${list.name} (${list.id})`).join(', ') || 'none yet'}.`,
      { mentorSiteListId },
    );
  }
  if (persona.partnerSiteId === partnerSiteId && persona.mentorSiteListId === mentorSiteListId) return { user: [] };
  return {
    user: [
      {
        type: 'PersonaAssignedToSite',
        data: {
          userId,
          personaId,
          programId,
          partnerSiteId,
          mentorSiteListId,
          previousPartnerSiteId: persona.partnerSiteId,
          previousMentorSiteListId: persona.mentorSiteListId,
        },
      },
    ],
  };
};
