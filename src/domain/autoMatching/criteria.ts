import { DomainError } from '../shared/decider';

/**
 * A program's auto-matching criteria (issue 5): which profile attributes count, how much, and which
 * must hold for a pair to be possible at all. Edited by the program's admins as events; each change
 * makes a new version, and every auto-matching run records the version it used.
 */

export type CriterionKind =
  /** Overlap of two sets (interests, languages): weight × |A ∩ B| / |A ∪ B|. */
  | 'SET_SIMILARITY'
  /** The same value on both sides (industry): weight or 0. */
  | 'EQUALITY'
  /** Numbers close together (time zone offset, location): weight × (1 − |a − b| / maxDistance), 0 beyond. */
  | 'DISTANCE'
  /**
   * One side's preference about the other (a mentee's preferred mentor gender): weight when the
   * preference (`preferenceAttribute` of the mentee) is met by the mentor's `attribute`, or when there
   * is no preference; 0 when it is not met.
   */
  | 'PREFERENCE';
export const CRITERION_KINDS: readonly CriterionKind[] = ['SET_SIMILARITY', 'EQUALITY', 'DISTANCE', 'PREFERENCE'];

export type Objective =
  /** The highest total score. */
  | 'MAX_SCORE'
  /** As many mentees matched as possible, then the highest total score. */
  | 'MAX_MATCHED_THEN_SCORE';
export const OBJECTIVES: readonly Objective[] = ['MAX_SCORE', 'MAX_MATCHED_THEN_SCORE'];

export interface MatchingCriterionDefinition {
  /** The profile attribute compared (on both sides; for PREFERENCE, the mentor's attribute). */
  readonly attribute: string;
  readonly kind: CriterionKind;
  /** Points for a full match on this criterion. */
  readonly weight: number;
  /** A hard constraint: a pair scoring 0 here is never made ("must share a language"). */
  readonly required: boolean;
  /** PREFERENCE only: the mentee's attribute holding the preference (e.g. preferredMentorGender). */
  readonly preferenceAttribute?: string | null;
  /** DISTANCE only: the distance at which the criterion is worth nothing. */
  readonly maxDistance?: number | null;
  /** How the explanation names it ("interests"); the attribute when absent. */
  readonly label?: string | null;
}

export interface AutoMatchingConfiguration {
  /** 0 before any criteria were set; each change adds one. */
  readonly version: number;
  readonly criteria: readonly MatchingCriterionDefinition[];
  readonly objective: Objective;
}

export const DEFAULT_AUTO_MATCHING: AutoMatchingConfiguration = { version: 0, criteria: [], objective: 'MAX_SCORE' };

export const MAX_CRITERIA = 30;
const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

const invalid = (message: string, field: string) => new DomainError('VALIDATION_FAILED', message, { field });

/** Checks and normalises a criteria list; throws VALIDATION_FAILED naming the criterion at fault. */
export const validateCriteria = (criteria: readonly MatchingCriterionDefinition[]): MatchingCriterionDefinition[] => {
  if (criteria.length > MAX_CRITERIA) throw invalid(`A program can have at most ${MAX_CRITERIA} matching criteria (got ${criteria.length}).`, 'criteria');
  const seen = new Set<string>();
  return criteria.map((criterion, index) => {
    const field = `criteria.${index}`;
    const attribute = criterion.attribute.trim();
    if (!ATTRIBUTE.test(attribute)) {
      throw invalid(`Criterion ${index + 1}: "${criterion.attribute}" is not an attribute name (letters, digits and _, starting with a letter).`, `${field}.attribute`);
    }
    if (!CRITERION_KINDS.includes(criterion.kind)) {
      throw invalid(`Criterion ${index + 1}: kind must be one of ${CRITERION_KINDS.join(', ')} (got ${criterion.kind}).`, `${field}.kind`);
    }
    if (!Number.isFinite(criterion.weight) || criterion.weight < 0 || criterion.weight > 1000) {
      throw invalid(`Criterion ${index + 1} (${attribute}): weight must be from 0 to 1000 (got ${criterion.weight}).`, `${field}.weight`);
    }
    const preferenceAttribute = criterion.preferenceAttribute?.trim() || null;
    if (criterion.kind === 'PREFERENCE' && (preferenceAttribute === null || !ATTRIBUTE.test(preferenceAttribute))) {
      throw invalid(
        `Criterion ${index + 1} (${attribute}): a PREFERENCE criterion names the mentee's preference attribute (e.g. preferredMentorGender).`,
        `${field}.preferenceAttribute`,
      );
    }
    const maxDistance = criterion.maxDistance ?? null;
    if (criterion.kind === 'DISTANCE' && (maxDistance === null || !Number.isFinite(maxDistance) || maxDistance <= 0)) {
      throw invalid(`Criterion ${index + 1} (${attribute}): a DISTANCE criterion needs a maxDistance greater than 0.`, `${field}.maxDistance`);
    }
    const key = `${criterion.kind}:${attribute}:${preferenceAttribute ?? ''}`.toLowerCase();
    if (seen.has(key)) throw invalid(`Criterion ${index + 1} repeats ${criterion.kind} on "${attribute}"; list each once.`, field);
    seen.add(key);
    return {
      attribute,
      kind: criterion.kind,
      weight: criterion.weight,
      required: Boolean(criterion.required),
      preferenceAttribute: criterion.kind === 'PREFERENCE' ? preferenceAttribute : null,
      maxDistance: criterion.kind === 'DISTANCE' ? maxDistance : null,
      label: criterion.label?.trim() || null,
    };
  });
};

export const requireObjective = (objective: Objective): Objective => {
  if (!OBJECTIVES.includes(objective)) throw invalid(`Objective must be one of ${OBJECTIVES.join(', ')} (got ${objective}).`, 'objective');
  return objective;
};
