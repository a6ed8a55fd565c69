import type { CommandDefinition, StreamSpec } from '../commands/pipeline';
import {
  decideAssignPersonaToSite,
  decideCloseMatch,
  decideMatchPersonas,
  decideRegisterUser,
  decideReopenMatch,
  matchDecider,
  matchStream,
  programDecider,
  programStream,
  userDecider,
  userIdForEmail,
  userIdOfPersona,
  userStream,
  type AssignPersonaToSite,
  type CloseMatch,
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

/**
 * Each lifecycle command as the pipeline runs it: the streams it reads and the pure decision over
 * their states. Complete commands in, ids included; `LifecycleCommands` makes the ids.
 */

type ProgramStreams = { program: StreamSpec<ProgramState, ProgramEvent> };
type UserStreams = { user: StreamSpec<UserState, UserEvent> };
type UserAndProgramStreams = UserStreams & ProgramStreams;
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

export const userCommand = (command: UserCommand): CommandDefinition<UserStreams> => ({
  name: command.type,
  streams: { user: userSpec(command.data.userId) },
  decide: ({ user }) => ({ user: userDecider.decide(command, user.state) }),
});

export const registerUser = (data: RegisterUser['data']): CommandDefinition<UserAndProgramStreams> => ({
  name: 'RegisterUser',
  streams: { user: userSpec(userIdForEmail(data.email)), program: programSpec(data.programId) },
  decide: ({ user, program }) => decideRegisterUser({ type: 'RegisterUser', data }, { user: user.state, program: program.state }),
});

export const assignPersonaToSite = (data: AssignPersonaToSite['data']): CommandDefinition<UserAndProgramStreams> => ({
  name: 'AssignPersonaToSite',
  streams: { user: userSpec(data.userId), program: programSpec(data.programId) },
  decide: ({ user, program }) =>
    decideAssignPersonaToSite({ type: 'AssignPersonaToSite', data }, { user: user.state, program: program.state }),
});

const matchCommand = (
  name: string,
  ids: MatchStreamIds,
  decide: (states: { match: MatchState; program: ProgramState; mentor: UserState; mentee: UserState }) => MatchDecision,
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
  };
};

export const matchPersonas = (data: MatchPersonas['data']): CommandDefinition<MatchStreams> =>
  matchCommand(
    'MatchPersonas',
    {
      matchId: data.matchId,
      programId: data.programId,
      mentorUserId: ownerOf(data.mentorPersonaId),
      menteeUserId: ownerOf(data.menteePersonaId),
    },
    (states) => decideMatchPersonas({ type: 'MatchPersonas', data }, states),
  );

/** `ids` from the match's own stream (`matchParticipants`): a match never changes participants. */
export const closeMatch = (ids: MatchStreamIds, data: CloseMatch['data']): CommandDefinition<MatchStreams> =>
  matchCommand('CloseMatch', ids, (states) => decideCloseMatch({ type: 'CloseMatch', data }, states));

export const reopenMatch = (ids: MatchStreamIds): CommandDefinition<MatchStreams> =>
  matchCommand('ReopenMatch', ids, (states) => decideReopenMatch({ type: 'ReopenMatch', data: { matchId: ids.matchId } }, states));

export const ownerOf = (personaId: string): string => {
  const userId = userIdOfPersona(personaId);
  if (!userId) {
    throw new DomainError('VALIDATION_FAILED', `"${personaId}" is not a persona id (they look like <user id>:p1).`, {
      field: 'personaId',
    });
  }
  return userId;
};
