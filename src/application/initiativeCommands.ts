import { DomainError, fold } from '../domain/shared/decider';
import { userDecider, type UserEvent, type UserState } from '../domain/user/user';
import { userStream } from '../domain/streams';
import {
  decideRegisterVolunteer,
  decideSendRegistrationMessage,
  initiativeDecider,
  initiativeStream,
  registrationDecider,
  registrationIdFor,
  registrationStream,
  type ConfirmingParty,
  type CreateInitiative,
  type EngagementPeriod,
  type MessageParty,
  type InitiativeEvent,
  type InitiativeState,
  type RegistrationCommand,
  type RegistrationEvent,
  type RegistrationState,
  type ReminderKind,
} from '../domain/initiative';
import type { EventStore } from '../eventstore/eventStore';
import { madeId, type CommandContext, type CommandDefinition, type CommandOutcome, type CommandPipeline, type StreamSpec } from '../commands/pipeline';

/**
 * Seed 003's commands as the pipeline runs them (the streams each reads, its pure decision) and as
 * the API calls them: ids of new things are made here, `now` comes from the command context.
 */

type InitiativeStreams = { initiative: StreamSpec<InitiativeState, InitiativeEvent> };
type RegistrationStreams = { registration: StreamSpec<RegistrationState, RegistrationEvent> };
type RegisterStreams = RegistrationStreams & InitiativeStreams & { user: StreamSpec<UserState, UserEvent> };

const initiativeSpec = (initiativeId: string) => ({ streamId: initiativeStream(initiativeId), decider: initiativeDecider });
const registrationSpec = (registrationId: string) => ({ streamId: registrationStream(registrationId), decider: registrationDecider });

export const createInitiative = (data: CreateInitiative['data']): CommandDefinition<InitiativeStreams> => ({
  name: 'CreateInitiative',
  streams: { initiative: initiativeSpec(data.initiativeId) },
  decide: ({ initiative }) => ({ initiative: initiativeDecider.decide({ type: 'CreateInitiative', data }, initiative.state) }),
});

/** The registration stream does not exist yet: of two concurrent registrations of one volunteer, one succeeds. */
export const registerVolunteer = (data: { initiativeId: string; userId: string; now: string }): CommandDefinition<RegisterStreams> => {
  const registrationId = registrationIdFor(data.initiativeId, data.userId);
  return {
    name: 'RegisterVolunteer',
    streams: {
      registration: registrationSpec(registrationId),
      initiative: initiativeSpec(data.initiativeId),
      user: { streamId: userStream(data.userId), decider: userDecider },
    },
    decide: ({ registration, initiative, user }) =>
      decideRegisterVolunteer(
        { type: 'RegisterVolunteer', data: { ...data, registrationId } },
        { registration: registration.state, initiative: initiative.state, user: user.state },
      ),
  };
};

export const registrationCommand = (command: RegistrationCommand): CommandDefinition<RegistrationStreams> => ({
  name: command.type,
  streams: { registration: registrationSpec(command.data.registrationId) },
  decide: ({ registration }) => ({ registration: registrationDecider.decide(command, registration.state) }),
});

/** A message of the registration's conversation: the registration, and its initiative for the coordinator's address. */
export const sendRegistrationMessage = (
  initiativeId: string,
  data: { registrationId: string; messageId: string; from: MessageParty; senderId: string; message: string; now: string },
): CommandDefinition<RegistrationStreams & InitiativeStreams> => ({
  name: 'SendRegistrationMessage',
  streams: { registration: registrationSpec(data.registrationId), initiative: initiativeSpec(initiativeId) },
  decide: ({ registration, initiative }) =>
    decideSendRegistrationMessage({ type: 'SendRegistrationMessage', data }, { registration: registration.state, initiative: initiative.state }),
});

export class InitiativeCommands {
  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly store: EventStore,
    private readonly newId: () => string,
  ) {}

  async createInitiative(context: CommandContext, data: Omit<CreateInitiative['data'], 'initiativeId'>) {
    const initiativeId = this.newId();
    const outcome = await this.pipeline.execute(context, createInitiative({ ...data, initiativeId }));
    return { initiativeId: madeId(outcome, 'initiativeId', initiativeId), outcome };
  }

  async registerVolunteer(context: CommandContext, initiativeId: string, userId: string) {
    const outcome = await this.pipeline.execute(context, registerVolunteer({ initiativeId, userId, now: context.now }));
    return { registrationId: registrationIdFor(initiativeId, userId), outcome };
  }

  async assignTask(context: CommandContext, registrationId: string, title: string) {
    const taskId = this.newId();
    const outcome = await this.onRegistration(context, { type: 'AssignTask', data: { registrationId, taskId, title } });
    return { taskId: madeId(outcome, 'taskId', taskId), outcome };
  }

  completeTask(context: CommandContext, registrationId: string, taskId: string) {
    return this.onRegistration(context, { type: 'CompleteTask', data: { registrationId, taskId } });
  }

  validateRegistration(context: CommandContext, registrationId: string) {
    return this.onRegistration(context, { type: 'ValidateRegistration', data: { registrationId, now: context.now } });
  }

  setEngagementDates(context: CommandContext, registrationId: string, periods: readonly EngagementPeriod[]) {
    return this.onRegistration(context, { type: 'SetEngagementDates', data: { registrationId, periods, now: context.now } });
  }

  approveEngagementDates(context: CommandContext, registrationId: string, managerEmail: string) {
    return this.onRegistration(context, { type: 'ApproveEngagementDates', data: { registrationId, managerEmail, now: context.now } });
  }

  rejectEngagementDates(context: CommandContext, registrationId: string, managerEmail: string, message: string) {
    return this.onRegistration(context, { type: 'RejectEngagementDates', data: { registrationId, managerEmail, message, now: context.now } });
  }

  completeMission(context: CommandContext, registrationId: string) {
    return this.onRegistration(context, { type: 'CompleteMission', data: { registrationId, now: context.now } });
  }

  confirmParticipation(context: CommandContext, registrationId: string, confirmedBy: ConfirmingParty) {
    return this.onRegistration(context, { type: 'ConfirmParticipation', data: { registrationId, confirmedBy, now: context.now } });
  }

  sendReminder(context: CommandContext, registrationId: string, kind: ReminderKind, period: string) {
    return this.onRegistration(context, { type: 'SendRegistrationReminder', data: { registrationId, kind, period, now: context.now } });
  }

  /** "Initiate a conversation with the coordinator" (seed 003): `from` is the side the caller writes for. */
  async sendMessage(context: CommandContext, registrationId: string, from: MessageParty, message: string) {
    const registration = await this.readRegistration(registrationId);
    if (registration.status === 'NOT_REGISTERED') {
      throw new DomainError('NOT_FOUND', `Registration ${registrationId} does not exist.`, { registrationId });
    }
    const messageId = this.newId();
    const outcome = await this.pipeline.execute(
      context,
      sendRegistrationMessage(registration.initiativeId, { registrationId, messageId, from, senderId: context.actor.id, message, now: context.now }),
    );
    return { messageId: madeId(outcome, 'messageId', messageId), outcome };
  }

  /** The registration as its stream has it now (for the caller to check who may act on it). */
  async readRegistration(registrationId: string): Promise<RegistrationState> {
    return fold(registrationDecider, (await this.store.readStream(registrationStream(registrationId))).events as never[]);
  }

  private onRegistration(context: CommandContext, command: RegistrationCommand): Promise<CommandOutcome> {
    return this.pipeline.execute(context, registrationCommand(command));
  }
}
