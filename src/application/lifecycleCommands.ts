import {
  decideAssignPersonaToSite,
  decideCloseMatch,
  decideMatchPersonas,
  decideRegisterUser,
  decideReopenMatch,
  matchDecider,
  matchParticipants,
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
  type ProgramCommand,
  type RegisterUser,
  type UserCommand,
} from '../domain';
import { DomainError, fold } from '../domain/shared/decider';
import type { EventStore } from '../eventstore/eventStore';
import type { CommandContext, CommandOutcome, CommandPipeline } from '../commands/pipeline';

type Data<C extends { readonly data: object }> = C['data'];
type WithoutId<C extends { readonly data: object }, K extends keyof C['data']> = Omit<C['data'], K>;

/**
 * The participant-lifecycle commands: each names the streams it reads, hands their folded states to
 * the pure decision in `src/domain`, and lets the pipeline append the result atomically. Ids of new
 * things (programs, matches, status changes) are made here, never in the domain.
 */
export class LifecycleCommands {
  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly store: EventStore,
    private readonly newId: () => string,
  ) {}

  // -- programs ------------------------------------------------------------------------------

  async createProgram(context: CommandContext, data: WithoutId<Extract<ProgramCommand, { type: 'CreateProgram' }>, 'programId'>) {
    const programId = this.newId();
    const outcome = await this.onProgram(context, { type: 'CreateProgram', data: { ...data, programId } });
    return { programId, outcome };
  }

  onProgram(context: CommandContext, command: ProgramCommand): Promise<CommandOutcome> {
    return this.pipeline.execute(context, {
      name: command.type,
      streams: { program: { streamId: programStream(command.data.programId), decider: programDecider } },
      decide: ({ program }) => ({ program: programDecider.decide(command, program.state) }),
    });
  }

  // -- users and personas --------------------------------------------------------------------

  async registerUser(context: CommandContext, data: Data<RegisterUser>) {
    const userId = userIdForEmail(data.email);
    const command: RegisterUser = { type: 'RegisterUser', data };
    const outcome = await this.pipeline.execute(context, {
      name: command.type,
      streams: {
        user: { streamId: userStream(userId), decider: userDecider },
        program: { streamId: programStream(data.programId), decider: programDecider },
      },
      decide: ({ user, program }) => decideRegisterUser(command, { user: user.state, program: program.state }),
    });
    return { userId, outcome };
  }

  completeApplication(context: CommandContext, userId: string) {
    return this.onUser(context, { type: 'CompleteApplication', data: { userId, changeId: this.newId() } });
  }

  changeUserStatus(context: CommandContext, userId: string, to: Data<Extract<UserCommand, { type: 'ChangeUserStatus' }>>['to']) {
    return this.onUser(context, { type: 'ChangeUserStatus', data: { userId, changeId: this.newId(), to } });
  }

  revertUserStatusChange(context: CommandContext, userId: string, revertedChangeId: string) {
    return this.onUser(context, { type: 'RevertUserStatusChange', data: { userId, changeId: this.newId(), revertedChangeId } });
  }

  changePersonaMatchStatus(
    context: CommandContext,
    personaId: string,
    to: Data<Extract<UserCommand, { type: 'ChangePersonaMatchStatus' }>>['to'],
  ) {
    return this.onUser(context, { type: 'ChangePersonaMatchStatus', data: { userId: ownerOf(personaId), personaId, to } });
  }

  makeUserRescreening(context: CommandContext, userId: string) {
    return this.onUser(context, { type: 'MakeUserRescreening', data: { userId } });
  }

  inactivatePersona(context: CommandContext, personaId: string, confirmCutCommunication: boolean) {
    return this.onUser(context, {
      type: 'InactivatePersona',
      data: { userId: ownerOf(personaId), personaId, confirmCutCommunication },
    });
  }

  async assignPersonaToSite(context: CommandContext, data: Omit<Data<AssignPersonaToSite>, 'userId' | 'programId'>) {
    const userId = ownerOf(data.personaId);
    const user = await this.load(userStream(userId), userDecider);
    const persona = user.status === 'REGISTERED' ? user.personas.find((p) => p.personaId === data.personaId) : undefined;
    if (!persona) throw new DomainError('NOT_FOUND', `Persona ${data.personaId} does not exist.`, { personaId: data.personaId });
    const command: AssignPersonaToSite = { type: 'AssignPersonaToSite', data: { ...data, userId, programId: persona.programId } };
    return this.pipeline.execute(context, {
      name: command.type,
      streams: {
        user: { streamId: userStream(userId), decider: userDecider },
        program: { streamId: programStream(persona.programId), decider: programDecider },
      },
      decide: ({ user: loaded, program }) => decideAssignPersonaToSite(command, { user: loaded.state, program: program.state }),
    });
  }

  private onUser(context: CommandContext, command: UserCommand): Promise<CommandOutcome> {
    return this.pipeline.execute(context, {
      name: command.type,
      streams: { user: { streamId: userStream(command.data.userId), decider: userDecider } },
      decide: ({ user }) => ({ user: userDecider.decide(command, user.state) }),
    });
  }

  // -- matches -------------------------------------------------------------------------------

  async matchPersonas(context: CommandContext, data: { programId: string; mentorPersonaId: string; menteePersonaId: string }) {
    const matchId = this.newId();
    const command = { type: 'MatchPersonas', data: { ...data, matchId } } as const;
    const outcome = await this.onMatch(
      context,
      command.type,
      { matchId, programId: data.programId, mentorUserId: ownerOf(data.mentorPersonaId), menteeUserId: ownerOf(data.menteePersonaId) },
      (states) => decideMatchPersonas(command, states),
    );
    return { matchId, outcome };
  }

  async closeMatch(context: CommandContext, data: Data<CloseMatch>) {
    const participants = await this.participantsOf(data.matchId);
    return this.onMatch(context, 'CloseMatch', { matchId: data.matchId, ...participants }, (states) =>
      decideCloseMatch({ type: 'CloseMatch', data }, states),
    );
  }

  async reopenMatch(context: CommandContext, matchId: string) {
    const participants = await this.participantsOf(matchId);
    return this.onMatch(context, 'ReopenMatch', { matchId, ...participants }, (states) =>
      decideReopenMatch({ type: 'ReopenMatch', data: { matchId } }, states),
    );
  }

  private async participantsOf(matchId: string) {
    return matchParticipants(await this.load(matchStream(matchId), matchDecider), matchId);
  }

  private onMatch(
    context: CommandContext,
    name: string,
    ids: { matchId: string; programId: string; mentorUserId: string; menteeUserId: string },
    decide: (states: Parameters<typeof decideCloseMatch>[1]) => MatchDecision,
  ): Promise<CommandOutcome> {
    if (ids.mentorUserId === ids.menteeUserId) {
      throw new DomainError('RULE_VIOLATED', 'A mentor and a mentee in one match must be two different users.', ids);
    }
    return this.pipeline.execute(context, {
      name,
      streams: {
        match: { streamId: matchStream(ids.matchId), decider: matchDecider },
        program: { streamId: programStream(ids.programId), decider: programDecider },
        mentor: { streamId: userStream(ids.mentorUserId), decider: userDecider },
        mentee: { streamId: userStream(ids.menteeUserId), decider: userDecider },
      },
      decide: ({ match, program, mentor, mentee }) =>
        decide({ match: match.state, program: program.state, mentor: mentor.state, mentee: mentee.state }),
    });
  }

  private async load<State>(streamId: string, decider: Parameters<typeof fold<State, never>>[0]): Promise<State> {
    const { events } = await this.store.readStream(streamId);
    return fold(decider, events as never[]);
  }
}

const ownerOf = (personaId: string): string => {
  const userId = userIdOfPersona(personaId);
  if (!userId) {
    throw new DomainError('VALIDATION_FAILED', `"${personaId}" is not a persona id (they look like <user id>:p1).`, {
      field: 'personaId',
    });
  }
  return userId;
};
