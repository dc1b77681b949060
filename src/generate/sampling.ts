/** Choosing the next token from one row of logits: greedy, temperature, top-k, top-p. */
import { ArgumentError } from '../errors.js';
import { Rng } from '../data/rng.js';

export interface SamplingOpts {
  /** 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability mass reaches p (1 = off). */
  topP?: number;
}

export function checkSampling(o: SamplingOpts): void {
  const t = o.temperature ?? 1;
  if (!Number.isFinite(t) || t < 0) throw new ArgumentError(`temperature must be >= 0, got ${t}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) throw new ArgumentError(`topK must be a non-negative integer, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new ArgumentError(`topP must be in (0, 1], got ${o.topP}`);
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Samples an index from logits with `u` uniform in [0, 1) (the caller owns the random stream). */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOpts, u: number): number {
  const temperature = o.temperature ?? 1;
  if (temperature === 0) return argmax(logits);
  const V = logits.length;
  let idx = Array.from({ length: V }, (_, i) => i);
  const topK = o.topK ?? 0;
  if ((topK > 0 && topK < V) || (o.topP ?? 1) < 1) idx.sort((a, b) => logits[b] - logits[a]);
  if (topK > 0 && topK < V) idx = idx.slice(0, topK);
  let m = -Infinity;
  for (const i of idx) m = Math.max(m, logits[i] / temperature);
  let probs = idx.map((i) => Math.exp(logits[i] / temperature - m));
  let z = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / z);
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let cum = 0, keep = 0;
    while (keep < probs.length && cum < topP) cum += probs[keep++];
    idx = idx.slice(0, keep);
    probs = probs.slice(0, keep);
    z = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / z);
  }
  let acc = 0;
  for (let k = 0; k < probs.length; k++) {
    acc += probs[k];
    if (u < acc) return idx[k];
  }
  return idx[idx.length - 1];
}

/** A seeded uniform stream for sampling, independent of the training RNG. */
export function seededUniform(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}
