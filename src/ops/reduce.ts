/** Reductions along one axis (or over everything): sum, mean, max. */
import { native, ReduceOp, type ReduceOpName } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { normAxis, sizeOf } from '../tensor/shape.js';
import { assertFloat, empty } from './util.js';

registerOp('sum');
registerOp('mean');
registerOp('max');

export interface ReduceOpts { axis?: number; keepDims?: boolean }

function reduce(name: ReduceOpName, x: Tensor, opts: ReduceOpts): Tensor {
  assertFloat(x, name, 'x');
  const all = opts.axis === undefined;
  const ax = all ? 0 : normAxis(opts.axis!, x.ndim, name);
  const outer = all ? 1 : sizeOf(x.shape.slice(0, ax));
  const dim = all ? x.size : x.shape[ax];
  const inner = all ? 1 : sizeOf(x.shape.slice(ax + 1));
  let shape: number[];
  if (all) shape = opts.keepDims ? x.shape.map(() => 1) : [];
  else shape = opts.keepDims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  const out = empty(x.device, shape);
  const argmax = name === 'max' ? empty(x.device, [outer * inner], 'int32') : null;
  native.reduce(out.h, argmax ? argmax.h : null, x.h, outer, dim, inner, ReduceOp[name]);
  record(name, [x], [out], argmax ? [argmax] : [], ([g]) => {
    const dx = empty(x.device, x.shape);
    native.reduceBackward(dx.h, g!.h, argmax ? argmax.h : null, outer, dim, inner, ReduceOp[name]);
    return [dx];
  });
  argmax?.dispose(); // freed now unless the graph saved it
  return out;
}

export const sum = (x: Tensor, opts: ReduceOpts = {}): Tensor => reduce('sum', x, opts);
export const mean = (x: Tensor, opts: ReduceOpts = {}): Tensor => reduce('mean', x, opts);
/** Maximum along an axis; the gradient goes to the first maximal entry. */
export const max = (x: Tensor, opts: ReduceOpts = {}): Tensor => reduce('max', x, opts);
