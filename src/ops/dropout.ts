/** Inverted dropout from the seeded counter-based RNG; backward regenerates the mask. */
import { native } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { draw } from '../tensor/random.js';
import { ArgumentError } from '../errors.js';
import { assertFloat, empty } from './util.js';
import { clone } from './shape.js';

registerOp('dropout');

export function dropout(x: Tensor, p: number, training = true): Tensor {
  assertFloat(x, 'dropout', 'x');
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new ArgumentError(`dropout: p must be in [0, 1), got ${String(p)}`);
  if (!training || p === 0) return clone(x);
  const { seed, offset } = draw(x.size);
  const out = empty(x.device, x.shape);
  native.dropoutForward(out.h, x.h, p, seed, offset);
  record('dropout', [x], [out], [], ([g]) => {
    const dx = empty(x.device, x.shape);
    native.dropoutBackward(dx.h, g!.h, p, seed, offset);
    return [dx];
  });
  return out;
}
