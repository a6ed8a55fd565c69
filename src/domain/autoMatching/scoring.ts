import type { MatchingCriterionDefinition } from './criteria';

/**
 * The score of a mentor–mentee pair under a program's criteria, with the reason for every point:
 * "shares 3 of 5 interests: +12". The total is the sum of the parts, to the cent, so an admin can
 * add them up; a required criterion scoring nothing makes the pair impossible.
 */

export type AttributeValue = string | number | boolean | readonly string[];
export type Profile = Readonly<Record<string, AttributeValue>>;

export interface ScorePart {
  /** The criterion's label (or attribute). */
  readonly criterion: string;
  readonly points: number;
  /** What was compared, for a person: "shares 3 of 5 interests". */
  readonly detail: string;
}

export interface PairScore {
  /** False when a required criterion scored nothing (`violated` says which). */
  readonly feasible: boolean;
  readonly violated: string | null;
  readonly total: number;
  readonly parts: readonly ScorePart[];
}

const cents = (value: number) => Math.round(value * 100) / 100;

const asSet = (value: AttributeValue | undefined): string[] => {
  if (value === undefined || value === '') return [];
  const list = Array.isArray(value) ? value : [String(value)];
  return [...new Set(list.map((item) => String(item).trim().toLowerCase()).filter((item) => item !== ''))];
};

const asText = (value: AttributeValue | undefined): string | null => {
  if (value === undefined || Array.isArray(value)) return null;
  const text = String(value).trim().toLowerCase();
  return text === '' ? null : text;
};

const asNumber = (value: AttributeValue | undefined): number | null => {
  if (value === undefined || Array.isArray(value) || typeof value === 'boolean') return null;
  const number = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(number) ? number : null;
};

const part = (criterion: MatchingCriterionDefinition): { name: string; weight: number } => ({
  name: criterion.label ?? criterion.attribute,
  weight: criterion.weight,
});

/** One criterion's points and detail for the pair. */
export const scoreCriterion = (criterion: MatchingCriterionDefinition, mentor: Profile, mentee: Profile): ScorePart => {
  const { name, weight } = part(criterion);
  switch (criterion.kind) {
    case 'SET_SIMILARITY': {
      const a = asSet(mentor[criterion.attribute]);
      const b = new Set(asSet(mentee[criterion.attribute]));
      const shared = a.filter((item) => b.has(item));
      const union = new Set([...a, ...b]).size;
      const points = union === 0 ? 0 : cents((weight * shared.length) / union);
      const detail =
        shared.length === 0 ? `no ${name} in common` : `shares ${shared.length} of ${union} ${name} (${shared.slice(0, 5).join(', ')}${shared.length > 5 ? ', …' : ''})`;
      return { criterion: name, points, detail };
    }
    case 'EQUALITY': {
      const a = asText(mentor[criterion.attribute]);
      const b = asText(mentee[criterion.attribute]);
      const same = a !== null && a === b;
      return { criterion: name, points: same ? cents(weight) : 0, detail: same ? `same ${name} (${a})` : `different ${name}` };
    }
    case 'DISTANCE': {
      const a = asNumber(mentor[criterion.attribute]);
      const b = asNumber(mentee[criterion.attribute]);
      const max = criterion.maxDistance ?? 1;
      if (a === null || b === null) return { criterion: name, points: 0, detail: `${name} unknown` };
      const distance = Math.abs(a - b);
      const points = distance >= max ? 0 : cents(weight * (1 - distance / max));
      return { criterion: name, points, detail: distance === 0 ? `same ${name}` : `${name} ${distance} apart` };
    }
    case 'PREFERENCE': {
      const wanted = asSet(mentee[criterion.preferenceAttribute ?? '']);
      const actual = asText(mentor[criterion.attribute]);
      if (wanted.length === 0 || wanted.includes('any')) return { criterion: name, points: cents(weight), detail: `no ${name} preference` };
      const met = actual !== null && wanted.includes(actual);
      return { criterion: name, points: met ? cents(weight) : 0, detail: met ? `${name} preference met` : `${name} preference not met` };
    }
  }
};

export const scorePair = (criteria: readonly MatchingCriterionDefinition[], mentor: Profile, mentee: Profile): PairScore => {
  const parts = criteria.map((criterion) => scoreCriterion(criterion, mentor, mentee));
  const violatedIndex = criteria.findIndex((criterion, index) => criterion.required && parts[index]!.points === 0);
  const total = cents(parts.reduce((sum, p) => sum + p.points, 0));
  return {
    feasible: violatedIndex === -1,
    violated: violatedIndex === -1 ? null : `${parts[violatedIndex]!.criterion}: ${parts[violatedIndex]!.detail}`,
    total,
    parts,
  };
};

/** "shares 3 of 5 interests: +12; same time zone: +8" */
export const describeScore = (score: PairScore): string =>
  score.parts
    .filter((p) => p.points > 0)
    .map((p) => `${p.detail}: +${p.points}`)
    .join('; ');
