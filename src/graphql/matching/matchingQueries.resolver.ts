import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { DEFAULT_TEMPLATES, NOTIFICATION_KINDS, TEMPLATE_PLACEHOLDERS, MATCH_LIFECYCLE_STATUSES, type MatchLifecycleStatus } from '../../domain';
import { DomainError } from '../../domain/shared/decider';
import type { OutboxState } from '../../notifications';
import { recordPersonaRead, recordRead } from '../readAudit';
import { MATCH_STATE_ENUM } from '../lifecycle/enums';
import { ProgramType } from '../lifecycle/program.type';
import { assertCanReadUser, type Context } from '../lifecycle/services';
import { assertCanSee } from '../access';
import { connection, consistentRead, pageSize } from '../lifecycle/support';
import {
  AvailableMentorConnection,
  AvailableMentorType,
  MatchListConnection,
  MatchListItemType,
  MatchingFunnelType,
  NotificationTemplateType,
  NotificationType,
  UnmatchedMenteeConnection,
  UnmatchedMenteeType,
} from './matching.types';

const OUTBOX_STATES: readonly OutboxState[] = ['PENDING', 'SENDING', 'SENT', 'FAILED'];

/** The Matching page's reads: funnel, its tabs, participants' own requests, and the outbox. */
@Resolver()
export class MatchingQueriesResolver {
  @Authorized('admin', 'auditor', 'analyst')
  @Query(() => MatchingFunnelType, { description: 'Unmatched mentees, available mentors, staged, requested, active and completed matches of a program.' })
  async matchingFunnel(@Arg('programId', () => ID) programId: string, @Ctx() context: Context) {
    await consistentRead(context);
    return Object.assign(new MatchingFunnelType(), await context.services.matching.funnel(programId));
  }

  @Authorized('admin', 'auditor', 'analyst')
  @Query(() => UnmatchedMenteeConnection, { description: 'Mentees ready to be matched, by name; invited: false gives the "Not Invited by Admin" tab.' })
  async unmatchedMentees(
    @Arg('programId', () => ID) programId: string,
    @Ctx() context: Context,
    @Arg('invited', () => Boolean, { nullable: true }) invited?: boolean,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    await consistentRead(context);
    const page = await context.services.matching.unmatchedMentees(programId, {
      first: pageSize(first),
      ...(after ? { after } : {}),
      ...(invited !== undefined && invited !== null ? { invited } : {}),
    });
    for (const { node } of page.edges) recordPersonaRead(context, node.personaId, 'Query.unmatchedMentees');
    return connection(page, (view) => Object.assign(new UnmatchedMenteeType(), view));
  }

  @Authorized('admin', 'auditor', 'analyst', 'mentee')
  @Query(() => AvailableMentorConnection, {
    description: 'Active mentors with capacity left, by name: whom an admin can match a mentee with, and whom a mentee can request.',
  })
  async availableMentors(
    @Arg('programId', () => ID) programId: string,
    @Ctx() context: Context,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    await assertCanSee(context, 'availableMentor', { programId }, 'Mentees see the available mentors of their own programs only.', { programId });
    await consistentRead(context);
    const page = await context.services.matching.availableMentors(programId, { first: pageSize(first), ...(after ? { after } : {}) });
    for (const { node } of page.edges) recordPersonaRead(context, node.personaId, 'Query.availableMentors');
    return connection(page, (view) => Object.assign(new AvailableMentorType(), view, { programId }));
  }

  @Authorized('admin', 'auditor', 'analyst')
  @Query(() => MatchListConnection, { description: 'A program\'s matches, newest first, in the given states (all when omitted).' })
  async programMatches(
    @Arg('programId', () => ID) programId: string,
    @Ctx() context: Context,
    @Arg('statuses', () => [MATCH_STATE_ENUM], { nullable: true }) statuses?: MatchLifecycleStatus[],
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    await consistentRead(context);
    const page = await context.services.matching.matches(programId, {
      first: pageSize(first),
      ...(after ? { after } : {}),
      ...(statuses ? { statuses: statuses.filter((s) => MATCH_LIFECYCLE_STATUSES.includes(s)) } : {}),
    });
    // Each row names both parties (names and e-mails): a read of each.
    for (const { node } of page.edges) {
      recordPersonaRead(context, node.mentorPersonaId, 'Query.programMatches');
      recordPersonaRead(context, node.menteePersonaId, 'Query.programMatches');
    }
    return connection(page, (view) => Object.assign(new MatchListItemType(), view));
  }

  @Authorized()
  @Query(() => [MatchListItemType], {
    description: 'Match requests a user is the mentor or the mentee of, newest first. Mentors and mentees ask for their own.',
  })
  async matchRequests(
    @Arg('userId', () => ID) userId: string,
    @Ctx() context: Context,
    @Arg('openOnly', () => Boolean, { defaultValue: false }) openOnly = false,
  ) {
    await assertCanReadUser(context, userId, 'personas');
    await consistentRead(context);
    const requests = await context.services.matching.matchRequestsFor(userId, { openOnly });
    for (const request of requests) {
      recordPersonaRead(context, request.mentorPersonaId, 'Query.matchRequests');
      recordPersonaRead(context, request.menteePersonaId, 'Query.matchRequests');
    }
    return requests.map((view) => Object.assign(new MatchListItemType(), view));
  }

  @Authorized('admin', 'auditor')
  @Query(() => [NotificationType], { description: 'The notification outbox, newest first: what was (or will be) e-mailed, to whom, and whether it went out.' })
  async notifications(
    @Ctx() context: Context,
    @Arg('programId', () => ID, { nullable: true }) programId?: string,
    @Arg('recipientUserId', () => ID, { nullable: true }) recipientUserId?: string,
    @Arg('state', () => String, { nullable: true, description: 'PENDING, SENDING, SENT or FAILED.' }) state?: string,
    @Arg('first', () => Int, { defaultValue: 50 }) first = 50,
  ) {
    if (state && !OUTBOX_STATES.includes(state as OutboxState)) {
      throw new DomainError('VALIDATION_FAILED', `state must be one of ${OUTBOX_STATES.join(', ')}; got ${state}.`, { field: 'state' });
    }
    if (!Number.isInteger(first) || first < 1 || first > 500) {
      throw new DomainError('VALIDATION_FAILED', `first must be between 1 and 500; got ${first}.`, { field: 'first' });
    }
    await consistentRead(context);
    const rows = await context.services.outbox({
      ...(programId ? { programId } : {}),
      ...(recipientUserId ? { recipientUserId } : {}),
      ...(state ? { state: state as OutboxState } : {}),
      limit: first,
    });
    // An e-mail names its recipient and says what happened to them: a read of that person.
    for (const row of rows) recordRead(context, { kind: 'USER_RECORD', objectId: `notification ${row.id}`, subjectUserId: row.recipientUserId, via: 'Query.notifications' });
    return rows.map((row) => Object.assign(new NotificationType(), row));
  }
}

@Resolver(() => ProgramType)
export class ProgramTemplatesResolver {
  @FieldResolver(() => [NotificationTemplateType], { description: 'Every e-mail of the matching workflow as this program sends it: its own template or the default.' })
  notificationTemplates(@Root() program: ProgramType & { notificationTemplates?: Record<string, { subject: string; body: string }> }) {
    return NOTIFICATION_KINDS.map((kind) => {
      const own = program.notificationTemplates?.[kind];
      return Object.assign(new NotificationTemplateType(), {
        kind,
        ...(own ?? DEFAULT_TEMPLATES[kind]),
        custom: Boolean(own),
        placeholders: [...TEMPLATE_PLACEHOLDERS[kind]],
      });
    });
  }
}
