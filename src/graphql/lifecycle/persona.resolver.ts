import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { personaAccess, userIdOfPersona } from '../../domain';
import type { CommandOutcome } from '../../commands/pipeline';
import { attempt } from '../errors';
import { AssignPersonaToSiteInput, ChangePersonaMatchStatusInput, InactivatePersonaInput } from './inputs';
import { matchById, personasOfUser, programById, userById } from './loaders';
import { PersonaPayload, refused, succeeded } from './payloads';
import { ProgramType } from './program.type';
import type { Context } from './services';
import { assertCanSee } from '../access';
import { commandContextFor, consistentRead } from './support';
import { recordPersonaRead, recordRead } from '../readAudit';
import { AccessType, MatchType, PersonaType, UserType } from './user.type';

export const findPersona = async (context: Context, personaId: string): Promise<PersonaType | null> => {
  const userId = userIdOfPersona(personaId);
  if (!userId) return null;
  const persona = (await personasOfUser(context).load(userId)).find((p) => p.personaId === personaId);
  return persona ? Object.assign(new PersonaType(), persona) : null;
};

@Resolver(() => PersonaType)
export class PersonaResolver {
  @Authorized()
  @Query(() => PersonaType, { nullable: true, description: 'One persona. Mentors and mentees may read only their own.' })
  async persona(@Arg('id', () => ID) id: string, @Ctx() context: Context) {
    await assertCanSee(context, 'persona', { personaId: id, userId: userIdOfPersona(id) ?? '' }, 'Mentors and mentees can read only their own personas and their partner\'s.', {
      personaId: id,
    });
    await consistentRead(context);
    const persona = await findPersona(context, id);
    if (persona) recordRead(context, { kind: 'USER_RECORD', objectId: persona.personaId, subjectUserId: persona.userId, via: 'Query.persona' });
    return persona;
  }

  @FieldResolver(() => UserType, { nullable: true, description: 'The user this persona belongs to; null when the caller may not see them.' })
  async user(@Root() persona: PersonaType, @Ctx() context: Context) {
    const user = await userById(context).load(persona.userId);
    if (user) recordRead(context, { kind: 'USER_RECORD', objectId: user.userId, subjectUserId: user.userId, via: 'Persona.user' });
    return user && Object.assign(new UserType(), user);
  }

  @FieldResolver(() => ProgramType, { nullable: true })
  program(@Root() persona: PersonaType, @Ctx() context: Context) {
    return programById(context).load(persona.programId);
  }

  @FieldResolver(() => MatchType, { nullable: true, description: 'The match this persona is (or was) in.' })
  async match(@Root() persona: PersonaType, @Ctx() context: Context) {
    if (!persona.matchId) return null;
    const match = await matchById(context).load(persona.matchId);
    return match && Object.assign(new MatchType(), match);
  }

  @FieldResolver(() => PersonaType, { nullable: true, description: 'The other side of this persona\'s match: the mentee of a mentor, the mentor of a mentee.' })
  async partner(@Root() persona: PersonaType, @Ctx() context: Context) {
    if (!persona.matchId) return null;
    const match = await matchById(context).load(persona.matchId);
    if (!match) return null;
    const partner = await findPersona(context, persona.role === 'MENTOR' ? match.menteePersonaId : match.mentorPersonaId);
    if (partner) recordPersonaRead(context, partner.personaId, 'Persona.partner');
    return partner;
  }

  @FieldResolver(() => AccessType, {
    nullable: true,
    description: 'Can log in & see curriculum through this persona (user status and match status together). Null when the caller sees this persona only as their match partner\'s.',
  })
  async access(@Root() persona: PersonaType, @Ctx() context: Context): Promise<AccessType> {
    const user = await userById(context).load(persona.userId);
    return user ? personaAccess(user.userStatus, persona) : { logIn: 'NO', seeCurriculum: false };
  }

  @Authorized('admin')
  @Mutation(() => PersonaPayload, {
    description: 'Make RTBM (RESCREENING → RTBM), or for mentees RESCREENING → NOT_MATCHING and back. Other moves are refused with the allowed ones.',
  })
  changePersonaMatchStatus(@Arg('input') input: ChangePersonaMatchStatusInput, @Ctx() context: Context) {
    return onPersona(input.personaId, () =>
      context.services.commands.changePersonaMatchStatus(commandContextFor(context, input), input.personaId, input.matchStatus),
    );
  }

  @Authorized('admin')
  @Mutation(() => PersonaPayload, {
    description:
      'Inactivate a persona created in error. A MATCHED persona needs confirmCutCommunication: its pair can then no longer communicate, ' +
      'so its match closes in the same step and the mentor\'s capacity is released.',
  })
  inactivatePersona(@Arg('input') input: InactivatePersonaInput, @Ctx() context: Context) {
    return onPersona(input.personaId, () =>
      context.services.commands.inactivatePersona(commandContextFor(context, input), input.personaId, input.confirmCutCommunication, input.partnerRematchIntent),
    );
  }

  @Authorized('admin')
  @Mutation(() => PersonaPayload, { description: 'Assign a persona to a partner site and (optionally) a mentor site list of its program.' })
  assignPersonaToSite(@Arg('input') input: AssignPersonaToSiteInput, @Ctx() context: Context) {
    return onPersona(input.personaId, () =>
      context.services.commands.assignPersonaToSite(commandContextFor(context, input), {
        personaId: input.personaId,
        partnerSiteId: input.partnerSiteId,
        mentorSiteListId: input.mentorSiteListId ?? null,
      }),
    );
  }
}

const onPersona = async (personaId: string, work: () => Promise<CommandOutcome>): Promise<PersonaPayload> => {
  const result = await attempt(work);
  return result.ok ? succeeded(new PersonaPayload(), result.value, { personaId }) : refused(new PersonaPayload(), result.errors, { personaId });
};

@Resolver(() => PersonaPayload)
export class PersonaPayloadResolver {
  @FieldResolver(() => PersonaType, { nullable: true, description: 'The persona after the command.' })
  async persona(@Root() payload: PersonaPayload, @Ctx() context: Context) {
    if (!payload.personaId || payload.errors.length > 0) return null;
    await consistentRead(context, payload.position);
    return findPersona(context, payload.personaId);
  }
}
