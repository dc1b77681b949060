/**
 * Direct preference losses, chosen from a map of pure functions. Inputs are per-example
 * summed log-probabilities of the chosen and rejected completions under the policy and the
 * frozen reference (reference-free SimPO uses length-normalised policy log-probs instead).
 * h = (pc - rc) - (pr - rr) is the log-ratio margin; the implicit rewards are beta * (p - r).
 */
import type { Tensor } from '../../tensor/tensor.js';
import { affine, div, relu, square, sub } from '../../ops/elementwise.js';
import { mean } from '../../ops/reduce.js';
import { noGrad } from '../../autograd/graph.js';
import { ArgumentError } from '../../errors.js';
import { logSigmoid } from './common.js';

export interface PreferenceLogps {
  policyChosen: Tensor;
  policyRejected: Tensor;
  /** Absent for reference-free losses. */
  refChosen?: Tensor;
  refRejected?: Tensor;
  /** Completion lengths in tokens (SimPO normalises by them). */
  chosenLengths?: Tensor;
  rejectedLengths?: Tensor;
}

export interface DpoOpts {
  beta: number;
  /** SimPO's target margin gamma (default 0.5). */
  gamma?: number;
  /** Label smoothing for the sigmoid loss (conservative DPO), default 0. */
  labelSmoothing?: number;
  /**
   * Weight of an SFT term on the chosen completions, the mean per-token negative log-likelihood
   * -pc/|c| (RPO, Pang et al. 2024; TRL's rpo_alpha). Default 0. It keeps DPO from lowering the
   * likelihood of the answers it prefers. Needs chosenLengths.
   */
  sftWeight?: number;
}

export interface DpoOutput {
  /** Mean loss over the batch (differentiable). */
  loss: Tensor;
  /** Per-example implicit rewards and margins (no gradient). */
  chosenRewards: Float32Array;
  rejectedRewards: Float32Array;
}

type LossFn = (l: PreferenceLogps, o: DpoOpts) => Tensor;

function margin(l: PreferenceLogps): Tensor {
  if (!l.refChosen || !l.refRejected) throw new ArgumentError('this DPO loss needs the reference log-probs (refChosen, refRejected)');
  return sub(sub(l.policyChosen, l.refChosen), sub(l.policyRejected, l.refRejected));
}

export const DPO_LOSSES: Record<'sigmoid' | 'ipo' | 'hinge' | 'simpo', LossFn> = {
  /** -log sigmoid(beta h), optionally label-smoothed (Rafailov et al. 2023). */
  sigmoid: (l, o) => {
    const z = affine(margin(l), o.beta);
    const eps = o.labelSmoothing ?? 0;
    const pos = affine(logSigmoid(z), -(1 - eps));
    return eps > 0 ? sub(pos, affine(logSigmoid(affine(z, -1)), eps)) : pos;
  },
  /** (h - 1/(2 beta))^2 (Azar et al. 2023). */
  ipo: (l, o) => square(affine(margin(l), 1, -1 / (2 * o.beta))),
  /** max(0, 1 - beta h) (SLiC). */
  hinge: (l, o) => relu(affine(margin(l), -o.beta, 1)),
  /** -log sigmoid(beta (pc/|c| - pr/|r|) - gamma), reference-free (Meng et al. 2024). */
  simpo: (l, o) => {
    if (!l.chosenLengths || !l.rejectedLengths) throw new ArgumentError('simpo needs chosenLengths and rejectedLengths');
    const d = sub(divLen(l.policyChosen, l.chosenLengths), divLen(l.policyRejected, l.rejectedLengths));
    return affine(logSigmoid(affine(d, o.beta, -(o.gamma ?? 0.5))), -1);
  },
};

function divLen(x: Tensor, len: Tensor): Tensor {
  if (Array.from(len.toArray()).some((v) => !(v > 0))) throw new ArgumentError('dpo: completion lengths must be positive');
  return div(x, len);
}

export type DpoLossName = keyof typeof DPO_LOSSES;

export function dpoLoss(name: DpoLossName, l: PreferenceLogps, o: DpoOpts): DpoOutput {
  const fn = DPO_LOSSES[name];
  if (!fn) throw new ArgumentError(`dpo: unknown loss '${String(name)}' (sigmoid, ipo, hinge, simpo)`);
  if (!(o.beta > 0)) throw new ArgumentError(`dpo: beta must be > 0, got ${o.beta}`);
  const w = o.sftWeight ?? 0;
  if (!(w >= 0) || !Number.isFinite(w)) throw new ArgumentError(`dpo: sftWeight must be a finite number >= 0, got ${o.sftWeight}`);
  let loss = mean(fn(l, o));
  if (w > 0) {
    if (!l.chosenLengths) throw new ArgumentError('dpo: sftWeight needs chosenLengths');
    loss = sub(loss, affine(mean(divLen(l.policyChosen, l.chosenLengths)), w));
  }
  const rewards = noGrad(() => {
    if (l.refChosen && l.refRejected)
      return [affine(sub(l.policyChosen, l.refChosen), o.beta).toArray(), affine(sub(l.policyRejected, l.refRejected), o.beta).toArray()];
    return [affine(l.policyChosen, o.beta).toArray(), affine(l.policyRejected, o.beta).toArray()];
  });
  return { loss, chosenRewards: rewards[0] as Float32Array, rejectedRewards: rewards[1] as Float32Array };
}
