/** GELU, tanh approximation (GPT-2). */
import { native } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { assertFloat, empty } from './util.js';

registerOp('gelu');

export function gelu(x: Tensor): Tensor {
  assertFloat(x, 'gelu', 'x');
  const out = empty(x.device, x.shape);
  native.geluForward(out.h, x.h);
  record('gelu', [x], [out], [x], ([g]) => {
    const dx = empty(x.device, x.shape);
    native.geluBackward(dx.h, g!.h, x.h);
    return [dx];
  });
  return out;
}
