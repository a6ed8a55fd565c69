import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { LogInAccess, MatchStatus, ParticipantRole, PersonaStatus, UserStatus } from '../../domain';
import type { MatchEndReason, MatchView, MatchViewStatus, PersonaView, UserView } from '../../../projections/lifecycle/lifecycle.types';
import { APPROVING_PARTY_ENUM, LOG_IN_ENUM, MATCH_STATE_ENUM, MATCH_STATUS_ENUM, PERSONA_STATUS_ENUM, REMATCH_INTENT_ENUM, ROLE_ENUM, USER_STATUS_ENUM } from './enums';
import type { ApprovingParty, MatchSource, RematchIntent, RequestingParty } from '../../domain';
import { MATCH_SOURCE_ENUM, REQUESTING_PARTY_ENUM, REQUEST_WAITING_ENUM } from '../matching/matching.enums';
import { PageInfoType } from './history.type';

@ObjectType('Manager', { description: 'A participant\'s manager (used by manager reports).' })
export class ManagerType {
  @Field()
  name!: string;

  @Field()
  email!: string;
}

@ObjectType('User', { description: 'One person, unique by e-mail. The user status applies to all of their personas.' })
export class UserType implements Omit<UserView, 'managerName' | 'managerEmail' | 'profile'> {
  @Field(() => ID, { name: 'id' })
  userId!: string;

  /** Resolved by UserResolver (analysts read a pseudonym). */
  email!: string;

  /** Resolved by UserResolver (analysts read a pseudonym). */
  name!: string;

  @Field(() => ID, { nullable: true, description: 'The program the user registered in. Null when the caller sees this user only as a match partner (by name).' })
  programId!: string;

  @Field(() => ROLE_ENUM, { nullable: true, description: 'The role the user registered with. Null when the caller sees this user only as a match partner (by name).' })
  role!: ParticipantRole;

  /** Resolved by UserResolver (analysts read none). */
  company!: string | null;

  managerName!: string | null;
  managerEmail!: string | null;

  @Field(() => USER_STATUS_ENUM, { name: 'status', nullable: true, description: 'Null when the caller sees this user only as a match partner (by name).' })
  userStatus!: UserStatus;

  @Field(() => Boolean, { nullable: true, description: 'Whether the application was completed (which moved the user to SI). Null when the caller sees this user only as a match partner (by name).' })
  applicationCompleted!: boolean;

  @Field(() => String, { nullable: true, description: 'ISO-8601. Null when the caller sees this user only as a match partner (by name).' })
  registeredAt!: string;

  @Field(() => String, { nullable: true, description: 'ISO-8601. Null when the caller sees this user only as a match partner (by name).' })
  updatedAt!: string;
}

/** A persona's own facts; `Persona` adds its user, times and (through its resolver) its relations. */
@ObjectType('PersonaSnapshot', { description: 'A persona as it stood at a past moment.' })
export class PersonaSnapshotType {
  @Field(() => ID, { name: 'id' })
  personaId!: string;

  @Field(() => Int, { nullable: true, description: '1 for the persona every user starts with, then 2, 3, ... for rematches. Null when the caller sees this persona only as their match partner\'s.' })
  number!: number;

  @Field(() => ID)
  programId!: string;

  @Field(() => ROLE_ENUM)
  role!: ParticipantRole;

  @Field(() => PERSONA_STATUS_ENUM, { nullable: true, description: 'Null when the caller sees this persona only as their match partner\'s.' })
  personaStatus!: PersonaStatus;

  @Field(() => MATCH_STATUS_ENUM, { nullable: true, description: 'Null when the caller sees this persona only as their match partner\'s.' })
  matchStatus!: MatchStatus;

  @Field(() => ID, { nullable: true, description: 'The one match this persona was ever in. Null when the caller sees this persona only as their match partner\'s.' })
  matchId!: string | null;

  @Field(() => ID, { nullable: true })
  partnerSiteId!: string | null;

  @Field(() => ID, { nullable: true })
  mentorSiteListId!: string | null;
}

@ObjectType('Persona', { description: 'One participation of a user in one program, in one role. Matched at most once.' })
export class PersonaType extends PersonaSnapshotType implements PersonaView {
  @Field(() => ID, { nullable: true, description: 'Null when the caller sees this persona only as their match partner\'s.' })
  userId!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Why the persona exists: REGISTRATION, REMATCH_REQUESTED, MADE_RESCREENING or ADDITIONAL_MATCH (a mentor\'s extra concurrent match).',
  })
  originKind!: PersonaView['originKind'];

  @Field(() => String, { nullable: true, description: 'When the mentee was invited to submit mentor preferences (ISO-8601); null if never.' })
  invitedAt!: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Its match ran its full duration (the persona stays MATCHED). Null when the caller sees this persona only as their match partner\'s.' })
  matchCompleted!: boolean;

  @Field(() => String, { nullable: true, description: 'ISO-8601. Null when the caller sees this persona only as their match partner\'s.' })
  createdAt!: string;

  @Field(() => String, { nullable: true, description: 'ISO-8601. Null when the caller sees this persona only as their match partner\'s.' })
  updatedAt!: string;
}

@ObjectType('Match', { description: 'A mentor persona and a mentee persona in one program.' })
export class MatchType {
  @Field(() => ID, { name: 'id' })
  matchId!: string;

  @Field(() => ID)
  programId!: string;

  mentorUserId!: string;
  mentorPersonaId!: string;
  menteeUserId!: string;
  menteePersonaId!: string;

  @Field(() => MATCH_STATE_ENUM)
  status!: MatchViewStatus;

  @Field(() => MATCH_SOURCE_ENUM, { description: 'How the match was made: by an admin, by auto-matching, or from a participant\'s request.' })
  source!: MatchSource;

  @Field(() => Float, { nullable: true, description: 'Auto-matching\'s score for the pair.' })
  score!: number | null;

  @Field(() => ID, { nullable: true, description: 'The auto-matching run that staged it.' })
  runId!: string | null;

  explanation!: MatchView['explanation'];

  @Field(() => REQUESTING_PARTY_ENUM, { nullable: true, description: 'Requests: who asked.' })
  requestedBy!: RequestingParty | null;

  @Field(() => [APPROVING_PARTY_ENUM], { nullable: true, description: 'Requests: the approvals the program required when it was made.' })
  requiredApprovals!: ApprovingParty[] | null;

  @Field(() => [APPROVING_PARTY_ENUM], { nullable: true, description: 'Requests: the approvals still missing.' })
  pendingApprovals!: ApprovingParty[] | null;

  @Field(() => REQUEST_WAITING_ENUM, {
    nullable: true,
    description: 'An open request\'s seed-004 category (Match Request-Waiting Mentee / Mentor / 2 / Admin Approval); null otherwise.',
  })
  requestWaitingFor(): keyof typeof REQUEST_WAITING_ENUM | null {
    if (this.status !== 'REQUESTED' || !this.pendingApprovals || this.pendingApprovals.length === 0) return null;
    if (this.pendingApprovals.length > 1) return 'WAITING_2_APPROVALS';
    return `WAITING_${this.pendingApprovals[0]!}_APPROVAL` as keyof typeof REQUEST_WAITING_ENUM;
  }

  @Field(() => String, { nullable: true, description: 'Requests: the requester\'s message.' })
  requestMessage!: string | null;

  @Field(() => String, { nullable: true, description: 'Requests: when it expires unanswered (ISO-8601).' })
  expiresAt!: string | null;

  @Field(() => APPROVING_PARTY_ENUM, { nullable: true, description: 'Declined requests: who declined.' })
  declinedBy!: ApprovingParty | null;

  @Field(() => String, { nullable: true, description: 'Declined requests: the message sent back to the requester.' })
  declineMessage!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Withdrawn requests and discarded staged matches: why (BY_ADMIN, MENTEE_MATCHED, PARTICIPANT_UNAVAILABLE, WITHDRAWN_BY_REQUESTER).',
  })
  endReason!: MatchEndReason | null;

  @Field(() => ID, { nullable: true, description: 'With MENTEE_MATCHED: the match the mentee went into instead.' })
  otherMatchId!: string | null;

  @Field(() => String, { nullable: true })
  closureReason!: string | null;

  @Field(() => REMATCH_INTENT_ENUM, { nullable: true, description: 'Asked when the match closed.' })
  mentorRematchIntent!: RematchIntent | null;

  @Field(() => REMATCH_INTENT_ENUM, { nullable: true, description: 'Asked when the match closed.' })
  menteeRematchIntent!: RematchIntent | null;

  @Field({ description: 'ISO-8601.' })
  createdAt!: string;

  @Field(() => String, { nullable: true, description: 'When it went live (ISO-8601).' })
  activatedAt!: string | null;

  @Field(() => String, { nullable: true, description: 'When its duration runs out (ISO-8601); set when it goes live.' })
  endsAt!: string | null;

  @Field(() => String, { nullable: true, description: 'ISO-8601.' })
  completedAt!: string | null;

  @Field(() => String, { nullable: true, description: 'ISO-8601.' })
  closedAt!: string | null;

  @Field(() => String, { nullable: true, description: 'When a request or staged match ended without going live (ISO-8601).' })
  endedAt!: string | null;

  @Field({ description: 'ISO-8601.' })
  updatedAt!: string;
}

@ObjectType('UserEdge')
export class UserEdgeType {
  @Field(() => UserType)
  node!: UserType;

  @Field()
  cursor!: string;
}

@ObjectType('UserConnection')
export class UserConnectionType {
  @Field(() => [UserEdgeType])
  edges!: UserEdgeType[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;

  @Field(() => Int, { description: 'How many users match the filter.' })
  totalCount!: number;
}

@ObjectType('Access', { description: 'What a person can do, from their user status and match status together.' })
export class AccessType {
  @Field(() => LOG_IN_ENUM)
  logIn!: LogInAccess;

  @Field()
  seeCurriculum!: boolean;
}

@ObjectType('UserSnapshot', { description: 'A user as they stood at a past moment, folded from their events.' })
export class UserSnapshotType {
  @Field({ description: 'The moment asked for, ISO-8601.' })
  asOf!: string;

  @Field({ description: 'False when the user had not registered yet at that moment (the other fields are then null).' })
  existed!: boolean;

  @Field(() => ID, { name: 'id' })
  userId!: string;

  @Field(() => String, { nullable: true })
  email!: string | null;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => USER_STATUS_ENUM, { nullable: true })
  status!: UserStatus | null;

  @Field(() => Boolean, { nullable: true })
  applicationCompleted!: boolean | null;

  @Field(() => AccessType, { nullable: true })
  access!: AccessType | null;

  @Field(() => [PersonaSnapshotType])
  personas!: PersonaSnapshotType[];

  @Field(() => Int, { description: 'How many of the user\'s events were folded.' })
  eventCount!: number;
}
