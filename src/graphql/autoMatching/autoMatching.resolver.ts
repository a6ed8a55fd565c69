import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { formatPosition } from '../../eventstore/eventStore';
import { DomainError } from '../../domain/shared/decider';
import { userIdOfPersona, type AttributeValue } from '../../domain';
import { assertCanSee } from '../access';
import { requireActor } from '../context';
import { recordPersonaRead } from '../readAudit';
import { attempt, type UserError } from '../errors';
import { ProgramPayload, UserPayload, refused, succeeded } from '../lifecycle/payloads';
import { ProgramType } from '../lifecycle/program.type';
import { MatchType, UserType } from '../lifecycle/user.type';
import type { Context } from '../lifecycle/services';
import { commandContextFor, consistentRead } from '../lifecycle/support';
import { UserInput } from '../lifecycle/inputs';
import { Field, InputType } from 'type-graphql';
import {
  AutoMatchingConfigurationType,
  AutoMatchingRunType,
  MentorSuggestionType,
  PairBanInput,
  RunAutoMatchingInput,
  RunAutoMatchingPayload,
  ScorePartType,
  SetMatchingCriteriaInput,
} from './autoMatching.types';

@InputType('SetProfileAttributesInput', { description: 'The profile attributes auto-matching compares; replaces the whole profile.' })
export class SetProfileAttributesInput extends UserInput {
  @Field(() => GraphQLJSONObject, {
    description: 'e.g. { "interests": ["robotics", "chess"], "languages": ["en"], "utcOffset": -5, "gender": "F", "preferredMentorGender": "any" }',
  })
  attributes!: Record<string, AttributeValue>;
}

/** Auto-matching (issue 5): criteria, bans, profiles, the run, and suggestions. */
@Resolver()
export class AutoMatchingResolver {
  @Authorized('admin')
  @Mutation(() => ProgramPayload, { description: 'Set the program\'s auto-matching criteria and objective (a new version).' })
  async setMatchingCriteria(@Arg('input') input: SetMatchingCriteriaInput, @Ctx() context: Context): Promise<ProgramPayload> {
    const result = await attempt(() =>
      context.services.commands.onProgram(commandContextFor(context, input), {
        type: 'SetMatchingCriteria',
        data: { programId: input.programId, criteria: input.criteria.map((c) => ({ ...c })), objective: input.objective },
      }),
    );
    return result.ok
      ? succeeded(new ProgramPayload(), result.value, { programId: input.programId })
      : refused(new ProgramPayload(), result.errors, { programId: input.programId });
  }

  @Authorized('admin')
  @Mutation(() => ProgramPayload, { description: 'Never pair this mentor with this mentee in the program.' })
  async banPair(@Arg('input') input: PairBanInput, @Ctx() context: Context): Promise<ProgramPayload> {
    return this.onBan('BanPair', input, context);
  }

  @Authorized('admin')
  @Mutation(() => ProgramPayload, { description: 'Lift a ban on a pair.' })
  async liftPairBan(@Arg('input') input: PairBanInput, @Ctx() context: Context): Promise<ProgramPayload> {
    return this.onBan('LiftPairBan', input, context);
  }

  private async onBan(type: 'BanPair' | 'LiftPairBan', input: PairBanInput, context: Context): Promise<ProgramPayload> {
    const result = await attempt(() =>
      context.services.commands.onProgram(commandContextFor(context, input), {
        type,
        data: { programId: input.programId, mentorUserId: input.mentorUserId, menteeUserId: input.menteeUserId },
      }),
    );
    return result.ok
      ? succeeded(new ProgramPayload(), result.value, { programId: input.programId })
      : refused(new ProgramPayload(), result.errors, { programId: input.programId });
  }

  @Authorized('admin', 'mentor', 'mentee')
  @Mutation(() => UserPayload, { description: 'Replace a user\'s profile attributes. Mentors and mentees may set their own.' })
  async setProfileAttributes(@Arg('input') input: SetProfileAttributesInput, @Ctx() context: Context): Promise<UserPayload> {
    const result = await attempt(() => {
      const actor = requireActor(context);
      if (actor.role !== 'admin' && actor.userId !== input.userId) {
        throw new DomainError('FORBIDDEN', 'Mentors and mentees can set only their own profile.', { userId: input.userId });
      }
      return context.services.commands.setProfileAttributes(commandContextFor(context, input), input.userId, input.attributes);
    });
    return result.ok
      ? succeeded(new UserPayload(), result.value, { userId: input.userId })
      : refused(new UserPayload(), result.errors, { userId: input.userId });
  }

  @Authorized('admin')
  @Mutation(() => RunAutoMatchingPayload, {
    description:
      '"Run Auto-Matching": stage the optimal matches of the program\'s unmatched mentees and available mentors under its criteria. ' +
      'None goes live and nobody is notified until an admin approves them (approveStagedMatches).',
  })
  async runAutoMatching(@Arg('input') input: RunAutoMatchingInput, @Ctx() context: Context): Promise<RunAutoMatchingPayload> {
    const payload: RunAutoMatchingPayload = Object.assign(new RunAutoMatchingPayload(), {
      errors: [] as UserError[],
      run: null as AutoMatchingRunType | null,
      matches: [] as MatchType[],
      position: null as string | null,
    });
    const result = await attempt(async () => {
      if (!(await context.services.catchUpProjections())) {
        throw new DomainError('CONCURRENCY_CONFLICT', 'The read models are still catching up with recent changes; try again in a moment.');
      }
      return context.services.autoMatching.run(commandContextFor(context, input), input.programId);
    });
    if (!result.ok) {
      payload.errors = result.errors;
      return payload;
    }
    const { run, position } = result.value;
    payload.run = Object.assign(new AutoMatchingRunType(), run, { stagedMatchIds: [...run.stagedMatchIds] });
    payload.position = position ? formatPosition(position) : null;
    if (position) await consistentRead(context, position);
    payload.matches = (await context.services.readModel.matchesByIds(run.stagedMatchIds)).map((view) => Object.assign(new MatchType(), view));
    return payload;
  }

  @Authorized('admin', 'mentee')
  @Query(() => [MentorSuggestionType], {
    description: 'The best available mentors for one mentee, with their scores and why. Mentees may ask for themselves (user-led programs).',
  })
  async suggestMentors(
    @Arg('menteePersonaId', () => ID) menteePersonaId: string,
    @Ctx() context: Context,
    @Arg('first', () => Int, { defaultValue: 5 }) first = 5,
  ) {
    const menteeUserId = userIdOfPersona(menteePersonaId) ?? '';
    await assertCanSee(context, 'mentorSuggestion', { menteeUserId }, 'Mentees can ask for suggestions only for themselves.', { personaId: menteePersonaId });
    if (!Number.isInteger(first) || first < 1 || first > 50) {
      throw new DomainError('VALIDATION_FAILED', `first must be between 1 and 50; got ${first}.`, { field: 'first' });
    }
    await consistentRead(context);
    const suggestions = await context.services.autoMatching.suggestMentors(menteePersonaId, first);
    for (const suggestion of suggestions) recordPersonaRead(context, suggestion.mentorPersonaId, 'Query.suggestMentors');
    return suggestions.map((s) =>
      Object.assign(new MentorSuggestionType(), s, { menteeUserId, explanation: s.explanation.map((p) => Object.assign(new ScorePartType(), p)) }),
    );
  }
}

@Resolver(() => ProgramType)
export class ProgramAutoMatchingResolver {
  @FieldResolver(() => AutoMatchingConfigurationType, { description: 'Auto-matching\'s criteria and objective.' })
  autoMatching(@Root() program: ProgramType & { autoMatching?: AutoMatchingConfigurationType }) {
    return Object.assign(new AutoMatchingConfigurationType(), program.autoMatching ?? { version: 0, criteria: [], objective: 'MAX_SCORE' });
  }
}

@Resolver(() => MatchType)
export class MatchExplanationResolver {
  @FieldResolver(() => [ScorePartType], { nullable: true, description: 'Auto-matching: the score criterion by criterion (adds up to score).' })
  explanation(@Root() match: MatchType & { explanation?: readonly ScorePartType[] | null }) {
    return match.explanation ? match.explanation.map((p) => Object.assign(new ScorePartType(), p)) : null;
  }
}

@Resolver(() => UserType)
export class UserProfileResolver {
  @FieldResolver(() => GraphQLJSONObject, { nullable: true, description: 'The profile attributes auto-matching compares.' })
  profile(@Root() user: UserType & { profile?: Record<string, unknown> }) {
    return user.profile ?? {};
  }
}
