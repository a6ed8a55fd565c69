import { solveAssignment, topMentors, type AssignmentProblem, type AssignmentSolution, type Objective, type SolveOptions } from './assignment';

/** A small deterministic PRNG (LCG) so every instance is reproducible from its seed. */
const lcg = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
};

interface Instance {
  readonly mentees: number;
  readonly mentors: number;
  readonly capacity: Int32Array;
  /** Row-major, NaN = forbidden. */
  readonly scores: Float64Array;
}

const randomInstance = (random: () => number, maxMentees: number, maxMentors: number, maxCapacity: number): Instance => {
  const mentees = 1 + Math.floor(random() * maxMentees);
  const mentors = 1 + Math.floor(random() * maxMentors);
  const capacity = Int32Array.from({ length: mentors }, () => Math.floor(random() * (maxCapacity + 1)));
  // Half the instances use four score levels (many ties), half fine-grained scores.
  const levels = random() < 0.5 ? 4 : 1000;
  const forbidden = random() * 0.4;
  const scores = Float64Array.from({ length: mentees * mentors }, () => (random() < forbidden ? NaN : Math.floor(random() * levels) / levels));
  return { mentees, mentors, capacity, scores };
};

const problemOf = (instance: Instance, objective: Objective, dense = false): AssignmentProblem => ({
  mentees: instance.mentees,
  mentors: instance.mentors,
  capacity: instance.capacity,
  score: (i, j) => instance.scores[i * instance.mentors + j]!,
  objective,
  ...(dense ? { dense: instance.scores } : {}),
});

/** Every assignment, by depth-first search: the best total, and the best (matched, total) pair. */
const bruteForce = (instance: Instance): { maxScore: number; maxMatched: number; scoreAtMaxMatched: number } => {
  const { mentees, mentors, capacity, scores } = instance;
  const load = new Int32Array(mentors);
  let maxScore = 0;
  let maxMatched = 0;
  let scoreAtMaxMatched = 0;
  const visit = (i: number, matched: number, total: number): void => {
    if (i === mentees) {
      maxScore = Math.max(maxScore, total);
      if (matched > maxMatched || (matched === maxMatched && total > scoreAtMaxMatched)) {
        maxMatched = matched;
        scoreAtMaxMatched = total;
      }
      return;
    }
    visit(i + 1, matched, total);
    for (let j = 0; j < mentors; j++) {
      const w = scores[i * mentors + j]!;
      if (Number.isNaN(w) || load[j]! >= capacity[j]!) continue;
      load[j]!++;
      visit(i + 1, matched + 1, total + w);
      load[j]!--;
    }
  };
  visit(0, 0, 0);
  return { maxScore, maxMatched, scoreAtMaxMatched };
};

/** Feasibility, and that the reported figures describe the assignment returned. */
const expectFeasible = (instance: Instance, solution: AssignmentSolution): void => {
  const load = new Int32Array(instance.mentors);
  let matched = 0;
  let total = 0;
  expect(solution.mentorOf).toHaveLength(instance.mentees);
  solution.mentorOf.forEach((j, i) => {
    if (j === -1) return;
    expect(j).toBeGreaterThanOrEqual(0);
    expect(j).toBeLessThan(instance.mentors);
    const w = instance.scores[i * instance.mentors + j]!;
    expect(Number.isNaN(w)).toBe(false); // never a forbidden pair
    load[j]!++;
    matched++;
    total += w;
  });
  load.forEach((l, j) => expect(l).toBeLessThanOrEqual(Math.max(0, instance.capacity[j]!)));
  expect(solution.matched).toBe(matched);
  expect(Math.abs(solution.totalScore - total)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(total)));
};

const EXACT = 1e-9;

describe('solveAssignment against brute force', () => {
  const methods: readonly [string, SolveOptions][] = [
    ['dense', { method: 'dense' }],
    // Tiny candidate lists, so that pricing rounds (both re-optimised and restarted) do the work.
    ['sparse, re-optimising rounds', { method: 'sparse', candidates: 1, mentorCandidates: 0, pricingAdds: 1, coldFraction: 1 }],
    ['sparse, restarting rounds', { method: 'sparse', candidates: 2, mentorCandidates: 1, pricingAdds: 1, coldFraction: 0 }],
    ['sparse, default lists', { method: 'sparse' }],
  ];

  it.each(methods)('is optimal for both objectives on 300 random small instances (%s)', (_, options) => {
    const random = lcg(20261123);
    for (let t = 0; t < 300; t++) {
      const instance = randomInstance(random, 7, 5, 3);
      const best = bruteForce(instance);

      const byScore = solveAssignment(problemOf(instance, 'MAX_SCORE'), options);
      expectFeasible(instance, byScore);
      expect(byScore.totalScore).toBeCloseTo(best.maxScore, 9);
      expect(byScore.upperBound).toBeGreaterThanOrEqual(best.maxScore - EXACT);
      expect(byScore.gap).toBeLessThan(EXACT);

      const byMatched = solveAssignment(problemOf(instance, 'MAX_MATCHED_THEN_SCORE'), options);
      expectFeasible(instance, byMatched);
      expect(byMatched.matched).toBe(best.maxMatched);
      expect(byMatched.totalScore).toBeCloseTo(best.scoreAtMaxMatched, 9);
      expect(byMatched.upperBound).toBeGreaterThanOrEqual(best.scoreAtMaxMatched - EXACT);
      expect(byMatched.gap).toBeLessThan(EXACT);
      expect(byMatched.matchedUpperBound).toBe(best.maxMatched);
    }
  });

  it('takes the dense matrix when given, with the same result as the score function', () => {
    const random = lcg(7);
    for (let t = 0; t < 50; t++) {
      const instance = randomInstance(random, 6, 5, 2);
      for (const objective of ['MAX_SCORE', 'MAX_MATCHED_THEN_SCORE'] as const) {
        for (const method of ['dense', 'sparse'] as const) {
          const viaFunction = solveAssignment(problemOf(instance, objective), { method });
          const viaMatrix = solveAssignment({ ...problemOf(instance, objective, true), score: () => Number.NaN }, { method });
          expect(viaMatrix.totalScore).toBeCloseTo(viaFunction.totalScore, 12);
          expect(viaMatrix.matched).toBe(viaFunction.matched);
        }
      }
    }
  });
});

describe('solveAssignment on a medium instance (300 mentees × 120 mentors, capacities 1-3)', () => {
  const random = lcg(424242);
  const mentees = 300;
  const mentors = 120;
  const capacity = Int32Array.from({ length: mentors }, () => 1 + Math.floor(random() * 3));
  // Correlated scores: a mentee "type" and a mentor "type" make some pairs systematically better,
  // rounded to 1/100 so that ties are common; about 20 % of pairs forbidden.
  const menteeType = Array.from({ length: mentees }, () => random());
  const mentorType = Array.from({ length: mentors }, () => random());
  const scores = new Float64Array(mentees * mentors);
  for (let i = 0; i < mentees; i++) {
    for (let j = 0; j < mentors; j++) {
      scores[i * mentors + j] = random() < 0.2 ? NaN : Math.round(100 * (1 - Math.abs(menteeType[i]! - mentorType[j]!)) * (0.5 + 0.5 * random())) / 100;
    }
  }
  const instance: Instance = { mentees, mentors, capacity, scores };

  it.each(['MAX_SCORE', 'MAX_MATCHED_THEN_SCORE'] as const)('the sparse method (with pricing rounds) agrees with the dense one (%s)', (objective) => {
    const dense = solveAssignment(problemOf(instance, objective), { method: 'dense' });
    const sparse = solveAssignment(problemOf(instance, objective), { method: 'sparse', candidates: 3, mentorCandidates: 2, pricingAdds: 2 });
    const restarted = solveAssignment(problemOf(instance, objective), { method: 'sparse', candidates: 3, mentorCandidates: 2, pricingAdds: 2, coldFraction: 0 });
    expect(dense.method).toBe('dense-sap');
    expect(sparse.method).toBe('sparse-sap');
    expect(sparse.stats.rounds).toBeGreaterThan(1);
    for (const solution of [dense, sparse, restarted]) {
      expectFeasible(instance, solution);
      expect(solution.gap).toBeLessThan(EXACT);
    }
    expect(sparse.matched).toBe(dense.matched);
    expect(restarted.matched).toBe(dense.matched);
    expect(sparse.totalScore).toBeCloseTo(dense.totalScore, 8);
    expect(restarted.totalScore).toBeCloseTo(dense.totalScore, 8);
    // Each bound certifies the other's total too.
    expect(sparse.upperBound).toBeGreaterThanOrEqual(dense.totalScore - EXACT);
    expect(dense.upperBound).toBeGreaterThanOrEqual(sparse.totalScore - EXACT);
  });

  it('matches at least as many mentees with MAX_MATCHED_THEN_SCORE, and scores no more', () => {
    const byScore = solveAssignment(problemOf(instance, 'MAX_SCORE'));
    const byMatched = solveAssignment(problemOf(instance, 'MAX_MATCHED_THEN_SCORE'));
    expect(byMatched.matched).toBeGreaterThanOrEqual(byScore.matched);
    expect(byMatched.totalScore).toBeLessThanOrEqual(byScore.totalScore + EXACT);
  });
});

describe('solveAssignment: objectives and edge cases', () => {
  const instance = (mentees: number, mentors: number, capacity: number[], rows: number[][]): Instance => ({
    mentees,
    mentors,
    capacity: Int32Array.from(capacity),
    scores: Float64Array.from(rows.flat()),
  });

  it('trades score for an extra match only under MAX_MATCHED_THEN_SCORE', () => {
    // Mentee 0 fits mentor 0 best (1.0) but could take mentor 1 (0.1); mentee 1 can only take mentor 0.
    const two = instance(2, 2, [1, 1], [
      [1.0, 0.1],
      [0.5, NaN],
    ]);
    const byScore = solveAssignment(problemOf(two, 'MAX_SCORE'));
    expect(Array.from(byScore.mentorOf)).toEqual([0, -1]);
    expect(byScore.totalScore).toBeCloseTo(1.0, 12);
    const byMatched = solveAssignment(problemOf(two, 'MAX_MATCHED_THEN_SCORE'));
    expect(Array.from(byMatched.mentorOf)).toEqual([1, 0]);
    expect(byMatched.totalScore).toBeCloseTo(0.6, 12);
    expect(byMatched.matchedUpperBound).toBe(2);
  });

  it('fills a mentor up to its capacity and no further', () => {
    const crowd = instance(4, 2, [3, 1], [
      [0.9, 0.1],
      [0.8, 0.2],
      [0.7, 0.3],
      [0.6, 0.05],
    ]);
    for (const method of ['dense', 'sparse'] as const) {
      const solution = solveAssignment(problemOf(crowd, 'MAX_SCORE'), { method });
      expectFeasible(crowd, solution);
      // Mentor 0 takes three, mentor 1 takes the one that loses least by moving: mentee 2 (0.7 → 0.3).
      expect(Array.from(solution.mentorOf)).toEqual([0, 0, 1, 0]);
      expect(solution.totalScore).toBeCloseTo(0.9 + 0.8 + 0.3 + 0.6, 12);
    }
  });

  it('handles empty sides, all-forbidden pairs, zero capacities and all-zero scores', () => {
    for (const method of ['dense', 'sparse'] as const) {
      for (const objective of ['MAX_SCORE', 'MAX_MATCHED_THEN_SCORE'] as const) {
        const noMentees = solveAssignment(problemOf(instance(0, 3, [1, 1, 1], []), objective), { method });
        expect(noMentees.matched).toBe(0);
        expect(noMentees.totalScore).toBe(0);
        expect(noMentees.gap).toBe(0);

        const noMentors = solveAssignment(problemOf(instance(2, 0, [], [[], []]), objective), { method });
        expect(Array.from(noMentors.mentorOf)).toEqual([-1, -1]);

        const forbidden = solveAssignment(problemOf(instance(2, 2, [1, 1], [[NaN, NaN], [NaN, NaN]]), objective), { method });
        expect(Array.from(forbidden.mentorOf)).toEqual([-1, -1]);
        expect(forbidden.upperBound).toBe(0);

        const closed = instance(2, 2, [0, 1], [
          [0.9, 0.2],
          [0.8, 0.1],
        ]);
        const noRoom = solveAssignment(problemOf(closed, objective), { method });
        expectFeasible(closed, noRoom);
        expect(Array.from(noRoom.mentorOf)).toEqual([1, -1]);
      }
      // Zero scores: nothing to gain by score, but MAX_MATCHED_THEN_SCORE still matches everyone it can.
      const zeros = instance(3, 2, [1, 1], [
        [0, 0],
        [0, NaN],
        [NaN, 0],
      ]);
      const matched = solveAssignment(problemOf(zeros, 'MAX_MATCHED_THEN_SCORE'), { method });
      expectFeasible(zeros, matched);
      expect(matched.matched).toBe(2);
      expect(matched.matchedUpperBound).toBe(2);
    }
  });

  it('does not depend on the scale of the scores', () => {
    const random = lcg(31);
    for (let t = 0; t < 40; t++) {
      const instance = randomInstance(random, 6, 4, 2);
      for (const factor of [1e-300, 1e300]) {
        const scaled: Instance = { ...instance, scores: instance.scores.map((w) => w * factor) };
        for (const method of ['dense', 'sparse'] as const) {
          const reference = solveAssignment(problemOf(instance, 'MAX_SCORE'), { method });
          const solution = solveAssignment(problemOf(scaled, 'MAX_SCORE'), { method });
          expectFeasible(scaled, solution);
          expect(solution.totalScore / factor).toBeCloseTo(reference.totalScore, 9);
          expect(solution.gap).toBeLessThan(EXACT);
        }
      }
    }
  });

  it('treats a negative capacity as none', () => {
    const closed = instance(2, 2, [-3, 1], [
      [0.9, 0.2],
      [0.8, 0.1],
    ]);
    for (const method of ['dense', 'sparse'] as const) {
      expect(Array.from(solveAssignment(problemOf(closed, 'MAX_SCORE'), { method }).mentorOf)).toEqual([1, -1]);
    }
  });

  it('refuses negative or infinite scores and mismatched shapes', () => {
    const bad = (w: number): AssignmentProblem => ({ mentees: 1, mentors: 1, capacity: Int32Array.of(1), score: () => w, objective: 'MAX_SCORE' });
    for (const method of ['dense', 'sparse'] as const) {
      expect(() => solveAssignment(bad(-0.5), { method })).toThrow(RangeError);
      expect(() => solveAssignment(bad(Infinity), { method })).toThrow(RangeError);
    }
    expect(() => solveAssignment({ ...bad(1), capacity: Int32Array.of(1, 1) })).toThrow(RangeError);
    expect(() => solveAssignment({ ...bad(1), dense: new Float64Array(2) })).toThrow(RangeError);
  });
});

describe('topMentors', () => {
  const random = lcg(99);
  const mentors = 40;
  const scores = Float64Array.from({ length: 3 * mentors }, () => (random() < 0.3 ? NaN : Math.floor(random() * 5) / 5));
  const capacity = Int32Array.from({ length: mentors }, (_, j) => (j % 7 === 3 ? 0 : 2));
  const problem: AssignmentProblem = { mentees: 3, mentors, capacity, score: (i, j) => scores[i * mentors + j]!, objective: 'MAX_SCORE' };

  /** The reference: sort every eligible mentor. */
  const expected = (mentee: number, k: number, available: (j: number) => boolean = () => true) =>
    Array.from({ length: mentors }, (_, j) => ({ mentor: j, score: scores[mentee * mentors + j]! }))
      .filter(({ mentor, score }) => !Number.isNaN(score) && capacity[mentor]! > 0 && available(mentor))
      .sort((a, b) => b.score - a.score || a.mentor - b.mentor)
      .slice(0, k);

  it('returns the k best allowed mentors with capacity, best first, ties by index', () => {
    for (let mentee = 0; mentee < 3; mentee++) {
      for (const k of [0, 1, 5, 12, 100]) expect(topMentors(problem, mentee, k)).toEqual(expected(mentee, k));
    }
  });

  it('applies the availability filter', () => {
    const odd = (j: number) => j % 2 === 1;
    expect(topMentors(problem, 1, 6, odd)).toEqual(expected(1, 6, odd));
  });

  it('rejects a mentee out of range', () => {
    expect(() => topMentors(problem, 3, 5)).toThrow(RangeError);
  });
});
