import { ArrayMaxSize, IsBoolean, IsIn, IsNumber, IsOptional, Length, Max, Min, ValidateNested } from '../validators';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { CRITERION_KINDS, MAX_CRITERIA, OBJECTIVES, type CriterionKind, type Objective } from '../../domain';
import { UserError } from '../errors';
import { CommandInput } from '../lifecycle/inputs';
import { MatchType } from '../lifecycle/user.type';

const asEnum = <T extends string>(values: readonly T[]): { [K in T]: K } =>
  Object.fromEntries(values.map((value) => [value, value])) as { [K in T]: K };

export const CRITERION_KIND_ENUM = asEnum(CRITERION_KINDS);
export const OBJECTIVE_ENUM = asEnum(OBJECTIVES);
registerEnumType(CRITERION_KIND_ENUM, {
  name: 'CriterionKind',
  description: 'How a criterion compares the two profiles.',
  valuesConfig: {
    SET_SIMILARITY: { description: 'Overlap of two lists (interests, languages): weight × shared / all.' },
    EQUALITY: { description: 'Same value on both sides (industry): weight or nothing.' },
    DISTANCE: { description: 'Numbers close together (time zone offset): weight × (1 − distance / maxDistance).' },
    PREFERENCE: { description: 'The mentee\'s preference (preferenceAttribute) met by the mentor\'s attribute, or no preference: weight.' },
  },
});
registerEnumType(OBJECTIVE_ENUM, {
  name: 'AutoMatchingObjective',
  valuesConfig: {
    MAX_SCORE: { description: 'The highest total score.' },
    MAX_MATCHED_THEN_SCORE: { description: 'As many mentees matched as possible, then the highest total score.' },
  },
});

@ObjectType('AutoMatchingCriterion', { description: 'One auto-matching criterion of a program.' })
@InputType('AutoMatchingCriterionInput')
export class AutoMatchingCriterionType {
  @Field({ description: 'The profile attribute compared (for PREFERENCE, the mentor\'s).' })
  @Length(1, 64)
  attribute!: string;

  @Field(() => CRITERION_KIND_ENUM)
  @IsIn(CRITERION_KINDS as CriterionKind[])
  kind!: CriterionKind;

  @Field(() => Float, { description: 'Points for a full match, 0 to 1000.' })
  @IsNumber()
  @Min(0)
  @Max(1000)
  weight!: number;

  @Field({ defaultValue: false, description: 'A hard constraint: pairs scoring nothing here are never made ("must share a language").' })
  @IsBoolean()
  required!: boolean;

  @Field(() => String, { nullable: true, description: 'PREFERENCE: the mentee\'s attribute holding the preference.' })
  @IsOptional()
  @Length(1, 64)
  preferenceAttribute?: string | null;

  @Field(() => Float, { nullable: true, description: 'DISTANCE: the distance at which the criterion is worth nothing.' })
  @IsOptional()
  @IsNumber()
  maxDistance?: number | null;

  @Field(() => String, { nullable: true, description: 'How explanations name it ("interests").' })
  @IsOptional()
  @Length(1, 100)
  label?: string | null;
}

@InputType('SetMatchingCriteriaInput')
export class SetMatchingCriteriaInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  programId!: string;

  @Field(() => [AutoMatchingCriterionType])
  @ArrayMaxSize(MAX_CRITERIA)
  @ValidateNested({ each: true })
  criteria!: AutoMatchingCriterionType[];

  @Field(() => OBJECTIVE_ENUM, { defaultValue: 'MAX_SCORE' })
  @IsIn(OBJECTIVES as Objective[])
  objective!: Objective;
}

@InputType('PairBanInput', { description: 'A mentor and a mentee (by user id) never to be paired in this program.' })
export class PairBanInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  programId!: string;

  @Field(() => ID)
  @Length(1, 100)
  mentorUserId!: string;

  @Field(() => ID)
  @Length(1, 100)
  menteeUserId!: string;
}

@InputType('RunAutoMatchingInput')
export class RunAutoMatchingInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  programId!: string;
}

@ObjectType('AutoMatchingConfiguration')
export class AutoMatchingConfigurationType {
  @Field(() => Int, { description: '0 before any criteria were set; each change adds one.' })
  version!: number;

  @Field(() => [AutoMatchingCriterionType])
  criteria!: AutoMatchingCriterionType[];

  @Field(() => OBJECTIVE_ENUM)
  objective!: Objective;
}

@ObjectType('ScorePart', { description: 'One criterion\'s share of a pair\'s score.' })
export class ScorePartType {
  @Field()
  criterion!: string;

  @Field(() => Float)
  points!: number;

  @Field({ description: 'What was compared: "shares 3 of 5 interests (...)".' })
  detail!: string;
}

@ObjectType('MentorSuggestion')
export class MentorSuggestionType {
  @Field(() => ID)
  mentorUserId!: string;

  @Field(() => ID, { description: 'Name it when matching or requesting.' })
  mentorPersonaId!: string;

  @Field()
  name!: string;

  @Field(() => Float)
  score!: number;

  @Field(() => [ScorePartType], { description: 'Why: the parts add up to the score.' })
  explanation!: ScorePartType[];

  @Field(() => Int)
  capacityLeft!: number;
}

@ObjectType('AutoMatchingRun', { description: 'One auto-matching run: what it considered, staged, and how close to optimal it is proven to be.' })
export class AutoMatchingRunType {
  @Field(() => ID)
  runId!: string;

  @Field(() => Int)
  criteriaVersion!: number;

  @Field(() => OBJECTIVE_ENUM)
  objective!: Objective;

  @Field(() => Int)
  menteesConsidered!: number;

  @Field(() => Int)
  mentorsConsidered!: number;

  @Field(() => [ID])
  stagedMatchIds!: string[];

  @Field(() => Int, { description: 'Pairs the solver chose that could not be staged because a participant changed meanwhile.' })
  refusedPairs!: number;

  @Field(() => Float)
  totalScore!: number;

  @Field(() => Float, { description: 'No assignment of these participants can score more (a dual bound).' })
  upperBound!: number;

  @Field(() => Float, { description: 'Relative distance between the total and the bound: 0 is proven optimal.' })
  gap!: number;

  @Field()
  method!: string;
}

@ObjectType('RunAutoMatchingPayload')
export class RunAutoMatchingPayload {
  @Field(() => [UserError])
  errors!: UserError[];

  @Field(() => AutoMatchingRunType, { nullable: true })
  run!: AutoMatchingRunType | null;

  @Field(() => [MatchType], { description: 'The staged matches, with their scores and explanations. Approve them with approveStagedMatches.' })
  matches!: MatchType[];

  @Field(() => String, { nullable: true, description: 'Use as X-Consistent-With.' })
  position!: string | null;
}
