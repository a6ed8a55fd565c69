import { CommandPipeline, type CommandDefinition, type CommandOutcome, type StreamSpec } from '../../src/commands/pipeline';
import {
  decideAssignPersonaToSite,
  decideCloseMatch,
  decideMatchPersonas,
  decideRegisterUser,
  decideReopenMatch,
  matchDecider,
  matchStream,
  personaIdFor,
  programDecider,
  programStream,
  userDecider,
  userIdForEmail,
  userStream,
  type AssignPersonaToSite,
  type CloseMatch,
  type MatchDecision,
  type MatchEvent,
  type MatchState,
  type ParticipantRole,
  type ProgramCommand,
  type ProgramEvent,
  type ProgramState,
  type RegisterUser,
  type UserCommand,
  type UserEvent,
  type UserState,
} from '../../src/domain';
import type { Actor, EventStore } from '../../src/eventstore/eventStore';

/**
 * Drives the real deciders through the real pipeline, as the API will, so the projections are fed
 * exactly the events production writes. Clock and correlation ids are deterministic so the test can
 * name them.
 */

type ProgramStreams = { program: StreamSpec<ProgramState, ProgramEvent> };
type UserStreams = { user: StreamSpec<UserState, UserEvent> };
type UserAndProgramStreams = UserStreams & ProgramStreams;
type MatchStreams = {
  match: StreamSpec<MatchState, MatchEvent>;
  program: StreamSpec<ProgramState, ProgramEvent>;
  mentor: StreamSpec<UserState, UserEvent>;
  mentee: StreamSpec<UserState, UserEvent>;
};

const programSpec = (programId: string) => ({ streamId: programStream(programId), decider: programDecider });
const userSpec = (userId: string) => ({ streamId: userStream(userId), decider: userDecider });

export const onProgram = (command: ProgramCommand): CommandDefinition<ProgramStreams> => ({
  name: command.type,
  streams: { program: programSpec(command.data.programId) },
  decide: ({ program }) => ({ program: programDecider.decide(command, program.state) }),
});

export const onUser = (command: UserCommand): CommandDefinition<UserStreams> => ({
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
  decide: ({ user, program }) => decideAssignPersonaToSite({ type: 'AssignPersonaToSite', data }, { user: user.state, program: program.state }),
});

export interface MatchIds {
  readonly matchId: string;
  readonly programId: string;
  readonly mentorUserId: string;
  readonly menteeUserId: string;
}

const onMatch = (
  name: string,
  ids: MatchIds,
  decide: (states: { match: MatchState; program: ProgramState; mentor: UserState; mentee: UserState }) => MatchDecision,
): CommandDefinition<MatchStreams> => ({
  name,
  streams: {
    match: { streamId: matchStream(ids.matchId), decider: matchDecider },
    program: programSpec(ids.programId),
    mentor: userSpec(ids.mentorUserId),
    mentee: userSpec(ids.menteeUserId),
  },
  decide: ({ match, program, mentor, mentee }) => decide({ match: match.state, program: program.state, mentor: mentor.state, mentee: mentee.state }),
});

export const matchPersonas = (ids: MatchIds): CommandDefinition<MatchStreams> =>
  onMatch('MatchPersonas', ids, (states) =>
    decideMatchPersonas(
      {
        type: 'MatchPersonas',
        data: {
          matchId: ids.matchId,
          programId: ids.programId,
          mentorPersonaId: personaIdFor(ids.mentorUserId, 1),
          menteePersonaId: personaIdFor(ids.menteeUserId, 1),
        },
      },
      states,
    ),
  );

export const closeMatch = (ids: MatchIds, data: Omit<CloseMatch['data'], 'matchId'>): CommandDefinition<MatchStreams> =>
  onMatch('CloseMatch', ids, (states) => decideCloseMatch({ type: 'CloseMatch', data: { ...data, matchId: ids.matchId } }, states));

export const reopenMatch = (ids: MatchIds): CommandDefinition<MatchStreams> =>
  onMatch('ReopenMatch', ids, (states) => decideReopenMatch({ type: 'ReopenMatch', data: { matchId: ids.matchId } }, states));

// ---------------------------------------------------------------------------------------------

export const ADMIN: Actor = { id: 'admin-ada', role: 'admin' };
export const COORDINATOR: Actor = { id: 'coord-cole', role: 'coordinator' };
export const self = (userId: string, role: ParticipantRole): Actor => ({ id: userId, role: role === 'MENTOR' ? 'mentor' : 'mentee' });

/** Each command one minute after the previous one, from 2025-01-06 09:00 UTC. */
export const minute = (n: number): string => new Date(Date.UTC(2025, 0, 6, 9, n)).toISOString();

export interface Executed {
  readonly now: string;
  readonly correlationId: string;
  readonly outcome: CommandOutcome;
}

export class Scenario {
  private readonly pipeline: CommandPipeline;
  private clock = 0;

  constructor(store: EventStore) {
    this.pipeline = new CommandPipeline(store);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async run<S extends Record<string, StreamSpec<any, any>>>(actor: Actor, command: CommandDefinition<S>, reason?: string): Promise<Executed> {
    const n = this.clock++;
    const now = minute(n);
    const correlationId = `corr-${n}`;
    const outcome = await this.pipeline.execute({ actor, now, correlationId, ...(reason !== undefined ? { reason } : {}) }, command);
    if (outcome.events.length === 0) throw new Error(`${command.name} wrote nothing; the scenario expects every step to record a fact.`);
    return { now, correlationId, outcome };
  }
}
