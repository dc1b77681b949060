/**
 * RL maths for PPO and GRPO: GAE, whitening, KL estimators, group-normalised advantages
 * (plain arrays: they run on rollout data, outside autograd) and the clipped policy and
 * value losses (tensors: they are differentiated).
 */
import type { Tensor } from '../../tensor/tensor.js';
import { add as add3, affine, exp, maximum, minimum, mul, square, sub } from '../../ops/elementwise.js';
import { ArgumentError } from '../../errors.js';
import { maskedMean } from './common.js';

/**
 * Generalised advantage estimation over one sequence: rewards, values (T) and a mask of valid
 * steps; delta_t = r_t + gamma V_{t+1} - V_t, A_t = delta_t + gamma lambda A_{t+1}; the value
 * after the last valid step is 0. Returns advantages and returns (A + V).
 */
export function gae(rewards: ArrayLike<number>, values: ArrayLike<number>, mask: ArrayLike<number>, gamma = 1, lambda = 0.95): { advantages: Float64Array; returns: Float64Array } {
  const T = rewards.length;
  if (values.length !== T || mask.length !== T) throw new ArgumentError('gae: rewards, values and mask must have the same length');
  const adv = new Float64Array(T), ret = new Float64Array(T);
  let next = 0, nextValue = 0;
  for (let t = T - 1; t >= 0; t--) {
    if (!mask[t]) { next = 0; nextValue = 0; continue; }
    const delta = rewards[t] + gamma * nextValue - values[t];
    next = delta + gamma * lambda * next;
    adv[t] = next;
    ret[t] = next + values[t];
    nextValue = values[t];
  }
  return { advantages: adv, returns: ret };
}

/** (x - mean) / (std + eps) over the masked entries (population std); others stay 0. */
export function whiten(x: ArrayLike<number>, mask?: ArrayLike<number>, eps = 1e-8): Float64Array {
  const m = mask ?? new Array(x.length).fill(1);
  let n = 0, s = 0;
  for (let i = 0; i < x.length; i++) if (m[i]) { n++; s += x[i]; }
  const mu = n ? s / n : 0;
  let v = 0;
  for (let i = 0; i < x.length; i++) if (m[i]) v += (x[i] - mu) ** 2;
  const sd = Math.sqrt(n ? v / n : 0);
  return Float64Array.from(x, (xi, i) => (m[i] ? (xi - mu) / (sd + eps) : 0));
}

/** Per-token KL(p || q) estimators from log-probs of the sampled tokens (Schulman 2020). */
export const KL_ESTIMATORS = {
  /** log p - log q: unbiased, high variance. */
  k1: (logp: number, logq: number) => logp - logq,
  /** (log p - log q)^2 / 2: low variance, biased. */
  k2: (logp: number, logq: number) => 0.5 * (logp - logq) ** 2,
  /** (r - 1) - log r with r = q/p: unbiased and always >= 0. */
  k3: (logp: number, logq: number) => Math.expm1(logq - logp) - (logq - logp),
};

/** GRPO: rewards of G samples per prompt, normalised within each group. */
export function groupAdvantages(rewards: ArrayLike<number>, groupSize: number, eps = 1e-6): Float64Array {
  if (!Number.isInteger(groupSize) || groupSize < 1 || rewards.length % groupSize !== 0)
    throw new ArgumentError(`groupAdvantages: ${rewards.length} rewards do not split into groups of ${groupSize}`);
  const out = new Float64Array(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    let s = 0;
    for (let i = g; i < g + groupSize; i++) s += rewards[i];
    const mu = s / groupSize;
    let v = 0;
    for (let i = g; i < g + groupSize; i++) v += (rewards[i] - mu) ** 2;
    const sd = groupSize > 1 ? Math.sqrt(v / (groupSize - 1)) : 0;
    for (let i = g; i < g + groupSize; i++) out[i] = (rewards[i] - mu) / (sd + eps);
  }
  return out;
}

/**
 * PPO clipped surrogate: -min(ratio A, clip(ratio, 1-eps, 1+eps) A), ratio = exp(logp - oldLogp),
 * masked mean over tokens. Also returns the clip fraction (no gradient).
 */
export function ppoPolicyLoss(logp: Tensor, oldLogp: Tensor, advantages: Tensor, mask: Tensor, clip = 0.2): { loss: Tensor; clipFraction: number } {
  const ratio = exp(sub(logp, oldLogp));
  const unclipped = mul(ratio, advantages);
  const clipped = mul(minimum(maximum(ratio, 1 - clip), 1 + clip), advantages);
  const loss = affine(maskedMean(minimum(unclipped, clipped), mask), -1);
  const r = ratio.toArray(), m = mask.toArray();
  let n = 0, c = 0;
  for (let i = 0; i < r.length; i++) if (m[i]) { n++; if (Math.abs(r[i] - 1) > clip) c++; }
  return { loss, clipFraction: n ? c / n : 0 };
}

/** Clipped value loss: 0.5 * max((v - R)^2, (clip(v, vOld - eps, vOld + eps) - R)^2), masked mean. */
export function ppoValueLoss(values: Tensor, oldValues: Tensor, returns: Tensor, mask: Tensor, clip = 0.2): Tensor {
  const vClipped = add3(oldValues, minimum(maximum(sub(values, oldValues), -clip), clip));
  const l = maximum(square(sub(values, returns)), square(sub(vClipped, returns)));
  return affine(maskedMean(l, mask), 0.5);
}

