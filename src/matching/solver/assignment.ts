import { denseShortestPath } from './denseShortestPath';
import { SparseAssignment, type SparseGraph } from './sparseShortestPath';
import { TopK } from './topK';

/**
 * Optimal assignment of mentees to mentors for auto-matching (issue 5).
 *
 * The problem is a bipartite b-matching: each mentee takes at most one mentor, mentor j at most
 * `capacity[j]` mentees, forbidden pairs (hard constraints) are never used, and a mentee may stay
 * unmatched (score 0). Two objectives:
 * - `MAX_SCORE`: the highest total score;
 * - `MAX_MATCHED_THEN_SCORE`: as many mentees matched as possible, then the highest total score.
 *   Solved exactly as `MAX_SCORE` with a bonus λ per matched pair larger than any total score
 *   (λ = (min(mentees, capacity) + 1) × the largest score), which is the lexicographic order.
 *
 * How it is solved (see BENCHMARKS.md, section auto-matching, for the measurements behind it):
 * scores are quantised to integers (2^32 steps of the largest score, fewer only for very large
 * `MAX_MATCHED_THEN_SCORE` problems so that every sum stays exact in a double); then successive
 * shortest augmenting paths with potentials (Jonker–Volgenant), either
 * - `dense-sap`: on the full matrix with mentor slots expanded by capacity (small problems), or
 * - `sparse-sap`: on candidate lists (each mentee's best mentors and each mentor's best mentees by
 *   score, computed in one pass over all pairs), followed by a pricing pass over ALL pairs with the
 *   solution's mentor prices: any pair left out whose reduced cost is negative is added and the
 *   solution re-optimised (`SparseAssignment.extend`), until none is. The solution is then optimal
 *   for the full problem, not only for the lists.
 * Either way, the reported upper bound is a dual bound computed from the mentor prices over all
 * pairs with the original (unquantised) scores, so `gap` is a certificate for the full problem
 * whatever the method: a gap of 1e-11 or so is the quantisation step, not sub-optimality.
 */

export type Objective = 'MAX_SCORE' | 'MAX_MATCHED_THEN_SCORE';

export interface AssignmentProblem {
  readonly mentees: number;
  readonly mentors: number;
  /** Per mentor, how many more mentees it can take (<= 0: none). */
  readonly capacity: Int32Array;
  /**
   * Score of pair (mentee i, mentor j), or NaN when the pair is forbidden (hard constraint).
   * Must be finite and >= 0 otherwise. Called for every pair (once or a few times), so keep it cheap.
   */
  readonly score: (mentee: number, mentor: number) => number;
  readonly objective: Objective;
  /** Optional: the same scores as a dense row-major mentees × mentors matrix (NaN = forbidden), when the caller has it. */
  readonly dense?: Float64Array;
}

export type AssignmentMethod = 'dense-sap' | 'sparse-sap';

export interface AssignmentSolution {
  /** Per mentee, the mentor index, or -1 when unmatched. */
  readonly mentorOf: Int32Array;
  readonly matched: number;
  readonly totalScore: number;
  /**
   * An upper bound on the total score of any assignment that matches at least `matched` mentees
   * (for `MAX_SCORE`: of any assignment), from a dual solution checked against every pair.
   */
  readonly upperBound: number;
  /** (upperBound - totalScore) / upperBound, or 0 when the bound is 0. */
  readonly gap: number;
  /**
   * An upper bound on how many mentees any assignment can match. For `MAX_MATCHED_THEN_SCORE` it is
   * certified by the same dual solution (equal to `matched` when that is the maximum); for
   * `MAX_SCORE` it is only min(mentees, total capacity).
   */
  readonly matchedUpperBound: number;
  readonly method: AssignmentMethod;
  /** How the solution was reached: candidate pairs per mentee on average, solve rounds, pairs added by pricing. */
  readonly stats: { readonly candidatePairs: number; readonly rounds: number; readonly pairsAdded: number };
}

export interface SolveOptions {
  /**
   * `auto` (default) picks `dense` for small problems (at most 250,000 mentee × slot and mentee ×
   * mentor cells); `dense` on a large problem allocates mentees × slots doubles.
   */
  readonly method?: 'auto' | 'dense' | 'sparse';
  /** Sparse method: candidate mentors per mentee before pricing (default 16). */
  readonly candidates?: number;
  /** Sparse method: candidate mentees per mentor, added to those mentees' lists (default 16; 0 for none). */
  readonly mentorCandidates?: number;
  /** Sparse method: at most this many pairs added per mentee by each pricing pass (default 16). */
  readonly pricingAdds?: number;
  /** Sparse method: above this share of mentees with new pairs, a round starts over instead of re-optimising (default 0.25). */
  readonly coldFraction?: number;
  /** Progress lines (phase timings, pairs added per round), for benchmarks and diagnostics. */
  readonly trace?: (line: string) => void;
}

/** Above this many mentee × slot (or mentee × mentor) cells the dense method is not used by `auto`. */
const DENSE_CELLS = 250_000;
const DEFAULT_CANDIDATES = 16;
const DEFAULT_MENTOR_CANDIDATES = 16;
const DEFAULT_PRICING_ADDS = 16;
const DEFAULT_COLD_FRACTION = 0.25;

export const solveAssignment = (problem: AssignmentProblem, options: SolveOptions = {}): AssignmentSolution => {
  validateShape(problem);
  const slots = totalCapacity(problem.capacity);
  const method = options.method ?? 'auto';
  const dense = method === 'dense' || (method === 'auto' && problem.mentees * Math.max(slots, problem.mentors) <= DENSE_CELLS);
  return dense ? solveDense(problem, slots) : solveSparse(problem, slots, options);
};

/**
 * The k best-scoring mentors for one mentee, best first (ties: lower mentor index first), among
 * the allowed pairs with capacity left and, if given, `available(mentor)`.
 */
export const topMentors = (
  problem: AssignmentProblem,
  mentee: number,
  k: number,
  available?: (mentor: number) => boolean,
): { mentor: number; score: number }[] => {
  validateShape(problem);
  if (!Number.isInteger(mentee) || mentee < 0 || mentee >= problem.mentees) throw new RangeError(`mentee ${mentee} is out of range`);
  const keep = Math.min(Math.floor(k), problem.mentors);
  if (!(keep > 0)) return [];
  // A min-heap of the best so far: the root is the weakest kept.
  const heapScore = new Float64Array(keep);
  const heapMentor = new Int32Array(keep);
  let size = 0;
  const weaker = (a: number, b: number): boolean =>
    heapScore[a]! < heapScore[b]! || (heapScore[a] === heapScore[b] && heapMentor[a]! > heapMentor[b]!);
  const swap = (a: number, b: number): void => {
    const s = heapScore[a]!;
    heapScore[a] = heapScore[b]!;
    heapScore[b] = s;
    const j = heapMentor[a]!;
    heapMentor[a] = heapMentor[b]!;
    heapMentor[b] = j;
  };
  const siftDown = (): void => {
    for (let at = 0; ; ) {
      let child = 2 * at + 1;
      if (child >= size) return;
      if (child + 1 < size && weaker(child + 1, child)) child++;
      if (!weaker(child, at)) return;
      swap(child, at);
      at = child;
    }
  };
  const { mentors, dense, score } = problem;
  for (let j = 0; j < mentors; j++) {
    const w = dense ? dense[mentee * mentors + j]! : score(mentee, j);
    if (w !== w || problem.capacity[j]! <= 0) continue;
    checkScore(w, mentee, j);
    if (size === keep) {
      // Worse than the weakest kept (a tie loses to the lower index already kept).
      if (w < heapScore[0]! || (w === heapScore[0] && j > heapMentor[0]!)) continue;
      if (available && !available(j)) continue;
      heapScore[0] = w;
      heapMentor[0] = j;
      siftDown();
    } else {
      if (available && !available(j)) continue;
      let at = size++;
      heapScore[at] = w;
      heapMentor[at] = j;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!weaker(at, parent)) break;
        swap(at, parent);
        at = parent;
      }
    }
  }
  const result: { mentor: number; score: number }[] = [];
  for (let t = 0; t < size; t++) result.push({ mentor: heapMentor[t]!, score: heapScore[t]! });
  return result.sort((a, b) => b.score - a.score || a.mentor - b.mentor);
};

// ---------------------------------------------------------------------------------------------
// Shared pieces

const validateShape = (problem: AssignmentProblem): void => {
  const { mentees, mentors, capacity, dense } = problem;
  if (!Number.isInteger(mentees) || mentees < 0) throw new RangeError(`mentees must be a non-negative integer, got ${mentees}`);
  if (!Number.isInteger(mentors) || mentors < 0) throw new RangeError(`mentors must be a non-negative integer, got ${mentors}`);
  if (capacity.length !== mentors) throw new RangeError(`capacity has ${capacity.length} entries for ${mentors} mentors`);
  if (dense && dense.length !== mentees * mentors) throw new RangeError(`dense has ${dense.length} entries, expected ${mentees} × ${mentors}`);
};

const totalCapacity = (capacity: Int32Array): number => {
  let total = 0;
  for (let j = 0; j < capacity.length; j++) total += Math.max(0, capacity[j]!);
  return total;
};

const checkScore = (w: number, mentee: number, mentor: number): void => {
  if (!(w >= 0) || w === Infinity) throw new RangeError(`score(${mentee}, ${mentor}) = ${w}: scores must be finite and >= 0 (NaN = forbidden)`);
};

/** A function returning mentee i's scores for all mentors (a view of `dense`, or a reused buffer). */
const rowReader = (problem: AssignmentProblem): ((mentee: number) => Float64Array) => {
  const { mentors, dense, score } = problem;
  if (dense) return (i) => dense.subarray(i * mentors, (i + 1) * mentors);
  const buffer = new Float64Array(mentors);
  return (i) => {
    for (let j = 0; j < mentors; j++) buffer[j] = score(i, j);
    return buffer;
  };
};

/**
 * Integer scores: `q(w) = round(Q × w / unit)` in [0, Q], `unit` the largest score; the solvers minimise `Q - q(w)` per pair and
 * pay `Q + λ` to leave a mentee unmatched. Q is chosen so that every potential and distance the
 * solvers compute (bounded by Q + λ in absolute value, sums of at most four of them) is an exact
 * integer in a double.
 */
interface Quantization {
  /** The largest score (1 when all are 0): q = Q means this much. */
  readonly unit: number;
  readonly top: number; // Q
  readonly lambda: number; // λ, quantised
  readonly unmatchedCost: number; // Q + λ
}

const quantization = (objective: Objective, maxScore: number, mentees: number, slots: number): Quantization => {
  const most = Math.min(mentees, slots);
  let top = 2 ** 32;
  if (objective === 'MAX_MATCHED_THEN_SCORE') top = Math.min(top, 2 ** Math.floor(Math.log2(2 ** 51 / (most + 2))));
  const lambda = objective === 'MAX_MATCHED_THEN_SCORE' ? (most + 1) * top : 0;
  return { unit: maxScore > 0 ? maxScore : 1, top, lambda, unmatchedCost: top + lambda };
};

// w / unit is in [0, 1], so neither form overflows whatever the scores' magnitude.
const quantize = (q: Quantization, w: number): number => Math.min(q.top, Math.round((w / q.unit) * q.top));

/** Back from quantised units to score units. */
const unquantize = (q: Quantization, x: number): number => (x / q.top) * q.unit;

/** Neumaier's compensated sum: bounds add terms of very different sizes (λ per pair against scores). */
class Sum {
  private sum = 0;
  private compensation = 0;
  add(x: number): void {
    const t = this.sum + x;
    this.compensation += Math.abs(this.sum) >= Math.abs(x) ? this.sum - t + x : x - t + this.sum;
    this.sum = t;
  }
  get value(): number {
    return this.sum + this.compensation;
  }
}

interface Certificate {
  readonly upperBound: number;
  readonly matchedUpperBound: number;
}

/**
 * The dual bound over ALL allowed pairs for mentor prices `price` (score units, >= 0):
 * U_i = max(0, max_j (w_ij + λ - price_j)), bound = Σ U_i + Σ capacity_j price_j >= any Σ (w + λ) x.
 * `rowBest[i]` must hold max_j (w_ij - price_j) over mentee i's allowed pairs (−Infinity if none).
 */
const certificate = (
  problem: AssignmentProblem,
  q: Quantization,
  price: Float64Array,
  rowBest: Float64Array,
  matched: number,
  slots: number,
): Certificate => {
  const lambda = unquantize(q, q.lambda);
  const bound = new Sum();
  for (let i = 0; i < problem.mentees; i++) {
    const best = rowBest[i]! + lambda;
    if (best > 0) bound.add(best);
  }
  for (let j = 0; j < problem.mentors; j++) {
    const c = problem.capacity[j]!;
    if (c > 0 && price[j]! > 0) bound.add(c * price[j]!);
  }
  if (lambda === 0) return { upperBound: bound.value, matchedUpperBound: Math.min(problem.mentees, slots) };
  bound.add(-lambda * matched);
  const scoreBound = bound.value;
  // bound ≥ λ k* + (score of the best k*-assignment) ≥ λ k*, and scores sum to less than λ.
  const extra = Math.max(0, Math.floor(scoreBound / lambda + 1e-9));
  return { upperBound: scoreBound, matchedUpperBound: Math.min(matched + extra, problem.mentees, slots) };
};

const solution = (
  problem: AssignmentProblem,
  mentorOf: Int32Array,
  pairScore: (mentee: number, mentor: number) => number,
  cert: Certificate,
  method: AssignmentMethod,
  stats: AssignmentSolution['stats'],
): AssignmentSolution => {
  let matched = 0;
  const total = new Sum();
  for (let i = 0; i < problem.mentees; i++) {
    const j = mentorOf[i]!;
    if (j < 0) continue;
    matched++;
    total.add(pairScore(i, j));
  }
  const totalScore = total.value;
  const upperBound = Math.max(cert.upperBound, totalScore);
  const gap = upperBound > 0 ? (upperBound - totalScore) / upperBound : 0;
  return { mentorOf, matched, totalScore, upperBound, gap, matchedUpperBound: Math.max(cert.matchedUpperBound, matched), method, stats };
};

// ---------------------------------------------------------------------------------------------
// Dense: the full matrix, slots expanded

const solveDense = (problem: AssignmentProblem, slots: number): AssignmentSolution => {
  const { mentees: n, mentors: m, capacity } = problem;
  // The scores, read once.
  let scores = problem.dense;
  if (!scores) {
    scores = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) scores[i * m + j] = problem.score(i, j);
  }
  let maxScore = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const w = scores[i * m + j]!;
      if (w !== w) continue;
      checkScore(w, i, j);
      if (capacity[j]! > 0 && w > maxScore) maxScore = w;
    }
  }
  const q = quantization(problem.objective, maxScore, n, slots);
  const slotMentor = new Int32Array(slots);
  for (let j = 0, s = 0; j < m; j++) for (let c = 0; c < capacity[j]!; c++) slotMentor[s++] = j;
  const cost = new Float64Array(n * slots);
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < slots; s++) {
      const w = scores[i * m + slotMentor[s]!]!;
      cost[i * slots + s] = w !== w ? Infinity : q.top - quantize(q, w);
    }
  }
  const { rowSlot, v } = denseShortestPath(n, slots, cost, q.unmatchedCost);

  const mentorOf = new Int32Array(n);
  for (let i = 0; i < n; i++) mentorOf[i] = rowSlot[i]! < 0 ? -1 : slotMentor[rowSlot[i]!]!;
  // A mentor's price is its cheapest slot's: any dual constraint met by one slot is met by the mentor.
  const price = new Float64Array(m).fill(Infinity);
  for (let s = 0; s < slots; s++) {
    const j = slotMentor[s]!;
    price[j] = Math.min(price[j]!, unquantize(q, -v[s]!));
  }
  for (let j = 0; j < m; j++) if (price[j] === Infinity) price[j] = 0;
  const rowBest = new Float64Array(n).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let j = 0; j < m; j++) {
      const w = scores[i * m + j]!;
      if (w !== w || capacity[j]! <= 0) continue;
      const net = w - price[j]!;
      if (net > best) best = net;
    }
    rowBest[i] = best;
  }
  let matched = 0;
  for (let i = 0; i < n; i++) if (mentorOf[i]! >= 0) matched++;
  const dense = scores;
  return solution(problem, mentorOf, (i, j) => dense[i * m + j]!, certificate(problem, q, price, rowBest, matched, slots), 'dense-sap', {
    candidatePairs: m,
    rounds: 1,
    pairsAdded: 0,
  });
};

// ---------------------------------------------------------------------------------------------
// Sparse: candidate lists, pricing over all pairs

/** Per mentee, its candidate mentors (compressed sparse rows) with their unquantised scores. */
interface Candidates {
  readonly start: Int32Array; // n + 1
  readonly mentor: Int32Array;
  readonly score: Float64Array;
}

const solveSparse = (problem: AssignmentProblem, slots: number, options: SolveOptions): AssignmentSolution => {
  const { mentees: n, mentors: m, capacity } = problem;
  const row = rowReader(problem);
  const perMentee = Math.min(m, Math.max(1, options.candidates ?? DEFAULT_CANDIDATES));
  const perMentor = Math.min(n, Math.max(0, options.mentorCandidates ?? DEFAULT_MENTOR_CANDIDATES));
  const pricingAdds = Math.max(1, options.pricingAdds ?? DEFAULT_PRICING_ADDS);
  const coldFraction = options.coldFraction ?? DEFAULT_COLD_FRACTION;
  const lap = stopwatch();
  const trace = options.trace;

  const first = firstPass(problem, row, perMentee, perMentor);
  let candidates = first.candidates;
  const q = quantization(problem.objective, first.maxScore, n, slots);
  trace?.(`candidates: ${(candidates.start[n]! / Math.max(1, n)).toFixed(1)} per mentee, ${lap().toFixed(0)} ms`);

  let rounds = 0;
  let pairsAdded = 0;
  let solver: SparseAssignment | null = null;
  let released: readonly number[] = [];
  for (;;) {
    rounds++;
    const graph = toGraph(candidates, q);
    if (solver === null || released.length > n * coldFraction) {
      solver = new SparseAssignment(capacity, q.unmatchedCost, graph);
      solver.assignFree();
    } else {
      solver.extend(graph, released);
    }
    const solveMs = lap();
    const priced = pricingPass(problem, row, candidates, solver, q, pricingAdds);
    released = priced.released;
    const added = priced.extra.mentor.length;
    trace?.(
      `round ${rounds}: ${solver.rowMentor.reduce((k, j) => (j >= 0 ? k + 1 : k), 0)} matched, solve ${solveMs.toFixed(0)} ms, ` +
        `pricing ${lap().toFixed(0)} ms, ${added} pairs added for ${released.length} mentees`,
    );
    if (added === 0) {
      const mentorOf = Int32Array.from(solver.rowMentor);
      let matched = 0;
      for (let i = 0; i < n; i++) if (mentorOf[i]! >= 0) matched++;
      // The pair's score from the candidate lists (every assigned pair is a candidate).
      const assignedScore = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        for (let e = candidates.start[i]!; e < candidates.start[i + 1]!; e++) {
          if (candidates.mentor[e] === mentorOf[i]) assignedScore[i] = candidates.score[e]!;
        }
      }
      const cert = certificate(problem, q, priced.price, priced.rowBest, matched, slots);
      return solution(problem, mentorOf, (i) => assignedScore[i]!, cert, 'sparse-sap', {
        candidatePairs: candidates.start[n]! / Math.max(1, n),
        rounds,
        pairsAdded,
      });
    }
    pairsAdded += added;
    candidates = merge(candidates, priced.extra);
  }
};

/** Milliseconds since the previous call (or since creation). */
const stopwatch = (): (() => number) => {
  let clock = performance.now();
  return () => {
    const now = performance.now();
    const elapsed = now - clock;
    clock = now;
    return elapsed;
  };
};

/**
 * Pass 1 over all pairs: each mentee's best mentors, each mentor's best mentees (so that a mentor
 * nobody ranks first still has the mentees it suits best), and the largest score.
 */
const firstPass = (
  problem: AssignmentProblem,
  row: (mentee: number) => Float64Array,
  perMentee: number,
  perMentor: number,
): { candidates: Candidates; maxScore: number } => {
  const { mentees: n, mentors: m, capacity } = problem;
  let maxScore = 0;
  const menteeTop = new TopK(n, perMentee);
  const mentorTop = new TopK(m, Math.max(1, perMentor));
  // The smallest score each heap keeps (-Infinity while it has room; Infinity: takes nothing).
  // NaN (forbidden) fails every comparison, so forbidden pairs cost nothing here.
  const mentorThreshold = new Float64Array(m);
  for (let j = 0; j < m; j++) mentorThreshold[j] = capacity[j]! > 0 && perMentor > 0 ? -Infinity : Infinity;
  for (let i = 0; i < n; i++) {
    const w = row(i);
    let rowThreshold = -Infinity;
    for (let j = 0; j < m; j++) {
      const x = w[j]!;
      if (x < 0) checkScore(x, i, j);
      if (x > rowThreshold && capacity[j]! > 0) {
        if (x > maxScore) {
          checkScore(x, i, j);
          maxScore = x;
        }
        rowThreshold = menteeTop.offer(i, x, j);
      }
      if (x > mentorThreshold[j]!) mentorThreshold[j] = mentorTop.offer(j, x, i);
    }
  }
  return { candidates: initialCandidates(n, m, menteeTop, perMentor > 0 ? mentorTop : null), maxScore };
};

interface Priced {
  /** Per mentor, its price in score units (Infinity for mentors without capacity). */
  readonly price: Float64Array;
  /** Per mentee, max over its allowed pairs of (score - price), for the certificate. */
  readonly rowBest: Float64Array;
  /** The pairs to add, per mentee. */
  readonly extra: Candidates;
  /** The mentees with pairs to add. */
  readonly released: readonly number[];
}

/**
 * The pricing pass over every pair: the dual bound's row terms, and the pairs left out that should
 * be in. (i, j) belongs in when its reduced cost Q - q(w) - u_i - v_j < 0; since q(w) <= Q·w/unit +
 * 1/2, that needs w - price_j > (Q - u_i - 1/2)·unit/Q, checked in floating point first (forbidden
 * pairs are NaN and fail every comparison). At most `adds` per mentee, the most negative first.
 */
const pricingPass = (
  problem: AssignmentProblem,
  row: (mentee: number) => Float64Array,
  candidates: Candidates,
  solver: SparseAssignment,
  q: Quantization,
  adds: number,
): Priced => {
  const { mentees: n, mentors: m, capacity } = problem;
  const { u, v } = solver;
  const price = new Float64Array(m);
  for (let j = 0; j < m; j++) price[j] = capacity[j]! > 0 ? unquantize(q, -v[j]!) : Infinity;
  const rowBest = new Float64Array(n);
  const stamp = new Int32Array(m).fill(-1);
  const violators = new TopK(1, adds);
  const start = new Int32Array(n + 1);
  const mentor: number[] = [];
  const score: number[] = [];
  const released: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let e = candidates.start[i]!; e < candidates.start[i + 1]!; e++) stamp[candidates.mentor[e]!] = i;
    const w = row(i);
    const ui = u[i]!;
    const threshold = unquantize(q, q.top - ui - 1);
    let best = -Infinity;
    let violatorThreshold = -Infinity;
    violators.clear(0);
    for (let j = 0; j < m; j++) {
      const net = w[j]! - price[j]!;
      if (net > best) best = net;
      if (net > threshold && stamp[j] !== i) {
        const rc = q.top - quantize(q, w[j]!) - ui - v[j]!;
        if (rc < 0 && -rc > violatorThreshold) violatorThreshold = violators.offer(0, -rc, j);
      }
    }
    rowBest[i] = best;
    start[i] = mentor.length;
    const size = violators.sizes[0]!;
    if (size > 0) released.push(i);
    for (let t = 0; t < size; t++) {
      const j = violators.items[t]!;
      mentor.push(j);
      score.push(w[j]!);
    }
  }
  start[n] = mentor.length;
  return { price, rowBest, extra: { start, mentor: Int32Array.from(mentor), score: Float64Array.from(score) }, released };
};

/** Each mentee's own list plus the mentees each mentor listed, without duplicates. */
const initialCandidates = (n: number, m: number, menteeTop: TopK, mentorTop: TopK | null): Candidates => {
  const byMentee = new Int32Array(n + 1);
  if (mentorTop) {
    for (let j = 0; j < m; j++) for (let t = 0; t < mentorTop.sizes[j]!; t++) byMentee[mentorTop.items[j * mentorTop.k + t]! + 1]++;
    for (let i = 0; i < n; i++) byMentee[i + 1] = byMentee[i + 1]! + byMentee[i]!;
  }
  const fromMentors = new Int32Array(byMentee[n]!);
  const fromMentorsScore = new Float64Array(byMentee[n]!);
  if (mentorTop) {
    const fill = byMentee.slice(0, n);
    for (let j = 0; j < m; j++) {
      for (let t = 0; t < mentorTop.sizes[j]!; t++) {
        const i = mentorTop.items[j * mentorTop.k + t]!;
        fromMentors[fill[i]!] = j;
        fromMentorsScore[fill[i]!++] = mentorTop.keys[j * mentorTop.k + t]!;
      }
    }
  }
  let total = fromMentors.length;
  for (let i = 0; i < n; i++) total += menteeTop.sizes[i]!;
  const start = new Int32Array(n + 1);
  const mentor = new Int32Array(total);
  const score = new Float64Array(total);
  const stamp = new Int32Array(m).fill(-1);
  let at = 0;
  for (let i = 0; i < n; i++) {
    start[i] = at;
    for (let t = 0, base = i * menteeTop.k; t < menteeTop.sizes[i]!; t++) {
      const j = menteeTop.items[base + t]!;
      stamp[j] = i;
      mentor[at] = j;
      score[at++] = menteeTop.keys[base + t]!;
    }
    for (let e = byMentee[i]!; e < byMentee[i + 1]!; e++) {
      const j = fromMentors[e]!;
      if (stamp[j] === i) continue;
      stamp[j] = i;
      mentor[at] = j;
      score[at++] = fromMentorsScore[e]!;
    }
  }
  start[n] = at;
  return { start, mentor: mentor.subarray(0, at), score: score.subarray(0, at) };
};

const toGraph = (candidates: Candidates, q: Quantization): SparseGraph => {
  const cost = new Float64Array(candidates.score.length);
  for (let e = 0; e < cost.length; e++) cost[e] = q.top - quantize(q, candidates.score[e]!);
  return { rowStart: candidates.start, mentor: candidates.mentor, cost };
};

const merge = (candidates: Candidates, extra: Candidates): Candidates => {
  const n = candidates.start.length - 1;
  const total = candidates.start[n]! + extra.start[n]!;
  const start = new Int32Array(n + 1);
  const mentor = new Int32Array(total);
  const score = new Float64Array(total);
  let at = 0;
  for (let i = 0; i < n; i++) {
    start[i] = at;
    for (const list of [candidates, extra]) {
      for (let e = list.start[i]!; e < list.start[i + 1]!; e++) {
        mentor[at] = list.mentor[e]!;
        score[at++] = list.score[e]!;
      }
    }
  }
  start[n] = at;
  return { start, mentor, score };
};
