import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { CommandOutcome } from '../../commands/pipeline';
import { DomainError } from '../../domain/shared/decider';
import type { MeetingView } from '../../../projections/meetings/meetings.queries';
import { assertCanSee } from '../access';
import { requireActor } from '../context';
import { attempt } from '../errors';
import { refused, succeeded } from '../lifecycle/payloads';
import { READ_EVERYONE } from '../lifecycle/services';
import { commandContextFor, consistentRead } from '../lifecycle/support';
import { MatchType } from '../lifecycle/user.type';
import { CancelMeetingInput, MeetingInput, RecordMeetingInput, RescheduleMeetingInput, ScheduleMeetingInput } from './meetings.inputs';
import { MatchHealthType, MeetingPayload, MeetingType } from './meetings.types';
import type { MeetingContext } from './services';

const toMeeting = (view: MeetingView): MeetingType => Object.assign(new MeetingType(), { id: view.meetingId, ...view });

const nowOf = (context: MeetingContext): string => context.now().toISOString();

interface Participants {
  readonly mentorUserId: string;
  readonly menteeUserId: string;
}

/** Admins act on any match's meetings; mentors and mentees only on their own match's. */
const requireAdminOrParticipant = (context: MeetingContext, participants: Participants, doing: string, details: Record<string, unknown>): void => {
  const actor = requireActor(context);
  if (actor.role === 'admin') return;
  if (actor.userId !== undefined && (actor.userId === participants.mentorUserId || actor.userId === participants.menteeUserId)) return;
  throw new DomainError('FORBIDDEN', `Only the match's mentor, its mentee or an admin can ${doing}.`, details);
};

/** The match's participants as its stream has them, or NOT_FOUND. */
const participantsOfMatch = async (context: MeetingContext, matchId: string): Promise<Participants> => {
  const match = await context.services.commands.readMatch(matchId);
  if (match.status === 'NONE') throw new DomainError('NOT_FOUND', `Match ${matchId} does not exist.`, { matchId });
  return { mentorUserId: match.mentor.userId, menteeUserId: match.mentee.userId };
};

/** The meeting's participants (copied from its match when it was scheduled), or NOT_FOUND. */
const participantsOfMeeting = async (context: MeetingContext, meetingId: string): Promise<Participants> => {
  const meeting = await context.services.meetings.readMeeting(meetingId);
  if (meeting.status === 'NONE') throw new DomainError('NOT_FOUND', `Meeting ${meetingId} does not exist.`, { meetingId });
  return meeting;
};

/** Runs a command on an existing meeting after checking the caller may act on it. */
const onMeeting = async (
  context: MeetingContext,
  meetingId: string,
  doing: string,
  work: () => Promise<CommandOutcome>,
): Promise<MeetingPayload> => {
  const result = await attempt(async () => {
    requireAdminOrParticipant(context, await participantsOfMeeting(context, meetingId), doing, { meetingId });
    return work();
  });
  return result.ok ? succeeded(new MeetingPayload(), result.value, { meetingId }) : refused(new MeetingPayload(), result.errors, { meetingId });
};

/**
 * Meetings of a match (schedule, move, cancel, record, mark missed) and the program's health view
 * (seed 002's "Monitor Health"). A match's mentor and mentee manage their own meetings; admins any.
 */
@Resolver(() => MeetingType)
export class MeetingResolver {
  @Authorized('admin', 'mentor', 'mentee')
  @Mutation(() => MeetingPayload, {
    description: 'Schedule a meeting for an ACTIVE match, in the future and before the match ends. Its mentor, its mentee or an admin.',
  })
  async scheduleMeeting(@Arg('input') input: ScheduleMeetingInput, @Ctx() context: MeetingContext): Promise<MeetingPayload> {
    const result = await attempt(async () => {
      requireAdminOrParticipant(context, await participantsOfMatch(context, input.matchId), 'schedule its meetings', { matchId: input.matchId });
      return context.services.meetings.scheduleMeeting(commandContextFor(context, input), {
        matchId: input.matchId,
        startsAt: input.startsAt,
        durationMinutes: input.durationMinutes,
        title: input.title ?? null,
      });
    });
    return result.ok
      ? succeeded(new MeetingPayload(), result.value.outcome, { meetingId: result.value.meetingId })
      : refused(new MeetingPayload(), result.errors, { meetingId: null });
  }

  @Authorized('admin', 'mentor', 'mentee')
  @Mutation(() => MeetingPayload, { description: 'Move a scheduled meeting to a new time in the future (and optionally change its length).' })
  rescheduleMeeting(@Arg('input') input: RescheduleMeetingInput, @Ctx() context: MeetingContext): Promise<MeetingPayload> {
    return onMeeting(context, input.meetingId, 'reschedule its meetings', () =>
      context.services.meetings.rescheduleMeeting(commandContextFor(context, input), {
        meetingId: input.meetingId,
        startsAt: input.startsAt,
        ...(input.durationMinutes !== undefined && input.durationMinutes !== null ? { durationMinutes: input.durationMinutes } : {}),
      }),
    );
  }

  @Authorized('admin', 'mentor', 'mentee')
  @Mutation(() => MeetingPayload, { description: 'Cancel a scheduled meeting before it starts; the reason is kept with it.' })
  cancelMeeting(@Arg('input') input: CancelMeetingInput, @Ctx() context: MeetingContext): Promise<MeetingPayload> {
    return onMeeting(context, input.meetingId, 'cancel its meetings', () =>
      context.services.meetings.cancelMeeting(commandContextFor(context, input), input.meetingId, input.reason ?? null),
    );
  }

  @Authorized('admin', 'mentor', 'mentee')
  @Mutation(() => MeetingPayload, {
    description: 'Record that a meeting took place, with optional notes: once its start has passed (also one marked missed by mistake).',
  })
  recordMeeting(@Arg('input') input: RecordMeetingInput, @Ctx() context: MeetingContext): Promise<MeetingPayload> {
    return onMeeting(context, input.meetingId, 'record its meetings', () =>
      context.services.meetings.recordMeeting(commandContextFor(context, input), input.meetingId, input.notes ?? null),
    );
  }

  @Authorized('admin', 'mentor', 'mentee')
  @Mutation(() => MeetingPayload, { description: 'Mark a meeting as not having taken place, once its start has passed.' })
  markMeetingMissed(@Arg('input') input: MeetingInput, @Ctx() context: MeetingContext): Promise<MeetingPayload> {
    return onMeeting(context, input.meetingId, 'mark its meetings missed', () =>
      context.services.meetings.markMeetingMissed(commandContextFor(context, input), input.meetingId),
    );
  }

  @Authorized()
  @Query(() => [MeetingType], {
    description: 'A match\'s meetings, earliest first, with their status as of now. Admins, auditors and analysts; mentors and mentees for their own match.',
  })
  async meetings(@Arg('matchId', () => ID) matchId: string, @Ctx() context: MeetingContext): Promise<MeetingType[]> {
    const actor = requireActor(context);
    if (!(READ_EVERYONE as readonly string[]).includes(actor.role)) {
      if (actor.role !== 'mentor' && actor.role !== 'mentee') {
        throw new DomainError('FORBIDDEN', `Meetings are read by admins, auditors and analysts, and by a match's own mentor and mentee; your token has role ${actor.role}.`);
      }
      const participants = await participantsOfMatch(context, matchId);
      await assertCanSee(context, 'meeting', { matchId, ...participants }, "Only the match's mentor, its mentee or an admin can read its meetings.", { matchId });
    }
    await consistentRead(context);
    return (await context.services.meetingReadModel.meetingsOfMatch(matchId, nowOf(context))).map(toMeeting);
  }

  @Authorized('admin', 'auditor', 'analyst')
  @Query(() => MatchHealthType, {
    nullable: true,
    description:
      '"Monitor Health" of a program as of now: active matches, sessions completed, and the ACTIVE matches needing a check-in with the ' +
      'reasons (no meeting for checkInAfterWeeks weeks, never met since going live that long ago, or missedInARow meetings missed in a row). ' +
      'The thresholds are the program\'s settings (updateProgramSettings); an argument given here overrides one for this query only. ' +
      'Null for an unknown program.',
  })
  async matchHealth(
    @Arg('programId', () => ID) programId: string,
    @Ctx() context: MeetingContext,
    @Arg('checkInAfterWeeks', () => Int, { nullable: true, description: 'Overrides the program\'s setting for this query.' })
    checkInAfterWeeks?: number | null,
    @Arg('missedInARow', () => Int, { nullable: true, description: 'Overrides the program\'s setting for this query.' })
    missedInARow?: number | null,
  ): Promise<MatchHealthType | null> {
    await consistentRead(context);
    const overrides = {
      ...(checkInAfterWeeks !== undefined && checkInAfterWeeks !== null ? { checkInAfterWeeks } : {}),
      ...(missedInARow !== undefined && missedInARow !== null ? { missedInARow } : {}),
    };
    const health = await context.services.meetingReadModel.health(programId, nowOf(context), overrides);
    return health ? (Object.assign(new MatchHealthType(), health) as MatchHealthType) : null;
  }

  @FieldResolver(() => MatchType, { nullable: true, description: 'The match this meeting belongs to.' })
  async match(@Root() meeting: MeetingType, @Ctx() context: MeetingContext) {
    const match = (await context.services.readModel.matchesByIds([meeting.matchId]))[0];
    return match ? Object.assign(new MatchType(), match) : null;
  }
}

@Resolver(() => MeetingPayload)
export class MeetingPayloadResolver {
  @FieldResolver(() => MeetingType, { nullable: true, description: 'The meeting after the command.' })
  async meeting(@Root() payload: MeetingPayload, @Ctx() context: MeetingContext) {
    if (!payload.meetingId || payload.errors.length > 0) return null;
    await consistentRead(context, payload.position);
    const view = (await context.services.meetingReadModel.meetingsByIds([payload.meetingId], nowOf(context)))[0];
    return view ? toMeeting(view) : null;
  }
}
