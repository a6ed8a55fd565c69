import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { LogInAccess, MatchStatus, ParticipantRole, PersonaStatus, UserStatus } from '../../domain';
import type { MatchViewStatus, PersonaView, UserView } from '../../readmodels/lifecycle';
import { LOG_IN_ENUM, MATCH_STATE_ENUM, MATCH_STATUS_ENUM, PERSONA_STATUS_ENUM, REMATCH_INTENT_ENUM, ROLE_ENUM, USER_STATUS_ENUM } from './enums';
import type { RematchIntent } from '../../domain';
import { PageInfoType } from './history.type';

@ObjectType('Manager', { description: 'A participant\'s manager (used by manager reports).' })
export class ManagerType {
  @Field()
  name!: string;

  @Field()
  email!: string;
}

@ObjectType('User', { description: 'One person, unique by e-mail. The user status applies to all of their personas.' })
export class UserType implements Omit<UserView, 'managerName' | 'managerEmail'> {
  @Field(() => ID, { name: 'id' })
  userId!: string;

  @Field()
  email!: string;

  @Field()
  name!: string;

  @Field(() => ID, { description: 'The program the user registered in.' })
  programId!: string;

  @Field(() => ROLE_ENUM, { description: 'The role the user registered with.' })
  role!: ParticipantRole;

  @Field(() => String, { nullable: true })
  company!: string | null;

  managerName!: string | null;
  managerEmail!: string | null;

  @Field(() => USER_STATUS_ENUM, { name: 'status' })
  userStatus!: UserStatus;

  @Field({ description: 'Whether the application was completed (which moved the user to SI).' })
  applicationCompleted!: boolean;

  @Field({ description: 'ISO-8601.' })
  registeredAt!: string;

  @Field({ description: 'ISO-8601.' })
  updatedAt!: string;
}

/** A persona's own facts; `Persona` adds its user, times and (through its resolver) its relations. */
@ObjectType('PersonaSnapshot', { description: 'A persona as it stood at a past moment.' })
export class PersonaSnapshotType {
  @Field(() => ID, { name: 'id' })
  personaId!: string;

  @Field(() => Int, { description: '1 for the persona every user starts with, then 2, 3, ... for rematches.' })
  number!: number;

  @Field(() => ID)
  programId!: string;

  @Field(() => ROLE_ENUM)
  role!: ParticipantRole;

  @Field(() => PERSONA_STATUS_ENUM)
  personaStatus!: PersonaStatus;

  @Field(() => MATCH_STATUS_ENUM)
  matchStatus!: MatchStatus;

  @Field(() => ID, { nullable: true, description: 'The one match this persona was ever in.' })
  matchId!: string | null;

  @Field(() => ID, { nullable: true })
  partnerSiteId!: string | null;

  @Field(() => ID, { nullable: true })
  mentorSiteListId!: string | null;
}

@ObjectType('Persona', { description: 'One participation of a user in one program, in one role. Matched at most once.' })
export class PersonaType extends PersonaSnapshotType implements PersonaView {
  @Field(() => ID)
  userId!: string;

  @Field({ description: 'ISO-8601.' })
  createdAt!: string;

  @Field({ description: 'ISO-8601.' })
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

  @Field(() => String, { nullable: true })
  closureReason!: string | null;

  @Field(() => REMATCH_INTENT_ENUM, { nullable: true, description: 'Asked when the match closed.' })
  mentorRematchIntent!: RematchIntent | null;

  @Field(() => REMATCH_INTENT_ENUM, { nullable: true, description: 'Asked when the match closed.' })
  menteeRematchIntent!: RematchIntent | null;

  @Field({ description: 'ISO-8601.' })
  createdAt!: string;

  @Field(() => String, { nullable: true, description: 'ISO-8601.' })
  closedAt!: string | null;

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
