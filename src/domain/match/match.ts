import type { DomainEvent } from '../../eventstore/eventStore';
import { DomainError, assertNever, type Decider } from '../shared/decider';
import { requireText } from '../shared/validation';
import { findClosureReason, requireProgram, type ProgramState } from '../program/program';
import type { ParticipantRole } from '../user/matchStatus';
import {
  moveMatchStatus,
  personaCreated,
  REMATCH_INTENTS,
  requireActivePersona,
  requireActiveUser,
  requirePersona,
  requireUser,
  type Persona,
  type RematchIntent,
  type User,
  type UserEvent,
  type UserState,
} from '../user/user';
import { userIdOfPersona } from '../user/userId';

/**
 * The Match aggregate (stream `match-<matchId>`) and the decisions that span a match and both of
 * its participants' user streams. The match-status moves of the personas are recorded in the user
 * streams, the match's own lifecycle here; each decision returns events per stream, for
 * `CommandDefinition.decide`, and the pipeline appends them atomically.
 */

export interface MatchParticipant {
  readonly userId: string;
  readonly personaId: string;
}

interface MatchPair {
  readonly matchId: string;
  readonly programId: string;
  readonly mentor: MatchParticipant;
  readonly mentee: MatchParticipant;
}

export interface MatchClosure {
  readonly closureReason: string;
  readonly mentorRematchIntent: RematchIntent;
  readonly menteeRematchIntent: RematchIntent;
}

/**
 * STAGED: created, not live (the direct match below goes live in the same append; staged and
 * requested matches of the other matching processes will stop here).
 */
export type MatchState =
  | { readonly status: 'NONE' }
  | (MatchPair & { readonly status: 'STAGED' })
  | (MatchPair & { readonly status: 'ACTIVE' })
  | (MatchPair & { readonly status: 'CLOSED'; readonly closure: MatchClosure });

export type ExistingMatch = Exclude<MatchState, { status: 'NONE' }>;

// ---------------------------------------------------------------------------------------------
// Events

export type MatchCreated = DomainEvent<
  'MatchCreated',
  {
    readonly matchId: string;
    readonly programId: string;
    readonly mentorUserId: string;
    readonly mentorPersonaId: string;
    readonly menteeUserId: string;
    readonly menteePersonaId: string;
  }
>;
/** The match went live: both participants are notified and the personas are MATCHED. */
export type MatchActivated = DomainEvent<
  'MatchActivated',
  { readonly matchId: string; readonly programId: string; readonly mentorPersonaId: string; readonly menteePersonaId: string }
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
  }
>;
export type MatchReopened = DomainEvent<
  'MatchReopened',
  { readonly matchId: string; readonly programId: string; readonly mentorPersonaId: string; readonly menteePersonaId: string }
>;

export type MatchEvent = MatchCreated | MatchActivated | MatchClosed | MatchReopened;

// ---------------------------------------------------------------------------------------------
// Commands

/** Match a mentor's and a mentee's RTBM personas directly; the match goes live at once. */
export type MatchPersonas = {
  readonly type: 'MatchPersonas';
  readonly data: {
    readonly matchId: string;
    readonly programId: string;
    readonly mentorPersonaId: string;
    readonly menteePersonaId: string;
  };
};
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
export type ReopenMatch = { readonly type: 'ReopenMatch'; readonly data: { readonly matchId: string } };

export type MatchCommand = MatchPersonas | CloseMatch | ReopenMatch;

// ---------------------------------------------------------------------------------------------
// The match stream alone

export const requireMatch = (state: MatchState, matchId: string): ExistingMatch => {
  if (state.status === 'NONE') throw new DomainError('NOT_FOUND', `Match ${matchId} does not exist.`, { matchId });
  return state;
};

const requireMatchStatus = (match: ExistingMatch, status: ExistingMatch['status'], doing: string): void => {
  if (match.status !== status) {
    throw new DomainError(
      'ILLEGAL_TRANSITION',
      `Match ${match.matchId} is ${match.status}; only ${status === 'ACTIVE' ? 'an ACTIVE' : `a ${status}`} match can be ${doing}.`,
      { matchId: match.matchId, status: match.status },
    );
  }
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

const pairData = (match: ExistingMatch) => ({
  matchId: match.matchId,
  programId: match.programId,
  mentorPersonaId: match.mentor.personaId,
  menteePersonaId: match.mentee.personaId,
});

const decide = (command: MatchCommand, state: MatchState): MatchEvent[] => {
  switch (command.type) {
    case 'MatchPersonas': {
      const matchId = requireText('Match id', command.data.matchId);
      if (state.status !== 'NONE') {
        throw new DomainError('ALREADY_EXISTS', `Match ${matchId} already exists; use a new match id.`, { matchId });
      }
      const mentor = participantOf(command.data.mentorPersonaId, 'Mentor');
      const mentee = participantOf(command.data.menteePersonaId, 'Mentee');
      if (mentor.userId === mentee.userId) {
        throw new DomainError('RULE_VIOLATED', 'A user cannot be matched with themselves: choose personas of two different users.', {
          userId: mentor.userId,
        });
      }
      const programId = command.data.programId;
      return [
        {
          type: 'MatchCreated',
          data: {
            matchId,
            programId,
            mentorUserId: mentor.userId,
            mentorPersonaId: mentor.personaId,
            menteeUserId: mentee.userId,
            menteePersonaId: mentee.personaId,
          },
        },
        { type: 'MatchActivated', data: { matchId, programId, mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId } },
      ];
    }
    case 'CloseMatch': {
      const match = requireMatch(state, command.data.matchId);
      requireMatchStatus(match, 'ACTIVE', 'closed');
      return [
        {
          type: 'MatchClosed',
          data: {
            ...pairData(match),
            closureReason: requireText('Closure reason', command.data.closureReason),
            mentorRematchIntent: requireRematchIntent('Mentor', command.data.mentorRematchIntent),
            menteeRematchIntent: requireRematchIntent('Mentee', command.data.menteeRematchIntent),
          },
        },
      ];
    }
    case 'ReopenMatch': {
      const match = requireMatch(state, command.data.matchId);
      requireMatchStatus(match, 'CLOSED', 'reopened');
      return [{ type: 'MatchReopened', data: pairData(match) }];
    }
    default:
      return assertNever(command);
  }
};

const evolve = (state: MatchState, event: MatchEvent): MatchState => {
  if (event.type === 'MatchCreated') {
    const { matchId, programId, mentorUserId, mentorPersonaId, menteeUserId, menteePersonaId } = event.data;
    return {
      status: 'STAGED',
      matchId,
      programId,
      mentor: { userId: mentorUserId, personaId: mentorPersonaId },
      mentee: { userId: menteeUserId, personaId: menteePersonaId },
    };
  }
  if (state.status === 'NONE') return state;
  const { matchId, programId, mentor, mentee } = state;
  const pair = { matchId, programId, mentor, mentee };
  switch (event.type) {
    case 'MatchActivated':
    case 'MatchReopened':
      return { ...pair, status: 'ACTIVE' };
    case 'MatchClosed': {
      const { closureReason, mentorRematchIntent, menteeRematchIntent } = event.data;
      return { ...pair, status: 'CLOSED', closure: { closureReason, mentorRematchIntent, menteeRematchIntent } };
    }
    default:
      return state;
  }
};

/** Decides the match stream's part only; use the decide* functions below, which also check both users. */
export const matchDecider: Decider<MatchCommand, MatchState, MatchEvent> = {
  initialState: () => ({ status: 'NONE' }),
  evolve,
  decide,
};

/**
 * Which streams a command on an existing match needs. A match never changes participants or
 * program, so reading them before loading the streams is safe.
 */
export const matchParticipants = (
  state: MatchState,
  matchId: string,
): { readonly programId: string; readonly mentorUserId: string; readonly menteeUserId: string } => {
  const match = requireMatch(state, matchId);
  return { programId: match.programId, mentorUserId: match.mentor.userId, menteeUserId: match.mentee.userId };
};

// ---------------------------------------------------------------------------------------------
// Across the match and both users

export interface MatchStreams {
  readonly match: MatchState;
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

/**
 * Streams: `match` = matchStream(matchId), `program` = programStream(programId),
 * `mentor`/`mentee` = userStream(userIdOfPersona(personaId)). Writes to match, mentor and mentee.
 * Preconditions in the order they are checked: new match id; two different users; program exists
 * with matching on; each user registered and owning the persona; persona of the right role and
 * program; user Active; persona ACTIVE; persona RTBM (and never matched before).
 */
export const decideMatchPersonas = (
  command: MatchPersonas,
  states: MatchStreams & { readonly program: ProgramState },
): MatchDecision => {
  const matchEvents = decide(command, states.match);
  const { matchId, programId } = command.data;
  const program = requireProgram(states.program, programId);
  if (!program.settings.matchingEnabled) {
    throw new DomainError('RULE_VIOLATED', `Matching is off in program "${program.name}"; turn matching on before matching anyone.`, {
      programId,
    });
  }
  const decided: Record<'mentor' | 'mentee', UserEvent[]> = { mentor: [], mentee: [] };
  for (const { key, role, label } of SIDES) {
    const participant = participantOf(command.data[`${key}PersonaId`], label);
    const user = loadedUser(states[key], participant);
    const persona = requirePersona(user, participant.personaId);
    if (persona.role !== role) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `Persona ${persona.personaId} of ${user.name} is a ${persona.role.toLowerCase()} persona; the ${key} of a match needs a ${key} persona.`,
        { personaId: persona.personaId, role: persona.role },
      );
    }
    if (persona.programId !== programId) {
      throw new DomainError(
        'RULE_VIOLATED',
        `Persona ${persona.personaId} of ${user.name} is in program ${persona.programId}, not ${programId}; both personas of a match must be in its program.`,
        { personaId: persona.personaId, programId: persona.programId },
      );
    }
    requireActiveUser(user, 'be matched');
    requireActivePersona(user, persona, 'be matched');
    const matched = moveMatchStatus(user, persona, 'MATCHED', 'MATCH', { kind: 'MATCH_ACTIVATED', matchId }, matchId);
    if (persona.matchId !== null) {
      throw new DomainError(
        'RULE_VIOLATED',
        `Persona ${persona.personaId} of ${user.name} was already matched once (match ${persona.matchId}); a new match needs a new persona.`,
        { personaId: persona.personaId, matchId: persona.matchId },
      );
    }
    decided[key].push(matched);
  }
  return { match: matchEvents, ...decided };
};

/**
 * Streams: `match`, `program` (the match's program, for its closure reasons), `mentor`, `mentee`
 * (see matchParticipants). Each persona moves MATCHED → CLOSED; a participant answering YES or
 * MAYBE gets a new RESCREENING persona in the same program and role at once.
 */
export const decideCloseMatch = (command: CloseMatch, states: MatchStreams & { readonly program: ProgramState }): MatchDecision => {
  const match = requireMatch(states.match, command.data.matchId);
  requireMatchStatus(match, 'ACTIVE', 'closed');
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
  const matchEvents = decide({ type: 'CloseMatch', data: { ...command.data, closureReason } }, states.match);
  const decided: Record<'mentor' | 'mentee', UserEvent[]> = { mentor: [], mentee: [] };
  for (const { key } of SIDES) {
    const participant = match[key];
    const user = loadedUser(states[key], participant);
    const persona = personaOfMatch(user, participant, match.matchId);
    const rematchIntent = command.data[`${key}RematchIntent`];
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
  return { match: matchEvents, ...decided };
};

/**
 * Streams: `match`, `mentor`, `mentee` (see matchParticipants). "Open Match": both personas go back
 * from CLOSED to MATCHED.
 *
 * Refused unless both users are Active and both personas still ACTIVE, and refused when either user
 * has been matched again since through a newer persona (reopening would put them in two matches:
 * create a new match instead). Newer personas that were never matched (the RESCREENING persona the
 * closure created, or one made RS, RTBM or NM since) are inactivated in the same step: the
 * participant is back in this match, and a waiting rematch persona would let them be matched twice.
 */
export const decideReopenMatch = (command: ReopenMatch, states: MatchStreams): MatchDecision => {
  const matchEvents = decide(command, states.match);
  const match = requireMatch(states.match, command.data.matchId);
  const decided: Record<'mentor' | 'mentee', UserEvent[]> = { mentor: [], mentee: [] };
  for (const { key } of SIDES) {
    const participant = match[key];
    const user = loadedUser(states[key], participant);
    const persona = personaOfMatch(user, participant, match.matchId);
    requireActiveUser(user, 'have a match reopened');
    requireActivePersona(user, persona, 'have its match reopened');
    const newer = user.personas.filter((other) => other.number > persona.number);
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
  return { match: matchEvents, ...decided };
};
