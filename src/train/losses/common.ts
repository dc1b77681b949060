/** Numerically stable building blocks shared by the preference and RL losses. */
import type { Tensor } from '../../tensor/tensor.js';
import { abs, add, exp, log, neg, relu, affine, mul } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';

/** softplus(x) = log(1 + e^x) = relu(x) + log(1 + e^-|x|): no overflow for large |x|. */
export function softplus(x: Tensor): Tensor {
  return add(relu(x), log(affine(exp(neg(abs(x))), 1, 1)));
}
/** log sigmoid(x) = -softplus(-x). */
export function logSigmoid(x: Tensor): Tensor {
  return neg(softplus(neg(x)));
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
