import type { DomainEvent } from '../../eventstore/eventStore';
import { DomainError, assertNever, type Decider } from '../shared/decider';
import { requireText } from '../shared/validation';
import { addBusinessDays, addMonths, hasPassed } from '../shared/calendar';
import { businessCalendarOf, findClosureReason, requireProgram, type ApprovingParty, type Program, type ProgramState } from '../program/program';
import type { ParticipantRole } from '../user/matchStatus';
import {
  inactivation,
  moveMatchStatus,
  personaCreated,
  REMATCH_INTENTS,
  requireActivePersona,
  requireActiveUser,
  requirePersona,
  requireUser,
  userDecider,
  type InactivatePersona,
  type Persona,
  type RematchIntent,
  type User,
  type UserEvent,
  type UserState,
} from '../user/user';
import { userIdOfPersona } from '../user/userId';
import type { ScorePart } from '../autoMatching/scoring';

/**
 * The Match aggregate (stream `match-<matchId>`) and the decisions that span a match, its program
 * and both participants' user streams. The personas' match-status moves are recorded in the user
 * streams, the match's own lifecycle here; each decision returns events per stream and the pipeline
 * appends them atomically, each stream at the revision it was read at.
 *
 * A match starts in one of three ways (seed 002):
 * - **staged** by an admin or by auto-matching (`MatchCreated`): not live, nobody notified, until an
 *   admin approves (→ ACTIVE) or discards (→ DISCARDED) it;
 * - **active** at once by an admin (`MatchCreated` + `MatchActivated` in one append);
 * - **requested** by a participant in a user-led program (`MatchRequested`), live once every party
 *   the program requires has approved (seed 004's "Waiting ... Approval" states); declined, expired
 *   after the program's business days, or withdrawn when the mentee is matched through another one.
 * A live match ends early (CLOSED, with reason and rematch intent) or runs its duration (COMPLETED).
 */

export interface MatchParticipant {
  readonly userId: string;
  readonly personaId: string;
}

export type MatchSource = 'ADMIN' | 'AUTO' | 'REQUEST';
export const MATCH_SOURCES: readonly MatchSource[] = ['ADMIN', 'AUTO', 'REQUEST'];

export type MatchLifecycleStatus =
  | 'REQUESTED'
  | 'STAGED'
  | 'ACTIVE'
  | 'COMPLETED'
  | 'CLOSED'
  | 'DISCARDED'
  | 'DECLINED'
  | 'EXPIRED'
  | 'WITHDRAWN';
export const MATCH_LIFECYCLE_STATUSES: readonly MatchLifecycleStatus[] = [
  'REQUESTED',
  'STAGED',
  'ACTIVE',
  'COMPLETED',
  'CLOSED',
  'DISCARDED',
  'DECLINED',
  'EXPIRED',
  'WITHDRAWN',
];

/** Who asked for a requested match; their own approval is implied. */
export type RequestingParty = 'MENTEE' | 'MENTOR';

export interface MatchRequest {
  readonly requestedBy: RequestingParty;
  /** The program's required approvals when the request was made. */
  readonly requiredApprovals: readonly ApprovingParty[];
  /** Still to approve; empty once approved. */
  readonly pendingApprovals: readonly ApprovingParty[];
  readonly expiresAt: string;
  readonly message: string | null;
}

export interface MatchClosure {
  readonly closureReason: string;
  readonly mentorRematchIntent: RematchIntent;
  readonly menteeRematchIntent: RematchIntent;
}

export interface ExistingMatch {
  readonly status: MatchLifecycleStatus;
  readonly matchId: string;
  readonly programId: string;
  readonly mentor: MatchParticipant;
  readonly mentee: MatchParticipant;
  readonly source: MatchSource;
  /** Auto-matching's score for the pair, when it made the match. */
  readonly score: number | null;
  readonly request: MatchRequest | null;
  /** When the match's duration runs out; set when it goes live. */
  readonly endsAt: string | null;
  readonly closure: MatchClosure | null;
  readonly decline: { readonly party: ApprovingParty; readonly message: string | null } | null;
}

export type MatchState = { readonly status: 'NONE' } | ExistingMatch;

// ---------------------------------------------------------------------------------------------
// Events

interface PairIds {
  readonly matchId: string;
  readonly programId: string;
  readonly mentorUserId: string;
  readonly mentorPersonaId: string;
  readonly menteeUserId: string;
  readonly menteePersonaId: string;
}

/** A match made by an admin or auto-matching; STAGED until activated (an active match is activated in the same append). */
export type MatchCreated = DomainEvent<
  'MatchCreated',
  PairIds & {
    /** Absent on matches recorded before sources existed: ADMIN. */
    readonly source?: MatchSource;
    readonly score?: number | null;
    /** Auto-matching: why this pair, criterion by criterion (adds up to `score`), and the run and criteria version. */
    readonly explanation?: readonly ScorePart[];
    readonly runId?: string;
    readonly criteriaVersion?: number;
  }
>;
/** A participant asked for this match; it waits for `pendingApprovals` (none: activated in the same append). */
export type MatchRequested = DomainEvent<
  'MatchRequested',
  PairIds & {
    readonly requestedBy: RequestingParty;
    readonly requiredApprovals: readonly ApprovingParty[];
    readonly pendingApprovals: readonly ApprovingParty[];
    readonly expiresAt: string;
    readonly message: string | null;
  }
>;
export type MatchRequestApproved = DomainEvent<
  'MatchRequestApproved',
  { readonly matchId: string; readonly programId: string; readonly party: ApprovingParty; readonly pendingApprovals: readonly ApprovingParty[] }
>;
export type MatchRequestDeclined = DomainEvent<
  'MatchRequestDeclined',
  PairIds & { readonly requestedBy: RequestingParty; readonly party: ApprovingParty; readonly message: string | null }
>;
export type MatchRequestExpired = DomainEvent<
  'MatchRequestExpired',
  PairIds & { readonly requestedBy: RequestingParty; readonly expiresAt: string }
>;
export type WithdrawalReason =
  /** The mentee was matched through another request or match. */
  | 'MENTEE_MATCHED'
  /** A participant can no longer be matched (status, persona or capacity changed). */
  | 'PARTICIPANT_UNAVAILABLE'
  | 'WITHDRAWN_BY_REQUESTER';
export const WITHDRAWAL_REASONS: readonly WithdrawalReason[] = ['MENTEE_MATCHED', 'PARTICIPANT_UNAVAILABLE', 'WITHDRAWN_BY_REQUESTER'];
export type MatchRequestWithdrawn = DomainEvent<
  'MatchRequestWithdrawn',
  PairIds & { readonly requestedBy: RequestingParty; readonly reason: WithdrawalReason; readonly otherMatchId: string | null }
>;
export type MatchDiscarded = DomainEvent<
  'MatchDiscarded',
  { readonly matchId: string; readonly programId: string; readonly reason: 'BY_ADMIN' | 'MENTEE_MATCHED' | 'PARTICIPANT_UNAVAILABLE'; readonly otherMatchId: string | null }
>;
/** The match went live: both participants are notified and the personas are MATCHED. */
export type MatchActivated = DomainEvent<
  'MatchActivated',
  {
    readonly matchId: string;
    readonly programId: string;
    /** The persona that went MATCHED (for a mentor with capacity, possibly a new one). */
    readonly mentorPersonaId: string;
    readonly menteePersonaId: string;
    /** Absent on matches recorded before durations were tracked. */
    readonly endsAt?: string | null;
  }
>;
export type MatchCompleted = DomainEvent<
  'MatchCompleted',
  { readonly matchId: string; readonly programId: string; readonly mentorPersonaId: string; readonly menteePersonaId: string; readonly endsAt: string }
>;
export type MatchClosed = DomainEvent<
  'MatchClosed',
  {
    readonly matchId: string;
    readonly programId: string;
    readonly mentorPersonaId: string;
    readonly menteePersonaId: string;
    /** In the program's own spelling. */
    readonly closureReason: string;
    readonly mentorRematchIntent: RematchIntent;
    readonly menteeRematchIntent: RematchIntent;
    /**
     * Set when the match closed because an admin inactivated this persona (created in error) while
     * it was matched; `closureReason` is then PERSONA_INACTIVATED_CLOSURE_REASON.
     */
    readonly inactivatedPersonaId?: string;
  }
>;
export type MatchReopened = DomainEvent<
  'MatchReopened',
  { readonly matchId: string; readonly programId: string; readonly mentorPersonaId: string; readonly menteePersonaId: string }
>;

export type MatchEvent =
  | MatchCreated
  | MatchRequested
  | MatchRequestApproved
  | MatchRequestDeclined
  | MatchRequestExpired
  | MatchRequestWithdrawn
  | MatchDiscarded
  | MatchActivated
  | MatchCompleted
  | MatchClosed
  | MatchReopened;

// ---------------------------------------------------------------------------------------------
// Commands. `now` is the command's clock reading (ISO-8601), filled in by the application.

/** Match a mentor and a mentee: live at once, or staged (`stage: true`) for an admin to approve. */
export type MatchPersonas = {
  readonly type: 'MatchPersonas';
  readonly data: {
    readonly matchId: string;
    readonly programId: string;
    readonly mentorPersonaId: string;
    readonly menteePersonaId: string;
    readonly stage?: boolean;
    readonly source?: Exclude<MatchSource, 'REQUEST'>;
    readonly score?: number | null;
    readonly explanation?: readonly ScorePart[];
    readonly runId?: string;
    readonly criteriaVersion?: number;
    readonly now: string;
  };
};
export type ApproveStagedMatch = { readonly type: 'ApproveStagedMatch'; readonly data: { readonly matchId: string; readonly now: string } };
export type DiscardStagedMatch = {
  readonly type: 'DiscardStagedMatch';
  readonly data: { readonly matchId: string; readonly reason?: MatchDiscarded['data']['reason']; readonly otherMatchId?: string | null };
};
export type RequestMatch = {
  readonly type: 'RequestMatch';
  readonly data: {
    readonly matchId: string;
    readonly programId: string;
    readonly mentorPersonaId: string;
    readonly menteePersonaId: string;
    readonly requestedBy: RequestingParty;
    readonly message?: string | null;
    readonly now: string;
  };
};
export type RespondToMatchRequest = {
  readonly type: 'RespondToMatchRequest';
  readonly data: {
    readonly matchId: string;
    readonly party: ApprovingParty;
    readonly decision: 'APPROVE' | 'DECLINE';
    /** Sent back to the requester with a decline. */
    readonly message?: string | null;
    readonly now: string;
  };
};
export type ExpireMatchRequest = { readonly type: 'ExpireMatchRequest'; readonly data: { readonly matchId: string; readonly now: string } };
export type WithdrawMatchRequest = {
  readonly type: 'WithdrawMatchRequest';
  readonly data: { readonly matchId: string; readonly reason: WithdrawalReason; readonly otherMatchId?: string | null };
};
export type CompleteMatch = { readonly type: 'CompleteMatch'; readonly data: { readonly matchId: string; readonly now: string } };
export type CloseMatch = {
  readonly type: 'CloseMatch';
  readonly data: {
    readonly matchId: string;
    /** One of the program's closure reasons (compared case-insensitively). */
    readonly closureReason: string;
    readonly mentorRematchIntent: RematchIntent;
    readonly menteeRematchIntent: RematchIntent;
  };
};
/** "Open Match": a closed match goes live again. */
export type ReopenMatch = { readonly type: 'ReopenMatch'; readonly data: { readonly matchId: string; readonly now: string } };

// ---------------------------------------------------------------------------------------------
// The match stream alone

export const requireMatch = (state: MatchState, matchId: string): ExistingMatch => {
  if (state.status === 'NONE') throw new DomainError('NOT_FOUND', `Match ${matchId} does not exist.`, { matchId });
  return state;
};

const article = (status: string) => (/^[AEIOU]/.test(status) ? 'an' : 'a');

const requireMatchStatus = (match: ExistingMatch, allowed: readonly MatchLifecycleStatus[], doing: string): void => {
  if (!allowed.includes(match.status)) {
    const wanted = allowed.map((status) => `${article(status)} ${status}`).join(' or ');
    throw new DomainError('ILLEGAL_TRANSITION', `Match ${match.matchId} is ${match.status}; only ${wanted} match can be ${doing}.`, {
      matchId: match.matchId,
      status: match.status,
    });
  }
};

const requireNewMatch = (state: MatchState, matchId: string): string => {
  const id = requireText('Match id', matchId);
  if (state.status !== 'NONE') throw new DomainError('ALREADY_EXISTS', `Match ${id} already exists; use a new match id.`, { matchId: id });
  return id;
};

const participantOf = (personaId: string, side: 'Mentor' | 'Mentee'): MatchParticipant => {
  const userId = userIdOfPersona(personaId);
  if (userId === null) {
    throw new DomainError('VALIDATION_FAILED', `${side} persona id "${personaId}" is not a persona id (<userId>:p<n>).`, {
      personaId,
    });
  }
  return { userId, personaId };
};

const requireRematchIntent = (side: string, intent: RematchIntent): RematchIntent => {
  if (!REMATCH_INTENTS.includes(intent)) {
    throw new DomainError('VALIDATION_FAILED', `${side} rematch intent must be YES, MAYBE or NO (got ${intent}).`, {
      field: `${side.toLowerCase()}RematchIntent`,
    });
  }
  return intent;
};

const personaIds = (match: ExistingMatch) => ({
  matchId: match.matchId,
  programId: match.programId,
  mentorPersonaId: match.mentor.personaId,
  menteePersonaId: match.mentee.personaId,
});

const pairIds = (match: ExistingMatch): PairIds => ({
  ...personaIds(match),
  mentorUserId: match.mentor.userId,
  menteeUserId: match.mentee.userId,
});

const newPair = (matchId: string, programId: string, mentorPersonaId: string, menteePersonaId: string): PairIds => {
  const mentor = participantOf(mentorPersonaId, 'Mentor');
  const mentee = participantOf(menteePersonaId, 'Mentee');
  if (mentor.userId === mentee.userId) {
    throw new DomainError('RULE_VIOLATED', 'A user cannot be matched with themselves: choose personas of two different users.', {
      userId: mentor.userId,
    });
  }
  return {
    matchId,
    programId: requireText('Program id', programId),
    mentorUserId: mentor.userId,
    mentorPersonaId: mentor.personaId,
    menteeUserId: mentee.userId,
    menteePersonaId: mentee.personaId,
  };
};

const created = (data: PairIds, status: MatchLifecycleStatus, source: MatchSource, score: number | null, request: MatchRequest | null): ExistingMatch => ({
  status,
  matchId: data.matchId,
  programId: data.programId,
  mentor: { userId: data.mentorUserId, personaId: data.mentorPersonaId },
  mentee: { userId: data.menteeUserId, personaId: data.menteePersonaId },
  source,
  score,
  request,
  endsAt: null,
  closure: null,
  decline: null,
});

const evolve = (state: MatchState, event: MatchEvent): MatchState => {
  if (event.type === 'MatchCreated') return created(event.data, 'STAGED', event.data.source ?? 'ADMIN', event.data.score ?? null, null);
  if (event.type === 'MatchRequested') {
    const { requestedBy, requiredApprovals, pendingApprovals, expiresAt, message } = event.data;
    return created(event.data, 'REQUESTED', 'REQUEST', null, { requestedBy, requiredApprovals, pendingApprovals, expiresAt, message });
  }
  if (state.status === 'NONE') return state;
  switch (event.type) {
    case 'MatchRequestApproved':
      return state.request ? { ...state, request: { ...state.request, pendingApprovals: event.data.pendingApprovals } } : state;
    case 'MatchRequestDeclined':
      return { ...state, status: 'DECLINED', decline: { party: event.data.party, message: event.data.message } };
    case 'MatchRequestExpired':
      return { ...state, status: 'EXPIRED' };
    case 'MatchRequestWithdrawn':
      return { ...state, status: 'WITHDRAWN' };
    case 'MatchDiscarded':
      return { ...state, status: 'DISCARDED' };
    case 'MatchActivated':
      return {
        ...state,
        status: 'ACTIVE',
        mentor: { ...state.mentor, personaId: event.data.mentorPersonaId },
        mentee: { ...state.mentee, personaId: event.data.menteePersonaId },
        endsAt: event.data.endsAt ?? null,
      };
    case 'MatchCompleted':
      return { ...state, status: 'COMPLETED' };
    case 'MatchReopened':
      return { ...state, status: 'ACTIVE', closure: null };
    case 'MatchClosed': {
      const { closureReason, mentorRematchIntent, menteeRematchIntent } = event.data;
      return { ...state, status: 'CLOSED', closure: { closureReason, mentorRematchIntent, menteeRematchIntent } };
    }
    default:
      return assertNever(event);
  }
};

/**
 * Folds the match stream. Every command goes through one of the decide* functions below, which also
 * read the program and both users; there is no match-only `decide`.
 */
export const matchDecider: Pick<Decider<never, MatchState, MatchEvent>, 'initialState' | 'evolve'> = {
  initialState: () => ({ status: 'NONE' }),
  evolve,
};

/**
 * Which streams a command on an existing match needs. A match never changes its users or program
 * (the mentor's persona can change when it goes live), so reading them before loading is safe.
 */
export const matchParticipants = (
  state: MatchState,
  matchId: string,
): { readonly programId: string; readonly mentorUserId: string; readonly menteeUserId: string } => {
  const match = requireMatch(state, matchId);
  return { programId: match.programId, mentorUserId: match.mentor.userId, menteeUserId: match.mentee.userId };
};

// ---------------------------------------------------------------------------------------------
// Across the match, its program and both users

export interface MatchStreams {
  readonly match: MatchState;
  readonly program: ProgramState;
  readonly mentor: UserState;
  readonly mentee: UserState;
}

export interface MatchDecision {
  readonly match?: readonly MatchEvent[];
  readonly mentor?: readonly UserEvent[];
  readonly mentee?: readonly UserEvent[];
}

const SIDES = [
  { key: 'mentor', role: 'MENTOR', label: 'Mentor' },
  { key: 'mentee', role: 'MENTEE', label: 'Mentee' },
] as const satisfies readonly { key: 'mentor' | 'mentee'; role: ParticipantRole; label: string }[];

/** The loaded user stream must be the participant's: anything else is a wiring mistake, not a refusal. */
const loadedUser = (state: UserState, participant: MatchParticipant): User => {
  const user = requireUser(state, participant.userId);
  if (user.userId !== participant.userId) {
    throw new Error(`Loaded user stream of ${user.userId} where ${participant.userId} was expected.`);
  }
  return user;
};

const personaOfMatch = (user: User, participant: MatchParticipant, matchId: string): Persona => {
  const persona = requirePersona(user, participant.personaId);
  if (persona.matchId !== matchId) {
    throw new DomainError('RULE_VIOLATED', `Persona ${persona.personaId} is not in match ${matchId} (its match: ${persona.matchId ?? 'none'}).`, {
      personaId: persona.personaId,
      matchId,
    });
  }
  return persona;
};

const requireMatchingOn = (program: Program, doing: string): void => {
  if (!program.settings.matchingEnabled) {
    throw new DomainError('RULE_VIOLATED', `Matching is off in program "${program.name}"; turn matching on before ${doing}.`, {
      programId: program.programId,
    });
  }
};

/** The mentor's live matches in the program: MATCHED personas whose match has not run its duration. */
export const liveMentorPersonas = (user: User, programId: string): Persona[] =>
  user.personas.filter(
    (persona) =>
      persona.programId === programId &&
      persona.role === 'MENTOR' &&
      persona.personaStatus === 'ACTIVE' &&
      persona.matchStatus === 'MATCHED' &&
      !persona.matchCompleted,
  );

export const mentorCapacity = (user: User, program: Program): number =>
  user.mentorCapacities[program.programId] ?? program.settings.mentorCapacity;

/** The persona checks both sides share: it exists, is the user's, has the right role and program, and is ACTIVE with an Active user. */
const eligiblePersona = (user: User, personaId: string, role: ParticipantRole, program: Program, doing: string): Persona => {
  const persona = requirePersona(user, personaId);
  const side = role === 'MENTOR' ? 'mentor' : 'mentee';
  if (persona.role !== role) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `Persona ${persona.personaId} of ${user.name} is a ${persona.role.toLowerCase()} persona; the ${side} of a match needs a ${side} persona.`,
      { personaId: persona.personaId, role: persona.role },
    );
  }
  if (persona.programId !== program.programId) {
    throw new DomainError(
      'RULE_VIOLATED',
      `Persona ${persona.personaId} of ${user.name} is in program ${persona.programId}, not ${program.programId}; both personas of a match must be in its program.`,
      { personaId: persona.personaId, programId: persona.programId },
    );
  }
  requireActiveUser(user, doing);
  requireActivePersona(user, persona, doing);
  return persona;
};

/** The mentee's persona must be ready to be matched and never matched before. */
const requireMenteeReady = (user: User, persona: Persona): void => {
  if (persona.matchStatus !== 'RTBM') {
    // moveMatchStatus words the refusal after the persona's actual status.
    moveMatchStatus(user, persona, 'MATCHED', 'MATCH', { kind: 'MATCH_ACTIVATED', matchId: '' });
  }
  if (persona.matchId !== null) {
    throw new DomainError(
      'RULE_VIOLATED',
      `Persona ${persona.personaId} of ${user.name} was already matched once (match ${persona.matchId}); a new match needs a new persona.`,
      { personaId: persona.personaId, matchId: persona.matchId },
    );
  }
};

/**
 * How the mentor takes one more live match: through the named persona when it is RTBM, or, for a
 * mentor with capacity left whose persona is already MATCHED (a live match, or one that ran its
 * duration), through a new persona.
 */
type MentorSlot = { readonly persona: Persona; readonly additional: boolean };

const mentorSlot = (user: User, personaId: string, program: Program, doing: string): MentorSlot => {
  const persona = eligiblePersona(user, personaId, 'MENTOR', program, doing);
  const live = liveMentorPersonas(user, program.programId);
  const capacity = mentorCapacity(user, program);
  if (live.length >= capacity) {
    throw new DomainError(
      'RULE_VIOLATED',
      `${user.name} already has ${live.length} live match${live.length === 1 ? '' : 'es'} in program "${program.name}", ` +
        `their capacity (${capacity}); close a match or raise their capacity first.`,
      { userId: user.userId, capacity, liveMatches: live.map((p) => p.matchId) },
    );
  }
  if (persona.matchStatus === 'RTBM' && persona.matchId === null) return { persona, additional: false };
  // Already in a match (live, or run its duration but not yet closed): the next match gets a persona of its own.
  if (persona.matchStatus === 'MATCHED') return { persona, additional: true };
  requireMenteeReady(user, persona); // same wording: the persona cannot be matched from where it is
  return { persona, additional: false };
};

const requireReady = (states: MatchStreams, pair: PairIds, program: Program, doing: string) => {
  const mentorUser = loadedUser(states.mentor, { userId: pair.mentorUserId, personaId: pair.mentorPersonaId });
  const menteeUser = loadedUser(states.mentee, { userId: pair.menteeUserId, personaId: pair.menteePersonaId });
  const slot = mentorSlot(mentorUser, pair.mentorPersonaId, program, doing);
  const mentee = eligiblePersona(menteeUser, pair.menteePersonaId, 'MENTEE', program, doing);
  requireMenteeReady(menteeUser, mentee);
  return { mentorUser, menteeUser, slot, mentee };
};

/**
 * The match goes live: matching must be on, both users Active, the mentee RTBM and the mentor
 * within capacity. Both personas move to MATCHED (a mentor's additional match gets a new persona).
 */
const activate = (states: MatchStreams, pair: PairIds, program: Program, now: string): Required<MatchDecision> => {
  requireMatchingOn(program, 'a match can go live');
  const { mentorUser, menteeUser, slot, mentee } = requireReady(states, pair, program, 'be matched');
  const cause = { kind: 'MATCH_ACTIVATED', matchId: pair.matchId } as const;
  const mentorEvents: UserEvent[] = [];
  let mentorPersona = slot.persona;
  if (slot.additional) {
    const createdEvent = personaCreated(mentorUser, slot.persona, 'RTBM', {
      kind: 'ADDITIONAL_MATCH',
      matchId: pair.matchId,
      alongsidePersonaId: slot.persona.personaId,
    });
    mentorEvents.push(createdEvent);
    const withPersona = userDecider.evolve(mentorUser, createdEvent) as User;
    mentorPersona = requirePersona(withPersona, createdEvent.data.personaId);
    mentorEvents.push(moveMatchStatus(withPersona, mentorPersona, 'MATCHED', 'MATCH', cause, pair.matchId));
  } else {
    mentorEvents.push(moveMatchStatus(mentorUser, mentorPersona, 'MATCHED', 'MATCH', cause, pair.matchId));
  }
  return {
    match: [
      {
        type: 'MatchActivated',
        data: {
          matchId: pair.matchId,
          programId: pair.programId,
          mentorPersonaId: mentorPersona.personaId,
          menteePersonaId: mentee.personaId,
          endsAt: addMonths(now, program.settings.matchDurationMonths, program.timeZone),
        },
      },
    ],
    mentor: mentorEvents,
    mentee: [moveMatchStatus(menteeUser, mentee, 'MATCHED', 'MATCH', cause, pair.matchId)],
  };
};

/**
 * Streams: `match` (new), `program`, `mentor`/`mentee` = the users of the personas. An admin's match
 * (or auto-matching's, `source: AUTO`): live at once (both notified), or staged (`stage: true`:
 * recorded only in the match stream; staging is allowed while matching is off, "pausing keeps
 * everything staged", and needs both participants matchable now; they are checked again on approval).
 */
export const decideMatchPersonas = (command: MatchPersonas, states: MatchStreams): MatchDecision => {
  const { data } = command;
  const matchId = requireNewMatch(states.match, data.matchId);
  const pair = newPair(matchId, data.programId, data.mentorPersonaId, data.menteePersonaId);
  const program = requireProgram(states.program, pair.programId);
  const source = data.source ?? 'ADMIN';
  if (source !== 'ADMIN' && source !== 'AUTO') {
    throw new DomainError('VALIDATION_FAILED', `An admin's match has source ADMIN or AUTO (got ${source}).`, { field: 'source' });
  }
  if (data.score !== undefined && data.score !== null && !Number.isFinite(data.score)) {
    throw new DomainError('VALIDATION_FAILED', `A match score must be a number (got ${data.score}).`, { field: 'score' });
  }
  const createdEvent: MatchCreated = {
    type: 'MatchCreated',
    data: {
      ...pair,
      source,
      score: data.score ?? null,
      ...(data.explanation ? { explanation: data.explanation } : {}),
      ...(data.runId ? { runId: data.runId } : {}),
      ...(data.criteriaVersion !== undefined ? { criteriaVersion: data.criteriaVersion } : {}),
    },
  };
  if (data.stage) {
    requireReady(states, pair, program, 'be matched');
    return { match: [createdEvent] };
  }
  const live = activate(states, pair, program, data.now);
  return { ...live, match: [createdEvent, ...live.match] };
};

/** Streams as for a new match, read from the match (`matchParticipants`). STAGED → ACTIVE. */
export const decideApproveStagedMatch = (command: ApproveStagedMatch, states: MatchStreams): MatchDecision => {
  const match = requireMatch(states.match, command.data.matchId);
  requireMatchStatus(match, ['STAGED'], 'approved');
  return activate(states, pairIds(match), requireProgram(states.program, match.programId), command.data.now);
};

/** Streams: `match` only. STAGED → DISCARDED; nobody is notified, the participants stay as they were. */
export const decideDiscardStagedMatch = (command: DiscardStagedMatch, match: MatchState): MatchEvent[] => {
  const existing = requireMatch(match, command.data.matchId);
  requireMatchStatus(existing, ['STAGED'], 'discarded');
  return [
    {
      type: 'MatchDiscarded',
      data: { matchId: existing.matchId, programId: existing.programId, reason: command.data.reason ?? 'BY_ADMIN', otherMatchId: command.data.otherMatchId ?? null },
    },
  ];
};

/*
 * Settings changes (updateProgramSettings) and matches already under way. A setting is read when a
 * decision needs it, and a request records what it was promised when it was made:
 * - An open request (REQUESTED) keeps the approvals it recorded (`requiredApprovals`,
 *   `pendingApprovals`) and its `expiresAt`. Changing the matching process (even to ADMIN_LED), the
 *   required approvals, the expiry, the holidays or the time zone changes neither: the participants
 *   were told whom the request waits for and until when. It can still be approved or declined, and
 *   it still expires at its date; an admin who wants it gone withdraws it. Requests made after the
 *   change follow the new settings (ADMIN_LED refuses new ones).
 * - A staged match (STAGED) is an admin's proposal and waits for an admin in every process: a
 *   process or approval change leaves it STAGED. Approving it checks matching on and the mentor's
 *   capacity as they stand then, and its duration is the one in force when it goes live.
 * - A live match keeps its `endsAt`; a lower mentor capacity ends no match, it refuses the next one.
 */

const REQUESTER_PARTY: Readonly<Record<RequestingParty, ApprovingParty>> = { MENTEE: 'MENTEE', MENTOR: 'MENTOR' };

/**
 * Streams as for a new match. A participant of a user-led program asks for a match. With approval,
 * the program's required parties other than the requester must approve within the expiry (business
 * days in the program's time zone); without approval, or when nobody else has to approve, the
 * match goes live at once.
 */
export const decideRequestMatch = (command: RequestMatch, states: MatchStreams): MatchDecision => {
  const { data } = command;
  const matchId = requireNewMatch(states.match, data.matchId);
  const pair = newPair(matchId, data.programId, data.mentorPersonaId, data.menteePersonaId);
  const program = requireProgram(states.program, pair.programId);
  const { matchingProcess, requiredApprovals, requestExpiryBusinessDays } = program.settings;
  if (matchingProcess === 'ADMIN_LED') {
    throw new DomainError(
      'RULE_VIOLATED',
      `Program "${program.name}" is admin-led: its admins make the matches, participants cannot request one.`,
      { programId: program.programId, matchingProcess },
    );
  }
  requireMatchingOn(program, 'anyone can request a match');
  if (data.requestedBy !== 'MENTEE' && data.requestedBy !== 'MENTOR') {
    throw new DomainError('VALIDATION_FAILED', `A match is requested by the MENTEE or the MENTOR (got ${data.requestedBy}).`, {
      field: 'requestedBy',
    });
  }
  requireReady(states, pair, program, 'be matched');
  const required = matchingProcess === 'USER_LED' ? [] : requiredApprovals;
  const pending = required.filter((party) => party !== REQUESTER_PARTY[data.requestedBy]);
  const message = data.message?.trim() || null;
  const requested: MatchRequested = {
    type: 'MatchRequested',
    data: {
      ...pair,
      requestedBy: data.requestedBy,
      requiredApprovals: [...required],
      pendingApprovals: pending,
      expiresAt: addBusinessDays(data.now, requestExpiryBusinessDays, businessCalendarOf(program)),
      message,
    },
  };
  if (pending.length > 0) return { match: [requested] };
  const live = activate(states, pair, program, data.now);
  return { ...live, match: [requested, ...live.match] };
};

const describeParties = (parties: readonly ApprovingParty[]) => parties.map((p) => p.toLowerCase()).join(' and ');

/**
 * Streams as for a new match. One required party approves or declines a REQUESTED match. The last
 * approval makes the match live (checked then: matching on, both matchable, mentor capacity). A
 * decline ends the request with the decliner's message, sent back to the requester.
 */
export const decideRespondToMatchRequest = (command: RespondToMatchRequest, states: MatchStreams): MatchDecision => {
  const { data } = command;
  const match = requireMatch(states.match, data.matchId);
  requireMatchStatus(match, ['REQUESTED'], data.decision === 'APPROVE' ? 'approved' : 'declined');
  const request = match.request!;
  if (hasPassed(request.expiresAt, data.now)) {
    throw new DomainError('RULE_VIOLATED', `Match request ${match.matchId} expired at ${request.expiresAt}; it can no longer be answered.`, {
      matchId: match.matchId,
      expiresAt: request.expiresAt,
    });
  }
  if (!request.pendingApprovals.includes(data.party)) {
    const already = request.requiredApprovals.includes(data.party) || REQUESTER_PARTY[request.requestedBy] === data.party;
    throw new DomainError(
      'RULE_VIOLATED',
      already
        ? `The ${data.party.toLowerCase()} has already approved match request ${match.matchId}; it waits for ${describeParties(request.pendingApprovals)}.`
        : `Match request ${match.matchId} does not need the ${data.party.toLowerCase()}'s approval; it waits for ${describeParties(request.pendingApprovals)}.`,
      { matchId: match.matchId, party: data.party, pendingApprovals: request.pendingApprovals },
    );
  }
  const pair = pairIds(match);
  if (data.decision === 'DECLINE') {
    return {
      match: [
        { type: 'MatchRequestDeclined', data: { ...pair, requestedBy: request.requestedBy, party: data.party, message: data.message?.trim() || null } },
      ],
    };
  }
  if (data.decision !== 'APPROVE') {
    throw new DomainError('VALIDATION_FAILED', `A response is APPROVE or DECLINE (got ${data.decision}).`, { field: 'decision' });
  }
  const pending = request.pendingApprovals.filter((party) => party !== data.party);
  const approved: MatchRequestApproved = {
    type: 'MatchRequestApproved',
    data: { matchId: match.matchId, programId: match.programId, party: data.party, pendingApprovals: pending },
  };
  if (pending.length > 0) return { match: [approved] };
  const live = activate(states, pair, requireProgram(states.program, match.programId), data.now);
  return { ...live, match: [approved, ...live.match] };
};

/** Streams: `match` only. The scheduler's move: a REQUESTED match whose expiry has passed. */
export const decideExpireMatchRequest = (command: ExpireMatchRequest, state: MatchState): MatchEvent[] => {
  const match = requireMatch(state, command.data.matchId);
  requireMatchStatus(match, ['REQUESTED'], 'expired');
  const { expiresAt, requestedBy } = match.request!;
  if (!hasPassed(expiresAt, command.data.now)) {
    throw new DomainError('RULE_VIOLATED', `Match request ${match.matchId} expires at ${expiresAt}, not yet.`, { matchId: match.matchId, expiresAt });
  }
  return [{ type: 'MatchRequestExpired', data: { ...pairIds(match), requestedBy, expiresAt } }];
};

/** Streams: `match` only. A REQUESTED match that can no longer be made, or that its requester takes back. */
export const decideWithdrawMatchRequest = (command: WithdrawMatchRequest, state: MatchState): MatchEvent[] => {
  const match = requireMatch(state, command.data.matchId);
  requireMatchStatus(match, ['REQUESTED'], 'withdrawn');
  if (!WITHDRAWAL_REASONS.includes(command.data.reason)) {
    throw new DomainError('VALIDATION_FAILED', `A withdrawal reason is one of ${WITHDRAWAL_REASONS.join(', ')} (got ${command.data.reason}).`, {
      field: 'reason',
    });
  }
  return [
    {
      type: 'MatchRequestWithdrawn',
      data: { ...pairIds(match), requestedBy: match.request!.requestedBy, reason: command.data.reason, otherMatchId: command.data.otherMatchId ?? null },
    },
  ];
};

/**
 * Streams: `match`, `mentor`, `mentee`. The scheduler's move: an ACTIVE match whose duration ran
 * out becomes COMPLETED; both personas stay MATCHED and the mentor's capacity is freed.
 */
export const decideCompleteMatch = (command: CompleteMatch, states: Omit<MatchStreams, 'program'>): MatchDecision => {
  const match = requireMatch(states.match, command.data.matchId);
  requireMatchStatus(match, ['ACTIVE'], 'completed');
  if (match.endsAt === null || !hasPassed(match.endsAt, command.data.now)) {
    throw new DomainError('RULE_VIOLATED', `Match ${match.matchId} runs until ${match.endsAt ?? 'no set date'}, not yet completed.`, {
      matchId: match.matchId,
      endsAt: match.endsAt,
    });
  }
  const decided: Record<'mentor' | 'mentee', UserEvent[]> = { mentor: [], mentee: [] };
  for (const { key } of SIDES) {
    const user = loadedUser(states[key], match[key]);
    const persona = personaOfMatch(user, match[key], match.matchId);
    decided[key].push({ type: 'PersonaMatchCompleted', data: { userId: user.userId, personaId: persona.personaId, matchId: match.matchId } });
  }
  return { match: [{ type: 'MatchCompleted', data: { ...personaIds(match), endsAt: match.endsAt } }], ...decided };
};

/**
 * Streams: `match`, `program` (the match's program, for its closure reasons), `mentor`, `mentee`
 * (see matchParticipants). An ACTIVE or COMPLETED match closes: each persona moves MATCHED →
 * CLOSED; a participant answering YES or MAYBE gets a new RESCREENING persona in the same program
 * and role at once.
 */
export const decideCloseMatch = (command: CloseMatch, states: MatchStreams): MatchDecision => {
  const match = requireMatch(states.match, command.data.matchId);
  requireMatchStatus(match, ['ACTIVE', 'COMPLETED'], 'closed');
  const program = requireProgram(states.program, match.programId);
  const closureReason = findClosureReason(program, command.data.closureReason);
  if (closureReason === null) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `"${command.data.closureReason}" is not a closure reason of program "${program.name}"; choose one of: ` +
        `${program.closureReasons.join(', ')} (or add it to the program first).`,
      { field: 'closureReason' },
    );
  }
  const mentorRematchIntent = requireRematchIntent('Mentor', command.data.mentorRematchIntent);
  const menteeRematchIntent = requireRematchIntent('Mentee', command.data.menteeRematchIntent);
  const decided: Record<'mentor' | 'mentee', UserEvent[]> = { mentor: [], mentee: [] };
  for (const { key } of SIDES) {
    const participant = match[key];
    const user = loadedUser(states[key], participant);
    const persona = personaOfMatch(user, participant, match.matchId);
    const rematchIntent = key === 'mentor' ? mentorRematchIntent : menteeRematchIntent;
    decided[key].push(
      moveMatchStatus(
        user,
        persona,
        'CLOSED',
        'CLOSE_MATCH',
        { kind: 'MATCH_CLOSED', matchId: match.matchId, closureReason, rematchIntent },
        match.matchId,
      ),
    );
    if (rematchIntent === 'YES' || rematchIntent === 'MAYBE') {
      decided[key].push(personaCreated(user, persona, 'RESCREENING', { kind: 'REMATCH_REQUESTED', matchId: match.matchId, rematchIntent }));
    }
  }
  return {
    match: [{ type: 'MatchClosed', data: { ...personaIds(match), closureReason, mentorRematchIntent, menteeRematchIntent } }],
    ...decided,
  };
};

/** The closure reason recorded when a match closes because one of its personas was inactivated. */
export const PERSONA_INACTIVATED_CLOSURE_REASON = 'Persona inactivated (created in error)';

export type InactivateMatchedPersona = {
  readonly type: 'InactivateMatchedPersona';
  readonly data: {
    readonly matchId: string;
    readonly personaId: string;
    readonly confirmCutCommunication: boolean;
    /** Whether the partner, whose match ends through no choice of theirs, wants another match (default MAYBE). */
    readonly partnerRematchIntent: RematchIntent;
  };
};

/**
 * Streams: `match`, `program`, `mentor`, `mentee`. "Careful - if you inactivate a matched mentor
 * they will not be able to communicate with their mentee" (seed 001): a confirmed inactivation of a
 * MATCHED persona closes its match in the same append, so the pair is no longer live anywhere (the
 * funnel, health, the mentor's capacity, the manager report). The inactivated side records the
 * inactivation and its persona moves MATCHED → CLOSED with no rematch (the persona was a mistake);
 * the partner's persona closes with `partnerRematchIntent`, and YES or MAYBE gives them a new
 * RESCREENING persona as any closure does. The match can never be reopened: one persona is inactive.
 */
export const decideInactivateMatchedPersona = (command: InactivateMatchedPersona, states: MatchStreams): MatchDecision => {
  const match = requireMatch(states.match, command.data.matchId);
  const side = match.mentor.personaId === command.data.personaId ? 'mentor' : match.mentee.personaId === command.data.personaId ? 'mentee' : null;
  if (side === null) {
    throw new DomainError('RULE_VIOLATED', `Persona ${command.data.personaId} is not in match ${match.matchId}.`, {
      personaId: command.data.personaId,
      matchId: match.matchId,
    });
  }
  const partnerSide = side === 'mentor' ? 'mentee' : 'mentor';
  const partnerRematchIntent = requireRematchIntent('Partner', command.data.partnerRematchIntent);
  const user = loadedUser(states[side], match[side]);
  const persona = personaOfMatch(user, match[side], match.matchId);
  const inactivate: InactivatePersona = {
    type: 'InactivatePersona',
    data: { userId: user.userId, personaId: persona.personaId, confirmCutCommunication: command.data.confirmCutCommunication },
  };
  const inactivated = inactivation(user, inactivate, { closesMatch: true });
  requireMatchStatus(match, ['ACTIVE', 'COMPLETED'], 'closed');
  const intents = { [side]: 'NO', [partnerSide]: partnerRematchIntent } as Record<'mentor' | 'mentee', RematchIntent>;
  const closureReason = PERSONA_INACTIVATED_CLOSURE_REASON;
  const closed = (key: 'mentor' | 'mentee', who: User, whose: Persona) =>
    moveMatchStatus(who, whose, 'CLOSED', 'CLOSE_MATCH', { kind: 'MATCH_CLOSED', matchId: match.matchId, closureReason, rematchIntent: intents[key] }, match.matchId);
  const partner = loadedUser(states[partnerSide], match[partnerSide]);
  const partnerPersona = personaOfMatch(partner, match[partnerSide], match.matchId);
  const partnerEvents: UserEvent[] = [closed(partnerSide, partner, partnerPersona)];
  if (partnerRematchIntent !== 'NO') {
    partnerEvents.push(
      personaCreated(partner, partnerPersona, 'RESCREENING', { kind: 'REMATCH_REQUESTED', matchId: match.matchId, rematchIntent: partnerRematchIntent }),
    );
  }
  return {
    match: [
      {
        type: 'MatchClosed',
        data: {
          ...personaIds(match),
          closureReason,
          mentorRematchIntent: intents.mentor,
          menteeRematchIntent: intents.mentee,
          inactivatedPersonaId: persona.personaId,
        },
      },
    ],
    [side]: [inactivated, closed(side, user, persona)],
    [partnerSide]: partnerEvents,
  };
};

/**
 * Streams: `match`, `program`, `mentor`, `mentee` (see matchParticipants). "Open Match": both
 * personas go back from CLOSED to MATCHED, within the mentor's capacity.
 *
 * Refused unless both users are Active and both personas still ACTIVE, and refused when either user
 * has been matched again since through a newer persona (reopening would put them in two matches:
 * create a new match instead). Newer personas that were never matched (the RESCREENING persona the
 * closure created, or one made RS, RTBM or NM since) are inactivated in the same step: the
 * participant is back in this match, and a waiting rematch persona would let them be matched twice.
 */
export const decideReopenMatch = (command: ReopenMatch, states: MatchStreams): MatchDecision => {
  const match = requireMatch(states.match, command.data.matchId);
  requireMatchStatus(match, ['CLOSED'], 'reopened');
  if (match.endsAt !== null && hasPassed(match.endsAt, command.data.now)) {
    throw new DomainError(
      'RULE_VIOLATED',
      `Match ${match.matchId} ran until ${match.endsAt}; a match whose duration is over cannot be reopened. Create a new match instead.`,
      { matchId: match.matchId, endsAt: match.endsAt },
    );
  }
  const program = requireProgram(states.program, match.programId);
  const mentorUser = loadedUser(states.mentor, match.mentor);
  const live = liveMentorPersonas(mentorUser, program.programId).length;
  const capacity = mentorCapacity(mentorUser, program);
  if (live >= capacity) {
    throw new DomainError(
      'RULE_VIOLATED',
      `${mentorUser.name} already has ${live} live match${live === 1 ? '' : 'es'} in program "${program.name}", their capacity (${capacity}); ` +
        `match ${match.matchId} cannot be reopened until one ends or their capacity is raised.`,
      { userId: mentorUser.userId, capacity },
    );
  }
  const decided: Record<'mentor' | 'mentee', UserEvent[]> = { mentor: [], mentee: [] };
  for (const { key } of SIDES) {
    const participant = match[key];
    const user = loadedUser(states[key], participant);
    const persona = personaOfMatch(user, participant, match.matchId);
    requireActiveUser(user, 'have a match reopened');
    requireActivePersona(user, persona, 'have its match reopened');
    const newer = user.personas.filter((other) => other.number > persona.number && other.origin.kind !== 'ADDITIONAL_MATCH');
    const matchedSince = newer.find((other) => other.matchId !== null);
    if (matchedSince) {
      throw new DomainError(
        'RULE_VIOLATED',
        `${user.name} has been matched again since (persona ${matchedSince.personaId}, match ${matchedSince.matchId}), so match ` +
          `${match.matchId} cannot be reopened; create a new match instead.`,
        { userId: user.userId, personaId: matchedSince.personaId, matchId: matchedSince.matchId },
      );
    }
    decided[key].push(
      moveMatchStatus(user, persona, 'MATCHED', 'OPEN_MATCH', { kind: 'MATCH_REOPENED', matchId: match.matchId }, match.matchId),
      ...newer
        .filter((other) => other.personaStatus === 'ACTIVE')
        .map(
          (other): UserEvent => ({
            type: 'PersonaInactivated',
            data: {
              userId: user.userId,
              personaId: other.personaId,
              matchStatus: other.matchStatus,
              matchId: null,
              communicationCut: false,
              cause: { kind: 'SUPERSEDED_BY_REOPENED_MATCH', matchId: match.matchId },
            },
          }),
        ),
    );
  }
  return { match: [{ type: 'MatchReopened', data: personaIds(match) }], ...decided };
};
