import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { attempt } from '../errors';
import { recordPersonaRead } from '../readAudit';
import { CloseMatchInput, MatchInput, MatchPersonasInput } from './inputs';
import { programById } from './loaders';
import { MatchPayload, refused, succeeded } from './payloads';
import { findPersona } from './persona.resolver';
import { ProgramType } from './program.type';
import { readableUsers, type Context } from './services';
import { assertCanSee } from '../access';
import { commandContextFor, consistentRead } from './support';
import { MatchType, PersonaType } from './user.type';

@Resolver(() => MatchType)
export class MatchResolver {
  @Authorized()
  @Query(() => MatchType, { nullable: true, description: 'One match. Mentors and mentees may read only their own.' })
  async match(@Arg('id', () => ID) id: string, @Ctx() context: Context) {
    readableUsers(context);
    await consistentRead(context);
    const match = (await context.services.readModel.matchesByIds([id]))[0];
    if (!match) return null;
    await assertCanSee(context, 'match', match, 'Mentors and mentees can read only their own matches, once they are live or requested.', { matchId: id });
    return Object.assign(new MatchType(), match);
  }

  @FieldResolver(() => PersonaType, { nullable: true })
  async mentor(@Root() match: MatchType, @Ctx() context: Context) {
    const persona = await findPersona(context, match.mentorPersonaId);
    if (persona) recordPersonaRead(context, persona.personaId, 'Match.mentor');
    return persona;
  }

  @FieldResolver(() => PersonaType, { nullable: true })
  async mentee(@Root() match: MatchType, @Ctx() context: Context) {
    const persona = await findPersona(context, match.menteePersonaId);
    if (persona) recordPersonaRead(context, persona.personaId, 'Match.mentee');
    return persona;
  }

  @FieldResolver(() => ProgramType, { nullable: true })
  program(@Root() match: MatchType, @Ctx() context: Context) {
    return programById(context).load(match.programId);
  }

  @Authorized('admin')
  @Mutation(() => MatchPayload, {
    description:
      'Match a mentee with a mentor: live at once (both notified; needs matching on) or staged with stage: true (nobody notified; ' +
      'approve it with approveStagedMatches). Both users must be Active, the mentee RTBM and the mentor within capacity.',
  })
  async matchPersonas(@Arg('input') input: MatchPersonasInput, @Ctx() context: Context): Promise<MatchPayload> {
    const result = await attempt(() =>
      context.services.commands.matchPersonas(commandContextFor(context, input), {
        programId: input.programId,
        mentorPersonaId: input.mentorPersonaId,
        menteePersonaId: input.menteePersonaId,
        stage: input.stage,
      }),
    );
    return result.ok
      ? succeeded(new MatchPayload(), result.value.outcome, { matchId: result.value.matchId })
      : refused(new MatchPayload(), result.errors, { matchId: null });
  }

  @Authorized('admin')
  @Mutation(() => MatchPayload, {
    description: 'Close a match with a reason and each side\'s rematch intent; YES or MAYBE creates a new Rescreening persona at once.',
  })
  async closeMatch(@Arg('input') input: CloseMatchInput, @Ctx() context: Context): Promise<MatchPayload> {
    const result = await attempt(() =>
      context.services.commands.closeMatch(commandContextFor(context, input), {
        matchId: input.matchId,
        closureReason: input.closureReason,
        mentorRematchIntent: input.mentorRematchIntent,
        menteeRematchIntent: input.menteeRematchIntent,
      }),
    );
    return result.ok
      ? succeeded(new MatchPayload(), result.value, { matchId: input.matchId })
      : refused(new MatchPayload(), result.errors, { matchId: input.matchId });
  }

  @Authorized('admin')
  @Mutation(() => MatchPayload, { description: '"Open Match": a closed match goes live again; both personas return to MATCHED.' })
  async reopenMatch(@Arg('input') input: MatchInput, @Ctx() context: Context): Promise<MatchPayload> {
    const result = await attempt(() => context.services.commands.reopenMatch(commandContextFor(context, input), input.matchId));
    return result.ok
      ? succeeded(new MatchPayload(), result.value, { matchId: input.matchId })
      : refused(new MatchPayload(), result.errors, { matchId: input.matchId });
  }
}

@Resolver(() => MatchPayload)
export class MatchPayloadResolver {
  @FieldResolver(() => MatchType, { nullable: true, description: 'The match after the command.' })
  async match(@Root() payload: MatchPayload, @Ctx() context: Context) {
    if (!payload.matchId || payload.errors.length > 0) return null;
    await consistentRead(context, payload.position);
    const match = (await context.services.readModel.matchesByIds([payload.matchId]))[0];
    return match ? Object.assign(new MatchType(), match) : null;
  }
}
