import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import { comparePositions, formatPosition, type GlobalPosition } from '../../eventstore/eventStore';
import { DomainError } from '../../domain/shared/decider';
import { userIdOfPersona, type ApprovingParty } from '../../domain';
import type { CommandOutcome } from '../../commands/pipeline';
import { requireActor } from '../context';
import { attempt, toUserErrors, type UserError } from '../errors';
import { MatchPayload, ProgramPayload, UserPayload, refused, succeeded } from '../lifecycle/payloads';
import type { Context } from '../lifecycle/services';
import { commandContextFor } from '../lifecycle/support';
import {
  InviteMenteesInput,
  RequestMatchInput,
  RespondToMatchRequestInput,
  SetMentorCapacityInput,
  SetNotificationTemplateInput,
  StagedMatchesInput,
} from './matching.inputs';
import { BulkMatchPayload, InvitationResult, InviteMenteesPayload } from './matching.payloads';
import { MatchInput, type CommandInput } from '../lifecycle/inputs';

const highestPosition = (positions: readonly (GlobalPosition | null)[]): string | null => {
  const highest = positions.reduce<GlobalPosition | null>((max, p) => (p === null ? max : max && comparePositions(max, p) >= 0 ? max : p), null);
  return highest ? formatPosition(highest) : null;
};

const confirmationRequired = (message: string, details: Record<string, unknown>): UserError[] =>
  toUserErrors(new DomainError('CONFIRMATION_REQUIRED', message, details));

/** "All" means everything recorded before this request: the read models must have caught up with the log. */
const caughtUp = async (context: Context): Promise<void> => {
  if (!(await context.services.catchUpProjections())) {
    throw new DomainError('CONCURRENCY_CONFLICT', 'The read models are still catching up with recent changes; try again in a moment.');
  }
};

/** A per-item idempotency key derived from the request's, so a retried bulk command redoes nothing. */
const itemContext = (context: Context, input: CommandInput, item: string) =>
  commandContextFor(context, {
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(input.idempotencyKey !== undefined ? { idempotencyKey: `${input.idempotencyKey}:${item}` } : {}),
  });

const matchResult = async (matchId: string, work: () => Promise<CommandOutcome>): Promise<MatchPayload> => {
  const result = await attempt(work);
  return result.ok ? succeeded(new MatchPayload(), result.value, { matchId }) : refused(new MatchPayload(), result.errors, { matchId });
};

/**
 * The matching workflow's commands (seed 002): staged matches approved or discarded one or all at
 * once, invitations to submit preferences, requests and their approvals, mentor capacity, and the
 * program's e-mail templates.
 */
@Resolver()
export class MatchingResolver {
  /** The program's staged matches, or the listed ones. */
  private async stagedMatchIds(context: Context, input: StagedMatchesInput): Promise<string[]> {
    if (input.matchIds) return [...new Set(input.matchIds)];
    await caughtUp(context);
    return [...(await context.services.matching.stagedMatchIds(input.programId))];
  }

  @Authorized('admin')
  @Mutation(() => BulkMatchPayload, {
    description:
      'Approve staged matches ("Approve" / "Approve All"): each goes live and both participants get the Mentorship Assignment e-mail. ' +
      'Asks for confirm: true first, saying how many e-mails will go out. Each match is approved on its own; one refused (capacity, ' +
      'matching off, a participant no longer ready) does not stop the others.',
  })
  async approveStagedMatches(@Arg('input') input: StagedMatchesInput, @Ctx() context: Context): Promise<BulkMatchPayload> {
    const matchIds = await this.stagedMatchIds(context, input);
    const payload: BulkMatchPayload = Object.assign(new BulkMatchPayload(), {
      errors: [] as UserError[],
      results: [] as MatchPayload[],
      succeeded: 0,
      refused: 0,
      notificationCount: 0,
      position: null as string | null,
    });
    if (matchIds.length === 0) {
      payload.errors = toUserErrors(new DomainError('NOT_FOUND', 'There are no staged matches to approve in this program.', { programId: input.programId }));
      return payload;
    }
    if (!input.confirm) {
      const emails = matchIds.length * 2;
      payload.notificationCount = emails;
      payload.errors = confirmationRequired(
        `Approving ${matchIds.length} staged match${matchIds.length === 1 ? '' : 'es'} sends ${emails} e-mails (a Mentorship Assignment ` +
          'to each mentor and mentee). Send the same request with confirm: true to approve.',
        { matches: matchIds.length, notifications: emails },
      );
      return payload;
    }
    for (const matchId of matchIds) {
      payload.results.push(
        await matchResult(matchId, () => context.services.commands.approveStagedMatch(itemContext(context, input, matchId), matchId)),
      );
    }
    payload.succeeded = payload.results.filter((r) => r.errors.length === 0).length;
    payload.refused = payload.results.length - payload.succeeded;
    payload.notificationCount = payload.results.filter((r) => r.errors.length === 0 && !r.replayed).length * 2;
    payload.position = highestPosition(payload.results.map((r) => r.position));
    return payload;
  }

  @Authorized('admin')
  @Mutation(() => BulkMatchPayload, {
    description: 'Discard staged matches ("Discard" / "Discard All"): nobody is notified and the participants stay unmatched.',
  })
  async discardStagedMatches(@Arg('input') input: StagedMatchesInput, @Ctx() context: Context): Promise<BulkMatchPayload> {
    const matchIds = await this.stagedMatchIds(context, input);
    const results: MatchPayload[] = [];
    for (const matchId of matchIds) {
      results.push(
        await matchResult(matchId, () => context.services.commands.discardStagedMatch(itemContext(context, input, matchId), { matchId })),
      );
    }
    const succeededCount = results.filter((r) => r.errors.length === 0).length;
    return Object.assign(new BulkMatchPayload(), {
      errors:
        matchIds.length === 0
          ? toUserErrors(new DomainError('NOT_FOUND', 'There are no staged matches to discard in this program.', { programId: input.programId }))
          : [],
      results,
      succeeded: succeededCount,
      refused: results.length - succeededCount,
      notificationCount: 0,
      position: highestPosition(results.map((r) => r.position)),
    });
  }

  @Authorized('admin')
  @Mutation(() => InviteMenteesPayload, {
    description:
      'Invite mentees to submit their mentor preferences (user-led programs, matching on): every unmatched mentee not yet invited, ' +
      'or the listed ones. Asks for confirm: true first, saying how many e-mails will go out. Nobody is invited twice.',
  })
  async inviteMenteesToMatch(@Arg('input') input: InviteMenteesInput, @Ctx() context: Context): Promise<InviteMenteesPayload> {
    if (!input.personaIds) await caughtUp(context);
    const personaIds = input.personaIds ? [...new Set(input.personaIds)] : (await context.services.matching.uninvitedMenteePersonas(input.programId)).map((p) => p.personaId);
    const payload: InviteMenteesPayload = Object.assign(new InviteMenteesPayload(), {
      errors: [] as UserError[],
      invitationsSent: 0,
      alreadyInvited: 0,
      results: [] as InvitationResult[],
      position: null as string | null,
    });
    if (personaIds.length === 0) {
      payload.errors = toUserErrors(
        new DomainError('NOT_FOUND', 'Every unmatched mentee in this program has already been invited; nobody is left to invite.', {
          programId: input.programId,
        }),
      );
      return payload;
    }
    if (!input.confirm) {
      payload.invitationsSent = personaIds.length;
      payload.errors = confirmationRequired(
        `This sends ${personaIds.length} "Submit Your Mentor Preferences" e-mail${personaIds.length === 1 ? '' : 's'}` +
          `${input.personaIds ? ' (mentees invited before are skipped)' : ''}. Send the same request with confirm: true to send them.`,
        { invitations: personaIds.length },
      );
      return payload;
    }
    const positions: (GlobalPosition | null)[] = [];
    for (const personaId of personaIds) {
      const result = await attempt(() =>
        context.services.commands.inviteMenteeToMatch(itemContext(context, input, personaId), personaId, input.programId),
      );
      const item = Object.assign(new InvitationResult(), { personaId, invited: false, errors: [] as UserError[] });
      if (result.ok) {
        item.invited = !result.value.duplicate && result.value.events.length > 0;
        positions.push(result.value.events.length > 0 ? result.value.position : null);
      } else {
        item.errors = result.errors;
        if (result.errors.some((e) => e.code === 'ALREADY_EXISTS')) payload.alreadyInvited++;
      }
      if (item.invited) payload.invitationsSent++;
      payload.results.push(item);
    }
    payload.position = highestPosition(positions);
    return payload;
  }

  @Authorized('mentee', 'mentor')
  @Mutation(() => MatchPayload, {
    description:
      'Request a match (user-led programs). The caller is the mentee or the mentor of the pair; the other required parties are asked ' +
      'to approve within the program\'s expiry. Without approval (user-led), the match goes live at once.',
  })
  async requestMatch(@Arg('input') input: RequestMatchInput, @Ctx() context: Context): Promise<MatchPayload> {
    const result = await attempt(async () => {
      const actor = requireActor(context);
      const requestedBy =
        actor.userId && actor.userId === userIdOfPersona(input.menteePersonaId)
          ? 'MENTEE'
          : actor.userId && actor.userId === userIdOfPersona(input.mentorPersonaId)
            ? 'MENTOR'
            : null;
      if (requestedBy === null) {
        throw new DomainError('FORBIDDEN', 'You can request a match only for yourself: one of the two personas must be yours.', {
          mentorPersonaId: input.mentorPersonaId,
          menteePersonaId: input.menteePersonaId,
        });
      }
      // The program is the mentee persona's (the decision checks that the mentor's is the same).
      const menteeUserId = userIdOfPersona(input.menteePersonaId);
      const programOfMentee = async () =>
        menteeUserId ? (await context.services.readModel.personasOfUsers([menteeUserId])).find((persona) => persona.personaId === input.menteePersonaId)?.programId : undefined;
      // A persona created a moment ago (the client sent no X-Consistent-With) may not be projected yet:
      // on a miss, look again once the read models hold everything committed before this request.
      let programId = await programOfMentee();
      if (!programId && menteeUserId) {
        await caughtUp(context);
        programId = await programOfMentee();
      }
      if (!programId) throw new DomainError('NOT_FOUND', `Persona ${input.menteePersonaId} does not exist.`, { personaId: input.menteePersonaId });
      return context.services.commands.requestMatch(commandContextFor(context, input), {
        programId,
        mentorPersonaId: input.mentorPersonaId,
        menteePersonaId: input.menteePersonaId,
        requestedBy,
        message: input.message ?? null,
      });
    });
    return result.ok
      ? succeeded(new MatchPayload(), result.value.outcome, { matchId: result.value.matchId })
      : refused(new MatchPayload(), result.errors, { matchId: null });
  }

  @Authorized('admin', 'mentee', 'mentor')
  @Mutation(() => MatchPayload, {
    description:
      'Approve or decline a match request as the party you are: an admin answers for ADMIN, the request\'s mentor for MENTOR, its mentee ' +
      'for MENTEE. The last required approval makes the match live; a decline\'s message is sent back to the requester.',
  })
  async respondToMatchRequest(@Arg('input') input: RespondToMatchRequestInput, @Ctx() context: Context): Promise<MatchPayload> {
    return matchResult(input.matchId, async () => {
      const actor = requireActor(context);
      const match = await context.services.commands.readMatch(input.matchId);
      if (match.status === 'NONE') throw new DomainError('NOT_FOUND', `Match ${input.matchId} does not exist.`, { matchId: input.matchId });
      let party: ApprovingParty | null = null;
      if (actor.role === 'admin') party = 'ADMIN';
      else if (actor.userId === match.mentor.userId) party = 'MENTOR';
      else if (actor.userId === match.mentee.userId) party = 'MENTEE';
      if (party === null) {
        throw new DomainError('FORBIDDEN', 'Only the request\'s mentor, its mentee or an admin can answer it.', { matchId: input.matchId });
      }
      return context.services.commands.respondToMatchRequest(commandContextFor(context, input), {
        matchId: input.matchId,
        party,
        decision: input.decision,
        message: input.message ?? null,
      });
    });
  }

  @Authorized('admin', 'mentee', 'mentor')
  @Mutation(() => MatchPayload, { description: 'Take back an open match request: its requester, or an admin.' })
  async withdrawMatchRequest(@Arg('input') input: MatchInput, @Ctx() context: Context): Promise<MatchPayload> {
    return matchResult(input.matchId, async () => {
      const actor = requireActor(context);
      const match = await context.services.commands.readMatch(input.matchId);
      if (match.status === 'NONE') throw new DomainError('NOT_FOUND', `Match ${input.matchId} does not exist.`, { matchId: input.matchId });
      const requester = match.request?.requestedBy === 'MENTOR' ? match.mentor.userId : match.mentee.userId;
      if (actor.role !== 'admin' && actor.userId !== requester) {
        throw new DomainError('FORBIDDEN', 'Only the one who made a request, or an admin, can withdraw it.', { matchId: input.matchId });
      }
      return context.services.commands.withdrawMatchRequest(commandContextFor(context, input), {
        matchId: input.matchId,
        reason: 'WITHDRAWN_BY_REQUESTER',
      });
    });
  }

  @Authorized('admin')
  @Mutation(() => UserPayload, { description: 'How many live matches this mentor may have at once in the program (overrides the program\'s default).' })
  async setMentorCapacity(@Arg('input') input: SetMentorCapacityInput, @Ctx() context: Context): Promise<UserPayload> {
    const result = await attempt(() =>
      context.services.commands.setMentorCapacity(commandContextFor(context, input), {
        userId: input.userId,
        programId: input.programId,
        capacity: input.capacity,
      }),
    );
    return result.ok
      ? succeeded(new UserPayload(), result.value, { userId: input.userId })
      : refused(new UserPayload(), result.errors, { userId: input.userId });
  }

  @Authorized('admin')
  @Mutation(() => ProgramPayload, {
    description: 'Replace one of the program\'s e-mails with its own template, or go back to the default by omitting subject and body.',
  })
  async setNotificationTemplate(@Arg('input') input: SetNotificationTemplateInput, @Ctx() context: Context): Promise<ProgramPayload> {
    const result = await attempt(() => {
      // An explicit null is the same as leaving the field out.
      const reset = input.subject == null && input.body == null;
      if (!reset && (input.subject == null || input.body == null)) {
        throw new DomainError('VALIDATION_FAILED', 'Give both a subject and a body, or neither to go back to the default template.', {
          field: input.subject == null ? 'subject' : 'body',
        });
      }
      return context.services.commands.onProgram(commandContextFor(context, input), {
        type: 'SetNotificationTemplate',
        data: { programId: input.programId, kind: input.kind, template: reset ? null : { subject: input.subject!, body: input.body! } },
      });
    });
    return result.ok
      ? succeeded(new ProgramPayload(), result.value, { programId: input.programId })
      : refused(new ProgramPayload(), result.errors, { programId: input.programId });
  }
}
