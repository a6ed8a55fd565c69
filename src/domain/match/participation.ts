import { DomainError } from '../shared/decider';
import { requireProgram, type ProgramState } from '../program/program';
import { requireActivePersona, requireActiveUser, requirePersona, requireUser, type UserEvent, type UserState } from '../user/user';
import { liveMentorPersonas } from './match';

/** Decisions on one participant's part in matching: invitations (user-led) and mentor capacity. */

export type InviteMenteeToMatch = {
  readonly type: 'InviteMenteeToMatch';
  readonly data: { readonly userId: string; readonly personaId: string; readonly programId: string };
};

/**
 * Streams: `user`, `program` (read only). "Submit Your Mentor Preferences": a user-led program with
 * matching on invites an unmatched (RTBM) mentee once; a second invitation is refused with
 * ALREADY_EXISTS, which the bulk invitation counts as "already invited".
 */
export const decideInviteMenteeToMatch = (
  command: InviteMenteeToMatch,
  states: { readonly user: UserState; readonly program: ProgramState },
): { readonly user: readonly UserEvent[] } => {
  const { userId, personaId, programId } = command.data;
  const program = requireProgram(states.program, programId);
  if (program.settings.matchingProcess === 'ADMIN_LED') {
    throw new DomainError(
      'RULE_VIOLATED',
      `Program "${program.name}" is admin-led; mentees are invited to submit mentor preferences only in user-led programs.`,
      { programId, matchingProcess: program.settings.matchingProcess },
    );
  }
  if (!program.settings.matchingEnabled) {
    throw new DomainError('RULE_VIOLATED', `Matching is off in program "${program.name}"; turn matching on before inviting mentees.`, { programId });
  }
  const user = requireUser(states.user, userId);
  const persona = requirePersona(user, personaId);
  if (persona.role !== 'MENTEE' || persona.programId !== programId) {
    throw new DomainError('RULE_VIOLATED', `Persona ${personaId} of ${user.name} is not a mentee persona in program "${program.name}".`, {
      personaId,
    });
  }
  requireActiveUser(user, 'be invited to match');
  requireActivePersona(user, persona, 'be invited to match');
  if (persona.matchStatus !== 'RTBM') {
    throw new DomainError('RULE_VIOLATED', `${user.name} is ${persona.matchStatus}, not ready to be matched (RTBM); only unmatched mentees are invited.`, {
      personaId,
      matchStatus: persona.matchStatus,
    });
  }
  if (persona.invited) {
    throw new DomainError('ALREADY_EXISTS', `${user.name} has already been invited to submit mentor preferences.`, { personaId });
  }
  return { user: [{ type: 'MenteeInvitedToMatch', data: { userId, personaId, programId } }] };
};

export type SetMentorCapacity = {
  readonly type: 'SetMentorCapacity';
  readonly data: { readonly userId: string; readonly programId: string; readonly capacity: number };
};

/** The most mentees one mentor may have at once; a guard against typos (1000 for 10), not a policy. */
export const MAX_MENTOR_CAPACITY = 50;

/**
 * Streams: `user`, `program` (read only). How many live matches this mentor may have at once in the
 * program. Lowering it below their live matches is refused (close a match first).
 */
export const decideSetMentorCapacity = (
  command: SetMentorCapacity,
  states: { readonly user: UserState; readonly program: ProgramState },
): { readonly user: readonly UserEvent[] } => {
  const { userId, programId, capacity } = command.data;
  const program = requireProgram(states.program, programId);
  const user = requireUser(states.user, userId);
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_MENTOR_CAPACITY) {
    throw new DomainError('VALIDATION_FAILED', `Mentor capacity must be a whole number from 1 to ${MAX_MENTOR_CAPACITY} (got ${capacity}).`, {
      field: 'capacity',
    });
  }
  if (!user.personas.some((persona) => persona.role === 'MENTOR' && persona.programId === programId)) {
    throw new DomainError('RULE_VIOLATED', `${user.name} is not a mentor in program "${program.name}".`, { userId, programId });
  }
  const live = liveMentorPersonas(user, programId).length;
  if (capacity < live) {
    throw new DomainError(
      'RULE_VIOLATED',
      `${user.name} has ${live} live matches in program "${program.name}"; a capacity of ${capacity} would be below that. Close a match first.`,
      { userId, capacity, liveMatches: live },
    );
  }
  const previous = user.mentorCapacities[programId] ?? null;
  if (previous === capacity) return { user: [] };
  // Setting the program's default explicitly is still recorded: the mentor keeps it if the default changes.
  return { user: [{ type: 'MentorCapacitySet', data: { userId, programId, capacity, previous } }] };
};
