import { ArrayMaxSize, ArrayMinSize, IsBoolean, IsEmail, IsIn, IsInt, IsOptional, Length, Max, Min, ValidateNested } from '../validators';
import { Field, ID, InputType, Int } from 'type-graphql';
import { SETTING_LIMITS, type ApprovingParty, type MatchingProcess, type MatchStatus, type ParticipantRole, type RematchIntent, type UserStatus } from '../../domain';
import {
  APPROVING_PARTY_ENUM,
  MATCHING_PROCESS_ENUM,
  MATCH_STATUS_ENUM,
  REMATCH_INTENT_ENUM,
  ROLE_ENUM,
  USER_STATUS_ENUM,
} from './enums';

/** What every command input may carry besides its own fields. */
@InputType('CommandInput', { description: 'Fields every command input has.' })
export abstract class CommandInput {
  @Field(() => String, { nullable: true, description: 'Why: recorded with the events and shown in the history.' })
  @IsOptional()
  @Length(1, 1000)
  reason?: string;

  @Field(() => String, {
    nullable: true,
    description: 'A key of your choosing: a retry with the same key changes nothing and returns the first result.',
  })
  @IsOptional()
  @Length(8, 200)
  idempotencyKey?: string;
}

@InputType('SiteInput')
export class SiteInput {
  @Field(() => ID)
  @Length(1, 100)
  id!: string;

  @Field()
  @Length(1, 200)
  name!: string;
}

@InputType('ProgramSettingsInput', {
  description: 'Omitted fields take the defaults (matching off, admin-led, 6 months, 3 business days, no holidays). Change them later with updateProgramSettings.',
})
export class ProgramSettingsInput {
  @Field(() => MATCHING_PROCESS_ENUM, { nullable: true })
  @IsOptional()
  matchingProcess?: MatchingProcess;

  @Field(() => [APPROVING_PARTY_ENUM], { nullable: true })
  @IsOptional()
  requiredApprovals?: ApprovingParty[];

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(60)
  matchDurationMonths?: number;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(60)
  requestExpiryBusinessDays?: number;

  @Field(() => Int, { nullable: true, description: 'Live matches a mentor may have at once, unless set for that mentor (default 1).' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(50)
  mentorCapacity?: number;

  @Field({ nullable: true })
  @IsOptional()
  managerValidationRequired?: boolean;

  @Field(() => Int, { nullable: true, description: 'Health: a live match with no meeting for this many weeks needs a check-in (default 4).' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(SETTING_LIMITS.checkInAfterWeeks)
  checkInAfterWeeks?: number;

  @Field(() => Int, { nullable: true, description: 'Health: this many meetings missed in a row flag a match for a check-in (default 2).' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(SETTING_LIMITS.missedInARow)
  missedInARow?: number;

  @Field(() => String, { nullable: true, description: 'ISO 3166-1 country code (e.g. US, FR) whose public holidays are not business days.' })
  @IsOptional()
  @Length(2, 2)
  holidayCountry?: string;

  @Field(() => String, { nullable: true, description: 'ISO 3166-2 subdivision of holidayCountry (e.g. NY) adding its own public holidays.' })
  @IsOptional()
  @Length(1, 10)
  holidayRegion?: string;

  @Field(() => [String], { nullable: true, description: 'The program\'s own closed days, YYYY-MM-DD in its time zone.' })
  @IsOptional()
  @ArrayMaxSize(SETTING_LIMITS.closedDays)
  @Length(10, 10, { each: true })
  closedDays?: string[];
}

@InputType('CreateProgramInput')
export class CreateProgramInput extends CommandInput {
  @Field()
  @Length(1, 200)
  name!: string;

  @Field({ description: 'IANA time zone, e.g. America/New_York.' })
  @Length(1, 100)
  timeZone!: string;

  @Field(() => ProgramSettingsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  settings?: ProgramSettingsInput;

  @Field(() => [SiteInput], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  partnerSites?: SiteInput[];

  @Field(() => [SiteInput], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  mentorSiteLists?: SiteInput[];

  @Field(() => [String], { nullable: true, description: 'Closure reasons beyond the defaults.' })
  @IsOptional()
  @ArrayMaxSize(100)
  @Length(1, 200, { each: true })
  extraClosureReasons?: string[];
}

@InputType('ProgramInput', { description: 'Names a program.' })
export class ProgramInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  programId!: string;
}

@InputType('AddClosureReasonInput')
export class AddClosureReasonInput extends ProgramInput {
  @Field()
  @Length(1, 200)
  closureReason!: string;
}

@InputType('UpdateProgramSettingsInput', {
  description:
    'The settings to change; omitted fields stay as they are (null clears holidayCountry/holidayRegion). `reason` is required: ' +
    'it is recorded with the change. Open requests keep the approvals and expiry they were made with; staged matches stay staged.',
})
export class UpdateProgramSettingsInput extends ProgramInput {
  @Field(() => MATCHING_PROCESS_ENUM, { nullable: true, description: 'ADMIN_LED, USER_LED_WITH_APPROVAL or USER_LED.' })
  @IsOptional()
  matchingProcess?: MatchingProcess;

  @Field(() => [APPROVING_PARTY_ENUM], { nullable: true, description: 'Who must approve a request (USER_LED_WITH_APPROVAL needs at least one).' })
  @IsOptional()
  @ArrayMaxSize(3)
  requiredApprovals?: ApprovingParty[];

  @Field(() => Int, { nullable: true, description: 'Business days before an unanswered request expires.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(SETTING_LIMITS.requestExpiryBusinessDays)
  requestExpiryBusinessDays?: number;

  @Field(() => Int, { nullable: true, description: 'How long a match lasts once live, in months.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(SETTING_LIMITS.matchDurationMonths)
  matchDurationMonths?: number;

  @Field(() => Int, { nullable: true, description: 'Default live matches per mentor (a mentor\'s own capacity wins).' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(SETTING_LIMITS.mentorCapacity)
  mentorCapacity?: number;

  @Field(() => String, { nullable: true, description: 'IANA time zone, e.g. Europe/Paris: where business days and durations are counted.' })
  @IsOptional()
  @Length(1, 100)
  timeZone?: string;

  @Field(() => Boolean, { nullable: true })
  @IsOptional()
  @IsBoolean()
  managerValidationRequired?: boolean;

  @Field(() => Int, { nullable: true, description: 'Health: a live match with no meeting for this many weeks needs a check-in.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(SETTING_LIMITS.checkInAfterWeeks)
  checkInAfterWeeks?: number;

  @Field(() => Int, { nullable: true, description: 'Health: this many meetings missed in a row flag a match for a check-in.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(SETTING_LIMITS.missedInARow)
  missedInARow?: number;

  @Field(() => String, { nullable: true, description: 'ISO 3166-1 country code (e.g. US, FR) whose public holidays are not business days; null: none.' })
  @IsOptional()
  @Length(2, 2)
  holidayCountry?: string | null;

  @Field(() => String, { nullable: true, description: 'ISO 3166-2 subdivision of holidayCountry (e.g. NY) adding its own public holidays; null: none.' })
  @IsOptional()
  @Length(1, 10)
  holidayRegion?: string | null;

  @Field(() => [String], { nullable: true, description: 'The program\'s own closed days, YYYY-MM-DD in its time zone (replaces the list).' })
  @IsOptional()
  @ArrayMaxSize(SETTING_LIMITS.closedDays)
  @Length(10, 10, { each: true })
  closedDays?: string[];
}

@InputType('AddSiteInput')
export class AddSiteInput extends ProgramInput {
  @Field(() => SiteInput)
  @ValidateNested()
  site!: SiteInput;
}

@InputType('ManagerInput')
export class ManagerInput {
  @Field()
  @Length(1, 200)
  name!: string;

  @Field()
  @IsEmail({}, { message: 'manager e-mail must be an e-mail address' })
  email!: string;
}

@InputType('RegisterUserInput')
export class RegisterUserInput extends CommandInput {
  @Field({ description: 'Unique across the whole system, compared case-insensitively.' })
  @IsEmail({}, { message: 'email must be an e-mail address' })
  @Length(3, 320)
  email!: string;

  @Field()
  @Length(1, 200)
  name!: string;

  @Field(() => ID)
  @Length(1, 100)
  programId!: string;

  @Field(() => ROLE_ENUM)
  role!: ParticipantRole;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200)
  company?: string;

  @Field(() => ManagerInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  manager?: ManagerInput;
}

@InputType('UserInput', { description: 'Names a user.' })
export class UserInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  userId!: string;
}

@InputType('ErasePersonalDataInput', { description: "Names the person whose personal data to erase; `reason` (the request it honours) is recorded, so give no names in it." })
export class ErasePersonalDataInput extends UserInput {
  @Field({
    defaultValue: false,
    description: 'Must be true to erase: without it the command is refused with CONFIRMATION_REQUIRED, saying what would be erased.',
  })
  @IsBoolean()
  confirm!: boolean;
}

@InputType('ChangeUserStatusInput')
export class ChangeUserStatusInput extends UserInput {
  @Field(() => USER_STATUS_ENUM)
  status!: UserStatus;
}

@InputType('UserStatusChangeInput', { description: 'One user\'s change within a bulk change.' })
export class UserStatusChangeInput {
  @Field(() => ID)
  @Length(1, 100)
  userId!: string;

  @Field(() => USER_STATUS_ENUM)
  status!: UserStatus;
}

@InputType('ChangeUserStatusesInput')
export class ChangeUserStatusesInput extends CommandInput {
  @Field(() => [UserStatusChangeInput], { description: 'Up to 500 users; each change is its own event.' })
  @ArrayMinSize(1)
  @ArrayMaxSize(500)
  @ValidateNested({ each: true })
  changes!: UserStatusChangeInput[];
}

@InputType('RevertUserStatusChangeInput')
export class RevertUserStatusChangeInput extends UserInput {
  @Field(() => ID, { description: 'The changeId of the status change (or revert) to undo, from the user\'s history.' })
  @Length(1, 100)
  changeId!: string;
}

@InputType('PersonaInput', { description: 'Names a persona.' })
export class PersonaInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 200)
  personaId!: string;
}

@InputType('ChangePersonaMatchStatusInput', {
  description: 'The manual moves: RESCREENING → RTBM ("Make RTBM"); mentees only: RESCREENING → NOT_MATCHING and back.',
})
export class ChangePersonaMatchStatusInput extends PersonaInput {
  @Field(() => MATCH_STATUS_ENUM)
  @IsIn(['RTBM', 'NOT_MATCHING', 'RESCREENING'], {
    message: 'matchStatus can be set to RTBM, NOT_MATCHING or RESCREENING here; matching and closing have their own mutations',
  })
  matchStatus!: MatchStatus;
}

@InputType('InactivatePersonaInput')
export class InactivatePersonaInput extends PersonaInput {
  @Field({
    defaultValue: false,
    description:
      'Must be true to inactivate a MATCHED persona: its mentor and mentee can then no longer communicate, so its match is closed ' +
      '(closure reason "Persona inactivated (created in error)") and the mentor\'s place is freed.',
  })
  confirmCutCommunication!: boolean;

  @Field(() => REMATCH_INTENT_ENUM, {
    defaultValue: 'MAYBE',
    description:
      'When a MATCHED persona is inactivated: does the partner, whose match is closed, want another match? YES or MAYBE (the default) ' +
      'creates a Rescreening persona for them; NO creates none (an admin can "Make RS" later).',
  })
  partnerRematchIntent!: RematchIntent;
}

@InputType('AssignPersonaToSiteInput')
export class AssignPersonaToSiteInput extends PersonaInput {
  @Field(() => ID)
  @Length(1, 100)
  partnerSiteId!: string;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @Length(1, 100)
  mentorSiteListId?: string;
}

@InputType('MatchPersonasInput', {
  description: 'Match a mentee with a mentor (admin-led): live at once ("Assign to Active Matches") or staged ("Assign to Staged Matches").',
})
export class MatchPersonasInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  programId!: string;

  @Field(() => ID, { description: 'The mentor\'s persona in the program (RTBM, or in a live match when the mentor has capacity left).' })
  @Length(1, 200)
  mentorPersonaId!: string;

  @Field(() => ID, { description: 'The mentee\'s RTBM persona in the program.' })
  @Length(1, 200)
  menteePersonaId!: string;

  @Field({
    defaultValue: false,
    description: 'True: staged, not live, nobody notified (allowed while matching is off); approve it later. False: live now, both notified.',
  })
  @IsBoolean()
  stage!: boolean;
}

@InputType('MatchInput', { description: 'Names a match.' })
export class MatchInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  matchId!: string;
}

@InputType('CloseMatchInput')
export class CloseMatchInput extends MatchInput {
  @Field({ description: 'One of the program\'s closure reasons.' })
  @Length(1, 200)
  closureReason!: string;

  @Field(() => REMATCH_INTENT_ENUM, { description: 'Does the mentor want another match? YES or MAYBE creates a Rescreening persona.' })
  mentorRematchIntent!: RematchIntent;

  @Field(() => REMATCH_INTENT_ENUM, { description: 'Does the mentee want another match? YES or MAYBE creates a Rescreening persona.' })
  menteeRematchIntent!: RematchIntent;
}

@InputType('UserFilterInput')
export class UserFilterInput {
  @Field(() => [USER_STATUS_ENUM], { nullable: true })
  @IsOptional()
  statuses?: UserStatus[];

  @Field(() => ROLE_ENUM, { nullable: true })
  @IsOptional()
  role?: ParticipantRole;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  programId?: string;

  @Field(() => ID, { nullable: true, description: 'Users with a persona at this partner site.' })
  @IsOptional()
  partnerSiteId?: string;

  @Field(() => String, { nullable: true, description: 'Part of the name or e-mail, any case.' })
  @IsOptional()
  @Length(1, 200)
  search?: string;
}
