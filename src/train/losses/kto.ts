/**
 * KTO (Ethayarajh et al. 2024) for binary feedback: each completion is desirable or not.
 * r = log pi(y|x) - log pi_ref(y|x); z = a batch estimate of KL(pi || pi_ref), clamped at 0
 * and detached. Desirable: lambdaD * (1 - sigmoid(beta (r - z))); undesirable:
 * lambdaU * (1 - sigmoid(beta (z - r))).
 */
import type { Tensor } from '../../tensor/tensor.js';
import { affine, mul, sub, add } from '../../ops/elementwise.js';
import { mean } from '../../ops/reduce.js';
import { tensor } from '../../tensor/creation.js';
import { ArgumentError } from '../../errors.js';
import { stableSigmoid } from './common.js';

export interface KtoOpts { beta: number; lambdaDesirable?: number; lambdaUndesirable?: number }

/** policy, ref: (N,) summed log-probs; desirable: 0/1 per example; kl: the detached estimate z. */
export function ktoLoss(policy: Tensor, ref: Tensor, desirable: ArrayLike<number>, kl: number, o: KtoOpts): Tensor {
  if (!(o.beta > 0)) throw new ArgumentError(`kto: beta must be > 0, got ${o.beta}`);
  if (desirable.length !== policy.size) throw new ArgumentError(`kto: ${desirable.length} labels for ${policy.size} examples`);
  const z = Math.max(0, kl);
  const r = sub(policy, ref);
  const lD = o.lambdaDesirable ?? 1, lU = o.lambdaUndesirable ?? 1;
  // sign +1 for desirable, -1 for undesirable: both become 1 - sigmoid(beta * sign * (r - z)).
  const sign = tensor(Float32Array.from(desirable, (d) => (d ? 1 : -1)), [policy.size], 'float32', policy.device);
  const weight = tensor(Float32Array.from(desirable, (d) => (d ? lD : lU)), [policy.size], 'float32', policy.device);
  const s = stableSigmoid(mul(affine(r, o.beta, -o.beta * z), sign));
  return mean(mul(weight, add(affine(s, -1), 1)));
}
