import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { ApprovingParty, MatchingProcess } from '../../domain';
import { APPROVING_PARTY_ENUM, MATCHING_PROCESS_ENUM } from './enums';

@ObjectType('Site', { description: 'A partner site (e.g. a school) or a mentor site list of a program.' })
export class SiteType {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;
}

@ObjectType('MatchingCriterion', { description: 'One auto-matching criterion and its weight.' })
export class MatchingCriterionType {
  @Field()
  criterion!: string;

  @Field()
  weight!: number;
}

@ObjectType('ProgramSettings', { description: 'How a program matches people.' })
export class ProgramSettingsType {
  @Field({ description: 'Whether matches may go live. Off until the program turns matching on.' })
  matchingEnabled!: boolean;

  @Field(() => MATCHING_PROCESS_ENUM)
  matchingProcess!: MatchingProcess;

  @Field(() => [APPROVING_PARTY_ENUM], { description: 'Who must approve a match request before it goes live.' })
  requiredApprovals!: ApprovingParty[];

  @Field(() => Int, { description: 'How long a match lasts, in months (default 6).' })
  matchDurationMonths!: number;

  @Field(() => Int, { description: 'Business days, in the program\'s time zone, before an unanswered request expires (default 3).' })
  requestExpiryBusinessDays!: number;

  @Field(() => Int, { description: 'Live matches a mentor may have at once, unless set for that mentor (default 1).' })
  mentorCapacity!: number;

  @Field({ description: 'Whether volunteer registrations need their manager\'s validation.' })
  managerValidationRequired!: boolean;

  @Field(() => [MatchingCriterionType])
  matchingCriteria!: MatchingCriterionType[];

  @Field(() => Int, { description: 'Health: a live match with no meeting for this many weeks needs a check-in (default 4).' })
  checkInAfterWeeks!: number;

  @Field(() => Int, { description: 'Health: this many meetings missed in a row flag a match for a check-in (default 2).' })
  missedInARow!: number;

  @Field(() => String, { nullable: true, description: 'Country (ISO 3166-1) whose public holidays are not business days.' })
  holidayCountry!: string | null;

  @Field(() => String, { nullable: true, description: 'Subdivision (ISO 3166-2) of holidayCountry whose own public holidays are added.' })
  holidayRegion!: string | null;

  @Field(() => [String], { description: 'The program\'s own closed days (YYYY-MM-DD in its time zone), not business days.' })
  closedDays!: string[];
}

@ObjectType('Program', { description: 'A mentoring program: a school-year cohort, a company\'s mentoring scheme.' })
export class ProgramType {
  @Field(() => ID, { name: 'id' })
  programId!: string;

  @Field()
  name!: string;

  @Field({ description: 'IANA time zone, e.g. America/New_York.' })
  timeZone!: string;

  @Field(() => ProgramSettingsType)
  settings!: ProgramSettingsType;

  @Field(() => [SiteType])
  partnerSites!: SiteType[];

  @Field(() => [SiteType])
  mentorSiteLists!: SiteType[];

  @Field(() => [String], { description: 'Reasons a match can be closed with: the defaults, then the program\'s own.' })
  closureReasons!: string[];

  @Field({ description: 'ISO-8601.' })
  createdAt!: string;

  @Field({ description: 'ISO-8601.' })
  updatedAt!: string;
}
