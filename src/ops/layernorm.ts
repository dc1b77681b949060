/** LayerNorm and RMSNorm over the last axis (fused kernels; mean/rstd saved for backward). */
import { native } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { ShapeError } from '../errors.js';
import { assertFinite, assertFloat, empty } from './util.js';

registerOp('layernorm');
registerOp('rmsnorm');

function rowsCols(x: Tensor, w: Tensor, b: Tensor | null, op: string): [number, number] {
  if (x.ndim === 0) throw new ShapeError(`${op}: x must have at least one dimension`);
  const C = x.shape[x.ndim - 1];
  if (w.ndim !== 1 || w.shape[0] !== C) throw new ShapeError(`${op}: weight is ${shapeStr(w.shape)}, expected [${C}] for x ${shapeStr(x.shape)}`);
  if (b && (b.ndim !== 1 || b.shape[0] !== C)) throw new ShapeError(`${op}: bias is ${shapeStr(b.shape)}, expected [${C}]`);
  return [C === 0 ? 0 : x.size / C, C];
}

/** (x - mean) / sqrt(var + eps) * weight + bias over the last axis. */
export function layernorm(x: Tensor, weight: Tensor, bias: Tensor | null = null, eps = 1e-5): Tensor {
  assertFloat(x, 'layernorm', 'x');
  assertFloat(weight, 'layernorm', 'weight');
  if (bias) assertFloat(bias, 'layernorm', 'bias');
  assertFinite(eps, 'layernorm', 'eps');
  const [N, C] = rowsCols(x, weight, bias, 'layernorm');
  const out = empty(x.device, x.shape), mean = empty(x.device, [N]), rstd = empty(x.device, [N]);
  native.layernormForward(out.h, mean.h, rstd.h, x.h, weight.h, bias ? bias.h : null, N, C, eps);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  record('layernorm', inputs, [out], [x, weight, mean, rstd], ([g]) => {
    const dx = empty(x.device, x.shape), dw = empty(x.device, weight.shape), db = bias ? empty(x.device, bias.shape) : null;
    native.layernormBackward(dx.h, dw.h, db ? db.h : null, g!.h, x.h, weight.h, mean.h, rstd.h, N, C);
    return bias ? [dx, dw, db] : [dx, dw];
  });
  mean.dispose();
  rstd.dispose();
  return out;
}

/** x / sqrt(mean(x^2) + eps) * weight over the last axis (T5). */
export function rmsnorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  assertFloat(x, 'rmsnorm', 'x');
  assertFloat(weight, 'rmsnorm', 'weight');
  assertFinite(eps, 'rmsnorm', 'eps');
  const [N, C] = rowsCols(x, weight, null, 'rmsnorm');
  const out = empty(x.device, x.shape), rstd = empty(x.device, [N]);
  native.rmsnormForward(out.h, rstd.h, x.h, weight.h, N, C, eps);
  record('rmsnorm', [x, weight], [out], [x, weight, rstd], ([g]) => {
    const dx = empty(x.device, x.shape), dw = empty(x.device, weight.shape);
    native.rmsnormBackward(dx.h, dw.h, g!.h, x.h, weight.h, rstd.h, N, C);
    return [dx, dw];
  });
  rstd.dispose();
  return out;
}
