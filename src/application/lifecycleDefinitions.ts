import type { CommandDefinition, StreamSpec } from '../commands/pipeline';
import {
  decideApproveStagedMatch,
  decideAssignPersonaToSite,
  decideChangeUserEmail,
  decideErasePersonalData,
  type ErasePersonalData,
  emailReservationDecider,
  normalizeEmail,
  decideCloseMatch,
  decideInactivateMatchedPersona,
  decideCompleteMatch,
  decideDiscardStagedMatch,
  decideExpireMatchRequest,
  decideInviteMenteeToMatch,
  decideMatchPersonas,
  decideRegisterUser,
  decideReopenMatch,
  decideRequestMatch,
  decideRespondToMatchRequest,
  decideSetMentorCapacity,
  decideWithdrawMatchRequest,
  matchDecider,
  matchStream,
  programDecider,
  programStream,
  userDecider,
  userIdForEmail,
  userIdOfPersona,
  userStream,
  type ApproveStagedMatch,
  type ChangeUserEmail,
  type EmailReservationEvent,
  type EmailReservationState,
  type AssignPersonaToSite,
  type CloseMatch,
  type InactivateMatchedPersona,
  type CompleteMatch,
  type DiscardStagedMatch,
  type ExpireMatchRequest,
  type InviteMenteeToMatch,
  type ReopenMatch,
  type RequestMatch,
  type RespondToMatchRequest,
  type SetMentorCapacity,
  type WithdrawMatchRequest,
  type MatchDecision,
  type MatchEvent,
  type MatchPersonas,
  type MatchState,
  type ProgramCommand,
  type ProgramEvent,
  type ProgramState,
  type RegisterUser,
  type UserCommand,
  type UserEvent,
  type UserState,
} from '../domain';
import { DomainError } from '../domain/shared/decider';
import type { EmailStreams } from '../identity/emailStreams';

/**
 * Each lifecycle command as the pipeline runs it: the streams it reads and the pure decision over
 * their states. Complete commands in, ids included; `LifecycleCommands` makes the ids.
 */

type ProgramStreams = { program: StreamSpec<ProgramState, ProgramEvent> };
type UserStreams = { user: StreamSpec<UserState, UserEvent> };
type UserAndProgramStreams = UserStreams & ProgramStreams;
type MatchOnlyStreams = { match: StreamSpec<MatchState, MatchEvent> };
type MatchStreams = ProgramStreams & {
  match: StreamSpec<MatchState, MatchEvent>;
  mentor: StreamSpec<UserState, UserEvent>;
  mentee: StreamSpec<UserState, UserEvent>;
};

/** The streams a match command touches. */
export interface MatchStreamIds {
  readonly matchId: string;
  readonly programId: string;
  readonly mentorUserId: string;
  readonly menteeUserId: string;
}

const programSpec = (programId: string) => ({ streamId: programStream(programId), decider: programDecider });
const userSpec = (userId: string) => ({ streamId: userStream(userId), decider: userDecider });

export const programCommand = (command: ProgramCommand): CommandDefinition<ProgramStreams> => ({
  name: command.type,
  streams: { program: programSpec(command.data.programId) },
  decide: ({ program }) => ({ program: programDecider.decide(command, program.state) }),
});

/** The system actor credited with the automatic moves of the lifecycle (AI → SI on a completed application). */
export const LIFECYCLE_SYSTEM_ACTOR_ID = 'lifecycle-automation';

export const userCommand = (command: UserCommand): CommandDefinition<UserStreams> => ({
  name: command.type,
  streams: { user: userSpec(command.data.userId) },
  decide: ({ user }) => ({ user: userDecider.decide(command, user.state) }),
  // "except when a mentor finishes their application - they are automatically moved to Screening
  // Incomplete" (seed 001): the person completed the application; the system moved the status.
  madeBySystem: (event) =>
    event.type === 'UserStatusChanged' && (event.data as { automatic?: boolean }).automatic === true ? LIFECYCLE_SYSTEM_ACTOR_ID : null,
});

type ReservationSpec = StreamSpec<EmailReservationState, EmailReservationEvent>;
type AddressStreams = { reservation: ReservationSpec; legacyUser: StreamSpec<UserState, UserEvent> };

const reservationSpec = (streamId: string): ReservationSpec => ({ streamId, decider: emailReservationDecider });

/**
 * The streams that say whether an address is free: its reservation stream and the legacy user
 * stream `user-<uuidv5(address)>` (see `addressHolder`). The legacy stream is read and checked,
 * never written: `no_stream` when it does not exist, so a legacy-shaped registration appended
 * meanwhile cannot slip past the claim.
 */
const addressStreams = (email: string, emails: EmailStreams): AddressStreams => ({
  reservation: reservationSpec(emails.reservationStream(email)),
  legacyUser: userSpec(userIdForEmail(email)),
});

export const registerUser = (
  data: RegisterUser['data'],
  emails: EmailStreams,
): CommandDefinition<UserAndProgramStreams & AddressStreams> => ({
  name: 'RegisterUser',
  streams: { user: userSpec(data.userId), program: programSpec(data.programId), ...addressStreams(data.email, emails) },
  decide: ({ user, program, reservation, legacyUser }) =>
    decideRegisterUser(
      { type: 'RegisterUser', data },
      { user: user.state, program: program.state, reservation: reservation.state, legacyUser: legacyUser.state },
    ),
  checks: ['legacyUser'],
});

/** `currentEmail`: the user's address as last read; it names the old address's reservation stream. */
export const changeUserEmail = (
  data: Omit<ChangeUserEmail['data'], 'currentNormalizedEmail'>,
  currentEmail: string,
  emails: EmailStreams,
): CommandDefinition<UserStreams & AddressStreams & { previousReservation: ReservationSpec }> => {
  const command: ChangeUserEmail = { type: 'ChangeUserEmail', data: { ...data, currentNormalizedEmail: normalizeEmail(currentEmail) } };
  return {
    name: 'ChangeUserEmail',
    streams: {
      user: userSpec(data.userId),
      ...addressStreams(data.email, emails),
      previousReservation: reservationSpec(emails.reservationStream(currentEmail)),
    },
    decide: ({ user, reservation, legacyUser, previousReservation }) =>
      decideChangeUserEmail(command, {
        user: user.state,
        reservation: reservation.state,
        legacyUser: legacyUser.state,
        previousReservation: previousReservation.state,
      }),
    checks: ['legacyUser'],
  };
};

/** `currentEmail`: the user's address as last read; it names the reservation stream the erasure releases. */
export const erasePersonalData = (
  data: ErasePersonalData['data'],
  currentEmail: string,
  emails: EmailStreams,
): CommandDefinition<UserStreams & { reservation: ReservationSpec }> => ({
  name: 'ErasePersonalData',
  streams: { user: userSpec(data.userId), reservation: reservationSpec(emails.reservationStream(currentEmail)) },
  decide: ({ user, reservation }) => {
    if (user.state.status === 'REGISTERED' && user.state.normalizedEmail !== normalizeEmail(currentEmail)) {
      throw new DomainError('CONCURRENCY_CONFLICT', `The e-mail address of user ${data.userId} changed while the erasure ran; try again.`, {
        userId: data.userId,
      });
    }
    return decideErasePersonalData({ type: 'ErasePersonalData', data }, { user: user.state, reservation: reservation.state });
  },
});

export const assignPersonaToSite = (data: AssignPersonaToSite['data']): CommandDefinition<UserAndProgramStreams> => ({
  name: 'AssignPersonaToSite',
  streams: { user: userSpec(data.userId), program: programSpec(data.programId) },
  decide: ({ user, program }) =>
    decideAssignPersonaToSite({ type: 'AssignPersonaToSite', data }, { user: user.state, program: program.state }),
});

type MatchStates = { match: MatchState; program: ProgramState; mentor: UserState; mentee: UserState };

/**
 * A command on one match: reads the match, its program and both users, writes what the decision
 * returns. `checkProgram`: the decision can make the match live, so the program (matching on) must
 * not change before the append.
 */
const matchCommand = (
  name: string,
  ids: MatchStreamIds,
  decide: (states: MatchStates) => MatchDecision,
  options: { readonly checkProgram?: boolean } = {},
): CommandDefinition<MatchStreams> => {
  if (ids.mentorUserId === ids.menteeUserId) {
    throw new DomainError('RULE_VIOLATED', 'A mentor and a mentee in one match must be two different users.', { ...ids });
  }
  return {
    name,
    streams: {
      match: { streamId: matchStream(ids.matchId), decider: matchDecider },
      program: programSpec(ids.programId),
      mentor: userSpec(ids.mentorUserId),
      mentee: userSpec(ids.menteeUserId),
    },
    decide: ({ match, program, mentor, mentee }) =>
      decide({ match: match.state, program: program.state, mentor: mentor.state, mentee: mentee.state }),
    ...(options.checkProgram ? { checks: ['program' as const] } : {}),
  };
};

/** A command on the match stream alone (discard, expire, withdraw: nobody's persona moves). */
const matchOnlyCommand = (name: string, matchId: string, decide: (match: MatchState) => readonly MatchEvent[]): CommandDefinition<MatchOnlyStreams> => ({
  name,
  streams: { match: { streamId: matchStream(matchId), decider: matchDecider } },
  decide: ({ match }) => ({ match: decide(match.state) }),
});

const newMatchIds = (data: { matchId: string; programId: string; mentorPersonaId: string; menteePersonaId: string }): MatchStreamIds => ({
  matchId: data.matchId,
  programId: data.programId,
  mentorUserId: ownerOf(data.mentorPersonaId),
  menteeUserId: ownerOf(data.menteePersonaId),
});

/** An admin's (or auto-matching's) match: live at once, or staged (`stage: true`). */
export const matchPersonas = (data: MatchPersonas['data']): CommandDefinition<MatchStreams> =>
  matchCommand('MatchPersonas', newMatchIds(data), (states) => decideMatchPersonas({ type: 'MatchPersonas', data }, states), {
    checkProgram: !data.stage,
  });

export const requestMatch = (data: RequestMatch['data']): CommandDefinition<MatchStreams> =>
  matchCommand('RequestMatch', newMatchIds(data), (states) => decideRequestMatch({ type: 'RequestMatch', data }, states), {
    checkProgram: true,
  });

/** `ids` from the match's own stream (`matchParticipants`): a match never changes its users or program. */
export const approveStagedMatch = (ids: MatchStreamIds, data: ApproveStagedMatch['data']): CommandDefinition<MatchStreams> =>
  matchCommand('ApproveStagedMatch', ids, (states) => decideApproveStagedMatch({ type: 'ApproveStagedMatch', data }, states), {
    checkProgram: true,
  });

export const respondToMatchRequest = (ids: MatchStreamIds, data: RespondToMatchRequest['data']): CommandDefinition<MatchStreams> =>
  matchCommand('RespondToMatchRequest', ids, (states) => decideRespondToMatchRequest({ type: 'RespondToMatchRequest', data }, states), {
    checkProgram: true,
  });

export const closeMatch = (ids: MatchStreamIds, data: CloseMatch['data']): CommandDefinition<MatchStreams> =>
  matchCommand('CloseMatch', ids, (states) => decideCloseMatch({ type: 'CloseMatch', data }, states));

/** A confirmed inactivation of a MATCHED persona: the persona, its match and the partner, in one append. */
export const inactivateMatchedPersona = (ids: MatchStreamIds, data: InactivateMatchedPersona['data']): CommandDefinition<MatchStreams> =>
  matchCommand('InactivatePersona', ids, (states) => decideInactivateMatchedPersona({ type: 'InactivateMatchedPersona', data }, states));

export const reopenMatch = (ids: MatchStreamIds, data: ReopenMatch['data']): CommandDefinition<MatchStreams> =>
  matchCommand('ReopenMatch', ids, (states) => decideReopenMatch({ type: 'ReopenMatch', data }, states));

export const completeMatch = (ids: MatchStreamIds, data: CompleteMatch['data']): CommandDefinition<MatchStreams> =>
  matchCommand('CompleteMatch', ids, (states) => decideCompleteMatch({ type: 'CompleteMatch', data }, states));

export const discardStagedMatch = (data: DiscardStagedMatch['data']): CommandDefinition<MatchOnlyStreams> =>
  matchOnlyCommand('DiscardStagedMatch', data.matchId, (match) => decideDiscardStagedMatch({ type: 'DiscardStagedMatch', data }, match));

export const expireMatchRequest = (data: ExpireMatchRequest['data']): CommandDefinition<MatchOnlyStreams> =>
  matchOnlyCommand('ExpireMatchRequest', data.matchId, (match) => decideExpireMatchRequest({ type: 'ExpireMatchRequest', data }, match));

export const withdrawMatchRequest = (data: WithdrawMatchRequest['data']): CommandDefinition<MatchOnlyStreams> =>
  matchOnlyCommand('WithdrawMatchRequest', data.matchId, (match) =>
    decideWithdrawMatchRequest({ type: 'WithdrawMatchRequest', data }, match),
  );

export const inviteMenteeToMatch = (data: InviteMenteeToMatch['data']): CommandDefinition<UserAndProgramStreams> => ({
  name: 'InviteMenteeToMatch',
  streams: { user: userSpec(data.userId), program: programSpec(data.programId) },
  decide: ({ user, program }) => decideInviteMenteeToMatch({ type: 'InviteMenteeToMatch', data }, { user: user.state, program: program.state }),
  // Turning matching off meanwhile must stop the invitation.
  checks: ['program'],
});

export const setMentorCapacity = (data: SetMentorCapacity['data']): CommandDefinition<UserAndProgramStreams> => ({
  name: 'SetMentorCapacity',
  streams: { user: userSpec(data.userId), program: programSpec(data.programId) },
  decide: ({ user, program }) => decideSetMentorCapacity({ type: 'SetMentorCapacity', data }, { user: user.state, program: program.state }),
});

export const ownerOf = (personaId: string): string => {
  const userId = userIdOfPersona(personaId);
  if (!userId) {
    throw new DomainError('VALIDATION_FAILED', `"${personaId}" is not a persona id (they look like <user id>:p1).`, {
      field: 'personaId',
    });
  }
  return userId;
};
