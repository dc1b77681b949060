/**
 * Collators: token sequences in, flat row-major batches out (Int32Array ids, Float32Array
 * masks), ready for the trainer to wrap as tensors. Pure functions: all randomness comes
 * from the Rng argument, so a batch is reproducible from the RNG state.
 * Shape letters: B batch rows, T sequence length; every output is (B, T) row-major.
 */
import { ArgumentError, IndexError, ShapeError } from '../errors.js';
import type { TokenBatch } from './loader.js';
import type { Rng } from './rng.js';

/** Label value the losses skip (PyTorch's ignore_index). */
export const IGNORE_INDEX = -100;

type Seq = ArrayLike<number>;

function checkId(what: string, name: string, id: number, vocabSize?: number): void {
  if (!Number.isInteger(id) || id < 0 || (vocabSize !== undefined && id >= vocabSize)) {
    throw new ArgumentError(`${what}: ${name} must be an integer in [0, ${vocabSize ?? '2^31'}), got ${id}`);
  }
}

function fitLength(what: string, name: string, lengths: ArrayLike<number>, given?: number): number {
  let longest = 0;
  for (let i = 0; i < lengths.length; i++) longest = Math.max(longest, lengths[i]);
  if (given === undefined) return longest;
  if (!Number.isInteger(given) || given < 0) throw new ArgumentError(`${what}: ${name} must be a non-negative integer, got ${given}`);
  for (let i = 0; i < lengths.length; i++) {
    if (lengths[i] > given) throw new ShapeError(`${what}: row ${i} needs ${lengths[i]} positions but ${name} is ${given}`);
  }
  return given;
}

// ---- causal LM -----------------------------------------------------------------------------

export interface ClmBatch {
  /** (B, T): window[:-1]. */
  inputs: Int32Array;
  /** (B, T): window[1:]. */
  targets: Int32Array;
  batchSize: number;
  seqLen: number;
}

/** Windows of T + 1 tokens -> next-token inputs and targets of T tokens. */
export function collateClm(batch: TokenBatch): ClmBatch {
  const { data, batchSize: B, windowLength: L } = batch;
  if (L < 2) throw new ShapeError(`collateClm: windows need at least 2 tokens, got ${L}`);
  if (data.length !== B * L) throw new ShapeError(`collateClm: data has ${data.length} tokens; B=${B} x L=${L} is ${B * L}`);
  const T = L - 1;
  const inputs = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    inputs.set(data.subarray(b * L, b * L + T), b * T);
    targets.set(data.subarray(b * L + 1, (b + 1) * L), b * T);
  }
  return { inputs, targets, batchSize: B, seqLen: T };
}

// ---- padding -------------------------------------------------------------------------------

export interface PadOptions {
  /** Fills ids past each row's end. */
  padId: number;
  /** Pad to this length (default: the longest row). A longer row is a ShapeError. */
  length?: number;
}

export interface PaddedBatch {
  /** (B, T), right-padded. */
  ids: Int32Array;
  /** (B, T): 1 on real tokens, 0 on padding. */
  attentionMask: Float32Array;
  /** (B): real tokens per row. */
  lengths: Int32Array;
  batchSize: number;
  seqLen: number;
}

/** Right-pads variable-length rows into one (B, T) batch with an attention mask. */
export function padSequences(seqs: readonly Seq[], opts: PadOptions): PaddedBatch {
  if (!Number.isInteger(opts.padId)) throw new ArgumentError(`padSequences: padId must be an integer, got ${opts.padId}`);
  const B = seqs.length;
  const lengths = Int32Array.from(seqs, (s) => s.length);
  const T = fitLength('padSequences', 'length', lengths, opts.length);
  const ids = new Int32Array(B * T).fill(opts.padId);
  const attentionMask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const s = seqs[b];
    for (let t = 0; t < s.length; t++) { ids[b * T + t] = s[t]; attentionMask[b * T + t] = 1; }
  }
  return { ids, attentionMask, lengths, batchSize: B, seqLen: T };
}

// ---- masked LM (BERT) ----------------------------------------------------------------------

export interface MlmOptions {
  maskId: number;
  padId: number;
  vocabSize: number;
  /** Ids never selected and never drawn as random replacements ([CLS], [SEP], [PAD], ...). */
  specialIds: Iterable<number>;
  /** Pad to this length (default: the longest row). */
  seqLen?: number;
  /** Fraction of non-special positions selected (default 0.15). */
  maskProb?: number;
  /** Of the selected: fraction replaced by maskId (default 0.8) ... */
  maskReplaceProb?: number;
  /** ... and by a random non-special token (default 0.1); the rest stay unchanged. */
  randomReplaceProb?: number;
}

export interface MlmBatch {
  /** (B, T) corrupted inputs, padded with padId. */
  inputIds: Int32Array;
  /** (B, T): the original id at selected positions, IGNORE_INDEX elsewhere. */
  labels: Int32Array;
  /** (B, T): 1 on real tokens, 0 on padding (and on padId inside a row). */
  attentionMask: Float32Array;
  batchSize: number;
  seqLen: number;
}

function checkProb(what: string, name: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(`${what}: ${name} must be in [0, 1], got ${p}`);
}

/**
 * BERT masking. Each row selects round(candidates * maskProb) positions (stochastically
 * rounded, so the expected fraction is exact even for short rows; at least one when the row
 * has any candidate, as in BERT's create_pretraining_data, so no row is without a target).
 * Of the selected, 80% become maskId, 10% a random non-special token, 10% stay.
 */
export function collateMlm(seqs: readonly Seq[], rng: Rng, opts: MlmOptions): MlmBatch {
  const what = 'collateMlm';
  const { maskId, padId, vocabSize } = opts;
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) throw new ArgumentError(`${what}: vocabSize must be a positive integer, got ${vocabSize}`);
  checkId(what, 'maskId', maskId, vocabSize);
  checkId(what, 'padId', padId, vocabSize);
  const maskProb = opts.maskProb ?? 0.15;
  const pMask = opts.maskReplaceProb ?? 0.8;
  const pRandom = opts.randomReplaceProb ?? 0.1;
  checkProb(what, 'maskProb', maskProb);
  checkProb(what, 'maskReplaceProb', pMask);
  checkProb(what, 'randomReplaceProb', pRandom);
  if (pMask + pRandom > 1 + 1e-12) throw new ArgumentError(`${what}: maskReplaceProb + randomReplaceProb must be at most 1, got ${pMask + pRandom}`);
  const special = new Set(opts.specialIds);
  special.add(maskId);
  special.add(padId);
  let ordinary = vocabSize;
  for (const id of special) if (Number.isInteger(id) && id >= 0 && id < vocabSize) ordinary--;
  if (ordinary === 0 && pRandom > 0) throw new ArgumentError(`${what}: every id in [0, ${vocabSize}) is special; no random replacement exists`);

  const padded = padSequences(seqs, { padId, length: opts.seqLen });
  const { ids: inputIds, attentionMask, batchSize: B, seqLen: T } = padded;
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  const candidates = new Int32Array(T);
  for (let b = 0; b < B; b++) {
    const row = b * T;
    let c = 0;
    const seq = seqs[b];
    for (let t = 0; t < seq.length; t++) {
      const id = seq[t];
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new IndexError(`${what}: row ${b} position ${t} holds id ${id}, outside [0, ${vocabSize})`);
      if (id === padId) attentionMask[row + t] = 0;
      if (!special.has(id)) candidates[c++] = t;
    }
    if (c === 0) continue;
    const exact = c * maskProb;
    let k = Math.floor(exact) + (rng.next() < exact - Math.floor(exact) ? 1 : 0);
    if (maskProb > 0) k = Math.max(k, 1);
    // Partial Fisher-Yates: the first k candidates become a uniform k-subset.
    for (let j = 0; j < k; j++) {
      const r = j + rng.int(c - j);
      const t = candidates[r]; candidates[r] = candidates[j]; candidates[j] = t;
      const pos = row + t;
      labels[pos] = inputIds[pos];
      const u = rng.next();
      if (u < pMask) inputIds[pos] = maskId;
      else if (u < pMask + pRandom) {
        let id: number;
        do id = rng.int(vocabSize); while (special.has(id));
        inputIds[pos] = id;
      }
    }
  }
  return { inputIds, labels, attentionMask, batchSize: B, seqLen: T };
}

// ---- span corruption (T5) ------------------------------------------------------------------

/** numpy/TensorFlow round: halves go to the even neighbour (T5's arithmetic relies on it). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x), d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** T5's _random_segmentation: numItems split into numSegments non-empty runs, uniformly. */
function randomSegmentation(numItems: number, numSegments: number, rng: Rng): Int32Array {
  const firstInSegment = new Uint8Array(numItems - 1);
  firstInSegment.fill(1, 0, numSegments - 1);
  rng.shuffle(firstInSegment);
  const lengths = new Int32Array(numSegments);
  let seg = 0;
  lengths[0] = 1;
  for (let i = 0; i < numItems - 1; i++) {
    if (firstInSegment[i]) seg++;
    lengths[seg]++;
  }
  return lengths;
}

/**
 * T5's random_spans_noise_mask (t5/data/preprocessors.py): round(length * density) noise
 * tokens in round(noise / meanSpan) spans, noise and non-noise each segmented at random into
 * that many runs, interleaved starting with non-noise. 1 marks noise.
 * One guard is added: the number of spans is capped at the number of non-noise tokens, where
 * the original would fail (only reachable with very high densities on short rows).
 */
export function randomSpansNoiseMask(length: number, noiseDensity: number, meanNoiseSpanLength: number, rng: Rng): Uint8Array {
  if (!Number.isInteger(length) || length < 0) throw new ArgumentError(`randomSpansNoiseMask: length must be a non-negative integer, got ${length}`);
  if (!(noiseDensity >= 0 && noiseDensity < 1)) throw new ArgumentError(`randomSpansNoiseMask: noiseDensity must be in [0, 1), got ${noiseDensity}`);
  if (!(meanNoiseSpanLength >= 1)) throw new ArgumentError(`randomSpansNoiseMask: meanNoiseSpanLength must be at least 1, got ${meanNoiseSpanLength}`);
  const origLength = length;
  if (noiseDensity === 0 || origLength === 0) return new Uint8Array(origLength);
  length = Math.max(length, 2);
  const numNoise = Math.min(Math.max(roundHalfEven(length * noiseDensity), 1), length - 1);
  const numNonNoise = length - numNoise;
  const numSpans = Math.min(Math.max(roundHalfEven(numNoise / meanNoiseSpanLength), 1), numNonNoise);
  const noiseLengths = randomSegmentation(numNoise, numSpans, rng);
  const nonNoiseLengths = randomSegmentation(numNonNoise, numSpans, rng);
  const mask = new Uint8Array(length);
  let pos = 0;
  for (let s = 0; s < numSpans; s++) {
    pos += nonNoiseLengths[s];
    mask.fill(1, pos, pos + noiseLengths[s]);
    pos += noiseLengths[s];
  }
  return mask.subarray(0, origLength);
}

/**
 * T5's random_spans_helper: how many raw tokens to feed span corruption so the encoder input
 * (non-noise + one sentinel per span + EOS) fills inputsLength, and the target length that
 * results (noise + one sentinel per span + EOS). For 512: 568 tokens, 114 targets.
 */
export function spanCorruptionLengths(inputsLength: number, noiseDensity = 0.15, meanNoiseSpanLength = 3): { tokensLength: number; targetsLength: number } {
  const lengths = (tokens: number): [number, number] => {
    const noise = roundHalfEven(tokens * noiseDensity);
    const spans = roundHalfEven(noise / meanNoiseSpanLength);
    return [tokens - noise + spans + 1, noise + spans + 1];
  };
  let tokensLength = inputsLength - 1;
  while (lengths(tokensLength + 1)[0] <= inputsLength) tokensLength++;
  let targetsLength = lengths(tokensLength)[1];
  if (noiseDensity === 0.5 && targetsLength > inputsLength) { tokensLength--; targetsLength--; }
  return { tokensLength, targetsLength };
}

export interface SpanCorruptionOptions {
  /** <extra_id_0>, <extra_id_1>, ... in order; at least as many as spans in a row. */
  sentinelIds: readonly number[];
  eosId: number;
  padId: number;
  /** First decoder input (default padId, as in T5). */
  decoderStartId?: number;
  noiseDensity?: number;
  meanNoiseSpanLength?: number;
  /** Pad encoder inputs / labels to these lengths (default: the longest row). */
  inputLength?: number;
  targetLength?: number;
  /** Append eosId to the encoder input too, as T5's pipeline does (default true). */
  appendEosToInputs?: boolean;
}

export interface SpanCorruptedRow {
  input: number[];
  target: number[];
}

/** Span corruption of one row: noise spans -> sentinels in the input, spans in the target. */
export function spanCorrupt(tokens: Seq, rng: Rng, opts: SpanCorruptionOptions): SpanCorruptedRow {
  const what = 'spanCorrupt';
  const sentinels = opts.sentinelIds;
  const sentinelSet = new Set(sentinels);
  for (let i = 0; i < tokens.length; i++) {
    if (sentinelSet.has(tokens[i])) throw new ArgumentError(`${what}: position ${i} already holds sentinel id ${tokens[i]}`);
  }
  const mask = randomSpansNoiseMask(tokens.length, opts.noiseDensity ?? 0.15, opts.meanNoiseSpanLength ?? 3, rng);
  const input: number[] = [], target: number[] = [];
  let k = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (mask[i]) {
      if (i === 0 || !mask[i - 1]) {
        if (k >= sentinels.length) throw new ArgumentError(`${what}: a row of ${tokens.length} tokens needs more than the ${sentinels.length} sentinel ids given`);
        input.push(sentinels[k]);
        target.push(sentinels[k]);
        k++;
      }
      target.push(tokens[i]);
    } else {
      input.push(tokens[i]);
    }
  }
  if (opts.appendEosToInputs ?? true) input.push(opts.eosId);
  target.push(opts.eosId);
  return { input, target };
}

export interface SpanCorruptionBatch {
  /** (B, Ti) encoder inputs, padded with padId. */
  inputIds: Int32Array;
  /** (B, Ti). */
  attentionMask: Float32Array;
  /** (B, Tt) decoder targets, padded with IGNORE_INDEX. */
  labels: Int32Array;
  /** (B, Tt): decoderStartId then labels shifted right, padded with padId. */
  decoderInputIds: Int32Array;
  /** (B, Tt). */
  decoderAttentionMask: Float32Array;
  batchSize: number;
  inputLength: number;
  targetLength: number;
}

export function collateSpanCorruption(seqs: readonly Seq[], rng: Rng, opts: SpanCorruptionOptions): SpanCorruptionBatch {
  const what = 'collateSpanCorruption';
  checkId(what, 'eosId', opts.eosId);
  checkId(what, 'padId', opts.padId);
  const start = opts.decoderStartId ?? opts.padId;
  checkId(what, 'decoderStartId', start);
  const rows = seqs.map((s) => spanCorrupt(s, rng, opts));
  const enc = padSequences(rows.map((r) => r.input), { padId: opts.padId, length: opts.inputLength });
  const targets = rows.map((r) => r.target);
  const dec = padSequences(targets, { padId: opts.padId, length: opts.targetLength });
  const B = rows.length, Tt = dec.seqLen;
  const labels = new Int32Array(B * Tt).fill(IGNORE_INDEX);
  const decoderInputIds = new Int32Array(B * Tt).fill(opts.padId);
  for (let b = 0; b < B; b++) {
    const t = targets[b];
    for (let i = 0; i < t.length; i++) {
      labels[b * Tt + i] = t[i];
      decoderInputIds[b * Tt + i] = i === 0 ? start : t[i - 1];
    }
  }
  return {
    inputIds: enc.ids, attentionMask: enc.attentionMask, labels, decoderInputIds,
    decoderAttentionMask: dec.attentionMask, batchSize: B, inputLength: enc.seqLen, targetLength: Tt,
  };
}

export interface ReconstructOptions {
  /** Trailing EOS to strip from input and target (one each). */
  eosId?: number;
  /** Trailing padding to strip (IGNORE_INDEX is always stripped from the target). */
  padId?: number;
}

/**
 * Inverse of span corruption: fills each sentinel in the input with its span from the
 * target. Accepts padded rows. Throws ArgumentError when the pair is inconsistent (sentinels
 * out of order, a sentinel missing on either side).
 */
export function reconstructSpans(input: Seq, target: Seq, sentinelIds: readonly number[], opts: ReconstructOptions = {}): number[] {
  const what = 'reconstructSpans';
  const trim = (s: Seq, isTarget: boolean): number[] => {
    let end = s.length;
    while (end > 0 && ((opts.padId !== undefined && s[end - 1] === opts.padId) || (isTarget && s[end - 1] === IGNORE_INDEX))) end--;
    if (opts.eosId !== undefined && end > 0 && s[end - 1] === opts.eosId) end--;
    return Array.from({ length: end }, (_, i) => s[i]);
  };
  const inp = trim(input, false), tgt = trim(target, true);
  const sentinelIndex = new Map<number, number>();
  sentinelIds.forEach((id, k) => sentinelIndex.set(id, k));
  const spans: number[][] = [];
  for (let i = 0; i < tgt.length; i++) {
    const k = sentinelIndex.get(tgt[i]);
    if (k !== undefined) {
      if (k !== spans.length) throw new ArgumentError(`${what}: target position ${i} holds sentinel ${k}; expected sentinel ${spans.length}`);
      spans.push([]);
    } else {
      if (spans.length === 0) throw new ArgumentError(`${what}: target starts with id ${tgt[i]}, not a sentinel`);
      spans[spans.length - 1].push(tgt[i]);
    }
  }
  const out: number[] = [];
  let used = 0;
  for (let i = 0; i < inp.length; i++) {
    const k = sentinelIndex.get(inp[i]);
    if (k === undefined) { out.push(inp[i]); continue; }
    if (k !== used) throw new ArgumentError(`${what}: input position ${i} holds sentinel ${k}; expected sentinel ${used}`);
    if (k >= spans.length) throw new ArgumentError(`${what}: input sentinel ${k} has no span in the target (${spans.length} spans)`);
    for (const id of spans[k]) out.push(id);
    used++;
  }
  if (used !== spans.length) throw new ArgumentError(`${what}: the target has ${spans.length} spans but the input only ${used} sentinels`);
  return out;
}
