import { fork } from 'node:child_process';
import { munkres } from 'munkres';
import { solveAssignment, topMentors, type AssignmentProblem, type AssignmentSolution, type Objective } from '../src/matching/solver/assignment';
import type { Benchmark, BenchmarkReport } from './benchmark';

/**
 * Auto-matching (issue 5): the assignment solver in `src/matching/solver/` on seeded, realistic
 * populations.
 * 1. 2,000 mentees × 2,000 mentors, capacity 1, against the npm packages `munkres` and
 *    `linear-sum-assignment` on the same score matrix: time and total score, both objectives.
 * 2. 20,000 mentees × 5,000 mentors, capacity 4 (and a mixed-capacity variant): time, peak memory
 *    and the optimality certificate (gap between the total and the dual bound), each case in a
 *    child process of its own so that its peak RSS is its own.
 * 3. Suggest-mentors (top 5) latency for one mentee in the large population.
 */

// ---------------------------------------------------------------------------------------------
// Populations: seeded, with correlated attributes

/** mulberry32: small, fast, good enough for synthetic populations. */
export const prng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const pick = (random: () => number, weights: readonly number[]): number => {
  let total = 0;
  for (const w of weights) total += w;
  let x = random() * total;
  for (let k = 0; k < weights.length; k++) {
    x -= weights[k]!;
    if (x < 0) return k;
  }
  return weights.length - 1;
};

const INTERESTS = 48; // topics; bits 0-31 in `interestsLow`, 32-47 in `interestsHigh`
/** en, es, pt, fr, de, hi, zh, ja, ar */
const LANGUAGES = ['en', 'es', 'pt', 'fr', 'de', 'hi', 'zh', 'ja', 'ar'] as const;
const lang = (code: (typeof LANGUAGES)[number]): number => 1 << LANGUAGES.indexOf(code);

interface Region {
  readonly weight: number;
  /** UTC offset in half hours: centre and spread. */
  readonly zone: number;
  readonly spread: number;
  readonly english: number;
  readonly local: readonly { readonly language: number; readonly p: number }[];
}

const REGIONS: readonly Region[] = [
  { weight: 0.35, zone: -10, spread: 3, english: 0.9, local: [{ language: lang('es'), p: 0.3 }, { language: lang('pt'), p: 0.1 }] },
  { weight: 0.3, zone: 2, spread: 2, english: 0.85, local: [{ language: lang('fr'), p: 0.2 }, { language: lang('de'), p: 0.2 }, { language: lang('es'), p: 0.1 }, { language: lang('ar'), p: 0.05 }] },
  { weight: 0.15, zone: 11, spread: 0, english: 0.9, local: [{ language: lang('hi'), p: 0.7 }] },
  { weight: 0.2, zone: 17, spread: 2, english: 0.6, local: [{ language: lang('zh'), p: 0.5 }, { language: lang('ja'), p: 0.3 }] },
];

/** Availability profiles over 21 slots (7 days × morning, afternoon, evening). */
const PROFILES: readonly number[] = (() => {
  const slots = (days: readonly number[], parts: readonly number[]) => days.reduce((mask, d) => parts.reduce((m, p) => m | (1 << (d * 3 + p)), mask), 0);
  const weekdays = [0, 1, 2, 3, 4];
  return [slots(weekdays, [2]), slots(weekdays, [1]), slots([5, 6], [0, 1, 2]), slots(weekdays, [0]), slots([0, 2, 4], [1, 2])];
})();

/** Struct of arrays: one entry per person. */
export interface Population {
  readonly size: number;
  readonly industry: Uint8Array;
  readonly interestsLow: Int32Array;
  readonly interestsHigh: Int32Array;
  readonly interestCount: Uint8Array;
  /** Bit mask over LANGUAGES. */
  readonly languages: Int32Array;
  /** UTC offset in half hours. */
  readonly zone: Int8Array;
  readonly availability: Int32Array;
  readonly availabilityCount: Uint8Array;
  /** 0 woman, 1 man, 2 non-binary. */
  readonly gender: Uint8Array;
  /** Mentees: the mentor gender they prefer, or 3 for none. */
  readonly preferredGender: Uint8Array;
}

export const popcount = (x: number): number => {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
};

/**
 * `size` people. Interests are drawn mostly from their industry's core topics (so industry and
 * interests correlate), languages from their region (a common majority language, English, plus
 * regional ones), time zones clustered by region, availability from a few typical weekly patterns.
 */
export const population = (size: number, role: 'mentee' | 'mentor', random: () => number): Population => {
  const industryWeights = role === 'mentee' ? [0.24, 0.14, 0.12, 0.1, 0.09, 0.08, 0.07, 0.06, 0.05, 0.05] : [0.2, 0.16, 0.1, 0.12, 0.1, 0.07, 0.07, 0.07, 0.06, 0.05];
  const genderWeights = role === 'mentee' ? [0.52, 0.44, 0.04] : [0.42, 0.55, 0.03];
  const p: Population = {
    size,
    industry: new Uint8Array(size),
    interestsLow: new Int32Array(size),
    interestsHigh: new Int32Array(size),
    interestCount: new Uint8Array(size),
    languages: new Int32Array(size),
    zone: new Int8Array(size),
    availability: new Int32Array(size),
    availabilityCount: new Uint8Array(size),
    gender: new Uint8Array(size),
    preferredGender: new Uint8Array(size).fill(3),
  };
  for (let k = 0; k < size; k++) {
    const industry = pick(random, industryWeights);
    p.industry[k] = industry;
    // Interests: 3-7 topics, 70 % from the industry's 8 core topics (neighbouring industries share some).
    const want = 3 + Math.floor(random() * 5);
    let low = 0;
    let high = 0;
    let count = 0;
    while (count < want) {
      const topic = random() < 0.7 ? (industry * 4 + Math.floor(random() * 8)) % INTERESTS : Math.floor(random() * INTERESTS);
      const bit = topic < 32 ? 1 << topic : 1 << (topic - 32);
      if (topic < 32 ? low & bit : high & bit) continue;
      if (topic < 32) low |= bit;
      else high |= bit;
      count++;
    }
    p.interestsLow[k] = low;
    p.interestsHigh[k] = high;
    p.interestCount[k] = count;
    // Region: time zone and languages.
    const region = REGIONS[pick(random, REGIONS.map((r) => r.weight))]!;
    let zone = region.zone + Math.round((random() + random() + random() - 1.5) * region.spread);
    if (zone > 24) zone -= 48;
    p.zone[k] = zone;
    let languages = random() < region.english ? lang('en') : 0;
    for (const local of region.local) if (random() < local.p) languages |= local.language;
    if (languages === 0) languages = region.local[0]!.language;
    if (random() < 0.05) languages |= 1 << Math.floor(random() * LANGUAGES.length);
    p.languages[k] = languages;
    // Availability: one or two weekly patterns, each slot kept with p 0.7, plus a little noise.
    let slots = 0;
    const patterns = random() < 0.6 ? 1 : 2;
    for (let t = 0; t < patterns; t++) {
      const profile = PROFILES[Math.floor(random() * PROFILES.length)]!;
      for (let s = 0; s < 21; s++) if (profile & (1 << s) && random() < 0.7) slots |= 1 << s;
    }
    for (let s = 0; s < 21; s++) if (random() < 0.04) slots |= 1 << s;
    if (slots === 0) slots = 1 << Math.floor(random() * 21);
    p.availability[k] = slots;
    p.availabilityCount[k] = popcount(slots);
    p.gender[k] = pick(random, genderWeights);
    if (role === 'mentee') {
      const preference = pick(random, [0.28, 0.1, 0.02, 0.6]);
      p.preferredGender[k] = preference;
    }
  }
  return p;
};

/** Weights of the benchmark's score (they sum to 1, so scores are in [0, 1]). */
const WEIGHTS = { interests: 0.35, industry: 0.15, zone: 0.15, availability: 0.2, gender: 0.15 } as const;

/**
 * The benchmark's own score (self-contained; production scoring lives elsewhere): Jaccard
 * similarity of interests, same industry, time-zone closeness, availability overlap (share of the
 * mentee's slots the mentor also has), preferred gender met. Hard constraint: a shared language,
 * NaN otherwise.
 */
export const scorer = (mentees: Population, mentors: Population): ((mentee: number, mentor: number) => number) => {
  const { interestsLow: aLow, interestsHigh: aHigh, interestCount: aCount, languages: aLang, zone: aZone, availability: aAvail, availabilityCount: aAvailCount, industry: aInd, preferredGender } = mentees;
  const { interestsLow: bLow, interestsHigh: bHigh, interestCount: bCount, languages: bLang, zone: bZone, availability: bAvail, industry: bInd, gender } = mentors;
  return (i, j) => {
    if ((aLang[i]! & bLang[j]!) === 0) return NaN;
    const common = popcount(aLow[i]! & bLow[j]!) + popcount(aHigh[i]! & bHigh[j]!);
    const interests = common / (aCount[i]! + bCount[j]! - common);
    let zoneGap = Math.abs(aZone[i]! - bZone[j]!);
    if (zoneGap > 24) zoneGap = 48 - zoneGap;
    const availability = popcount(aAvail[i]! & bAvail[j]!) / aAvailCount[i]!;
    const preferred = preferredGender[i]!;
    return (
      WEIGHTS.interests * interests +
      (aInd[i] === bInd[j] ? WEIGHTS.industry : 0) +
      WEIGHTS.zone * (1 - zoneGap / 24) +
      WEIGHTS.availability * availability +
      (preferred === 3 || preferred === gender[j] ? WEIGHTS.gender : 0)
    );
  };
};

// ---------------------------------------------------------------------------------------------
// Helpers

// `linear-sum-assignment` is an ES module whose types this project's module resolution (node10)
// cannot see; Node 20.19+ loads an ES module with require(), so it is typed here by hand.
interface LinearSumAssignmentModule {
  linearSumAssignment(input: Float64Array[], options?: { maximaze?: boolean }): { rowAssignments: ArrayLike<number> };
}
const loadLinearSumAssignment = (): LinearSumAssignmentModule['linearSumAssignment'] =>
  (require('linear-sum-assignment') as LinearSumAssignmentModule).linearSumAssignment;

const intFromEnv = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const seconds = (ms: number): string => (ms >= 10_000 ? `${fmt(ms / 1000, 1)} s` : ms >= 1000 ? `${fmt(ms / 1000, 2)} s` : `${fmt(ms, 0)} ms`);

const OBJECTIVES: readonly Objective[] = ['MAX_SCORE', 'MAX_MATCHED_THEN_SCORE'];

/** Checks an assignment against the rules; returns its matched count and total, or throws. */
const verify = (
  mentees: number,
  capacity: Int32Array,
  score: (i: number, j: number) => number,
  mentorOf: ArrayLike<number>,
): { matched: number; total: number } => {
  const load = new Int32Array(capacity.length);
  let matched = 0;
  let total = 0;
  for (let i = 0; i < mentees; i++) {
    const j = mentorOf[i]!;
    if (j < 0) continue;
    const w = score(i, j);
    if (Number.isNaN(w)) throw new Error(`mentee ${i} assigned to mentor ${j}: a forbidden pair`);
    if (++load[j]! > capacity[j]!) throw new Error(`mentor ${j} over capacity`);
    matched++;
    total += w;
  }
  return { matched, total };
};

// ---------------------------------------------------------------------------------------------
// 1. 2,000 × 2,000, capacity 1: ours against munkres and linear-sum-assignment

const SMALL = 2000;
const SMALL_SEED = 42;

interface PeerRun {
  readonly solver: string;
  /** The first call in the process (cold). */
  readonly firstMs: number;
  readonly ms: number[];
  readonly matched: number;
  readonly total: number;
  readonly detail: string;
}

interface SmallComparison {
  readonly objective: Objective;
  readonly runs: readonly PeerRun[];
  readonly ours: { readonly upperBound: number; readonly gap: number; readonly method: string };
  /** Ours / the fastest package, median time against median time. */
  readonly ratio: number;
  /** The same for the first (cold) call of each. */
  readonly firstRatio: number;
  readonly roundRatios: readonly number[];
  readonly totalsAgree: boolean;
}

const smallComparison = (objective: Objective, rounds: number, log: (line: string) => void): { comparison: SmallComparison; description: string } => {
  const random = prng(SMALL_SEED);
  const menteePopulation = population(SMALL, 'mentee', random);
  const mentorPopulation = population(SMALL, 'mentor', random);
  const score = scorer(menteePopulation, mentorPopulation);
  const dense = new Float64Array(SMALL * SMALL);
  let forbidden = 0;
  let maxScore = 0;
  const distinct = new Set<number>();
  for (let i = 0; i < SMALL; i++) {
    for (let j = 0; j < SMALL; j++) {
      const w = score(i, j);
      dense[i * SMALL + j] = w;
      if (Number.isNaN(w)) forbidden++;
      else {
        maxScore = Math.max(maxScore, w);
        distinct.add(w);
      }
    }
  }
  const capacity = new Int32Array(SMALL).fill(1);
  const description =
    `${fmt(SMALL)} × ${fmt(SMALL)}, capacity 1, seed ${SMALL_SEED}: ${fmt((100 * forbidden) / (SMALL * SMALL), 1)} % of pairs forbidden (no shared language), ` +
    `${fmt(distinct.size)} distinct scores among ${fmt(SMALL * SMALL - forbidden)} allowed pairs (ties), highest ${fmt(maxScore, 4)}`;
  log(description);
  const linearSumAssignment = loadLinearSumAssignment();

  // The packages minimise a cost over a complete square matrix. cost = max - score; a forbidden
  // pair costs `max` (as good as leaving both unmatched: MAX_SCORE) or more than any total score
  // difference (fewest forbidden pairs first: MAX_MATCHED_THEN_SCORE). Forbidden pairs they
  // return count as unmatched.
  const forbiddenCost = objective === 'MAX_SCORE' ? maxScore : (SMALL + 2) * maxScore;
  const costMatrix = (): Float64Array[] =>
    Array.from({ length: SMALL }, (_, i) => {
      const row = new Float64Array(SMALL);
      for (let j = 0; j < SMALL; j++) {
        const w = dense[i * SMALL + j]!;
        row[j] = Number.isNaN(w) ? forbiddenCost : maxScore - w;
      }
      return row;
    });
  const problem: AssignmentProblem = { mentees: SMALL, mentors: SMALL, capacity, score, objective, dense };
  const cost = costMatrix();
  const checksum = (): number => cost.reduce((sum, row) => row.reduce((a, b) => a + b, sum), 0);
  const before = checksum();

  const oursMs: number[] = [];
  const munkresMs: number[] = [];
  const roundRatios: number[] = [];
  let ours: AssignmentSolution | null = null;
  let munkresMentorOf = new Int32Array(SMALL);
  const runOurs = (): number => {
    const start = performance.now();
    ours = solveAssignment(problem);
    return performance.now() - start;
  };
  const runMunkres = (): number => {
    const start = performance.now();
    const pairs = munkres(cost);
    const elapsed = performance.now() - start;
    munkresMentorOf = new Int32Array(SMALL).fill(-1);
    for (const [i, j] of pairs) if (!Number.isNaN(dense[i * SMALL + j]!)) munkresMentorOf[i] = j;
    return elapsed;
  };
  // The first call of each in this process (cold: compilation included) is reported on its own;
  // then interleaved rounds, alternating who goes first.
  const oursFirstMs = runOurs();
  const munkresFirstMs = runMunkres();
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      oursMs.push(runOurs());
      munkresMs.push(runMunkres());
    } else {
      munkresMs.push(runMunkres());
      oursMs.push(runOurs());
    }
    roundRatios.push(oursMs.at(-1)! / munkresMs.at(-1)!);
    log(`  ${objective} round ${round + 1}: ours ${seconds(oursMs.at(-1)!)}, munkres ${seconds(munkresMs.at(-1)!)}`);
  }
  if (checksum() !== before) throw new Error('munkres modified its cost matrix; the rounds did not all solve the same problem');
  const solution = ours! as AssignmentSolution;
  const ourCheck = verify(SMALL, capacity, score, solution.mentorOf);
  const munkresCheck = verify(SMALL, capacity, score, munkresMentorOf);

  // linear-sum-assignment once per objective: it takes seconds.
  const lsaStart = performance.now();
  const lsa = linearSumAssignment(cost, { maximaze: false });
  const lsaMs = performance.now() - lsaStart;
  const lsaMentorOf = new Int32Array(SMALL).fill(-1);
  for (let i = 0; i < SMALL; i++) {
    const j = lsa.rowAssignments[i]!;
    if (j >= 0 && !Number.isNaN(dense[i * SMALL + j]!)) lsaMentorOf[i] = j;
  }
  const lsaCheck = verify(SMALL, capacity, score, lsaMentorOf);
  log(`  ${objective}: linear-sum-assignment ${seconds(lsaMs)}`);

  const runs: PeerRun[] = [
    { solver: `ours (${solution.method})`, firstMs: oursFirstMs, ms: oursMs, matched: ourCheck.matched, total: ourCheck.total, detail: `gap ${solution.gap.toExponential(1)}` },
    { solver: 'munkres', firstMs: munkresFirstMs, ms: munkresMs, matched: munkresCheck.matched, total: munkresCheck.total, detail: '' },
    { solver: 'linear-sum-assignment', firstMs: lsaMs, ms: [lsaMs], matched: lsaCheck.matched, total: lsaCheck.total, detail: 'one run' },
  ];
  const agree = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  const totalsAgree = agree(munkresCheck.total, ourCheck.total) && agree(lsaCheck.total, ourCheck.total) && munkresCheck.matched === ourCheck.matched && lsaCheck.matched === ourCheck.matched;
  const fastest = Math.min(median(munkresMs), lsaMs);
  const comparison: SmallComparison = {
    objective,
    runs,
    ours: { upperBound: solution.upperBound, gap: solution.gap, method: solution.method },
    ratio: median(oursMs) / fastest,
    firstRatio: oursFirstMs / Math.min(munkresFirstMs, lsaMs),
    roundRatios,
    totalsAgree,
  };
  return { comparison, description };
};

// ---------------------------------------------------------------------------------------------
// 2 and 3. The large population, in a child process per case

interface LargeSpec {
  readonly label: string;
  readonly mentees: number;
  readonly mentors: number;
  /** Every mentor's capacity, or null for 1-4 drawn per mentor. */
  readonly capacity: number | null;
  readonly objective: Objective;
  readonly seed: number;
  readonly suggestions: number;
}

interface LargeResult {
  readonly spec: LargeSpec;
  readonly slots: number;
  readonly populationMs: number;
  readonly solveMs: number;
  readonly rssBeforeMiB: number;
  readonly peakRssMiB: number;
  readonly matched: number;
  readonly totalScore: number;
  readonly upperBound: number;
  readonly gap: number;
  readonly matchedUpperBound: number;
  readonly method: string;
  readonly stats: AssignmentSolution['stats'];
  readonly trace: readonly string[];
  readonly suggestions: { readonly count: number; readonly p50Ms: number; readonly p99Ms: number; readonly meanMs: number } | null;
}

const LARGE_CASES: readonly LargeSpec[] = [
  { label: '20,000 × 5,000, capacity 4', mentees: 20_000, mentors: 5_000, capacity: 4, objective: 'MAX_SCORE', seed: 7, suggestions: 200 },
  { label: '20,000 × 5,000, capacity 4', mentees: 20_000, mentors: 5_000, capacity: 4, objective: 'MAX_MATCHED_THEN_SCORE', seed: 7, suggestions: 0 },
  { label: '20,000 × 5,000, capacity 1-4', mentees: 20_000, mentors: 5_000, capacity: null, objective: 'MAX_SCORE', seed: 7, suggestions: 0 },
];

const CHILD_FLAG = '--auto-matching-child';

/** In the child: build the population, solve, verify, time the suggestions; report to the parent. */
const largeCase = (spec: LargeSpec): LargeResult => {
  const populationStart = performance.now();
  const random = prng(spec.seed);
  const mentees = population(spec.mentees, 'mentee', random);
  const mentors = population(spec.mentors, 'mentor', random);
  const capacity = Int32Array.from({ length: spec.mentors }, () => spec.capacity ?? 1 + Math.floor(random() * 4));
  const score = scorer(mentees, mentors);
  const populationMs = performance.now() - populationStart;
  const problem: AssignmentProblem = { mentees: spec.mentees, mentors: spec.mentors, capacity, score, objective: spec.objective };
  const trace: string[] = [];
  const rssBefore = process.memoryUsage().rss;
  const start = performance.now();
  const solution = solveAssignment(problem, { trace: (line) => trace.push(line) });
  const solveMs = performance.now() - start;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const check = verify(spec.mentees, capacity, score, solution.mentorOf);
  if (check.matched !== solution.matched || Math.abs(check.total - solution.totalScore) > 1e-6 * Math.max(1, check.total)) {
    throw new Error(`the solution's figures do not match its assignment: ${check.matched} / ${check.total}`);
  }
  let suggestions: LargeResult['suggestions'] = null;
  if (spec.suggestions > 0) {
    const pickMentee = prng(spec.seed + 1);
    for (let k = 0; k < 20; k++) topMentors(problem, Math.floor(pickMentee() * spec.mentees), 5); // warm-up
    const latencies: number[] = [];
    for (let k = 0; k < spec.suggestions; k++) {
      const mentee = Math.floor(pickMentee() * spec.mentees);
      const t = performance.now();
      const top = topMentors(problem, mentee, 5);
      latencies.push(performance.now() - t);
      if (top.length === 0) throw new Error(`no suggestion for mentee ${mentee}`);
    }
    latencies.sort((a, b) => a - b);
    suggestions = {
      count: latencies.length,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      meanMs: latencies.reduce((a, b) => a + b, 0) / latencies.length,
    };
  }
  let slots = 0;
  for (const c of capacity) slots += c;
  return {
    spec,
    slots,
    populationMs,
    solveMs,
    rssBeforeMiB: rssBefore / 2 ** 20,
    peakRssMiB: peakRss / 2 ** 20,
    matched: solution.matched,
    totalScore: solution.totalScore,
    upperBound: solution.upperBound,
    gap: solution.gap,
    matchedUpperBound: solution.matchedUpperBound,
    method: solution.method,
    stats: solution.stats,
    trace,
    suggestions,
  };
};

type ChildTask = { readonly kind: 'small'; readonly objective: Objective; readonly rounds: number } | { readonly kind: 'large'; readonly spec: LargeSpec };

/** Runs a task in a fresh Node process and returns what it reports. */
const runInChild = <T>(task: ChildTask): Promise<T> =>
  new Promise((resolve, reject) => {
    const child = fork(__filename, [CHILD_FLAG, JSON.stringify(task)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: T | null = null;
    child.on('message', (message) => (result = message as T));
    child.on('error', reject);
    child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`the ${task.kind} benchmark child exited with code ${code} and no result`))));
  });

if (require.main === module && process.argv[2] === CHILD_FLAG) {
  const task = JSON.parse(process.argv[3]!) as ChildTask;
  const result = task.kind === 'small' ? smallComparison(task.objective, task.rounds, (line) => console.log(line)) : largeCase(task.spec);
  process.send!(result, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The benchmark

const TIME_LIMIT_MS = 60_000;
const MEMORY_LIMIT_MIB = 2048;
const GAP_LIMIT = 0.001;

export const autoMatching: Benchmark = {
  name: 'auto-matching',
  title: 'Optimal assignment for auto-matching: our solver vs munkres and linear-sum-assignment, and at 20,000 × 5,000',
  target:
    '(1) 2,000 × 2,000, capacity 1: the same optimal total as `munkres` and `linear-sum-assignment` on the same score matrix, in less time than the faster of them; ' +
    '(2) 20,000 mentees × 5,000 mentors, capacity 4: under 60 s and 2 GiB on this machine, optimality gap under 0.1 %; (3) suggest-mentors latency reported',
  async run(log): Promise<BenchmarkReport> {
    const rounds = intFromEnv('BENCH_AUTOMATCHING_ROUNDS', 5);
    log(`auto-matching: part 1, per objective in a child process: first calls, ${rounds} interleaved rounds of ours and munkres, linear-sum-assignment once`);
    const smallCases: SmallComparison[] = [];
    let smallDescription = '';
    for (const objective of OBJECTIVES) {
      const { comparison, description } = await runInChild<{ comparison: SmallComparison; description: string }>({ kind: 'small', objective, rounds });
      smallCases.push(comparison);
      smallDescription = description;
    }
    const small = { cases: smallCases, description: smallDescription };

    const large: LargeResult[] = [];
    for (const spec of LARGE_CASES) {
      log(`auto-matching: ${spec.label}, ${spec.objective} (child process)`);
      const result = await runInChild<LargeResult>({ kind: 'large', spec });
      for (const line of result.trace) log(`  ${line}`);
      log(`  ${seconds(result.solveMs)}, peak RSS ${fmt(result.peakRssMiB)} MiB, gap ${result.gap.toExponential(2)}`);
      large.push(result);
    }

    const rows: string[][] = [];
    for (const c of small.cases) {
      for (const run of c.runs) {
        const ms = median(run.ms);
        rows.push([
          `2,000 × 2,000, capacity 1`,
          c.objective,
          run.solver,
          run.ms.length > 1 ? `${seconds(ms)} (median of ${run.ms.length}; first call ${seconds(run.firstMs)})` : seconds(ms),
          '',
          fmt(run.matched),
          fmt(run.total, 6),
          run.solver.startsWith('ours') ? fmt(c.ours.upperBound, 6) : '',
          run.detail,
          run.solver.startsWith('ours') ? `${fmt(c.ratio, 2)}× (first calls: ${fmt(c.firstRatio, 2)}×)` : '',
        ]);
      }
    }
    for (const r of large) {
      rows.push([
        r.spec.label,
        r.spec.objective,
        `ours (${r.method})`,
        seconds(r.solveMs),
        `${fmt(r.peakRssMiB)} MiB`,
        `${fmt(r.matched)} (≤ ${fmt(r.matchedUpperBound)})`,
        fmt(r.totalScore, 4),
        fmt(r.upperBound, 4),
        `gap ${(100 * r.gap).toExponential(1)} %; ${r.stats.rounds} rounds`,
        '',
      ]);
    }
    const withSuggestions = large.find((r) => r.suggestions !== null);
    if (withSuggestions?.suggestions) {
      const s = withSuggestions.suggestions;
      rows.push([
        withSuggestions.spec.label,
        'suggest top 5',
        'ours (`topMentors`)',
        `p50 ${fmt(s.p50Ms, 3)} ms, p99 ${fmt(s.p99Ms, 3)} ms`,
        '',
        '',
        '',
        '',
        `${s.count} random mentees, mean ${fmt(s.meanMs, 3)} ms`,
        '',
      ]);
    }

    const smallMet = small.cases.every((c) => c.totalsAgree && c.ratio < 1 && c.firstRatio < 1);
    const headline = large.find((r) => r.spec.capacity === 4 && r.spec.objective === 'MAX_SCORE')!;
    const largeMet = large
      .filter((r) => r.spec.capacity === 4)
      .every((r) => r.solveMs < TIME_LIMIT_MS && r.peakRssMiB < MEMORY_LIMIT_MIB && r.gap < GAP_LIMIT);
    const ratios = small.cases.map((c) => `${fmt(c.ratio, 2)}× (${c.objective}; first calls ${fmt(c.firstRatio, 2)}×)`).join(', ');
    return {
      table: {
        columns: ['case', 'objective', 'solver', 'time', 'peak RSS', 'matched', 'total score', 'upper bound', 'certificate / notes', 'ours / fastest package'],
        rows,
      },
      environment: [
        `Part 1: ${small.description}; ours gets the matrix as \`dense\`, the packages a cost matrix of Float64Array rows built before timing.`,
        `Parts 2-3: each case in a fresh child process (peak RSS = that process's maxRSS, Node included); scores computed on the fly by the benchmark's own score function (never stored as a matrix); seed 7.`,
      ],
      result:
        `2,000 × 2,000: the same totals as both packages (${small.cases.every((c) => c.totalsAgree) ? 'all agree' : 'MISMATCH'}) in ${ratios} the fastest package's time; ` +
        `20,000 × 5,000 capacity 4: ${seconds(headline.solveMs)}, peak RSS ${fmt(headline.peakRssMiB)} MiB, gap ${(100 * headline.gap).toExponential(1)} % (MAX_SCORE)` +
        (withSuggestions?.suggestions ? `; suggestions p50 ${fmt(withSuggestions.suggestions.p50Ms, 2)} ms, p99 ${fmt(withSuggestions.suggestions.p99Ms, 2)} ms` : ''),
      targetMet: smallMet && largeMet,
      details: DETAILS,
    };
  },
};

// Kept in code so that regenerating the section keeps it. Update it when the solver changes.
const DETAILS = `**Populations** (\`population()\` and \`scorer()\` in \`bench/autoMatching.ts\`, seeded mulberry32). Each person has
an industry (10, skewed), 3-7 interests out of 48 topics drawn 70 % from their industry's 8 core topics
(neighbouring industries share some), a region that sets a clustered time zone (half-hour offsets around
UTC-5, UTC+1, UTC+5:30, UTC+8:30) and languages (English for 60-90 % depending on region, plus regional
ones, sometimes one more), a weekly availability over 21 slots from a few typical patterns plus noise,
and a gender; mentees may prefer a mentor gender. Score = 0.35 × Jaccard(interests) + 0.15 × same
industry + 0.15 × (1 - time-zone gap / 12 h) + 0.2 × share of the mentee's slots the mentor has + 0.15 ×
preferred gender met; a pair with no shared language is forbidden (about 28 % of pairs). The parts are
discrete, so many scores tie.

**Comparison with the packages (part 1).** \`munkres\` and \`linear-sum-assignment\` solve a complete
square cost matrix with every row assigned. They get cost = max score - score; a forbidden pair costs
\`max\` for \`MAX_SCORE\` (the same as leaving both unmatched) and (n + 2) × max for
\`MAX_MATCHED_THEN_SCORE\` (so that avoiding one forbidden pair outweighs any score). Forbidden pairs they
return count as unmatched; every assignment is checked (capacity, no forbidden pair) and its total
recomputed from the scores. Each objective in a child process of its own: the first call of ours and
of \`munkres\` (cold: compilation included), then interleaved timed rounds (alternating who goes first);
\`linear-sum-assignment\` runs once (seconds per run). The cost matrix is built before timing and checked
unchanged after the rounds. "vs fastest package" is our median time over the faster package's median
time, and in brackets our first call over the faster package's first call (the target is met only if
both are below 1). Forcing a full garbage collection before each call was tried and dropped: it
discards V8's optimisation state, so every call of ours ran cold (about 2× slower, helpers no longer
inlined) while \`munkres\`, one hot loop, barely changed; the first-call figure shows that cost honestly.

**Large cases (parts 2-3)** run one per child process, so the peak RSS (\`process.resourceUsage().maxRSS\`,
the whole Node process) is that case's; the time is \`solveAssignment\` alone. The score function is
called on the fly (the 100 million pairs are never stored); the solution is verified against the rules
and its total recomputed. Suggestions: \`topMentors(problem, mentee, 5)\` for 200 random mentees after 20
warm-up calls, each timed alone (one pass over the 5,000 mentors).

**Why our own solver.** Neither package can take the problem as it is: no capacities (a mentor of
capacity 4 would be 4 identical columns: 20,000 × 20,000 doubles = 3.2 GB for part 2, and their
O(n^3) methods), no forbidden pairs or "leave unmatched" except by padding the matrix with large costs,
no choice of objective, and no optimality certificate (\`linear-sum-assignment\` returns duals, but for
the padded square problem). On the part 1 matrix, which they can take, both were slower than our sparse
method (table above). So \`src/matching/solver/\` is written here:

- Scores are quantised to integers (2^32 steps of the largest score) so that every comparison is
  exact and ties are ties; \`MAX_MATCHED_THEN_SCORE\` adds λ = (min(mentees, capacity) + 1) × max per
  matched pair, which is the lexicographic order exactly (sums stay below 2^53).
- \`dense-sap\` (problems up to 250,000 mentee × slot cells): Jonker-Volgenant shortest augmenting paths
  on the matrix with slots expanded by capacity and a private "unmatched" column per mentee.
- \`sparse-sap\` (everything larger): one pass over all pairs keeps each mentee's 16 best mentors and each
  mentor's 16 best mentees; successive shortest augmenting paths with potentials on that graph (mentors
  as capacitated nodes, Dijkstra with an indexed heap); then a **pricing pass over all pairs** with the
  solution's mentor prices: a pair left out with a negative reduced cost (up to 16 per mentee) is added
  and the problem re-optimised, until no pair is. Re-optimising does not start over (unless a quarter of
  the mentees have new pairs): those mentees are released, a slot they free on a priced mentor is
  repaired by a Dijkstra backwards from that mentor (a row moves in along a shortest path, or the
  price falls), and they are assigned again.
- **Certificate**: for mentor prices p >= 0, U_i = max(0, max_j (score_ij + λ - p_j)) over ALL allowed
  pairs, and Σ U_i + Σ capacity_j p_j is an upper bound on any assignment's Σ (score + λ) (LP duality;
  the bipartite LP has integral optima). It is computed with the original floating-point scores, so it
  holds for the real problem whatever the method or the candidate lists; the gap left (~1e-11) is the
  quantisation step. For \`MAX_MATCHED_THEN_SCORE\` the same bound also caps the number of mentees any
  assignment can match (\`matchedUpperBound\`).
- Unit tests (\`assignment.unit.test.ts\`) check both methods against brute force on 300 random instances
  each (up to 7 mentees × 5 mentors, capacities 0-3, forbidden pairs, ties, both objectives), the sparse
  method's pricing rounds (restarted and re-optimised) against the dense one on 300 × 120, and edge cases.

**What was measured on the way** (development runs, same machine type; time for the part 1 matrix,
MAX_SCORE, unless said):

- \`dense-sap\` alone: ~650 ms against ~470 ms for \`munkres\` (not kept for large problems).
- Sparse, candidate lists by score only (top 8-48 per mentee), every pricing round solved from scratch:
  3-5 rounds, 360-520 ms; pricing passes cost 45 ms each before a floating-point pre-filter (now ~14 ms).
- Adding each mentor's 16 best mentees to the lists: 4 rounds, ~250 ms.
- Re-optimising rounds instead of restarting: ~180-200 ms. The first repair tried (a Dijkstra forward
  from the sink for each freed slot) cost more than a restart at 800 released mentees; the backward
  search from the under-filled mentor is local.
- Large case, capacity 4: 20.5 s with restarting rounds (6 rounds of ~2.3 s solves plus six 1 s passes
  over the 100 million pairs), ~14 s re-optimising. The passes over all pairs (score function calls,
  ~1 s each) are now about half the time; all mentees end matched there (20,000 slots), so late
  augmenting paths are long.
- The order in which mentees are inserted (by best score, either way, by list length) made no
  measurable difference.`;
