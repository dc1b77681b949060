/** Numerically stable building blocks shared by the preference and RL losses. */
import type { Tensor } from '../../tensor/tensor.js';
import { affine, exp, mul, neg } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { concat, reshape, slice } from '../../ops/shape.js';
import { logSoftmax } from '../../ops/softmax.js';
import { zeros } from '../../tensor/creation.js';

/**
 * log sigmoid(x) = log_softmax([0, x])[1]: stable for any |x| and smooth everywhere. (The
 * relu(x) + log(1 + e^-|x|) form has a zero subgradient at exactly x = 0, which is where every
 * DPO run starts: policy = reference.)
 */
export function logSigmoid(x: Tensor): Tensor {
  const col = reshape(x, [x.size, 1]);
  const pair = concat([zeros([x.size, 1], 'float32', x.device), col], 1);
  return reshape(slice(logSoftmax(pair), 1, 1, 2), x.shape);
}
/** softplus(x) = log(1 + e^x) = -log sigmoid(-x). */
export function softplus(x: Tensor): Tensor {
  return neg(logSigmoid(neg(x)));
}
/** sigmoid via exp(log sigmoid), stable at both ends. */
export function stableSigmoid(x: Tensor): Tensor {
  return exp(logSigmoid(x));
}
/** Mean of x over the entries where mask is 1 (mask: float 0/1 of the same shape). */
export function maskedMean(x: Tensor, mask: Tensor): Tensor {
  const count = sum(mask).item();
  return affine(sum(mul(x, mask)), count > 0 ? 1 / count : 0);
}
