import {
  matchDecider,
  matchParticipants,
  matchStream,
  normalizeEmail,
  userDecider,
  userStream,
  type UpdateUserProfile,
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
  type RematchIntent,
  type SetMentorCapacity,
  type UserCommand,
  type WithdrawMatchRequest,
} from '../domain';
import { DomainError, fold } from '../domain/shared/decider';
import type { EventStore } from '../eventstore/eventStore';
import { madeId, type CommandContext, type CommandOutcome, type CommandPipeline } from '../commands/pipeline';
import type { EmailStreams } from '../identity/emailStreams';
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
    /** Names each address's reservation stream (keyed: see src/identity/emailStreams.ts). */
    private readonly emails: EmailStreams,
    /** A user's registrations to initiatives (another aggregate's), whose free text an erasure takes too. */
    private readonly registrationIdsOf: (userId: string) => Promise<readonly string[]> = async () => [],
    /**
     * Personal data kept outside the log that an erasure takes too (the token revocation list's rows
     * naming the address). Run before the erasure is appended, once the request is known to be a real
     * one (confirmed, the user there and not yet erased), so a crash in between leaves no address behind.
     */
    private readonly eraseOutsideTheLog: (user: { readonly userId: string; readonly email: string }) => Promise<void> = async () => undefined,
  ) {}

  async createProgram(context: CommandContext, data: Omit<Data<Extract<ProgramCommand, { type: 'CreateProgram' }>>, 'programId'>) {
    const programId = this.newId();
    const outcome = await this.onProgram(context, { type: 'CreateProgram', data: { ...data, programId } });
    return { programId: madeId(outcome, 'programId', programId), outcome };
  }

  onProgram(context: CommandContext, command: ProgramCommand): Promise<CommandOutcome> {
    return this.pipeline.execute(context, define.programCommand(command));
  }

  /**
   * A new user gets a random id, made here; it says nothing about the address. A retry with the
   * same idempotency key answers with the id the first call made.
   */
  async registerUser(context: CommandContext, data: Omit<Data<RegisterUser>, 'userId'>) {
    const userId = this.newId();
    let outcome: CommandOutcome;
    try {
      outcome = await this.pipeline.execute(context, define.registerUser({ ...data, userId }, this.emails));
    } catch (error) {
      const earlier = await this.sameRegistrationUnderKey(error, context.idempotencyKey, data.email);
      if (!earlier) throw error;
      outcome = earlier;
    }
    const registered = outcome.events.find((event) => event.type === 'UserRegistered');
    return { userId: registered ? (registered.data as { userId: string }).userId : userId, outcome };
  }

  /**
   * Two calls with one idempotency key that overlap both pass the pipeline's look-up of the key, and
   * each made its own random id, so the store sees different streams under one key and refuses the
   * second (IDEMPOTENCY_KEY_REUSED), or the second reads the address after the first took it
   * (ALREADY_EXISTS). When the key's events are a registration of the same address,
   * it was the same command: answer with the first call's result, as a retry after it would get.
   */
  private async sameRegistrationUnderKey(error: unknown, idempotencyKey: string | undefined, email: string): Promise<CommandOutcome | null> {
    const raced = error instanceof DomainError && (error.code === 'IDEMPOTENCY_KEY_REUSED' || error.code === 'ALREADY_EXISTS');
    if (!raced || idempotencyKey === undefined) return null;
    const earlier = await this.store.readIdempotencyKey(idempotencyKey);
    const sameAddress = earlier?.some(
      (event) => event.type === 'UserRegistered' && (event.data as { normalizedEmail: string }).normalizedEmail === normalizeEmail(email),
    );
    return earlier && sameAddress ? { events: earlier, position: earlier.at(-1)!.position, duplicate: true } : null;
  }

  /**
   * The old address's reservation stream is named by the address the user has when this starts; if
   * another change of this user's address commits meanwhile, the decision refuses
   * (`emailChangedMeanwhile`) and it is built again from the new address.
   */
  async changeUserEmail(context: CommandContext, userId: string, email: string) {
    for (let attempt = 1; ; attempt++) {
      const user = fold(userDecider, (await this.store.readStream(userStream(userId))).events as never[]);
      if (user.status !== 'REGISTERED') throw new DomainError('NOT_FOUND', `User ${userId} does not exist.`, { userId });
      try {
        return await this.pipeline.execute(context, define.changeUserEmail({ userId, email }, user.email, this.emails));
      } catch (error) {
        const changedMeanwhile = error instanceof DomainError && error.details.emailChangedMeanwhile === true;
        if (!changedMeanwhile || attempt >= 3) throw error;
      }
    }
  }

  updateUserProfile(context: CommandContext, data: Data<UpdateUserProfile>) {
    return this.onUser(context, { type: 'UpdateUserProfile', data });
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

  /**
   * A confirmed inactivation of a MATCHED persona also closes its match (seed 001: the pair can no
   * longer communicate), deciding on the match, its program and both users at once; any other goes
   * to the user stream alone. If the persona is matched between the look and the append, the user
   * decision refuses with CONCURRENCY_CONFLICT and this looks again.
   */
  async inactivatePersona(context: CommandContext, personaId: string, confirmCutCommunication: boolean, partnerRematchIntent: RematchIntent = 'MAYBE') {
    const userId = define.ownerOf(personaId);
    for (let attempt = 1; ; attempt++) {
      const user = fold(userDecider, (await this.store.readStream(userStream(userId))).events as never[]);
      const persona = user.status === 'REGISTERED' ? user.personas.find((p) => p.personaId === personaId) : undefined;
      try {
        if (persona && persona.personaStatus === 'ACTIVE' && persona.matchStatus === 'MATCHED' && persona.matchId !== null && confirmCutCommunication) {
          const data = { matchId: persona.matchId, personaId, confirmCutCommunication, partnerRematchIntent };
          return await this.pipeline.execute(context, define.inactivateMatchedPersona(await this.participantsOf(persona.matchId), data));
        }
        return await this.onUser(context, { type: 'InactivatePersona', data: { userId, personaId, confirmCutCommunication } });
      } catch (error) {
        const matchedMeanwhile = error instanceof DomainError && error.code === 'CONCURRENCY_CONFLICT' && error.details.personaId === personaId;
        if (!matchedMeanwhile || attempt >= 3) throw error;
      }
    }
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
    const user = fold(userDecider, (await this.store.readStream(userStream(userId))).events as never[]);
    if (user.status !== 'REGISTERED') throw new DomainError('NOT_FOUND', `User ${userId} does not exist.`, { userId });
    // Refusals (not confirmed, already erased) come from the decision below and change nothing here either.
    if (confirm && !user.personalDataErased) await this.eraseOutsideTheLog({ userId, email: user.email });
    // Its address names the reservation stream to release; the decision refuses if it changed meanwhile.
    return this.pipeline.execute(context, define.erasePersonalData({ userId, registrationIds, confirm }, user.email, this.emails));
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
    return { matchId: madeId(outcome, 'matchId', matchId), outcome };
  }

  async requestMatch(context: CommandContext, data: Omit<Data<RequestMatch>, 'matchId' | 'now'>) {
    const matchId = this.newId();
    const outcome = await this.pipeline.execute(context, define.requestMatch({ ...data, matchId, now: context.now }));
    return { matchId: madeId(outcome, 'matchId', matchId), outcome };
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
