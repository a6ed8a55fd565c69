/**
 * Successive shortest augmenting paths for the capacitated assignment (b-matching) problem on a
 * sparse graph: mentees are rows, mentors are columns with a capacity each (not expanded into
 * slots), and every row may also stay unmatched at `unmatchedCost`.
 *
 * It is a min-cost flow: row i → mentor j (cost c_ij), row i → sink t (cost `unmatchedCost`:
 * staying unmatched), mentor j → t (capacity c_j, cost 0). All costs are integers held in doubles
 * (see `quantization` in `assignment.ts`), so every comparison is exact and ties are ties. The
 * potentials are `-u[i]` for rows, `v[j]` for mentors, 0 for t, and between operations:
 * - reduced cost `c_ij - u[i] - v[j] >= 0` on every edge, `= 0` on every assigned pair;
 * - `unmatchedCost - u[i] >= 0` for every row, `= 0` for rows left unmatched;
 * - `v[j] = 0` for mentors with spare capacity, `v[j] <= 0` for full ones.
 * These are the optimality conditions of the flow (complementary slackness): the assignment is
 * optimal for the rows assigned so far, and `-v[j]` is mentor j's price.
 *
 * `assignFree` runs one Dijkstra per free row (Jonker–Volgenant style: an indexed binary heap over
 * mentors; a full mentor, once reached, hands over all its rows at the same distance since their
 * edges are tight; the search stops at the first mentor with spare capacity or when staying
 * unmatched somewhere on the way is no longer beaten).
 *
 * `extend` re-optimises after edges are added (the pricing rounds in `assignment.ts`) without
 * starting over: rows with a newly profitable edge are released; a slot they free on a mentor with
 * a price breaks the conditions, and is repaired by a Dijkstra backwards from that mentor (either
 * a row moves in along a shortest path, or the price falls); then the released rows are assigned
 * again.
 */

/**
 * Candidate edges in compressed sparse row form: row i's edges are `rowStart[i] .. rowStart[i + 1]`.
 * No edge may lead to a mentor of capacity 0.
 */
export interface SparseGraph {
  readonly rowStart: Int32Array;
  readonly mentor: Int32Array;
  /** Integer-valued, >= 0. */
  readonly cost: Float64Array;
}

/** `rowMentor` values besides a mentor index. */
const UNMATCHED = -1;
const FREE = -2;

/** A binary min-heap of node indices keyed by `dist`, with decrease-key; reset in O(touched). */
class IndexedHeap {
  readonly dist: Float64Array;
  readonly done: Uint8Array;
  private readonly heap: Int32Array;
  private readonly position: Int32Array;
  private readonly touched: Int32Array;
  private touchedCount = 0;
  size = 0;

  constructor(nodes: number) {
    this.dist = new Float64Array(nodes).fill(Infinity);
    this.done = new Uint8Array(nodes);
    this.heap = new Int32Array(nodes);
    this.position = new Int32Array(nodes).fill(-1);
    this.touched = new Int32Array(nodes);
  }

  top(): number {
    return this.heap[0]!;
  }

  /** Sets node k's distance to d (d must be smaller than its current one) and (re)positions it. */
  push(k: number, d: number): void {
    const { dist, heap, position } = this;
    if (dist[k] === Infinity) this.touched[this.touchedCount++] = k;
    dist[k] = d;
    let at = position[k]!;
    if (at < 0) at = this.size++;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const p = heap[parent]!;
      if (dist[p]! <= d) break;
      heap[at] = p;
      position[p] = at;
      at = parent;
    }
    heap[at] = k;
    position[k] = at;
  }

  /** Marks a node reached without going through the heap (final at distance d). */
  settle(k: number, d: number): void {
    if (this.dist[k] === Infinity) this.touched[this.touchedCount++] = k;
    this.dist[k] = d;
    this.done[k] = 1;
  }

  pop(): number {
    const { dist, heap, position } = this;
    const top = heap[0]!;
    const size = --this.size;
    position[top] = -1;
    if (size > 0) {
      const last = heap[size]!;
      const lastDist = dist[last]!;
      let at = 0;
      for (;;) {
        let child = 2 * at + 1;
        if (child >= size) break;
        if (child + 1 < size && dist[heap[child + 1]!]! < dist[heap[child]!]!) child++;
        const c = heap[child]!;
        if (dist[c]! >= lastDist) break;
        heap[at] = c;
        position[c] = at;
        at = child;
      }
      heap[at] = last;
      position[last] = at;
    }
    this.done[top] = 1;
    return top;
  }

  reset(): void {
    const { touched, dist, done, position } = this;
    for (let k = 0; k < this.touchedCount; k++) {
      const node = touched[k]!;
      dist[node] = Infinity;
      done[node] = 0;
      position[node] = -1;
    }
    this.touchedCount = 0;
    this.size = 0;
  }

  /** The nodes touched since the last reset. */
  forEachTouched(f: (node: number) => void): void {
    for (let k = 0; k < this.touchedCount; k++) f(this.touched[k]!);
  }
}

export class SparseAssignment {
  /** Row potentials. */
  readonly u: Float64Array;
  /** Mentor potentials (<= 0; the price of a mentor is `-v`). */
  readonly v: Float64Array;
  /** Per row: the mentor, -1 when unmatched, -2 while not yet assigned. */
  readonly rowMentor: Int32Array;

  private graph: SparseGraph;
  private readonly rows: number;
  private readonly mentors: number;
  /** Cost of each row's assigned edge. */
  private readonly rowCost: Float64Array;
  private readonly rowSlot: Int32Array;
  private readonly slotStart: Int32Array;
  private readonly slotRow: Int32Array;
  private readonly load: Int32Array;
  // Forward searches (over mentors).
  private readonly mentorHeap: IndexedHeap;
  private readonly predRow: Int32Array;
  private readonly predCost: Float64Array;
  private readonly poppedList: Int32Array;
  private poppedCount = 0;
  // Backward searches (over rows).
  private readonly rowHeap: IndexedHeap;
  private readonly nextMentor: Int32Array; // row → the mentor it moves to
  private readonly nextCost: Float64Array;
  private readonly leavingRow: Int32Array; // mentor → the row of it the search came through
  private readonly reached: Int32Array;
  private reachedCount = 0;
  private refillTarget = -1;
  private refillBound = 0;
  private fromRow = -1; // an unmatched row that moves in
  private fromMentor = -1; // or a mentor that gives up a row

  constructor(
    private readonly capacity: Int32Array,
    private readonly unmatchedCost: number,
    graph: SparseGraph,
  ) {
    const rows = graph.rowStart.length - 1;
    const mentors = capacity.length;
    this.rows = rows;
    this.mentors = mentors;
    this.graph = graph;
    this.u = new Float64Array(rows);
    this.v = new Float64Array(mentors);
    this.rowMentor = new Int32Array(rows).fill(FREE);
    this.rowCost = new Float64Array(rows);
    this.rowSlot = new Int32Array(rows).fill(-1);
    this.slotStart = new Int32Array(mentors + 1);
    for (let j = 0; j < mentors; j++) this.slotStart[j + 1] = this.slotStart[j]! + Math.max(0, capacity[j]!);
    this.slotRow = new Int32Array(this.slotStart[mentors]!);
    this.load = new Int32Array(mentors);
    this.mentorHeap = new IndexedHeap(mentors);
    this.predRow = new Int32Array(mentors);
    this.predCost = new Float64Array(mentors);
    this.poppedList = new Int32Array(mentors);
    this.rowHeap = new IndexedHeap(rows);
    this.nextMentor = new Int32Array(rows);
    this.nextCost = new Float64Array(rows);
    this.leavingRow = new Int32Array(mentors);
    this.reached = new Int32Array(mentors);
  }

  /** Assigns every row not yet assigned (all of them the first time). */
  assignFree(): void {
    for (let r = 0; r < this.rows; r++) if (this.rowMentor[r] === FREE) this.augmentFrom(r);
  }

  /**
   * Switches to `graph`, which must keep every edge of the current one (it may add more), and
   * restores optimality; `released` must include every row with a new edge of negative reduced cost.
   */
  extend(graph: SparseGraph, released: readonly number[]): void {
    this.graph = graph;
    const { rowMentor, load, capacity, v } = this;
    const underfilled: number[] = [];
    for (const i of released) {
      const j = rowMentor[i]!;
      if (j >= 0) {
        this.removeFromSlot(i, j);
        if (load[j]! === capacity[j]! - 1 && v[j]! < 0) underfilled.push(j);
      }
      rowMentor[i] = FREE;
    }
    if (underfilled.length > 0) {
      const reverse = reverseGraph(graph, this.mentors);
      for (const j of underfilled) while (load[j]! < capacity[j]! && v[j]! < 0) this.refill(j, reverse);
    }
    // Free rows have no edge into them: their potential can be set for their own edges alone.
    const { rowStart, mentor, cost } = graph;
    for (const i of released) {
      let most = this.unmatchedCost;
      for (let e = rowStart[i]!; e < rowStart[i + 1]!; e++) most = Math.min(most, cost[e]! - v[mentor[e]!]!);
      this.u[i] = most;
    }
    this.assignFree();
  }

  // -------------------------------------------------------------------------------------------

  private removeFromSlot(i: number, j: number): void {
    const last = this.slotStart[j]! + this.load[j]! - 1;
    const slot = this.rowSlot[i]!;
    if (slot !== last) {
      const moved = this.slotRow[last]!;
      this.slotRow[slot] = moved;
      this.rowSlot[moved] = slot;
    }
    this.load[j] = this.load[j]! - 1;
    this.rowSlot[i] = -1;
  }

  private place(i: number, j: number, slot: number, cost: number): void {
    this.slotRow[slot] = i;
    this.rowMentor[i] = j;
    this.rowSlot[i] = slot;
    this.rowCost[i] = cost;
  }

  private appendSlot(j: number): number {
    const slot = this.slotStart[j]! + this.load[j]!;
    this.load[j] = this.load[j]! + 1;
    return slot;
  }

  /** Relaxes row i's edges from distance d; returns d plus the reduced cost of leaving i unmatched. */
  private scanRow(i: number, d: number, bound: number): number {
    const { rowStart, mentor, cost } = this.graph;
    const { v, mentorHeap } = this;
    const { dist, done } = mentorHeap;
    const base = d - this.u[i]!;
    const own = this.rowMentor[i]!;
    for (let e = rowStart[i]!, end = rowStart[i + 1]!; e < end; e++) {
      const j = mentor[e]!;
      if (done[j] === 1 || j === own) continue;
      const nd = base + cost[e]! - v[j]!;
      if (nd < dist[j]! && nd < bound) {
        mentorHeap.push(j, nd);
        this.predRow[j] = i;
        this.predCost[j] = cost[e]!;
      }
    }
    return base + this.unmatchedCost;
  }

  /** One shortest augmenting path from free row `source` to t, then potentials and assignment. */
  private augmentFrom(source: number): void {
    const { load, capacity, slotStart, slotRow, mentorHeap } = this;
    const { dist } = mentorHeap;
    // The best way found so far to end the path: a mentor with spare capacity (sinkMentor >= 0)
    // or leaving row `dummyRow` unmatched.
    let best = this.unmatchedCost - this.u[source]!;
    let sinkMentor = -1;
    let dummyRow = source;
    const fromSource = this.scanRow(source, 0, best);
    if (fromSource < best) best = fromSource;
    this.poppedCount = 0;
    while (mentorHeap.size > 0) {
      const j = mentorHeap.top();
      const dj = dist[j]!;
      if (dj >= best) break;
      mentorHeap.pop();
      if (load[j]! < capacity[j]!) {
        best = dj;
        sinkMentor = j;
        break;
      }
      this.poppedList[this.poppedCount++] = j;
      // A full mentor: its rows are reached at the same distance (assigned edges are tight).
      for (let s = slotStart[j]!, end = s + load[j]!; s < end; s++) {
        const i = slotRow[s]!;
        const leave = this.scanRow(i, dj, best);
        if (leave < best) {
          best = leave;
          sinkMentor = -1;
          dummyRow = i;
        }
      }
    }

    // Potentials: every node finalised at distance d moves by (best - d).
    const { u, v } = this;
    u[source] = u[source]! + best;
    for (let k = 0; k < this.poppedCount; k++) {
      const j = this.poppedList[k]!;
      const delta = best - dist[j]!;
      if (delta === 0) continue;
      v[j] = v[j]! - delta;
      for (let s = slotStart[j]!, end = s + load[j]!; s < end; s++) {
        const i = slotRow[s]!;
        u[i] = u[i]! + delta;
      }
    }

    // Augment: each row on the path moves to the mentor it reached; the place it leaves goes to
    // the row before it.
    let i: number;
    let j: number;
    let slot: number;
    if (sinkMentor >= 0) {
      i = this.predRow[sinkMentor]!;
      j = sinkMentor;
      slot = this.appendSlot(sinkMentor);
    } else {
      if (dummyRow === source) {
        this.rowMentor[source] = UNMATCHED;
        mentorHeap.reset();
        return;
      }
      j = this.rowMentor[dummyRow]!;
      slot = this.rowSlot[dummyRow]!;
      this.rowMentor[dummyRow] = UNMATCHED;
      this.rowSlot[dummyRow] = -1;
      i = this.predRow[j]!;
    }
    for (;;) {
      const previousMentor = this.rowMentor[i]!;
      const previousSlot = this.rowSlot[i]!;
      this.place(i, j, slot, this.predCost[j]!);
      if (i === source) break;
      j = previousMentor;
      slot = previousSlot;
      i = this.predRow[j]!;
    }
    mentorHeap.reset();
  }

  /**
   * Mentor `target` has a free slot but a price (v < 0): its edge to t has a negative reduced cost.
   * Dijkstra backwards from it over the residual graph (a row leads to its mentor at no cost; a
   * mentor to the rows with an edge into it) looks for the cheapest way to bring a row in: from an
   * unmatched row (t → row), or a row taken from a mentor (t → mentor at its price). If that costs
   * less than the price, the row moves in along the path; either way the potentials of the nodes
   * reached move by (bound - distance), which leaves every reduced cost non-negative and lowers
   * the target's price by the bound (to 0 when no row moved).
   */
  private refill(target: number, reverse: ReverseGraph): void {
    const { u, v, rowMentor, rowHeap, slotStart, slotRow, load } = this;
    const { dist: rowDist, done: rowDone } = rowHeap;
    const mentorDist = this.mentorHeap.dist;
    this.refillTarget = target;
    this.refillBound = -v[target]!;
    this.fromRow = -1;
    this.fromMentor = -1;
    this.reachedCount = 0;

    this.reachMentor(target, 0, reverse);
    while (rowHeap.size > 0) {
      const i = rowHeap.top();
      const d = rowDist[i]!;
      if (d >= this.refillBound) break;
      rowHeap.pop();
      const j = rowMentor[i]!;
      if (j === UNMATCHED) {
        // t → i is the reverse of i staying unmatched: reduced cost u_i - unmatchedCost (0 when tight).
        const through = d + u[i]! - this.unmatchedCost;
        if (through < this.refillBound) {
          this.refillBound = through;
          this.fromRow = i;
          this.fromMentor = -1;
        }
        continue;
      }
      if (this.mentorHeap.done[j] === 1) continue;
      this.leavingRow[j] = i;
      this.reachMentor(j, d, reverse);
    }
    const bound = this.refillBound;

    // Potentials of the nodes reached closer than the bound, then the rows of the mentors moved
    // are made tight again (lowering u only raises their other reduced costs).
    for (let k = 0; k < this.reachedCount; k++) {
      const j = this.reached[k]!;
      const delta = bound - mentorDist[j]!;
      if (delta > 0) v[j] = v[j]! + delta;
      // An empty mentor may rise above 0; 0 is as valid (only edges into it, now cheaper) and
      // keeps "spare capacity means v = 0".
      if (load[j] === 0 && v[j]! > 0) v[j] = 0;
    }
    rowHeap.forEachTouched((i) => {
      if (rowDone[i] === 1 && rowDist[i]! < bound) u[i] = u[i]! - (bound - rowDist[i]!);
    });
    for (let k = 0; k < this.reachedCount; k++) {
      const j = this.reached[k]!;
      for (let s = slotStart[j]!, end = s + load[j]!; s < end; s++) {
        const i = slotRow[s]!;
        u[i] = this.rowCost[i]! - v[j]!;
      }
    }

    if (this.fromRow >= 0 || this.fromMentor >= 0) {
      // Walk from the t end towards the target.
      let i: number;
      if (this.fromMentor >= 0) {
        i = this.leavingRow[this.fromMentor]!;
        this.removeFromSlot(i, this.fromMentor);
      } else {
        i = this.fromRow;
      }
      for (;;) {
        const j = this.nextMentor[i]!;
        if (j === target) {
          this.place(i, j, this.appendSlot(j), this.nextCost[i]!);
          u[i] = this.nextCost[i]! - v[j]!;
          break;
        }
        const leaving = this.leavingRow[j]!;
        this.place(i, j, this.rowSlot[leaving]!, this.nextCost[i]!);
        u[i] = this.nextCost[i]! - v[j]!;
        i = leaving;
      }
    }
    rowHeap.reset();
    this.mentorHeap.reset();
  }

  /** Backward search: mentor j is reached at distance d; relax the rows with an edge into it. */
  private reachMentor(j: number, d: number, reverse: ReverseGraph): void {
    const { u, v, rowMentor, rowHeap, load } = this;
    const { dist: rowDist, done: rowDone } = rowHeap;
    this.mentorHeap.settle(j, d);
    this.reached[this.reachedCount++] = j;
    // t → j (j gives up a row) costs j's price.
    if (j !== this.refillTarget && load[j]! > 0 && d - v[j]! < this.refillBound) {
      this.refillBound = d - v[j]!;
      this.fromMentor = j;
      this.fromRow = -1;
    }
    const vj = v[j]!;
    const bound = this.refillBound;
    for (let k = reverse.start[j]!, end = reverse.start[j + 1]!; k < end; k++) {
      const i = reverse.row[k]!;
      if (rowDone[i] === 1 || rowMentor[i] === j || rowMentor[i] === FREE) continue;
      const nd = d + reverse.cost[k]! - u[i]! - vj;
      if (nd < rowDist[i]! && nd < bound) {
        rowHeap.push(i, nd);
        this.nextMentor[i] = j;
        this.nextCost[i] = reverse.cost[k]!;
      }
    }
  }
}

/** For each mentor, the rows with an edge to it and the edge's cost. */
interface ReverseGraph {
  readonly start: Int32Array;
  readonly row: Int32Array;
  readonly cost: Float64Array;
}

const reverseGraph = (graph: SparseGraph, mentors: number): ReverseGraph => {
  const { rowStart, mentor, cost } = graph;
  const rows = rowStart.length - 1;
  const start = new Int32Array(mentors + 1);
  for (let e = 0; e < mentor.length; e++) start[mentor[e]! + 1]++;
  for (let j = 0; j < mentors; j++) start[j + 1] = start[j + 1]! + start[j]!;
  const fill = start.slice(0, mentors);
  const row = new Int32Array(mentor.length);
  const reverseCost = new Float64Array(mentor.length);
  for (let i = 0; i < rows; i++) {
    for (let e = rowStart[i]!; e < rowStart[i + 1]!; e++) {
      const at = fill[mentor[e]!]!++;
      row[at] = i;
      reverseCost[at] = cost[e]!;
    }
  }
  return { start, row, cost: reverseCost };
};
