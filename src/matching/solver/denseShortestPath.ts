/**
 * Jonker–Volgenant shortest augmenting paths on a dense cost matrix: rows are mentees, columns are
 * mentor slots (a mentor of capacity c is c identical columns), and every row may also stay
 * unmatched at `unmatchedCost` (a private column only that row can use).
 *
 * Minimisation form on integer-valued doubles (exact comparisons). The search for one row keeps
 * Jonker and Volgenant's column list: [0, low) scanned, [low, up) at the current minimum distance,
 * [up, S) the rest, so a whole tier of equal distances (common with tied scores) is handled at
 * once and the search stops as soon as any column of that tier is free. Invariants as in
 * `sparseShortestPath.ts`: reduced costs >= 0, assigned pairs tight, free columns at potential 0.
 */

export interface DenseResult {
  /** Per row: the slot (column), or -1 when unmatched. */
  readonly rowSlot: Int32Array;
  readonly u: Float64Array;
  /** Slot potentials (<= 0). */
  readonly v: Float64Array;
}

/**
 * @param cost rows × slots, row-major, integer-valued >= 0, or `Infinity` for a forbidden pair.
 */
export const denseShortestPath = (rows: number, slots: number, cost: Float64Array, unmatchedCost: number): DenseResult => {
  const u = new Float64Array(rows);
  const v = new Float64Array(slots);
  const slotRow = new Int32Array(slots).fill(-1);
  const rowSlot = new Int32Array(rows).fill(-1);
  const d = new Float64Array(slots);
  const pred = new Int32Array(slots);
  const columns = new Int32Array(slots);

  for (let source = 0; source < rows; source++) {
    const sourceBase = source * slots;
    for (let s = 0; s < slots; s++) {
      d[s] = cost[sourceBase + s]! - v[s]!;
      pred[s] = source;
      columns[s] = s;
    }
    let bestDummy = unmatchedCost - u[source]!;
    let dummyRow = source;
    let low = 0;
    let up = 0;
    let min = 0;
    let sink = -1; // a free slot, or -1 for "dummyRow stays unmatched"
    let total = 0;

    search: for (;;) {
      if (up === low) {
        // Collect the next tier: all unscanned columns at the minimum distance.
        if (low === slots) {
          total = bestDummy;
          break;
        }
        min = d[columns[up++]!]!;
        for (let k = up; k < slots; k++) {
          const j = columns[k]!;
          const h = d[j]!;
          if (h <= min) {
            if (h < min) {
              up = low;
              min = h;
            }
            columns[k] = columns[up]!;
            columns[up++] = j;
          }
        }
        if (bestDummy < min) {
          total = bestDummy;
          break;
        }
        for (let k = low; k < up; k++) {
          const j = columns[k]!;
          if (slotRow[j]! < 0) {
            sink = j;
            total = min;
            break search;
          }
        }
        if (bestDummy === min) {
          total = min;
          break;
        }
      }
      // Scan the row holding the next column of the tier.
      const j1 = columns[low++]!;
      const i = slotRow[j1]!;
      const h = min - u[i]!;
      const rowBase = i * slots;
      for (let k = up; k < slots; k++) {
        const j = columns[k]!;
        const nd = h + cost[rowBase + j]! - v[j]!;
        if (nd < d[j]!) {
          d[j] = nd;
          pred[j] = i;
          if (nd === min) {
            if (slotRow[j]! < 0) {
              sink = j;
              total = min;
              break search;
            }
            columns[k] = columns[up]!;
            columns[up++] = j;
          }
        }
      }
      const nd = h + unmatchedCost;
      if (nd < bestDummy) {
        bestDummy = nd;
        dummyRow = i;
        if (nd === min) {
          total = min;
          break;
        }
      }
    }

    // Potentials of the source, the scanned columns and the rows holding them.
    u[source] = u[source]! + total;
    for (let k = 0; k < low; k++) {
      const j = columns[k]!;
      const delta = total - d[j]!;
      if (delta === 0) continue;
      v[j] = v[j]! - delta;
      const i = slotRow[j]!;
      u[i] = u[i]! + delta;
    }

    // Augment.
    let j: number;
    if (sink >= 0) {
      j = sink;
    } else {
      j = rowSlot[dummyRow]!;
      rowSlot[dummyRow] = -1;
      if (dummyRow === source) continue;
      slotRow[j] = -1;
    }
    for (;;) {
      const i = pred[j]!;
      slotRow[j] = i;
      const previous = rowSlot[i]!;
      rowSlot[i] = j;
      if (i === source) break;
      j = previous;
    }
  }
  return { rowSlot, u, v };
};
