/**
 * Batches of tokenized SFT examples, padded or packed.
 *
 * Padded: one example per row, right-padded to the longest row of the batch. With causal
 * attention real tokens never look right, so padding needs no attention mask, only ignored
 * labels; the cost is the compute spent on pad positions.
 *
 * Packed: examples laid end to end in rows of exactly T tokens. Attention must not cross an
 * example boundary, so each row carries segment ids, turned into a block-diagonal 0/-inf
 * bias (B, 1, T, T) that the causal kernel adds to its scores, and positions restart at 0
 * per example: a packed example then computes exactly what it computes alone.
 */
import { ArgumentError } from '../errors.js';
import { Tensor, type Device } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { IGNORE } from './chat_template.js';

/** One example: input ids and next-token labels of the same length. */
export interface TokenizedExample { ids: Int32Array; labels: Int32Array }

export interface SftBatch {
  B: number;
  T: number;
  ids: Int32Array;
  labels: Int32Array;
  /** Packed rows only: per-token position and example index within its row (pads: -1). */
  positionIds?: Int32Array;
  segments?: Int32Array;
  /** Tokens of real data (not padding). */
  realTokens: number;
}

export function collatePadded(examples: readonly TokenizedExample[], padId: number): SftBatch {
  if (examples.length === 0) throw new ArgumentError('collatePadded: no examples');
  const B = examples.length, T = Math.max(...examples.map((e) => e.ids.length));
  const ids = new Int32Array(B * T).fill(padId), labels = new Int32Array(B * T).fill(IGNORE);
  let real = 0;
  examples.forEach((e, b) => {
    ids.set(e.ids, b * T);
    labels.set(e.labels, b * T);
    real += e.ids.length;
  });
  return { B, T, ids, labels, realTokens: real };
}

/**
 * Groups examples into rows of at most T tokens, first-fit: each example goes into the first
 * row with room, in the order given, so short examples fill the gaps long ones leave. With
 * maxRows, stops at the first example that fits in none of maxRows rows and returns how
 * many examples were placed (the rest belong to the next batch).
 */
export function packRows<E extends TokenizedExample>(examples: readonly E[], T: number, maxRows = Infinity): E[][] & { placed?: number } {
  const rows: E[][] & { placed?: number } = [];
  const used: number[] = [];
  let placed = 0;
  for (const e of examples) {
    const n = e.ids.length;
    if (n > T) throw new ArgumentError(`packRows: an example of ${n} tokens does not fit in rows of ${T}`);
    let r = used.findIndex((u) => u + n <= T);
    if (r < 0) {
      if (rows.length >= maxRows) break;
      r = rows.push([]) - 1;
      used.push(0);
    }
    rows[r].push(e);
    used[r] += n;
    placed++;
  }
  rows.placed = placed;
  return rows;
}

export function collatePacked(rows: readonly (readonly TokenizedExample[])[], T: number, padId: number): SftBatch {
  if (rows.length === 0) throw new ArgumentError('collatePacked: no rows');
  const B = rows.length;
  const ids = new Int32Array(B * T).fill(padId), labels = new Int32Array(B * T).fill(IGNORE);
  const positionIds = new Int32Array(B * T), segments = new Int32Array(B * T).fill(-1);
  let real = 0;
  rows.forEach((row, b) => {
    let at = b * T;
    row.forEach((e, s) => {
      if (at + e.ids.length > (b + 1) * T) throw new ArgumentError(`collatePacked: row ${b} holds more than ${T} tokens`);
      ids.set(e.ids, at);
      labels.set(e.labels, at);
      for (let i = 0; i < e.ids.length; i++) { positionIds[at + i] = i; segments[at + i] = s; }
      at += e.ids.length;
      real += e.ids.length;
    });
    // Pad positions restart at 0 too, so they stay inside n_positions whatever T is.
    for (let i = 0; at < (b + 1) * T; i++, at++) positionIds[at] = i;
  });
  return { B, T, ids, labels, positionIds, segments, realTokens: real };
}

/**
 * (B, 1, T, T) float32: 0 where query i and key j are in the same segment, else -inf. The
 * causal part is left to the kernel. Pads form one segment of their own, so every query
 * sees at least itself and no softmax row is empty.
 */
export function blockDiagonalBias(segments: Int32Array, B: number, T: number, device: Device = 'cpu'): Tensor {
  if (segments.length !== B * T) throw new ArgumentError(`blockDiagonalBias: ${segments.length} segment ids for B*T = ${B * T}`);
  const out = new Float32Array(B * T * T);
  for (let b = 0; b < B; b++) {
    const seg = segments.subarray(b * T, (b + 1) * T);
    for (let i = 0; i < T; i++) {
      const row = out.subarray((b * T + i) * T, (b * T + i + 1) * T);
      // Keys after i are hidden by causality anyway; only the past needs the block test.
      for (let j = 0; j <= i; j++) if (seg[j] !== seg[i]) row[j] = -Infinity;
    }
  }
  return tensor(out, [B, 1, T, T], 'float32', device);
}

/** The tensors GPT.forward takes for a batch: ids, labels, and for packed rows positions and bias. */
export function batchTensors(b: SftBatch, device: Device = 'cpu'): { ids: Tensor; labels: Tensor; positionIds: Tensor | null; attnBias: Tensor | null } {
  return {
    ids: tensor(b.ids, [b.B, b.T], 'int32', device),
    labels: tensor(b.labels, [b.B, b.T], 'int32', device),
    positionIds: b.positionIds ? tensor(b.positionIds, [b.B, b.T], 'int32', device) : null,
    attnBias: b.segments ? blockDiagonalBias(b.segments, b.B, b.T, device) : null,
  };
}
