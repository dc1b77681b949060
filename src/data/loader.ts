/**
 * Train/validation split and window sampling over a token stream.
 *
 * A window is `windowLength` consecutive tokens lying wholly inside one range of the split
 * (so no window mixes train and validation tokens); for causal LM windowLength = T + 1 and
 * stride = T, so every token is a target exactly once per epoch. Windows cross document
 * boundaries (documents are separated by EOS in the cache), as in GPT pretraining.
 */
import { ArgumentError } from '../errors.js';
import { Rng, type DataRngState } from './rng.js';
import type { TokenSource } from './token_cache.js';

/** Tokens [start, end) of the stream. */
export interface TokenRange {
  start: number;
  end: number;
}

export interface SplitOptions {
  /** Fraction of tokens for validation, in [0, 1). */
  valFraction: number;
  /**
   * 'tail' (default): the last valFraction of the stream. 'blocks': the stream is cut into
   * blocks of blockSize tokens and round(blocks * valFraction) of them, chosen by `seed`, are
   * validation; use it when the corpus is ordered (by date, by source) and the tail would be
   * unrepresentative.
   */
  mode?: 'tail' | 'blocks';
  blockSize?: number;
  seed?: number;
}

export interface Split {
  train: TokenRange[];
  val: TokenRange[];
}

function checkFraction(what: string, f: number): void {
  if (!(f >= 0 && f < 1)) throw new ArgumentError(`${what}: valFraction must be in [0, 1), got ${f}`);
}

/** Deterministic train/validation ranges for a stream of `length` tokens. */
export function splitTokenRanges(length: number, opts: SplitOptions): Split {
  if (!Number.isSafeInteger(length) || length < 0) throw new ArgumentError(`splitTokenRanges: length must be a non-negative integer, got ${length}`);
  checkFraction('splitTokenRanges', opts.valFraction);
  const mode = opts.mode ?? 'tail';
  if (mode === 'tail') {
    const valLen = Math.round(length * opts.valFraction);
    const cut = length - valLen;
    return {
      train: cut > 0 ? [{ start: 0, end: cut }] : [],
      val: valLen > 0 ? [{ start: cut, end: length }] : [],
    };
  }
  if (mode !== 'blocks') throw new ArgumentError(`splitTokenRanges: mode must be 'tail' or 'blocks', got ${String(mode)}`);
  const blockSize = opts.blockSize ?? 4096;
  if (!Number.isInteger(blockSize) || blockSize <= 0) throw new ArgumentError(`splitTokenRanges: blockSize must be a positive integer, got ${blockSize}`);
  const blocks = Math.ceil(length / blockSize);
  const nVal = Math.round(blocks * opts.valFraction);
  const order = new Uint32Array(blocks);
  for (let i = 0; i < blocks; i++) order[i] = i;
  new Rng(opts.seed ?? 0).shuffle(order);
  const isVal = new Uint8Array(blocks);
  for (let i = 0; i < nVal; i++) isVal[order[i]] = 1;
  const split: Split = { train: [], val: [] };
  for (let b = 0; b < blocks; b++) {
    const list = isVal[b] ? split.val : split.train;
    const start = b * blockSize, end = Math.min(length, start + blockSize);
    const last = list[list.length - 1];
    if (last && last.end === start) last.end = end;
    else list.push({ start, end });
  }
  return split;
}

/**
 * Per-document split, decided before tokenization: a document goes to validation when a
 * seeded hash of its text falls below valFraction. Identical documents land on the same side,
 * so duplicates cannot leak across the split.
 */
export function isValidationDocument(text: string, valFraction: number, seed = 0): boolean {
  checkFraction('isValidationDocument', valFraction);
  // FNV-1a over UTF-16 code units, seeded, then a murmur3 finalizer to spread the bits.
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296 < valFraction;
}

/** B windows of L tokens, row-major: data[b * L + t]. */
export interface TokenBatch {
  data: Int32Array;
  batchSize: number;
  windowLength: number;
}

/** Views (no copies) of the rows of a batch. */
export function batchRows(batch: TokenBatch): Int32Array[] {
  const rows: Int32Array[] = [];
  for (let b = 0; b < batch.batchSize; b++) rows.push(batch.data.subarray(b * batch.windowLength, (b + 1) * batch.windowLength));
  return rows;
}

/**
 * Where a sampler stands: `rngState` is the RNG state at the start of `epoch`, from which the
 * epoch's permutation is regenerated; `index` counts windows already taken from it.
 */
export interface SamplerCursor {
  epoch: number;
  index: number;
  rngState: DataRngState;
}

export interface BatchSamplerOptions {
  batchSize: number;
  /** Tokens per window: T + 1 for causal LM, T for MLM/span corruption. */
  windowLength: number;
  /** Distance between window starts (default windowLength - 1, the CLM overlap of one). */
  stride?: number;
  seed: number;
  /** Where windows may lie (default the whole source). */
  ranges?: readonly TokenRange[];
  /** Resume here instead of at the start. */
  cursor?: SamplerCursor;
}

function windowGrid(source: TokenSource, ranges: readonly TokenRange[], windowLength: number, stride: number): { ranges: TokenRange[]; prefix: number[] } {
  const prefix = [0];
  for (const r of ranges) {
    if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.end < r.start || r.end > source.length) {
      throw new ArgumentError(`BatchSampler: range [${r.start}, ${r.end}) is not inside the source [0, ${source.length})`);
    }
    const len = r.end - r.start;
    const count = len >= windowLength ? Math.floor((len - windowLength) / stride) + 1 : 0;
    prefix.push(prefix[prefix.length - 1] + count);
  }
  return { ranges: [...ranges], prefix };
}

function checkShape(what: string, batchSize: number, windowLength: number, stride: number): void {
  for (const [name, v] of [['batchSize', batchSize], ['windowLength', windowLength], ['stride', stride]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new ArgumentError(`${what}: ${name} must be a positive integer, got ${v}`);
  }
}

/**
 * Endless batches of windows in a seeded shuffled order, reshuffled each epoch. Batches are
 * always full: a batch that runs past the end of an epoch continues into the next one.
 */
export class BatchSampler {
  readonly batchSize: number;
  readonly windowLength: number;
  readonly stride: number;
  /** Windows in one epoch. */
  readonly windowsPerEpoch: number;
  private readonly source: TokenSource;
  private readonly ranges: TokenRange[];
  private readonly prefix: number[];
  private readonly rng: Rng;
  private readonly order: Uint32Array;
  private epoch = 0;
  private index = 0;
  private epochState: DataRngState;

  constructor(source: TokenSource, opts: BatchSamplerOptions) {
    this.batchSize = opts.batchSize;
    this.windowLength = opts.windowLength;
    this.stride = opts.stride ?? Math.max(1, opts.windowLength - 1);
    checkShape('BatchSampler', this.batchSize, this.windowLength, this.stride);
    this.source = source;
    const grid = windowGrid(source, opts.ranges ?? [{ start: 0, end: source.length }], this.windowLength, this.stride);
    this.ranges = grid.ranges;
    this.prefix = grid.prefix;
    this.windowsPerEpoch = this.prefix[this.prefix.length - 1];
    if (this.windowsPerEpoch === 0) {
      throw new ArgumentError(`BatchSampler: no window of ${this.windowLength} tokens fits in the given ranges ` +
        `(${this.ranges.map((r) => r.end - r.start).join(', ') || 'none'} tokens)`);
    }
    if (this.windowsPerEpoch > 0xffffffff) throw new ArgumentError(`BatchSampler: ${this.windowsPerEpoch} windows per epoch is more than 2^32`);
    this.order = new Uint32Array(this.windowsPerEpoch);
    this.rng = new Rng(opts.seed);
    this.epochState = this.rng.state();
    this.permute();
    if (opts.cursor) this.restore(opts.cursor);
  }

  private permute(): void {
    for (let i = 0; i < this.order.length; i++) this.order[i] = i;
    this.rng.shuffle(this.order);
  }

  /** Token offset of window w (in stream order, before shuffling). */
  windowStart(w: number): number {
    let lo = 0, hi = this.ranges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.prefix[mid] <= w) lo = mid;
      else hi = mid - 1;
    }
    return this.ranges[lo].start + (w - this.prefix[lo]) * this.stride;
  }

  next(): TokenBatch {
    const L = this.windowLength;
    const data = new Int32Array(this.batchSize * L);
    for (let b = 0; b < this.batchSize; b++) {
      if (this.index === this.windowsPerEpoch) {
        this.epoch++;
        this.index = 0;
        this.epochState = this.rng.state();
        this.permute();
      }
      this.source.readInto(this.windowStart(this.order[this.index++]), L, data, b * L);
    }
    return { data, batchSize: this.batchSize, windowLength: L };
  }

  /** JSON-safe; pass to restore() or the constructor to continue with the identical batches. */
  cursor(): SamplerCursor {
    return { epoch: this.epoch, index: this.index, rngState: [...this.epochState] as DataRngState };
  }

  restore(cursor: SamplerCursor): void {
    const { epoch, index, rngState } = cursor;
    if (!Number.isSafeInteger(epoch) || epoch < 0 || !Number.isSafeInteger(index) || index < 0 || index > this.windowsPerEpoch) {
      throw new ArgumentError(`BatchSampler.restore: cursor epoch ${epoch}, index ${index} does not fit ` +
        `${this.windowsPerEpoch} windows per epoch (was it saved for different data or window length?)`);
    }
    this.rng.setState(rngState);
    this.epochState = this.rng.state();
    this.permute();
    this.epoch = epoch;
    this.index = index;
  }
}

export interface SequentialBatchOptions {
  batchSize: number;
  windowLength: number;
  stride?: number;
  ranges?: readonly TokenRange[];
}

/** Every window once, in stream order, for evaluation; the last batch may be smaller. */
export function* sequentialBatches(source: TokenSource, opts: SequentialBatchOptions): Generator<TokenBatch> {
  const L = opts.windowLength;
  const stride = opts.stride ?? Math.max(1, L - 1);
  checkShape('sequentialBatches', opts.batchSize, L, stride);
  const { ranges, prefix } = windowGrid(source, opts.ranges ?? [{ start: 0, end: source.length }], L, stride);
  const starts: number[] = [];
  const emit = (): TokenBatch => {
    const data = new Int32Array(starts.length * L);
    starts.forEach((s, b) => source.readInto(s, L, data, b * L));
    const batch = { data, batchSize: starts.length, windowLength: L };
    starts.length = 0;
    return batch;
  };
  for (let r = 0; r < ranges.length; r++) {
    for (let k = 0; k < prefix[r + 1] - prefix[r]; k++) {
      starts.push(ranges[r].start + k * stride);
      if (starts.length === opts.batchSize) yield emit();
    }
  }
  if (starts.length > 0) yield emit();
}
