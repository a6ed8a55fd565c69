import type { MatchEvent, MatchSource, RequestingParty } from '../match/match';
import type { ApprovingParty, ProgramCreated, ProgramSettings } from '../program/program';
import { DEFAULT_CLOSURE_REASONS, DEFAULT_PROGRAM_SETTINGS } from '../program/program';
import type { MatchStatus, ParticipantRole } from '../user/matchStatus';
import type { MatchStatusCause, PersonaOrigin, UserEvent } from '../user/user';
import { personaIdFor, userIdForEmail } from '../user/userId';
import type { UserStatus } from '../user/userStatus';

/**
 * Given-events for the lifecycle tests. Histories are built from plausible events; where a test
 * needs a persona in a given match status, `personaIn` takes the shortest legal path there.
 */

export const PROGRAM_ID = 'prog-2025';
export const MENTOR_ID = userIdForEmail('mentor@example.org');
export const MENTEE_ID = userIdForEmail('mentee@example.org');
export const persona = (userId: string, n: number): string => personaIdFor(userId, n);

export const programCreated = (overrides: Partial<ProgramCreated['data']> = {}): ProgramCreated => ({
  type: 'ProgramCreated',
  data: {
    programId: PROGRAM_ID,
    name: 'Brooklyn 2025',
    timeZone: 'America/New_York',
    settings: { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true },
    partnerSites: [{ id: 'site-1', name: 'PS 321' }],
    mentorSiteLists: [{ id: 'list-1', name: 'Acme mentors' }],
    closureReasons: [...DEFAULT_CLOSURE_REASONS],
    ...overrides,
  },
});

/** The settings `programCreated` uses (matching on), with `overrides`. */
export const programSettings = (overrides: Partial<ProgramSettings> = {}): ProgramSettings => ({
  ...DEFAULT_PROGRAM_SETTINGS,
  matchingEnabled: true,
  ...overrides,
});

/** The test program with these settings (matching on unless they say otherwise). */
export const programWith = (overrides: Partial<ProgramSettings>, data: Partial<ProgramCreated['data']> = {}): ProgramCreated =>
  programCreated({ ...data, settings: programSettings(overrides) });

export const userRegistered = (userId: string, role: ParticipantRole, programId = PROGRAM_ID): UserEvent => ({
  type: 'UserRegistered',
  data: {
    userId,
    email: `${role.toLowerCase()}@example.org`,
    normalizedEmail: `${role.toLowerCase()}@example.org`,
    name: role === 'MENTOR' ? 'Maria Mentor' : 'Theo Mentee',
    programId,
    role,
    company: role === 'MENTOR' ? 'Acme' : null,
    manager: role === 'MENTOR' ? { name: 'Mia Manager', email: 'mia@acme.example' } : null,
    userStatus: 'AI',
  },
});

export const personaCreated = (
  userId: string,
  n: number,
  role: ParticipantRole,
  matchStatus: MatchStatus = 'N/A',
  origin: PersonaOrigin = { kind: 'REGISTRATION' },
  programId = PROGRAM_ID,
): UserEvent => ({
  type: 'PersonaCreated',
  data: { userId, personaId: persona(userId, n), programId, role, matchStatus, origin },
});

export const statusChanged = (userId: string, changeId: string, from: UserStatus, to: UserStatus, automatic = false): UserEvent => ({
  type: 'UserStatusChanged',
  data: { userId, changeId, from, to, automatic, trigger: automatic ? 'APPLICATION_COMPLETED' : 'MANUAL' },
});

export const reverted = (userId: string, changeId: string, revertedChangeId: string, from: UserStatus, to: UserStatus): UserEvent => ({
  type: 'UserStatusChangeReverted',
  data: { userId, changeId, revertedChangeId, from, to },
});

export const matchStatusChanged = (
  userId: string,
  n: number,
  from: MatchStatus,
  to: MatchStatus,
  cause: MatchStatusCause,
  matchId: string | null = null,
): UserEvent => ({
  type: 'PersonaMatchStatusChanged',
  data: { userId, personaId: persona(userId, n), from, to, matchId, cause },
});

/** A registered user moved straight from AI to `status` by change `c-setup`. */
export const userIn = (userId: string, role: ParticipantRole, status: UserStatus): UserEvent[] => [
  userRegistered(userId, role),
  ...(status === 'AI' ? [] : [statusChanged(userId, 'c-setup', 'AI', status)]),
];

/**
 * Persona n (created now) brought to `status` along the legal path; matched personas are in
 * match `matchId`.
 */
export const personaIn = (userId: string, n: number, role: ParticipantRole, status: MatchStatus, matchId = `m-${n}`): UserEvent[] => {
  const created = personaCreated(userId, n, role);
  const rtbm = [created, matchStatusChanged(userId, n, 'N/A', 'RTBM', { kind: 'USER_ACTIVATED', changeId: 'c-setup' })];
  const matched = [...rtbm, matchStatusChanged(userId, n, 'RTBM', 'MATCHED', { kind: 'MATCH_ACTIVATED', matchId }, matchId)];
  const closedCause: MatchStatusCause = { kind: 'MATCH_CLOSED', matchId, closureReason: 'Other', rematchIntent: 'NO' };
  const rescreening = personaCreated(userId, n, role, 'RESCREENING', { kind: 'MADE_RESCREENING' });
  switch (status) {
    case 'N/A':
      return [created];
    case 'RTBM':
      return rtbm;
    case 'MATCHED':
      return matched;
    case 'CLOSED':
      return [...matched, matchStatusChanged(userId, n, 'MATCHED', 'CLOSED', closedCause, matchId)];
    case 'RESCREENING':
      return [rescreening];
    case 'NOT_MATCHING':
      return [rescreening, matchStatusChanged(userId, n, 'RESCREENING', 'NOT_MATCHING', { kind: 'ADMIN' })];
  }
};

// ---------------------------------------------------------------------------------------------
// Matching

export const mentorCapacitySet = (userId: string, capacity: number, previous: number | null = null, programId = PROGRAM_ID): UserEvent => ({
  type: 'MentorCapacitySet',
  data: { userId, programId, capacity, previous },
});

export const menteeInvited = (userId: string, n: number, programId = PROGRAM_ID): UserEvent => ({
  type: 'MenteeInvitedToMatch',
  data: { userId, personaId: persona(userId, n), programId },
});

export const personaMatchCompleted = (userId: string, n: number, matchId: string): UserEvent => ({
  type: 'PersonaMatchCompleted',
  data: { userId, personaId: persona(userId, n), matchId },
});

/** A mentor persona and a mentee persona in one match: the ids most match events carry. */
export interface MatchPair {
  readonly matchId: string;
  readonly programId: string;
  readonly mentorUserId: string;
  readonly mentorPersonaId: string;
  readonly menteeUserId: string;
  readonly menteePersonaId: string;
}

export const matchPair = (
  matchId: string,
  { mentor = MENTOR_ID, mentorPersona = 1, mentee = MENTEE_ID, menteePersona = 1, programId = PROGRAM_ID } = {},
): MatchPair => ({
  matchId,
  programId,
  mentorUserId: mentor,
  mentorPersonaId: persona(mentor, mentorPersona),
  menteeUserId: mentee,
  menteePersonaId: persona(mentee, menteePersona),
});

/** The persona ids alone, as activation, completion, closure and reopening carry them. */
export const personaIdsOf = ({ matchId, programId, mentorPersonaId, menteePersonaId }: MatchPair) => ({
  matchId,
  programId,
  mentorPersonaId,
  menteePersonaId,
});

export const matchCreated = (pair: MatchPair, source: MatchSource = 'ADMIN', score: number | null = null): MatchEvent => ({
  type: 'MatchCreated',
  data: { ...pair, source, score },
});

/** `mentorPersonaId`: the persona that went MATCHED, when it is not the pair's (a mentor's additional match). */
export const matchActivated = (pair: MatchPair, endsAt: string | null, mentorPersonaId = pair.mentorPersonaId): MatchEvent => ({
  type: 'MatchActivated',
  data: { ...personaIdsOf(pair), mentorPersonaId, endsAt },
});

export const matchRequested = (
  pair: MatchPair,
  request: {
    readonly requestedBy: RequestingParty;
    readonly requiredApprovals: readonly ApprovingParty[];
    readonly pendingApprovals: readonly ApprovingParty[];
    readonly expiresAt: string;
    readonly message?: string | null;
  },
): MatchEvent => ({
  type: 'MatchRequested',
  data: { ...pair, ...request, message: request.message ?? null },
});

export const requestApproved = (pair: MatchPair, party: ApprovingParty, pendingApprovals: readonly ApprovingParty[]): MatchEvent => ({
  type: 'MatchRequestApproved',
  data: { matchId: pair.matchId, programId: pair.programId, party, pendingApprovals },
});

export const matchCompleted = (pair: MatchPair, endsAt: string): MatchEvent => ({
  type: 'MatchCompleted',
  data: { ...personaIdsOf(pair), endsAt },
});
