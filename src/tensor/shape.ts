/** Shape arithmetic shared by the ops: validation, strides and broadcasting. */
import { ArgumentError, ShapeError } from '../errors.js';

export type Shape = readonly number[];

export const MAX_DIMS = 8;

export function checkShape(shape: Shape, what: string): void {
  if (!Array.isArray(shape)) throw new ArgumentError(`${what}: shape must be an array of integers, got ${typeof shape}`);
  if (shape.length > MAX_DIMS) throw new ShapeError(`${what}: at most ${MAX_DIMS} dimensions are supported, got ${shape.length}`);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      throw new ShapeError(`${what}: dimension ${i} must be a non-negative integer, got ${String(d)}`);
  }
  if (sizeOf(shape) > 2 ** 40) throw new ShapeError(`${what}: shape [${shape.join(',')}] has more than 2^40 elements`);
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Numpy broadcasting: right-aligned, each pair equal or one of them 1. */
export function broadcastShapes(a: Shape, b: Shape, what: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1)
      throw new ShapeError(`${what}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast (dimension ${i}: ${da} vs ${db})`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read a tensor of `shape` as if it had `outShape` (0 on broadcast dims). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const own = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => {
    if (i < off) return 0;
    return shape[i - off] === 1 && outShape[i] !== 1 ? 0 : own[i - off];
  });
}

/** Resolves a possibly negative axis against `ndim`. */
export function normAxis(axis: number, ndim: number, what: string): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= Math.max(ndim, 1))
    throw new ArgumentError(`${what}: axis ${axis} is out of range for a tensor of ${ndim} dimensions`);
  return axis < 0 ? axis + ndim : axis;
}
