import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import { requireActor } from '../context';
import { attempt, UserError } from '../errors';
import { refused, succeeded, UserPayload } from './payloads';
import { ChangeUserEmailInput, UpdateUserProfileInput } from './profile.input';
import type { Context } from './services';
import { commandContextFor } from './support';

const forbidden = (message: string): UserError => Object.assign(new UserError(), { code: 'FORBIDDEN', message, field: null, details: null });

/**
 * The user's identity facts: e-mail address, name, company, manager. Each change is an event with
 * who did it and why (`reason`); the user's id never changes.
 */
@Resolver()
export class ProfileResolver {
  @Authorized('admin', 'mentor', 'mentee')
  @Mutation(() => UserPayload, {
    description:
      'Change a user\'s e-mail address (admins, or the user themselves). The new address must be free (ALREADY_EXISTS otherwise); ' +
      'the old one becomes free for others at once. The user id stays.',
  })
  async changeUserEmail(@Arg('input') input: ChangeUserEmailInput, @Ctx() context: Context): Promise<UserPayload> {
    const actor = requireActor(context);
    if (actor.role !== 'admin' && actor.userId !== input.userId) {
      return refused(new UserPayload(), [forbidden('Mentors and mentees can change only their own e-mail address.')], { userId: null });
    }
    const result = await attempt(() => context.services.commands.changeUserEmail(commandContextFor(context, input), input.userId, input.email));
    return result.ok
      ? succeeded(new UserPayload(), result.value, { userId: input.userId })
      : refused(new UserPayload(), result.errors, { userId: input.userId });
  }

  /**
   * Admins only: the manager decides whose manager report lists the user, and the name is what the
   * program's staff and reports know the participant by, so participants ask staff to correct them.
   */
  @Authorized('admin')
  @Mutation(() => UserPayload, {
    description:
      'Correct a user\'s name, company or manager (admins). Only the given fields change; a change to nothing is refused (RULE_VIOLATED).',
  })
  async updateUserProfile(@Arg('input') input: UpdateUserProfileInput, @Ctx() context: Context): Promise<UserPayload> {
    const { userId, name, company, managerName, managerEmail } = input;
    const result = await attempt(() =>
      context.services.commands.updateUserProfile(commandContextFor(context, input), {
        userId,
        ...(name !== undefined && name !== null ? { name } : {}),
        ...(company !== undefined ? { company } : {}),
        ...(managerName !== undefined ? { managerName } : {}),
        ...(managerEmail !== undefined ? { managerEmail } : {}),
      }),
    );
    return result.ok ? succeeded(new UserPayload(), result.value, { userId }) : refused(new UserPayload(), result.errors, { userId });
  }
}
