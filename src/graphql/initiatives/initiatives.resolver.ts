import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DomainError } from '../../domain/shared/decider';
import type { RegistrationStatus } from '../../domain/initiative';
import type { GlobalPosition } from '../../eventstore/eventStore';
import type { RegistrationFilter, RegistrationView } from '../../../projections/registrations/registrations.queries';
import type { AuthenticatedActor } from '../auth';
import { canSee } from '../access';
import { commandContext, requireActor } from '../context';
import { attempt } from '../errors';
import type { CommandInput } from '../lifecycle/inputs';
import { refused, succeeded } from '../lifecycle/payloads';
import type { CommandOutcome } from '../../commands/pipeline';
import {
  AssignRegistrationTaskInput,
  CreateInitiativeInput,
  RegisterForInitiativeInput,
  RegistrationInput,
  RegistrationTaskInput,
  RejectEngagementDatesInput,
  SendRegistrationMessageInput,
  SetEngagementDatesInput,
} from './initiatives.inputs';
import {
  InitiativePayload,
  InitiativeType,
  REGISTRATION_STATUS_ENUM,
  RegistrationMessageType,
  RegistrationPayload,
  RegistrationType,
} from './initiatives.types';
import type { InitiativeContext as Context } from './services';
import { recordRead } from '../readAudit';

/**
 * Seed 003's volunteer mentoring: coordinators (or admins) create initiatives, validate
 * applications and give tasks; the volunteer (a mentor token naming their user id) registers,
 * enters engagement dates, completes the mission and confirms it; the volunteer's manager (a
 * manager token whose subject is their e-mail) approves or rejects the dates where the company
 * requires it; coordinators confirm for the partner organization.
 */

const STAFF = ['admin', 'coordinator'] as const;
const READ_ALL: readonly string[] = ['admin', 'coordinator', 'auditor', 'analyst'];

const contextFor = (context: Context, input: CommandInput) =>
  commandContext(context, {
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(input.idempotencyKey !== undefined ? { idempotencyKey: input.idempotencyKey } : {}),
  });

const consistentRead = async (context: Context, position: GlobalPosition | null = context.consistentWith): Promise<void> => {
  if (position && !(await context.services.waitForProjections(position))) {
    throw new DomainError('CONCURRENCY_CONFLICT', `The read models have not reached position ${position.major}.${position.minor} yet; try again in a moment.`);
  }
};

/** The caller's own user id (mentor tokens name it), or FORBIDDEN. */
const volunteerId = (actor: AuthenticatedActor): string => {
  if (!actor.userId) throw new DomainError('FORBIDDEN', 'Your token names no user: volunteers act with a mentor token that carries their user id.');
  return actor.userId;
};

/** What the caller may read of registrations: everything, their own, or their team's. */
const readScope = (actor: AuthenticatedActor): Pick<RegistrationFilter, 'userId' | 'managerEmail'> => {
  if (READ_ALL.includes(actor.role)) return {};
  if (actor.role === 'mentor') return { userId: volunteerId(actor) };
  if (actor.role === 'manager') return { managerEmail: actor.id };
  throw new DomainError('FORBIDDEN', `Registrations are read by initiatives' staff, by volunteers for themselves and by their managers; your token has role ${actor.role}.`);
};

const canRead = (context: Context, registration: RegistrationView): Promise<boolean> =>
  canSee(context, 'registration', { userId: registration.userId, managerEmail: registration.managerEmail ?? null });

const toRegistration = (view: RegistrationView): RegistrationType =>
  Object.assign(new RegistrationType(), {
    ...view,
    engagementPeriods: view.engagementPeriods.map((period) => ({ ...period })),
    tasks: view.tasks.map((task) => ({ ...task })),
    reminders: view.reminders.map((reminder) => ({ ...reminder })),
  });

const registrationResult = async (
  registrationId: string,
  work: () => Promise<CommandOutcome | { outcome: CommandOutcome; taskId?: string; messageId?: string }>,
): Promise<RegistrationPayload> => {
  const result = await attempt(work);
  if (!result.ok) return refused(new RegistrationPayload(), result.errors, { registrationId, taskId: null, messageId: null });
  const { outcome, taskId, messageId } = 'outcome' in result.value ? result.value : { outcome: result.value, taskId: undefined, messageId: undefined };
  return succeeded(new RegistrationPayload(), outcome, { registrationId, taskId: taskId ?? null, messageId: messageId ?? null });
};

@Resolver()
export class InitiativesResolver {
  /** The registration as its stream has it, after checking the caller is its volunteer. */
  private async asVolunteer(context: Context, registrationId: string): Promise<void> {
    const actor = requireActor(context);
    const registration = await context.services.initiatives.readRegistration(registrationId);
    if (registration.status === 'NOT_REGISTERED') {
      throw new DomainError('NOT_FOUND', `Registration ${registrationId} does not exist.`, { registrationId });
    }
    if (registration.userId !== volunteerId(actor)) {
      throw new DomainError('FORBIDDEN', 'Only the volunteer of this registration can do this.', { registrationId });
    }
  }

  @Authorized(...STAFF)
  @Mutation(() => InitiativePayload, { description: 'Create a company mentoring initiative.' })
  async createInitiative(@Arg('input') input: CreateInitiativeInput, @Ctx() context: Context): Promise<InitiativePayload> {
    const result = await attempt(() =>
      context.services.initiatives.createInitiative(contextFor(context, input), {
        name: input.name,
        company: input.company,
        timeZone: input.timeZone,
        managerValidationRequired: input.managerValidationRequired,
        coordinatorEmail: input.coordinatorEmail ?? null,
      }),
    );
    return result.ok
      ? succeeded(new InitiativePayload(), result.value.outcome, { initiativeId: result.value.initiativeId })
      : refused(new InitiativePayload(), result.errors, { initiativeId: null });
  }

  @Authorized('mentor')
  @Mutation(() => RegistrationPayload, {
    description: 'Volunteer for an initiative (the caller, by the user id their token carries). Starts in APPLICATION; one registration per volunteer and initiative.',
  })
  async registerForInitiative(@Arg('input') input: RegisterForInitiativeInput, @Ctx() context: Context): Promise<RegistrationPayload> {
    const result = await attempt(() =>
      context.services.initiatives.registerVolunteer(contextFor(context, input), input.initiativeId, volunteerId(requireActor(context))),
    );
    return result.ok
      ? succeeded(new RegistrationPayload(), result.value.outcome, { registrationId: result.value.registrationId, taskId: null, messageId: null })
      : refused(new RegistrationPayload(), result.errors, { registrationId: null, taskId: null, messageId: null });
  }

  @Authorized(...STAFF)
  @Mutation(() => RegistrationPayload, { description: 'Give the volunteer a task during the application.' })
  assignRegistrationTask(@Arg('input') input: AssignRegistrationTaskInput, @Ctx() context: Context): Promise<RegistrationPayload> {
    return registrationResult(input.registrationId, () =>
      context.services.initiatives.assignTask(contextFor(context, input), input.registrationId, input.title),
    );
  }

  @Authorized('mentor')
  @Mutation(() => RegistrationPayload, { description: 'The volunteer marks one of their tasks done.' })
  completeRegistrationTask(@Arg('input') input: RegistrationTaskInput, @Ctx() context: Context): Promise<RegistrationPayload> {
    return registrationResult(input.registrationId, async () => {
      await this.asVolunteer(context, input.registrationId);
      return context.services.initiatives.completeTask(contextFor(context, input), input.registrationId, input.taskId);
    });
  }

  @Authorized(...STAFF)
  @Mutation(() => RegistrationPayload, {
    description: 'Validate the application (once): APPLICATION → SEARCHING_MENTEE. Nothing else is asked of the coordinator afterwards.',
  })
  validateRegistration(@Arg('input') input: RegistrationInput, @Ctx() context: Context): Promise<RegistrationPayload> {
    return registrationResult(input.registrationId, () =>
      context.services.initiatives.validateRegistration(contextFor(context, input), input.registrationId),
    );
  }

  @Authorized('mentor')
  @Mutation(() => RegistrationPayload, {
    description:
      'The volunteer enters all their engagement periods. From SEARCHING_MENTEE: to AWAITING_MANAGER_VALIDATION where the company requires it, ' +
      'else IN_PROGRESS. In progress, periods can be added or changed without anyone validating again.',
  })
  setEngagementDates(@Arg('input') input: SetEngagementDatesInput, @Ctx() context: Context): Promise<RegistrationPayload> {
    return registrationResult(input.registrationId, async () => {
      await this.asVolunteer(context, input.registrationId);
      return context.services.initiatives.setEngagementDates(
        contextFor(context, input),
        input.registrationId,
        input.periods.map((period) => ({ start: period.start, end: period.end ?? null })),
      );
    });
  }

  @Authorized('manager')
  @Mutation(() => RegistrationPayload, { description: 'The volunteer\'s manager approves the engagement dates: IN_PROGRESS.' })
  approveEngagementDates(@Arg('input') input: RegistrationInput, @Ctx() context: Context): Promise<RegistrationPayload> {
    return registrationResult(input.registrationId, () =>
      context.services.initiatives.approveEngagementDates(contextFor(context, input), input.registrationId, requireActor(context).id),
    );
  }

  @Authorized('manager')
  @Mutation(() => RegistrationPayload, {
    description: 'The volunteer\'s manager sends the dates back with a message: the registration returns to SEARCHING_MENTEE.',
  })
  rejectEngagementDates(@Arg('input') input: RejectEngagementDatesInput, @Ctx() context: Context): Promise<RegistrationPayload> {
    return registrationResult(input.registrationId, () =>
      context.services.initiatives.rejectEngagementDates(contextFor(context, input), input.registrationId, requireActor(context).id, input.message),
    );
  }

  @Authorized('mentor')
  @Mutation(() => RegistrationPayload, { description: 'The volunteer says the mission has ended: AWAITING_CONFIRMATION.' })
  completeMission(@Arg('input') input: RegistrationInput, @Ctx() context: Context): Promise<RegistrationPayload> {
    return registrationResult(input.registrationId, async () => {
      await this.asVolunteer(context, input.registrationId);
      return context.services.initiatives.completeMission(contextFor(context, input), input.registrationId);
    });
  }

  @Authorized('mentor', ...STAFF)
  @Mutation(() => RegistrationPayload, {
    description: 'Confirm the participation: CONFIRMED. The volunteer confirms as VOLUNTEER; a coordinator or admin for the PARTNER_ORGANIZATION.',
  })
  confirmParticipation(@Arg('input') input: RegistrationInput, @Ctx() context: Context): Promise<RegistrationPayload> {
    return registrationResult(input.registrationId, async () => {
      const actor = requireActor(context);
      if (actor.role === 'mentor') await this.asVolunteer(context, input.registrationId);
      return context.services.initiatives.confirmParticipation(
        contextFor(context, input),
        input.registrationId,
        actor.role === 'mentor' ? 'VOLUNTEER' : 'PARTNER_ORGANIZATION',
      );
    });
  }

  @Authorized('mentor', ...STAFF)
  @Mutation(() => RegistrationPayload, {
    description:
      'Write in the registration\'s conversation (seed 003: the volunteer "must initiate a conversation with the coordinator"). The volunteer ' +
      'writes as VOLUNTEER (their e-mail goes to the initiative\'s coordinator address); a coordinator or admin as COORDINATOR (e-mailed ' +
      'to the volunteer). Read it as registration { messages }.',
  })
  sendRegistrationMessage(@Arg('input') input: SendRegistrationMessageInput, @Ctx() context: Context): Promise<RegistrationPayload> {
    return registrationResult(input.registrationId, async () => {
      const actor = requireActor(context);
      if (actor.role === 'mentor') await this.asVolunteer(context, input.registrationId);
      return context.services.initiatives.sendMessage(
        contextFor(context, input),
        input.registrationId,
        actor.role === 'mentor' ? 'VOLUNTEER' : 'COORDINATOR',
        input.message,
      );
    });
  }

  @Authorized()
  @Query(() => [InitiativeType], { description: 'Every initiative, oldest first.' })
  async initiatives(@Ctx() context: Context): Promise<InitiativeType[]> {
    await consistentRead(context);
    return (await context.services.initiativeReadModel.initiatives()).map((view) => Object.assign(new InitiativeType(), { ...view, id: view.initiativeId }));
  }

  @Authorized()
  @Query(() => InitiativeType, { nullable: true })
  async initiative(@Arg('id', () => ID) id: string, @Ctx() context: Context): Promise<InitiativeType | null> {
    await consistentRead(context);
    const view = await context.services.initiativeReadModel.initiative(id);
    return view ? Object.assign(new InitiativeType(), { ...view, id: view.initiativeId }) : null;
  }

  @Authorized()
  @Query(() => [RegistrationType], {
    description: 'Registrations, oldest first (up to 500): staff read all; a volunteer their own; a manager their team\'s.',
  })
  async registrations(
    @Ctx() context: Context,
    @Arg('initiativeId', () => ID, { nullable: true }) initiativeId?: string,
    @Arg('statuses', () => [REGISTRATION_STATUS_ENUM], { nullable: true }) statuses?: RegistrationStatus[],
  ): Promise<RegistrationType[]> {
    const scope = readScope(requireActor(context));
    await consistentRead(context);
    const views = await context.services.initiativeReadModel.registrations({
      ...scope,
      ...(initiativeId !== undefined && initiativeId !== null ? { initiativeId } : {}),
      ...(statuses ? { statuses } : {}),
    });
    for (const view of views) recordRead(context, { kind: 'REGISTRATION', objectId: view.registrationId, subjectUserId: view.userId, via: 'Query.registrations' });
    return views.map(toRegistration);
  }

  @Authorized()
  @Query(() => RegistrationType, { nullable: true })
  async registration(@Arg('id', () => ID) id: string, @Ctx() context: Context): Promise<RegistrationType | null> {
    const actor = requireActor(context);
    readScope(actor);
    await consistentRead(context);
    const view = await context.services.initiativeReadModel.registration(id);
    if (!view || !(await canRead(context, view))) return null;
    recordRead(context, { kind: 'REGISTRATION', objectId: view.registrationId, subjectUserId: view.userId, via: 'Query.registration' });
    return toRegistration(view);
  }
}

@Resolver(() => InitiativePayload)
export class InitiativePayloadResolver {
  @FieldResolver(() => InitiativeType, { nullable: true, description: 'The initiative after the command.' })
  async initiative(@Root() payload: InitiativePayload, @Ctx() context: Context): Promise<InitiativeType | null> {
    if (!payload.initiativeId || payload.errors.length > 0) return null;
    await consistentRead(context, payload.position);
    const view = await context.services.initiativeReadModel.initiative(payload.initiativeId);
    return view ? Object.assign(new InitiativeType(), { ...view, id: view.initiativeId }) : null;
  }
}

@Resolver(() => RegistrationPayload)
export class RegistrationPayloadResolver {
  @FieldResolver(() => RegistrationType, { nullable: true, description: 'The registration after the command (as far as the caller may read it).' })
  async registration(@Root() payload: RegistrationPayload, @Ctx() context: Context): Promise<RegistrationType | null> {
    if (!payload.registrationId || payload.errors.length > 0) return null;
    await consistentRead(context, payload.position);
    const view = await context.services.initiativeReadModel.registration(payload.registrationId);
    return view && (await canRead(context, view)) ? toRegistration(view) : null;
  }
}

/** The conversation of a registration: each message goes through the `registrationMessage` rule (never a manager's). */
@Resolver(() => RegistrationType)
export class RegistrationMessagesResolver {
  @FieldResolver(() => [RegistrationMessageType], {
    description: 'The conversation between the volunteer and the coordinator, oldest first (up to 500). Managers see none of it.',
  })
  async messages(@Root() registration: RegistrationType, @Ctx() context: Context): Promise<RegistrationMessageType[]> {
    const views = await context.services.initiativeReadModel.messages(registration.registrationId);
    return views.map((view) => Object.assign(new RegistrationMessageType(), { ...view, erased: view.message === null }));
  }
}

export const initiativeResolvers = [InitiativesResolver, InitiativePayloadResolver, RegistrationPayloadResolver, RegistrationMessagesResolver] as const;
