/**
 * Training byte-level BPE: count the pre-tokenized words, then repeatedly merge the most
 * frequent adjacent pair (ties: the pair whose left, then right, token string sorts first),
 * until the vocabulary is full or no pair is frequent enough.
 *
 * Pair counts are updated incrementally: a merge touches only the words that hold the pair
 * (found through a pair -> words index) and only the pairs around each merge site. A heap
 * holds an upper bound of each pair's count; a popped entry whose count went stale is pushed
 * back with the true count, so the first fresh entry popped is the true best pair.
 */
import { ArgumentError } from '../errors.js';
import { BYTE_TO_CHAR, utf8Into } from './bytes.js';
import { Tokenizer } from './tokenizer.js';
import { Gpt2Splitter } from './pretokenize.js';
import { MAX_VOCAB, type AddedToken } from './json.js';

export interface TrainBPEOptions {
  /** Final vocabulary size, special tokens and the 256 bytes included. */
  vocabSize: number;
  /** Special tokens, ids 0.. in this order; never split, never merged, not counted in the text. */
  specialTokens?: string[];
  /** A pair seen fewer times than this is never merged (default 2), so the vocabulary may end smaller. */
  minFrequency?: number;
  /** Called now and then with (tokens learned, tokens wanted). */
  onProgress?: (done: number, total: number) => void;
}

/** Pieces longer than this are cut (at character boundaries) for training only: a megabyte
 * without a space would otherwise make every merge scan it. */
const MAX_TRAIN_PIECE = 512;
const SPAN = MAX_VOCAB; // pair key = left * SPAN + right, exact in a double (< 2^40)

/** Word counts of a corpus, fed one text at a time (so a CLI can stream files into it). */
export class WordCounter {
  readonly counts = new Map<string, number>();
  private readonly splitter = new Gpt2Splitter();
  private readonly specialRe: RegExp | null;

  constructor(specialTokens: readonly string[] = []) {
    const sorted = [...specialTokens].sort((a, b) => b.length - a.length);
    this.specialRe = sorted.length > 0 ? new RegExp(sorted.map((s) => s.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&')).join('|'), 'gu') : null;
  }

  add(text: string): void {
    if (typeof text !== 'string') throw new ArgumentError(`trainBPE: every text must be a string, got ${typeof text}`);
    if (this.specialRe === null) { this.addOrdinary(text); return; }
    let last = 0;
    this.specialRe.lastIndex = 0;
    for (let m = this.specialRe.exec(text); m !== null; m = this.specialRe.exec(text)) {
      this.addOrdinary(text.slice(last, m.index));
      last = m.index + m[0].length;
    }
    this.addOrdinary(last === 0 ? text : text.slice(last));
  }

  private addOrdinary(text: string): void {
    const splitter = this.splitter, counts = this.counts;
    for (let pos = 0, end = 0; pos < text.length; pos = end) {
      end = splitter.pieceEnd(text, pos);
      let piece = text.slice(pos, end);
      while (piece.length > MAX_TRAIN_PIECE) {
        let cut = MAX_TRAIN_PIECE;
        const c = piece.charCodeAt(cut - 1);
        if (c >= 0xd800 && c <= 0xdbff) cut--;
        const head = piece.slice(0, cut);
        counts.set(head, (counts.get(head) ?? 0) + 1);
        piece = piece.slice(cut);
      }
      counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }
}

export function trainBPE(texts: Iterable<string>, opts: TrainBPEOptions): Tokenizer {
  if (texts === null || typeof (texts as Iterable<string>)[Symbol.iterator] !== 'function') {
    throw new ArgumentError('trainBPE: texts must be an iterable of strings');
  }
  const counter = new WordCounter(checkOptions(opts));
  for (const t of texts) counter.add(t);
  return trainBPEFromCounts(counter, opts);
}

function checkOptions(opts: TrainBPEOptions): string[] {
  if (typeof opts !== 'object' || opts === null) throw new ArgumentError('trainBPE: options {vocabSize, specialTokens?} are required');
  const specials = opts.specialTokens ?? [];
  if (!Array.isArray(specials)) throw new ArgumentError('trainBPE: specialTokens must be an array of strings');
  const seen = new Set<string>();
  for (const s of specials) {
    if (typeof s !== 'string' || s.length === 0) throw new ArgumentError(`trainBPE: special token ${JSON.stringify(s)} must be a non-empty string`);
    if (seen.has(s)) throw new ArgumentError(`trainBPE: special token ${JSON.stringify(s)} is listed twice`);
    const b = BYTE_TO_CHAR.indexOf(s);
    if (b >= 0) throw new ArgumentError(`trainBPE: special token ${JSON.stringify(s)} is the byte-level symbol of byte 0x${b.toString(16)}`);
    seen.add(s);
  }
  const min = 256 + specials.length;
  const v = opts.vocabSize;
  if (!Number.isInteger(v) || v < min || v > MAX_VOCAB) {
    throw new ArgumentError(`trainBPE: vocabSize must be an integer in [${min}, ${MAX_VOCAB}] (256 bytes + ${specials.length} special tokens at least), got ${v}`);
  }
  const f = opts.minFrequency ?? 2;
  if (!Number.isInteger(f) || f < 1) throw new ArgumentError(`trainBPE: minFrequency must be an integer >= 1, got ${f}`);
  return specials;
}

/** Trains on counts gathered with a WordCounter built with the same specialTokens. */
export function trainBPEFromCounts(counter: WordCounter, opts: TrainBPEOptions): Tokenizer {
  const specials = checkOptions(opts);
  const minFrequency = opts.minFrequency ?? 2;
  const k = specials.length;
  // ids: special tokens, then the 256 bytes in byte order, then merges in merge order.
  const tok: string[] = [...specials, ...BYTE_TO_CHAR];
  const ids = new Map<string, number>();
  BYTE_TO_CHAR.forEach((c, b) => ids.set(c, k + b));
  const specialSet = new Set(specials);

  // ---- words as symbol arrays
  const words: Int32Array[] = [];
  const freq: number[] = [];
  let buf: Uint8Array = new Uint8Array(4 * MAX_TRAIN_PIECE);
  for (const [piece, c] of counter.counts) {
    const [b, n] = utf8Into(piece, buf);
    buf = b;
    const w = new Int32Array(n);
    for (let i = 0; i < n; i++) w[i] = k + b[i];
    words.push(w);
    freq.push(c);
  }

  // ---- pair counts and the pair -> words index
  const count = new Map<number, number>();
  const where = new Map<number, number[]>();
  const note = (key: number, w: number) => {
    let l = where.get(key);
    if (l === undefined) where.set(key, (l = []));
    if (l[l.length - 1] !== w) l.push(w);
  };
  words.forEach((w, wi) => {
    for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i] * SPAN + w[i + 1];
      count.set(key, (count.get(key) ?? 0) + freq[wi]);
      note(key, wi);
    }
  });

  // ---- max-heap of (count, pair)
  const hc: number[] = [], hk: number[] = [];
  const before = (c1: number, k1: number, c2: number, k2: number): boolean => {
    if (c1 !== c2) return c1 > c2;
    const l1 = tok[Math.floor(k1 / SPAN)], l2 = tok[Math.floor(k2 / SPAN)];
    if (l1 !== l2) return l1 < l2;
    return tok[k1 % SPAN] < tok[k2 % SPAN];
  };
  const push = (c: number, key: number) => {
    let i = hc.length;
    hc.push(c); hk.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(hc[i], hk[i], hc[p], hk[p])) break;
      [hc[i], hc[p]] = [hc[p], hc[i]]; [hk[i], hk[p]] = [hk[p], hk[i]];
      i = p;
    }
  };
  const pop = () => {
    const lc = hc.pop()!, lk = hk.pop()!;
    if (hc.length === 0) return;
    hc[0] = lc; hk[0] = lk;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < hc.length && before(hc[l], hk[l], hc[m], hk[m])) m = l;
      if (r < hc.length && before(hc[r], hk[r], hc[m], hk[m])) m = r;
      if (m === i) break;
      [hc[i], hc[m]] = [hc[m], hc[i]]; [hk[i], hk[m]] = [hk[m], hk[i]];
      i = m;
    }
  };
  for (const [key, c] of count) push(c, key);

  // ---- merge loop
  const merges: [number, number, number][] = [];
  const base = tok.length, total = opts.vocabSize - base;
  const every = Math.max(1, Math.floor(total / 100));
  const seen = new Int32Array(words.length);
  let stamp = 0;
  while (tok.length < opts.vocabSize && hc.length > 0) {
    const c0 = hc[0], key = hk[0];
    pop();
    const cur = count.get(key) ?? 0;
    if (cur !== c0) { if (cur > 0) push(cur, key); continue; }
    if (cur < minFrequency) break;
    const a = Math.floor(key / SPAN), b = key % SPAN;
    const str = tok[a] + tok[b];
    // A merge must not produce a special token's string: the vocab maps each string to one id.
    if (specialSet.has(str)) { count.delete(key); continue; }
    let c = ids.get(str);
    if (c === undefined) { c = tok.length; tok.push(str); ids.set(str, c); }
    merges.push([a, b, c]);

    const grown = new Set<number>();
    const add = (x: number, y: number, n: number, w: number) => {
      const kk = x * SPAN + y;
      count.set(kk, (count.get(kk) ?? 0) + n);
      note(kk, w);
      grown.add(kk);
    };
    const sub = (x: number, y: number, n: number) => {
      const kk = x * SPAN + y;
      const v = (count.get(kk) ?? 0) - n;
      if (v > 0) count.set(kk, v); else count.delete(kk);
    };
    stamp++;
    for (const wi of where.get(key) ?? []) {
      if (seen[wi] === stamp) continue;
      seen[wi] = stamp;
      const w = words[wi], n = freq[wi], len = w.length;
      // In place, left to right: the write index never passes the read index, and the only
      // old symbol read behind the read index (w[i-1]) is still intact when it is read.
      let j = 0, lastEnd = -1;
      for (let i = 0; i < len;) {
        if (i + 1 < len && w[i] === a && w[i + 1] === b) {
          if (i > 0) {
            if (lastEnd === i) { sub(b, a, n); add(c, c, n, wi); } else { sub(w[i - 1], a, n); add(w[i - 1], c, n, wi); }
          }
          if (i + 2 < len && !(i + 3 < len && w[i + 2] === a && w[i + 3] === b)) { sub(b, w[i + 2], n); add(c, w[i + 2], n, wi); }
          w[j++] = c;
          i += 2;
          lastEnd = i;
        } else {
          w[j++] = w[i++];
        }
      }
      if (j < len) words[wi] = w.subarray(0, j);
    }
    count.delete(key);
    where.delete(key);
    for (const kk of grown) { const v = count.get(kk); if (v !== undefined) push(v, kk); }
    if (merges.length % every === 0) opts.onProgress?.(tok.length - base, total);
  }
  opts.onProgress?.(tok.length - base, total);

  const added: AddedToken[] = specials.map((content, id) => ({
    id, content, special: true, singleWord: false, lstrip: false, rstrip: false, normalized: false,
  }));
  return new Tokenizer({ vocab: tok, merges, added, ignoreMerges: false, postProcessor: null });
}
