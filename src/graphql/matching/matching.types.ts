import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { NotificationKind } from '../../domain';
import { PageInfoType } from '../lifecycle/history.type';
import { MatchType } from '../lifecycle/user.type';
import { NOTIFICATION_KIND_ENUM } from './matching.enums';

@ObjectType('MatchingFunnel', { description: 'Where a program\'s matching stands (the Matching page\'s funnel).' })
export class MatchingFunnelType {
  @Field(() => ID)
  programId!: string;

  @Field(() => Int, { description: 'Mentees ready to be matched (Active, RTBM).' })
  unmatchedMentees!: number;

  @Field(() => Int, { description: 'Of those, the ones not yet invited to submit mentor preferences ("Not Invited by Admin").' })
  uninvitedMentees!: number;

  @Field(() => Int, { description: 'Active mentors with capacity left after their live and staged matches.' })
  availableMentors!: number;

  @Field(() => Int)
  stagedMatches!: number;

  @Field(() => Int, { description: 'Requests waiting for approvals.' })
  requestedMatches!: number;

  @Field(() => Int)
  activeMatches!: number;

  @Field(() => Int, { description: 'Matches whose duration ran out.' })
  completedMatches!: number;
}

@ObjectType('UnmatchedMentee')
export class UnmatchedMenteeType {
  @Field(() => ID, { description: 'The persona to match or invite.' })
  personaId!: string;

  @Field(() => ID)
  userId!: string;

  @Field()
  name!: string;

  @Field()
  email!: string;

  @Field(() => ID, { nullable: true })
  partnerSiteId!: string | null;

  @Field(() => String, { nullable: true, description: 'When invited to submit mentor preferences (ISO-8601); null if never.' })
  invitedAt!: string | null;

  @Field(() => Int, { description: 'Requests naming this mentee that wait for approvals.' })
  openRequests!: number;

  @Field(() => Int)
  stagedMatches!: number;
}

@ObjectType('AvailableMentor')
export class AvailableMentorType {
  @Field(() => ID)
  userId!: string;

  @Field(() => ID, { description: 'The persona to name when matching this mentor.' })
  personaId!: string;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true, description: 'Null for a mentee choosing a mentor: they see who is available, not how to reach them.' })
  email!: string | null;

  @Field(() => Int, { description: 'Live matches at once: their own setting, else the program\'s default.' })
  capacity!: number;

  @Field()
  capacityIsProgramDefault!: boolean;

  @Field(() => Int, { nullable: true, description: 'Null for a mentee: a mentor\'s workload stays with staff.' })
  liveMatches!: number | null;

  @Field(() => Int, { nullable: true, description: 'Null for a mentee: a mentor\'s workload stays with staff.' })
  stagedMatches!: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Requests naming the mentor that wait for approvals (they do not take capacity). Null for a mentee.',
  })
  openRequests!: number | null;

  /** The program listed, for the access policy. */
  programId!: string;

  @Field(() => Int)
  capacityLeft!: number;
}

@ObjectType('MatchListItem', { description: 'A match with its participants\' names, for lists.' })
export class MatchListItemType extends MatchType {
  @Field()
  mentorName!: string;

  @Field(() => String, { nullable: true, description: 'Null for the mentee: participants know their partner by name, not by e-mail.' })
  mentorEmail!: string | null;

  @Field()
  menteeName!: string;

  @Field(() => String, { nullable: true, description: 'Null for the mentor: participants know their partner by name, not by e-mail.' })
  menteeEmail!: string | null;
}

const edgeAndConnection = <Node>(name: string, node: new () => Node) => {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => node)
    node!: Node;

    @Field()
    cursor!: string;
  }
  @ObjectType(`${name}Connection`)
  class Connection {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfoType)
    pageInfo!: PageInfoType;

    @Field(() => Int)
    totalCount!: number;
  }
  return Connection;
};

export const UnmatchedMenteeConnection = edgeAndConnection('UnmatchedMentee', UnmatchedMenteeType);
export const AvailableMentorConnection = edgeAndConnection('AvailableMentor', AvailableMentorType);
export const MatchListConnection = edgeAndConnection('MatchList', MatchListItemType);

@ObjectType('Notification', { description: 'One e-mail of the notification outbox.' })
export class NotificationType {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { description: 'The event it was written for.' })
  eventId!: string;

  @Field()
  eventType!: string;

  @Field(() => NOTIFICATION_KIND_ENUM)
  kind!: NotificationKind;

  @Field(() => ID)
  programId!: string;

  @Field(() => ID)
  recipientUserId!: string;

  @Field(() => String, { nullable: true })
  toAddress!: string | null;

  @Field()
  toName!: string;

  @Field()
  subject!: string;

  @Field()
  body!: string;

  @Field({ description: 'PENDING, SENDING, SENT or FAILED.' })
  state!: string;

  @Field(() => Int)
  attempts!: number;

  @Field(() => String, { nullable: true })
  lastError!: string | null;

  @Field({ description: 'When the event happened (ISO-8601).' })
  createdAt!: string;

  @Field(() => String, { nullable: true, description: 'ISO-8601.' })
  sentAt!: string | null;
}

@ObjectType('NotificationTemplate', { description: 'One of the program\'s own e-mails.' })
export class NotificationTemplateType {
  @Field(() => NOTIFICATION_KIND_ENUM)
  kind!: NotificationKind;

  @Field()
  subject!: string;

  @Field()
  body!: string;

  @Field({ description: 'False when the program uses the default for this kind.' })
  custom!: boolean;

  @Field(() => [String], { description: 'The placeholders this kind may use, e.g. recipientName for {{recipientName}}.' })
  placeholders!: string[];
}
