import {
  matchDecider,
  matchParticipants,
  matchStream,
  userDecider,
  userIdForEmail,
  userStream,
  type AssignPersonaToSite,
  type AttributeValue,
  type CloseMatch,
  type DiscardStagedMatch,
  type MatchPersonas,
  type MatchState,
  type ProgramCommand,
  type RegisterUser,
  type RequestMatch,
  type RespondToMatchRequest,
  type SetMentorCapacity,
  type UserCommand,
  type WithdrawMatchRequest,
} from '../domain';
import { DomainError, fold } from '../domain/shared/decider';
import type { EventStore } from '../eventstore/eventStore';
import type { CommandContext, CommandOutcome, CommandPipeline } from '../commands/pipeline';
import * as define from './lifecycleDefinitions';

type Data<C extends { readonly data: object }> = C['data'];
type CommandData<Type extends UserCommand['type']> = Data<Extract<UserCommand, { type: Type }>>;

/**
 * The participant-lifecycle commands as the API calls them: ids of new things (programs, matches,
 * status changes) are made here, never in the domain; `lifecycleDefinitions` says which streams each
 * command reads and how it decides.
 */
export class LifecycleCommands {
  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly store: EventStore,
    private readonly newId: () => string,
    /** A user's registrations to initiatives (another aggregate's), whose free text an erasure takes too. */
    private readonly registrationIdsOf: (userId: string) => Promise<readonly string[]> = async () => [],
  ) {}

  async createProgram(context: CommandContext, data: Omit<Data<Extract<ProgramCommand, { type: 'CreateProgram' }>>, 'programId'>) {
    const programId = this.newId();
    const outcome = await this.onProgram(context, { type: 'CreateProgram', data: { ...data, programId } });
    return { programId, outcome };
  }

  onProgram(context: CommandContext, command: ProgramCommand): Promise<CommandOutcome> {
    return this.pipeline.execute(context, define.programCommand(command));
  }

  async registerUser(context: CommandContext, data: Data<RegisterUser>) {
    const outcome = await this.pipeline.execute(context, define.registerUser(data));
    return { userId: userIdForEmail(data.email), outcome };
  }

  completeApplication(context: CommandContext, userId: string) {
    return this.onUser(context, { type: 'CompleteApplication', data: { userId, changeId: this.newId() } });
  }

  changeUserStatus(context: CommandContext, userId: string, to: CommandData<'ChangeUserStatus'>['to']) {
    return this.onUser(context, { type: 'ChangeUserStatus', data: { userId, changeId: this.newId(), to } });
  }

  revertUserStatusChange(context: CommandContext, userId: string, revertedChangeId: string) {
    return this.onUser(context, { type: 'RevertUserStatusChange', data: { userId, changeId: this.newId(), revertedChangeId } });
  }

  changePersonaMatchStatus(context: CommandContext, personaId: string, to: CommandData<'ChangePersonaMatchStatus'>['to']) {
    return this.onUser(context, { type: 'ChangePersonaMatchStatus', data: { userId: define.ownerOf(personaId), personaId, to } });
  }

  setProfileAttributes(context: CommandContext, userId: string, attributes: Readonly<Record<string, AttributeValue>>) {
    return this.onUser(context, { type: 'SetProfileAttributes', data: { userId, attributes } });
  }

  makeUserRescreening(context: CommandContext, userId: string) {
    return this.onUser(context, { type: 'MakeUserRescreening', data: { userId } });
  }

  inactivatePersona(context: CommandContext, personaId: string, confirmCutCommunication: boolean) {
    return this.onUser(context, {
      type: 'InactivatePersona',
      data: { userId: define.ownerOf(personaId), personaId, confirmCutCommunication },
    });
  }

  /**
   * Erases a person's personal data (see src/domain/personalData.ts): refused with
   * CONFIRMATION_REQUIRED, saying what it erases, unless `confirm`. The store erases when it appends
   * the PersonalDataErased event, in the same transaction; one that cannot (KurrentDB) refuses.
   */
  async erasePersonalData(context: CommandContext, userId: string, confirm: boolean) {
    if (!this.store.erasesPersonalData) {
      throw new DomainError(
        'RULE_VIOLATED',
        `This installation keeps its events in ${this.store.name}, which stores every event whole: personal data cannot be erased ` +
          'there while the log stays intact. Run on PostgreSQL or the embedded store to erase personal data.',
        { userId },
      );
    }
    const registrationIds = await this.registrationIdsOf(userId);
    return this.onUser(context, { type: 'ErasePersonalData', data: { userId, registrationIds, confirm } });
  }

  async assignPersonaToSite(context: CommandContext, data: Omit<Data<AssignPersonaToSite>, 'userId' | 'programId'>) {
    const userId = define.ownerOf(data.personaId);
    const user = fold(userDecider, (await this.store.readStream(userStream(userId))).events as never[]);
    const persona = user.status === 'REGISTERED' ? user.personas.find((p) => p.personaId === data.personaId) : undefined;
    if (!persona) throw new DomainError('NOT_FOUND', `Persona ${data.personaId} does not exist.`, { personaId: data.personaId });
    return this.pipeline.execute(context, define.assignPersonaToSite({ ...data, userId, programId: persona.programId }));
  }

  /** An admin's match, live at once or staged (`stage`), or auto-matching's (`source: AUTO`). */
  async matchPersonas(
    context: CommandContext,
    data: Omit<Data<MatchPersonas>, 'matchId' | 'now'>,
  ) {
    const matchId = this.newId();
    const outcome = await this.pipeline.execute(context, define.matchPersonas({ ...data, matchId, now: context.now }));
    return { matchId, outcome };
  }

  async requestMatch(context: CommandContext, data: Omit<Data<RequestMatch>, 'matchId' | 'now'>) {
    const matchId = this.newId();
    const outcome = await this.pipeline.execute(context, define.requestMatch({ ...data, matchId, now: context.now }));
    return { matchId, outcome };
  }

  async approveStagedMatch(context: CommandContext, matchId: string) {
    return this.pipeline.execute(context, define.approveStagedMatch(await this.participantsOf(matchId), { matchId, now: context.now }));
  }

  discardStagedMatch(context: CommandContext, data: Data<DiscardStagedMatch>) {
    return this.pipeline.execute(context, define.discardStagedMatch(data));
  }

  async respondToMatchRequest(context: CommandContext, data: Omit<Data<RespondToMatchRequest>, 'now'>) {
    return this.pipeline.execute(
      context,
      define.respondToMatchRequest(await this.participantsOf(data.matchId), { ...data, now: context.now }),
    );
  }

  expireMatchRequest(context: CommandContext, matchId: string) {
    return this.pipeline.execute(context, define.expireMatchRequest({ matchId, now: context.now }));
  }

  withdrawMatchRequest(context: CommandContext, data: Data<WithdrawMatchRequest>) {
    return this.pipeline.execute(context, define.withdrawMatchRequest(data));
  }

  async completeMatch(context: CommandContext, matchId: string) {
    return this.pipeline.execute(context, define.completeMatch(await this.participantsOf(matchId), { matchId, now: context.now }));
  }

  async closeMatch(context: CommandContext, data: Data<CloseMatch>) {
    return this.pipeline.execute(context, define.closeMatch(await this.participantsOf(data.matchId), data));
  }

  async reopenMatch(context: CommandContext, matchId: string) {
    return this.pipeline.execute(context, define.reopenMatch(await this.participantsOf(matchId), { matchId, now: context.now }));
  }

  inviteMenteeToMatch(context: CommandContext, personaId: string, programId: string) {
    return this.pipeline.execute(context, define.inviteMenteeToMatch({ userId: define.ownerOf(personaId), personaId, programId }));
  }

  setMentorCapacity(context: CommandContext, data: Data<SetMentorCapacity>) {
    return this.pipeline.execute(context, define.setMentorCapacity(data));
  }

  /** The match as its stream has it now (for the caller to check who may act on it). */
  async readMatch(matchId: string): Promise<MatchState> {
    return fold(matchDecider, (await this.store.readStream(matchStream(matchId))).events as never[]);
  }

  private onUser(context: CommandContext, command: UserCommand): Promise<CommandOutcome> {
    return this.pipeline.execute(context, define.userCommand(command));
  }

  private async participantsOf(matchId: string): Promise<define.MatchStreamIds> {
    return { matchId, ...matchParticipants(await this.readMatch(matchId), matchId) };
  }
}
