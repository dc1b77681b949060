/**
 * Applying BPE merges to one pre-tokenized word, exactly as Hugging Face `tokenizers` does:
 * repeatedly merge the adjacent pair with the lowest merge rank, leftmost first, one at a
 * time (merging all occurrences at once differs for hand-made merge lists whose merges use
 * a token at a lower rank than the merge that makes it).
 *
 * Short words (almost all of them) use a plain scan; long words (a CJK sentence has no
 * spaces, so `\p{L}+` makes it one word) use a heap over a linked list, so a hostile
 * megabyte-long word costs n log n, not n^2.
 */

/** Open-addressing hash table (a, b) -> (rank, merged id). Int32 keys stay out of Map's boxed-number path. */
export class PairTable {
  private readonly keyA: Int32Array;
  private readonly keyB: Int32Array;
  readonly rank: Int32Array;
  readonly merged: Int32Array;
  private readonly mask: number;
  size = 0;

  constructor(capacityHint: number) {
    let cap = 16;
    while (cap < capacityHint * 2) cap *= 2;
    this.keyA = new Int32Array(cap).fill(-1);
    this.keyB = new Int32Array(cap);
    this.rank = new Int32Array(cap);
    this.merged = new Int32Array(cap);
    this.mask = cap - 1;
  }

  private slot(a: number, b: number): number {
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) >>> 0;
    h = (h ^ (h >>> 15)) & this.mask;
    for (;;) {
      const ka = this.keyA[h];
      if (ka === -1 || (ka === a && this.keyB[h] === b)) return h;
      h = (h + 1) & this.mask;
    }
  }

  /** Slot of (a, b), or -1 when the pair has no merge. */
  find(a: number, b: number): number {
    const h = this.slot(a, b);
    return this.keyA[h] === -1 ? -1 : h;
  }

  /** Later entries overwrite earlier ones, as in `tokenizers` (it collects merges into a HashMap). */
  set(a: number, b: number, rank: number, merged: number): void {
    const h = this.slot(a, b);
    if (this.keyA[h] === -1) { this.size++; this.keyA[h] = a; this.keyB[h] = b; }
    this.rank[h] = rank;
    this.merged[h] = merged;
  }
}

const LONG_WORD = 64;

/** Merges `syms[0..n)` in place; returns the new length. */
export function applyMerges(table: PairTable, syms: Int32Array, n: number): number {
  return n > LONG_WORD ? mergeLong(table, syms, n) : mergeShort(table, syms, n);
}

/** rank of the pair (i, i+1), or NONE; reused across calls. */
let pairRank = new Int32Array(256);
const NONE = 0x7fffffff;

function mergeShort(table: PairTable, syms: Int32Array, n: number): number {
  if (pairRank.length < n) pairRank = new Int32Array(2 * n);
  const pr = pairRank;
  const rankAt = (i: number) => {
    const s = table.find(syms[i], syms[i + 1]);
    return s < 0 ? NONE : table.rank[s];
  };
  for (let i = 0; i + 1 < n; i++) pr[i] = rankAt(i);
  while (n > 1) {
    let best = NONE, bestI = -1;
    for (let i = 0; i + 1 < n; i++) if (pr[i] < best) { best = pr[i]; bestI = i; }
    if (bestI < 0) break;
    syms[bestI] = table.merged[table.find(syms[bestI], syms[bestI + 1])];
    syms.copyWithin(bestI + 1, bestI + 2, n);
    pr.copyWithin(bestI + 1, bestI + 2, n - 1);
    n--;
    // Only the pairs touching the merged symbol changed.
    if (bestI > 0) pr[bestI - 1] = rankAt(bestI - 1);
    if (bestI + 1 < n) pr[bestI] = rankAt(bestI);
  }
  return n;
}

function mergeLong(table: PairTable, syms: Int32Array, n: number): number {
  const next = new Int32Array(n), prev = new Int32Array(n);
  for (let i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
  // Min-heap of (rank, position); every merge pushes at most two new pairs.
  const cap = 3 * n + 4;
  const hr = new Int32Array(cap), hp = new Int32Array(cap);
  let size = 0;
  const less = (i: number, j: number) => hr[i] < hr[j] || (hr[i] === hr[j] && hp[i] < hp[j]);
  const swap = (i: number, j: number) => {
    const r = hr[i]; hr[i] = hr[j]; hr[j] = r;
    const p = hp[i]; hp[i] = hp[j]; hp[j] = p;
  };
  const push = (pos: number) => {
    const j = next[pos];
    if (j < 0) return;
    const s = table.find(syms[pos], syms[j]);
    if (s < 0) return;
    let k = size++;
    hr[k] = table.rank[s]; hp[k] = pos;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!less(k, p)) break;
      swap(k, p); k = p;
    }
  };
  const pop = () => {
    size--;
    hr[0] = hr[size]; hp[0] = hp[size];
    let k = 0;
    for (;;) {
      const l = 2 * k + 1, r = l + 1;
      let m = k;
      if (l < size && less(l, m)) m = l;
      if (r < size && less(r, m)) m = r;
      if (m === k) break;
      swap(k, m); k = m;
    }
  };
  for (let i = 0; i + 1 < n; i++) push(i);
  while (size > 0) {
    const r = hr[0], pos = hp[0];
    pop();
    if (syms[pos] < 0) continue;
    const j = next[pos];
    if (j < 0) continue;
    const s = table.find(syms[pos], syms[j]);
    // A stale entry: this position's pair changed since the entry was pushed.
    if (s < 0 || table.rank[s] !== r) continue;
    syms[pos] = table.merged[s];
    syms[j] = -1;
    next[pos] = next[j];
    if (next[j] >= 0) prev[next[j]] = pos;
    if (prev[pos] >= 0) push(prev[pos]);
    push(pos);
  }
  let m = 0;
  for (let i = 0; i >= 0; i = next[i]) syms[m++] = syms[i];
  return m;
}
