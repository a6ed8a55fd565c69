import { Arg, Authorized, Ctx, Field, FieldResolver, ID, Int, Mutation, ObjectType, Query, Resolver, Root } from 'type-graphql';
import { canBeMatched, canLogIn, canSeeCurriculum, USER_STATUSES, USER_STATUS_TABLE, type LogInAccess, type UserStatus } from '../../domain';
import { DomainError } from '../../domain/shared/decider';
import { comparePositions, formatPosition, type GlobalPosition } from '../../eventstore/eventStore';
import { requireActor } from '../context';
import { attempt, UserError } from '../errors';
import type { ErrorCode } from '../../domain/shared/decider';
import { LOG_IN_ENUM, USER_STATUS_ENUM } from './enums';
import { HistoryConnectionType, HistoryEntryType } from './history.type';
import {
  ChangeUserStatusesInput,
  ChangeUserStatusInput,
  ErasePersonalDataInput,
  RegisterUserInput,
  RevertUserStatusChangeInput,
  UserFilterInput,
  UserInput,
} from './inputs';
import { personasOfUser, programById } from './loaders';
import { ChangeUserStatusesPayload, refused, succeeded, UserPayload, UserStatusChangeResult } from './payloads';
import { ProgramType } from './program.type';
import { assertCanReadUser, readableUsers, type Context } from './services';
import { recordRead, recordReadsOfUsers } from '../readAudit';
import { assertCanSee, viewerOf } from '../access';
import { seesStaffOnlyHistory } from '../../domain/access/policy';
import { personalDataView } from '../personalDataAccess';
import { commandContextFor, consistentRead, lazyCountConnection, pageSize } from './support';
import type { RecordedEvent } from '../../eventstore/eventStore';
import { AccessType, ManagerType, PersonaSnapshotType, PersonaType, UserConnectionType, UserSnapshotType, UserType } from './user.type';
import type { HistoryEntryView, UserView } from '../../../projections/lifecycle/lifecycle.types';

const asUser = (view: UserView): UserType => Object.assign(new UserType(), view);
const asHistoryEntry = (view: HistoryEntryView): HistoryEntryType => Object.assign(new HistoryEntryType(), view);

@ObjectType('UserStatusInfo', { description: 'One row of the user-status table.' })
class UserStatusInfoType {
  @Field(() => USER_STATUS_ENUM)
  status!: UserStatus;

  @Field()
  name!: string;

  @Field()
  definition!: string;

  @Field()
  canBeMatched!: boolean;

  @Field(() => LOG_IN_ENUM, { description: 'Can log in & see curriculum? APPLICATION_ONLY: only to complete the application.' })
  logIn!: LogInAccess;
}

/** A page of the user's history, without the entries the policy keeps from the caller (counted out too). */
const historyPage = async (context: Context, userId: string, first: number, after: string | undefined, via: string) => {
  // Analysts' sentences are made from the events pseudonymised, as they read them in the log.
  const view = personalDataView(context, { objectId: userId, subjectUserId: userId, via });
  const options = {
    participantView: !seesStaffOnlyHistory(await viewerOf(context)),
    ...(view === 'raw' ? {} : { pseudonymise: (event: RecordedEvent) => view.event(event as typeof event & { readonly data: Readonly<Record<string, unknown>> }) }),
  };
  const page = await context.services.readModel.historyPage(userId, { first: pageSize(first), ...(after ? { after } : {}) }, options);
  recordRead(context, { kind: 'USER_HISTORY', objectId: userId, subjectUserId: userId, via });
  return lazyCountConnection(page, asHistoryEntry, () => context.services.readModel.countHistory(userId, options));
};

@Resolver(() => UserType)
export class UserResolver {
  @Authorized()
  @Query(() => UserType, { nullable: true, description: 'The user the caller\'s token belongs to (mentors and mentees).' })
  async me(@Ctx() context: Context) {
    const actor = requireActor(context);
    if (!actor.userId) return null;
    await consistentRead(context);
    return (await context.services.readModel.usersByIds([actor.userId])).map(asUser)[0] ?? null;
  }

  @Authorized()
  @Query(() => UserType, { nullable: true, description: 'One user. Mentors and mentees may read only themselves.' })
  async user(@Arg('id', () => ID) id: string, @Ctx() context: Context) {
    await assertCanReadUser(context, id);
    await consistentRead(context);
    const user = (await context.services.readModel.usersByIds([id])).map(asUser)[0] ?? null;
    if (user) recordRead(context, { kind: 'USER_RECORD', objectId: user.userId, subjectUserId: user.userId, via: 'Query.user' });
    return user;
  }

  @Authorized()
  @Query(() => UserConnectionType, { description: 'Users by name, filtered. Mentors and mentees see only themselves.' })
  async users(
    @Ctx() context: Context,
    @Arg('filter', () => UserFilterInput, { nullable: true }) filter?: UserFilterInput,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const readable = readableUsers(context);
    await consistentRead(context);
    const users = { ...filter, ...(readable === 'all' ? {} : { userIds: readable }) };
    const page = await context.services.readModel.usersPage(users, { first: pageSize(first), ...(after ? { after } : {}) });
    recordReadsOfUsers(context, 'USER_RECORD', page.edges.map(({ node }) => node.userId), 'Query.users');
    return lazyCountConnection(page, asUser, () => context.services.readModel.countUsers(users));
  }

  @Authorized()
  @Query(() => HistoryConnectionType, {
    description:
      'Every event that touched the user or any of their personas, newest first (User History / show all personas). ' +
      'Mentors and mentees reading their own do not see staged (not yet live) matches.',
  })
  async userHistory(
    @Arg('userId', () => ID) userId: string,
    @Ctx() context: Context,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    await assertCanReadUser(context, userId, 'history');
    await consistentRead(context);
    return historyPage(context, userId, first, after, 'Query.userHistory');
  }

  @Authorized()
  @Query(() => UserSnapshotType, { description: 'The user as they stood at a past moment, folded from their events up to then.' })
  async userAsOf(@Arg('userId', () => ID) userId: string, @Arg('at', () => Date) at: Date, @Ctx() context: Context): Promise<UserSnapshotType> {
    await assertCanSee(context, 'pastState', { userId }, 'Mentors and mentees can read only their own past states.', { userId });
    if (Number.isNaN(at.getTime())) throw new DomainError('VALIDATION_FAILED', '`at` must be an ISO-8601 date-time.', { field: 'at' });
    const { state, eventCount } = await context.services.userAsOf(userId, at);
    recordRead(context, { kind: 'USER_STATE', objectId: userId, subjectUserId: userId, via: 'Query.userAsOf' });
    const snapshot = new UserSnapshotType();
    if (state.status === 'NOT_REGISTERED') {
      return Object.assign(snapshot, {
        asOf: at.toISOString(),
        existed: false,
        userId,
        email: null,
        name: null,
        status: null,
        applicationCompleted: null,
        access: null,
        personas: [],
        eventCount: 0,
      });
    }
    return Object.assign(snapshot, {
      asOf: at.toISOString(),
      existed: true,
      userId,
      email: state.email,
      name: state.name,
      status: state.userStatus,
      applicationCompleted: state.applicationCompleted,
      access: { logIn: canLogIn(state), seeCurriculum: canSeeCurriculum(state) },
      personas: state.personas.map((persona) => Object.assign(new PersonaSnapshotType(), persona)),
      eventCount,
    });
  }

  @Query(() => [UserStatusInfoType], { description: 'The user-status table: what each status allows.' })
  @Authorized()
  userStatuses(): UserStatusInfoType[] {
    return USER_STATUSES.map((status) => Object.assign(new UserStatusInfoType(), USER_STATUS_TABLE[status]));
  }

  // Analysts read these pseudonymised (names and e-mails) or not at all (company, manager): the
  // middleware of personalDataAccess.ts applies it to every field that carries personal data.
  @FieldResolver(() => String, { description: 'As registered; `[erased]` once their personal data was erased; analysts read a stable pseudonym.' })
  name(@Root() user: UserType): string {
    return user.name;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      'As registered; `[erased]` once their personal data was erased; analysts read a stable pseudonym. ' +
      'Null when the caller sees this user only as a match partner (by name).',
  })
  email(@Root() user: UserType): string {
    return user.email;
  }

  @FieldResolver(() => String, { nullable: true, description: 'Null once erased, and for analysts.' })
  company(@Root() user: UserType): string | null {
    return user.company;
  }

  @FieldResolver(() => ManagerType, { nullable: true, description: 'Null once erased, and for analysts.' })
  manager(@Root() user: UserType): ManagerType | null {
    return user.managerName && user.managerEmail ? { name: user.managerName, email: user.managerEmail } : null;
  }

  @FieldResolver(() => ProgramType, { nullable: true })
  program(@Root() user: UserType, @Ctx() context: Context) {
    return programById(context).load(user.programId);
  }

  @FieldResolver(() => [PersonaType], { nullable: true, description: 'All personas, oldest first ("show all personas"). Null when the caller sees this user only as a match partner (by name).' })
  async personas(@Root() user: UserType, @Ctx() context: Context) {
    return (await personasOfUser(context).load(user.userId)).map((persona) => Object.assign(new PersonaType(), persona));
  }

  @FieldResolver(() => Boolean, { nullable: true, description: 'From the user status: whether the user can be matched. Null when the caller sees this user only as a match partner (by name).' })
  canBeMatched(@Root() user: UserType): boolean {
    return canBeMatched(user.userStatus);
  }

  @FieldResolver(() => AccessType, {
    nullable: true,
    description: 'Can log in & see curriculum, from the user status and the personas\' match statuses together. Null when the caller sees this user only as a match partner (by name).',
  })
  async access(@Root() user: UserType, @Ctx() context: Context): Promise<AccessType> {
    const personas = await personasOfUser(context).load(user.userId);
    return { logIn: canLogIn({ userStatus: user.userStatus, personas }), seeCurriculum: canSeeCurriculum({ userStatus: user.userStatus, personas }) };
  }

  @FieldResolver(() => HistoryConnectionType, {
    nullable: true,
    description: 'The user\'s history, newest first; participants do not see staged matches in their own. Null when the caller sees this user only as a match partner (by name).',
  })
  async history(
    @Root() user: UserType,
    @Ctx() context: Context,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return historyPage(context, user.userId, first, after, 'User.history');
  }

  // -- commands ------------------------------------------------------------------------------

  @Authorized('admin')
  @Mutation(() => UserPayload, {
    description:
      'Register a user with one persona; they start in Application Incomplete (AI). The id is random (it says nothing about the address); ' +
      'an address someone already has is refused with ALREADY_EXISTS.',
  })
  async registerUser(@Arg('input') input: RegisterUserInput, @Ctx() context: Context): Promise<UserPayload> {
    const result = await attempt(() =>
      context.services.commands.registerUser(commandContextFor(context, input), {
        email: input.email,
        name: input.name,
        programId: input.programId,
        role: input.role,
        company: input.company ?? null,
        manager: input.manager ? { name: input.manager.name, email: input.manager.email } : null,
      }),
    );
    return result.ok
      ? succeeded(new UserPayload(), result.value.outcome, { userId: result.value.userId })
      : refused(new UserPayload(), result.errors, { userId: null });
  }

  @Authorized('admin', 'mentor', 'mentee')
  @Mutation(() => UserPayload, {
    description: 'Finish the application: the system moves the user from AI to Screening Incomplete (SI). Admins, or the user themselves.',
  })
  async completeApplication(@Arg('input') input: UserInput, @Ctx() context: Context): Promise<UserPayload> {
    const actor = requireActor(context);
    if (actor.role !== 'admin' && actor.userId !== input.userId) {
      return refused(new UserPayload(), [refusal('FORBIDDEN', 'Mentors and mentees can complete only their own application.')], { userId: null });
    }
    return onUser(input.userId, () => context.services.commands.completeApplication(commandContextFor(context, input), input.userId));
  }

  @Authorized('admin')
  @Mutation(() => UserPayload, { description: 'Change the user status; it applies to every persona. Becoming Active makes N/A personas RTBM.' })
  changeUserStatus(@Arg('input') input: ChangeUserStatusInput, @Ctx() context: Context): Promise<UserPayload> {
    return onUser(input.userId, () =>
      context.services.commands.changeUserStatus(commandContextFor(context, input), input.userId, input.status),
    );
  }

  @Authorized('admin')
  @Mutation(() => ChangeUserStatusesPayload, {
    description: 'Change many users\' statuses at once (program start-up). Each change is its own event; each user gets a result.',
  })
  async changeUserStatuses(@Arg('input') input: ChangeUserStatusesInput, @Ctx() context: Context): Promise<ChangeUserStatusesPayload> {
    const seen = new Set<string>();
    const results: UserStatusChangeResult[] = [];
    // One after another: a program's start-up batch is small, and order keeps the log readable.
    for (const [index, change] of input.changes.entries()) {
      if (seen.has(change.userId)) {
        results.push(
          refused(
            new UserStatusChangeResult(),
            [
              refusal(
                'VALIDATION_FAILED',
                `User ${change.userId} appears more than once in this bulk change; list each user once.`,
                `changes.${index}.userId`,
              ),
            ],
            { userId: change.userId },
          ),
        );
        continue;
      }
      seen.add(change.userId);
      const key = input.idempotencyKey ? `${input.idempotencyKey}:${change.userId}` : undefined;
      results.push(
        await onUser(change.userId,
          () =>
            context.services.commands.changeUserStatus(
              commandContextFor(context, { ...(input.reason ? { reason: input.reason } : {}), ...(key ? { idempotencyKey: key } : {}) }),
              change.userId,
              change.status,
            ),
          new UserStatusChangeResult(),
        ),
      );
    }
    const positions = results.flatMap((result) => (result.position ? [result.position] : []));
    const highest = positions.reduce<GlobalPosition | null>((max, p) => (max && comparePositions(max, p) >= 0 ? max : p), null);
    return Object.assign(new ChangeUserStatusesPayload(), {
      results,
      changed: results.filter((result) => result.errors.length === 0).length,
      refused: results.filter((result) => result.errors.length > 0).length,
      position: highest ? formatPosition(highest) : null,
    });
  }

  @Authorized('admin')
  @Mutation(() => UserPayload, {
    description: 'Undo a user-status change (or a revert): a new event restores the status before it. Refused when the status has moved on since.',
  })
  revertUserStatusChange(@Arg('input') input: RevertUserStatusChangeInput, @Ctx() context: Context): Promise<UserPayload> {
    return onUser(input.userId, () =>
      context.services.commands.revertUserStatusChange(commandContextFor(context, input), input.userId, input.changeId),
    );
  }

  @Authorized('admin')
  @Mutation(() => UserPayload, {
    description:
      "Erases a person's personal data (name, e-mail, company, manager, profile, the free text of their match requests, meetings " +
      'and registrations) from every read model, export and e-mail, while the event log stays whole and verifiable; statuses, ' +
      'matches, dates and counts stay. Recorded as PersonalDataErased. Irreversible: needs confirm: true.',
  })
  erasePersonalData(@Arg('input') input: ErasePersonalDataInput, @Ctx() context: Context): Promise<UserPayload> {
    return onUser(input.userId, () => context.services.commands.erasePersonalData(commandContextFor(context, input), input.userId, input.confirm));
  }

  @Authorized('admin')
  @Mutation(() => UserPayload, { description: '"Make RS": a new Rescreening persona for a participant who said no to another match.' })
  makeUserRescreening(@Arg('input') input: UserInput, @Ctx() context: Context): Promise<UserPayload> {
    return onUser(input.userId, () => context.services.commands.makeUserRescreening(commandContextFor(context, input), input.userId));
  }
}

const refusal = (code: ErrorCode, message: string, field: string | null = null): UserError =>
  Object.assign(new UserError(), { code, message, field, details: null });

const onUser = async <P extends UserPayload>(
  userId: string,
  work: () => ReturnType<Context['services']['commands']['changeUserStatus']>,
  payload: P = new UserPayload() as P,
): Promise<P> => {
  const result = await attempt(work);
  return result.ok ? succeeded(payload, result.value, { userId } as Partial<P>) : refused(payload, result.errors, { userId } as Partial<P>);
};

@Resolver(() => UserPayload)
export class UserPayloadResolver {
  @FieldResolver(() => UserType, { nullable: true, description: 'The user after the command.' })
  async user(@Root() payload: UserPayload, @Ctx() context: Context) {
    if (!payload.userId || payload.errors.length > 0) return null;
    await consistentRead(context, payload.position);
    const user = (await context.services.readModel.usersByIds([payload.userId])).map(asUser)[0] ?? null;
    if (user) recordRead(context, { kind: 'USER_RECORD', objectId: user.userId, subjectUserId: user.userId, via: 'UserPayload.user' });
    return user;
  }
}
