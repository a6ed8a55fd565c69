import { describeScore, scorePair } from './scoring';
import { validateCriteria, type MatchingCriterionDefinition } from './criteria';
import { DomainError } from '../shared/decider';

const criteria: MatchingCriterionDefinition[] = validateCriteria([
  { attribute: 'languages', kind: 'SET_SIMILARITY', weight: 5, required: true },
  { attribute: 'interests', kind: 'SET_SIMILARITY', weight: 20, required: false, label: 'interests' },
  { attribute: 'industry', kind: 'EQUALITY', weight: 10, required: false },
  { attribute: 'utcOffset', kind: 'DISTANCE', weight: 8, required: false, maxDistance: 6, label: 'time zone' },
  { attribute: 'gender', kind: 'PREFERENCE', weight: 4, required: false, preferenceAttribute: 'preferredMentorGender' },
]);

const mentor = { languages: ['en', 'es'], interests: ['Robotics', 'chess', 'music'], industry: 'Tech', utcOffset: -5, gender: 'M' };

describe('scorePair', () => {
  test('each criterion scores its part, and the parts add up to the total to the cent', () => {
    const score = scorePair(criteria, mentor, { languages: ['en'], interests: ['robotics', 'chess'], industry: 'tech', utcOffset: -6 });
    expect(score.parts.map((p) => [p.criterion, p.points])).toEqual([
      ['languages', 2.5],
      ['interests', 13.33],
      ['industry', 10],
      ['time zone', 6.67],
      ['gender', 4],
    ]);
    expect(score).toMatchObject({ feasible: true, violated: null, total: 36.5 });
    expect(score.parts[1]!.detail).toBe('shares 2 of 3 interests (robotics, chess)');
    expect(describeScore(score)).toContain('shares 2 of 3 interests (robotics, chess): +13.33');
  });

  test('a required criterion scoring nothing makes the pair impossible, and says why', () => {
    const score = scorePair(criteria, mentor, { languages: ['fr'], interests: ['robotics'] });
    expect(score).toMatchObject({ feasible: false, violated: 'languages: no languages in common' });
  });

  test('a preference that is not met scores nothing; "any" or none counts as met', () => {
    const wantsF = scorePair(criteria, mentor, { languages: ['en'], preferredMentorGender: 'F' });
    const any = scorePair(criteria, mentor, { languages: ['en'], preferredMentorGender: 'any' });
    expect(wantsF.parts[4]).toMatchObject({ points: 0, detail: 'gender preference not met' });
    expect(any.parts[4]).toMatchObject({ points: 4, detail: 'no gender preference' });
  });

  test('distance beyond the maximum, or unknown, scores nothing', () => {
    expect(scorePair(criteria, mentor, { languages: ['en'], utcOffset: 3 }).parts[3]!.points).toBe(0);
    expect(scorePair(criteria, mentor, { languages: ['en'] }).parts[3]).toMatchObject({ points: 0, detail: 'time zone unknown' });
  });

  test('random profiles: the total is always the sum of the parts', () => {
    const pick = (items: string[], seed: number) => items.filter((_, i) => (seed >> i) & 1);
    const words = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (let seed = 0; seed < 200; seed++) {
      const score = scorePair(criteria, { ...mentor, interests: pick(words, seed), utcOffset: seed % 9 }, {
        languages: ['en'],
        interests: pick(words, seed * 7 + 3),
        utcOffset: (seed * 5) % 11,
      });
      const sum = Math.round(score.parts.reduce((total, p) => total + p.points, 0) * 100) / 100;
      expect(score.total).toBe(sum);
    }
  });
});

describe('validateCriteria', () => {
  const refused = (list: MatchingCriterionDefinition[]) => {
    try {
      validateCriteria(list);
    } catch (error) {
      return error as DomainError;
    }
    throw new Error('accepted');
  };
  test('refuses what cannot be scored, naming the criterion and field', () => {
    expect(refused([{ attribute: 'utcOffset', kind: 'DISTANCE', weight: 1, required: false }])).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'criteria.0.maxDistance' },
    });
    expect(refused([{ attribute: 'gender', kind: 'PREFERENCE', weight: 1, required: false }]).message).toContain('preference attribute');
    expect(refused([{ attribute: 'bad name', kind: 'EQUALITY', weight: 1, required: false }]).message).toContain('not an attribute name');
    expect(refused([{ attribute: 'a', kind: 'EQUALITY', weight: -1, required: false }]).message).toContain('weight must be from 0 to 1000');
    expect(
      refused([
        { attribute: 'a', kind: 'EQUALITY', weight: 1, required: false },
        { attribute: 'A', kind: 'EQUALITY', weight: 2, required: false },
      ]).message,
    ).toContain('list each once');
  });
});
