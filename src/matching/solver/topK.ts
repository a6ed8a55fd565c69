/**
 * `count` bounded heaps in flat typed arrays, each keeping the `k` largest keys offered to it
 * (with an int item each). A key equal to the smallest one kept does not displace it, so among
 * ties the first offered stay. The caller keeps `threshold(h)` (which `offer` returns) and tests
 * `key > threshold` before calling `offer`, so the common case (rejected) is one comparison.
 */
export class TopK {
  readonly keys: Float64Array;
  readonly items: Int32Array;
  readonly sizes: Int32Array;

  constructor(
    readonly count: number,
    readonly k: number,
  ) {
    this.keys = new Float64Array(count * k);
    this.items = new Int32Array(count * k);
    this.sizes = new Int32Array(count);
  }

  /** The smallest key heap h keeps, or -Infinity while it has room. */
  threshold(h: number): number {
    return this.sizes[h]! < this.k ? -Infinity : this.keys[h * this.k]!;
  }

  /** Keeps (key, item) in heap h if it is among the k largest; returns the new `threshold(h)`. */
  offer(h: number, key: number, item: number): number {
    const { keys, items, k } = this;
    const base = h * k;
    const size = this.sizes[h]!;
    if (size < k) {
      let at = size;
      this.sizes[h] = size + 1;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (keys[base + parent]! <= key) break;
        keys[base + at] = keys[base + parent]!;
        items[base + at] = items[base + parent]!;
        at = parent;
      }
      keys[base + at] = key;
      items[base + at] = item;
      return size + 1 < k ? -Infinity : keys[base]!;
    }
    if (!(key > keys[base]!)) return keys[base]!;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= k) break;
      if (child + 1 < k && keys[base + child + 1]! < keys[base + child]!) child++;
      if (keys[base + child]! >= key) break;
      keys[base + at] = keys[base + child]!;
      items[base + at] = items[base + child]!;
      at = child;
    }
    keys[base + at] = key;
    items[base + at] = item;
    return keys[base]!;
  }

  clear(h: number): void {
    this.sizes[h] = 0;
  }
}
