/**
 * softmax / logSoftmax over the last axis with an optional additive mask (0 or -inf, or any
 * bias). The mask broadcasts against x; its non-1 leading dimensions must be one contiguous
 * run of x's (e.g. (T,T) causal or (B,1,1,T) padding under (B,NH,T,T)), which the kernel
 * reads without materialising the broadcast. Fully masked rows give zeros, never NaN.
 */
import { native } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { broadcastShapes, sameShape, shapeStr, sizeOf } from '../tensor/shape.js';
import { ShapeError } from '../errors.js';
import { assertFloat, empty } from './util.js';
import { expand } from './shape.js';
import { noGrad } from '../autograd/graph.js';

registerOp('softmax');
registerOp('log_softmax');

export interface SoftmaxOpts { mask?: Tensor | null }

function maskLayout(x: Tensor, mask: Tensor): { rows: number; div: number } | null {
  const cols = x.shape[x.ndim - 1];
  if (mask.shape[mask.ndim - 1] !== cols) return null;
  const lead = x.shape.slice(0, -1);
  const m = [...new Array(Math.max(0, x.ndim - mask.ndim)).fill(1), ...mask.shape].slice(0, -1);
  const nonOne = m.map((d, i) => (d !== 1 ? i : -1)).filter((i) => i >= 0);
  if (nonOne.length === 0) return { rows: 1, div: 1 };
  const first = nonOne[0], last = nonOne[nonOne.length - 1];
  for (let i = first; i <= last; i++) if (m[i] !== lead[i]) return null;
  return { rows: sizeOf(lead.slice(first, last + 1)), div: sizeOf(lead.slice(last + 1)) };
}

function softmaxImpl(name: 'softmax' | 'log_softmax', x: Tensor, opts: SoftmaxOpts): Tensor {
  assertFloat(x, name, 'x');
  if (x.ndim === 0) throw new ShapeError(`${name}: x must have at least one dimension`);
  const cols = x.shape[x.ndim - 1];
  const rows = x.size / Math.max(cols, 1);
  let mask = opts.mask ?? null;
  let layout = { rows: 1, div: 1 };
  let tmpMask: Tensor | null = null;
  if (mask) {
    assertFloat(mask, name, 'mask');
    const b = broadcastShapes(mask.shape, x.shape, name);
    if (!sameShape(b, x.shape)) throw new ShapeError(`${name}: mask ${shapeStr(mask.shape)} does not broadcast to x ${shapeStr(x.shape)}`);
    const l = maskLayout(x, mask);
    if (l) layout = l;
    else {
      tmpMask = noGrad(() => expand(mask!, x.shape));
      mask = tmpMask;
      layout = { rows, div: 1 };
    }
  }
  const out = empty(x.device, x.shape);
  const log = name === 'log_softmax';
  native.softmaxForward(out.h, x.h, mask ? mask.h : null, rows, cols, layout.rows, layout.div, log);
  tmpMask?.dispose();
  record(name, [x], [out], [out], ([g]) => {
    const dx = empty(x.device, x.shape);
    native.softmaxBackward(dx.h, g!.h, out.h, rows, cols, log);
    return [dx];
  });
  return out;
}

export const softmax = (x: Tensor, opts: SoftmaxOpts = {}): Tensor => softmaxImpl('softmax', x, opts);
export const logSoftmax = (x: Tensor, opts: SoftmaxOpts = {}): Tensor => softmaxImpl('log_softmax', x, opts);
