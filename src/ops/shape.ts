/**
 * Views and shape ops: reshape (shares storage), permute/transpose, slice, concat,
 * expand (broadcast), sumTo (its adjoint), gather along an axis, where, clone, cast.
 * Everything but reshape copies through the native strided copy, so every tensor stays
 * contiguous and kernels never see strides.
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { native, ReduceOp } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { zeros } from '../tensor/creation.js';
import { broadcastShapes, broadcastStrides, checkShape, normAxis, sameShape, shapeStr, sizeOf, stridesOf, type Shape } from '../tensor/shape.js';
import { assertFloat, assertInt, assertTensor, empty } from './util.js';

registerOp('reshape');
registerOp('permute');
registerOp('slice');
registerOp('concat');
registerOp('expand');
registerOp('sum_to');
registerOp('gather');
registerOp('where');
registerOp('clone');
registerOp('cast', { differentiable: false });

/** Same data, new shape (one dimension may be -1). Shares storage with x. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  assertTensor(x, 'reshape', 'x');
  const s = [...shape];
  const neg = s.filter((d) => d === -1).length;
  if (neg > 1) throw new ShapeError(`reshape: at most one dimension may be -1, got ${shapeStr(shape)}`);
  if (neg === 1) {
    const known = sizeOf(s.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) throw new ShapeError(`reshape: cannot reshape ${shapeStr(x.shape)} into ${shapeStr(shape)}`);
    s[s.indexOf(-1)] = x.size / known;
  }
  checkShape(s, 'reshape');
  if (sizeOf(s) !== x.size) throw new ShapeError(`reshape: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) into ${shapeStr(s)}`);
  const out = new Tensor(native.view(x.h), s, x.dtype, x.device);
  record('reshape', [x], [out], [], ([g]) => [reshape(g!, x.shape)]);
  return out;
}

/** Reorders dimensions: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  assertFloat(x, 'permute', 'x');
  if (perm.length !== x.ndim || [...perm].sort((a, b) => a - b).some((p, i) => p !== i))
    throw new ArgumentError(`permute: perm [${perm.join(',')}] is not a permutation of ${x.ndim} dimensions`);
  const st = stridesOf(x.shape);
  const shape = perm.map((p) => x.shape[p]);
  const out = empty(x.device, shape);
  native.copyStrided(out.h, x.h, shape, perm.map((p) => st[p]), 0, 0);
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  record('permute', [x], [out], [], ([g]) => [permute(g!, inv)]);
  return out;
}

export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  assertTensor(x, 'transpose', 'x');
  const i = normAxis(a, x.ndim, 'transpose'), j = normAxis(b, x.ndim, 'transpose');
  const perm = x.shape.map((_, k) => k);
  perm[i] = j;
  perm[j] = i;
  return permute(x, perm);
}

/** x[..., start:end, ...] along `axis` (a copy). */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  assertFloat(x, 'slice', 'x');
  const ax = normAxis(axis, x.ndim, 'slice');
  const n = x.shape[ax];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end)
    throw new ShapeError(`slice: range [${start}, ${end}) is outside axis ${ax} of size ${n} in ${shapeStr(x.shape)}`);
  const shape = [...x.shape];
  shape[ax] = end - start;
  const st = stridesOf(x.shape);
  const out = empty(x.device, shape);
  native.copyStrided(out.h, x.h, shape, st, start * st[ax], 0);
  record('slice', [x], [out], [], ([g]) => {
    const dx = zeros(x.shape, 'float32', x.device);
    native.scatterAddStrided(dx.h, g!.h, shape, st, start * st[ax]);
    return [dx];
  });
  return out;
}

/** Joins tensors along `axis`. */
export function concat(xs: Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new ArgumentError('concat: expected a non-empty array of tensors');
  xs.forEach((x, i) => assertFloat(x, 'concat', `xs[${i}]`));
  const ax = normAxis(axis, xs[0].ndim, 'concat');
  for (const [i, x] of xs.entries()) {
    if (x.ndim !== xs[0].ndim || x.shape.some((d, k) => k !== ax && d !== xs[0].shape[k]))
      throw new ShapeError(`concat: xs[${i}] has shape ${shapeStr(x.shape)}, incompatible with ${shapeStr(xs[0].shape)} along axis ${ax}`);
  }
  const shape = [...xs[0].shape];
  shape[ax] = xs.reduce((s, x) => s + x.shape[ax], 0);
  const ost = stridesOf(shape);
  const out = zeros(shape, 'float32', xs[0].device);
  const starts: number[] = [];
  let at = 0;
  for (const x of xs) {
    starts.push(at);
    native.scatterAddStrided(out.h, x.h, x.shape as number[], ost, at * ost[ax]);
    at += x.shape[ax];
  }
  record('concat', xs, [out], [], ([g]) => xs.map((x, i) => {
    const dx = empty(x.device, x.shape);
    native.copyStrided(dx.h, g!.h, x.shape as number[], ost, starts[i] * ost[ax], 0);
    return dx;
  }));
  return out;
}

/** Broadcasts x to `shape` (a copy). */
export function expand(x: Tensor, shape: Shape): Tensor {
  assertFloat(x, 'expand', 'x');
  checkShape(shape, 'expand');
  const b = broadcastShapes(x.shape, shape, 'expand');
  if (!sameShape(b, shape)) throw new ShapeError(`expand: ${shapeStr(x.shape)} cannot be broadcast to ${shapeStr(shape)}`);
  const out = empty(x.device, shape);
  native.copyStrided(out.h, x.h, [...shape], broadcastStrides(x.shape, shape), 0, 0);
  record('expand', [x], [out], [], ([g]) => [sumTo(g!, x.shape)]);
  return out;
}

/** Sums g over the dimensions that broadcasting added or stretched, giving `shape`. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  assertFloat(g, 'sumTo', 'g');
  if (sameShape(g.shape, shape)) return clone(g);
  const b = broadcastShapes(shape, g.shape, 'sumTo');
  if (!sameShape(b, g.shape)) throw new ShapeError(`sumTo: ${shapeStr(g.shape)} does not broadcast from ${shapeStr(shape)}`);
  const padded = [...new Array(g.ndim - shape.length).fill(1), ...shape];
  let cur = g;
  let curShape = [...g.shape];
  const temps: Tensor[] = [];
  for (let ax = 0; ax < g.ndim; ax++) {
    if (padded[ax] === 1 && curShape[ax] !== 1) {
      const outer = sizeOf(curShape.slice(0, ax)), dim = curShape[ax], inner = sizeOf(curShape.slice(ax + 1));
      curShape[ax] = 1;
      const next = empty(g.device, curShape);
      native.reduce(next.h, null, cur.h, outer, dim, inner, ReduceOp.sum);
      if (cur !== g) temps.push(cur);
      cur = next;
    }
  }
  const out = new Tensor(native.view(cur.h), shape, 'float32', g.device);
  if (cur !== g) cur.dispose();
  temps.forEach((t) => t.dispose());
  record('sum_to', [g], [out], [], ([gg]) => [expand(gg!, g.shape)]);
  return out;
}

/** A copy of x. */
export function clone(x: Tensor): Tensor {
  assertTensor(x, 'clone', 'x');
  if (x.dtype === 'int32') {
    return new Tensor(native.toDevice(x.h, x.device), x.shape, 'int32', x.device);
  }
  const out = empty(x.device, x.shape);
  native.copyStrided(out.h, x.h, [x.size], [1], 0, 0);
  record('clone', [x], [out], [], ([g]) => [clone(g!)]);
  return out;
}

/** int32 -> float32 (not differentiable). */
export function toFloat(x: Tensor): Tensor {
  assertTensor(x, 'toFloat', 'x');
  if (x.dtype === 'float32') return clone(x);
  const out = empty(x.device, x.shape);
  native.castI32F32(out.h, x.h);
  return out;
}

/** Selects entries of x along `axis` by int32 indices: out.shape = x.shape with axis -> idx.size. */
export function gather(x: Tensor, idx: Tensor, axis = 0): Tensor {
  assertFloat(x, 'gather', 'x');
  assertInt(idx, 'gather', 'idx');
  const ax = normAxis(axis, x.ndim, 'gather');
  const outer = sizeOf(x.shape.slice(0, ax)), dim = x.shape[ax], inner = sizeOf(x.shape.slice(ax + 1));
  const shape = [...x.shape.slice(0, ax), ...idx.shape, ...x.shape.slice(ax + 1)];
  const out = empty(x.device, shape);
  native.gather(out.h, x.h, idx.h, outer, dim, inner, idx.size);
  record('gather', [x], [out], [idx], ([g]) => {
    const dx = empty(x.device, x.shape);
    native.gatherBackward(dx.h, g!.h, idx.h, outer, dim, inner, idx.size);
    return [dx];
  });
  return out;
}

/** cond != 0 ? a : b, with broadcasting. cond is a float32 0/1 tensor (no gradient). */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  assertFloat(cond, 'where', 'cond');
  assertFloat(a, 'where', 'a');
  assertFloat(b, 'where', 'b');
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'where'), b.shape, 'where');
  const out = empty(a.device, shape);
  native.where(out.h, cond.h, a.h, b.h, shape, broadcastStrides(cond.shape, shape), broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape));
  record('where', [a, b], [out], [cond], ([g]) => {
    const z = zeros([], 'float32', a.device);
    const ga = empty(a.device, shape), gb = empty(a.device, shape);
    const gs = broadcastStrides(shape, shape), zs = broadcastStrides([], shape), cs = broadcastStrides(cond.shape, shape);
    native.where(ga.h, cond.h, g!.h, z.h, shape, cs, gs, zs);
    native.where(gb.h, cond.h, z.h, g!.h, shape, cs, zs, gs);
    const ra = sumTo(ga, a.shape), rb = sumTo(gb, b.shape);
    [z, ga, gb].forEach((t) => t.dispose());
    return [ra, rb];
  });
  return out;
}

registerOp('add_to_slice', { differentiable: false });

/**
 * dst[..., start:start+n, ...] += src along `axis`, in place, outside autograd. The KV cache
 * writes each position once into a zero-filled buffer, so this is an exact assignment there.
 */
export function addToSlice(dst: Tensor, src: Tensor, axis: number, start: number): void {
  assertFloat(dst, 'addToSlice', 'dst');
  assertFloat(src, 'addToSlice', 'src');
  const ax = normAxis(axis, dst.ndim, 'addToSlice');
  if (src.ndim !== dst.ndim || src.shape.some((d, i) => i !== ax && d !== dst.shape[i]))
    throw new ShapeError(`addToSlice: src ${shapeStr(src.shape)} does not fit dst ${shapeStr(dst.shape)} along axis ${ax}`);
  if (!Number.isInteger(start) || start < 0 || start + src.shape[ax] > dst.shape[ax])
    throw new ShapeError(`addToSlice: rows [${start}, ${start + src.shape[ax]}) exceed axis ${ax} of size ${dst.shape[ax]}`);
  const st = stridesOf(dst.shape);
  native.scatterAddStrided(dst.h, src.h, src.shape as number[], st, start * st[ax]);
}

registerOp('assign', { differentiable: false });

/** dst = src in place (same number of elements), outside autograd: loading weights and state. */
export function assign(dst: Tensor, src: Tensor): void {
  assertFloat(dst, 'assign', 'dst');
  assertFloat(src, 'assign', 'src');
  if (dst.size !== src.size) throw new ShapeError(`assign: src ${shapeStr(src.shape)} has ${src.size} elements, dst ${shapeStr(dst.shape)} ${dst.size}`);
  native.copyStrided(dst.h, src.h, [src.size], [1], 0, 0);
}
