/** Creating tensors: from data, constants, and seeded random values. */
import { ArgumentError, DeviceError, DTypeError, ShapeError } from '../errors.js';
import { native } from '../native/binding.js';
import { checkShape, sizeOf, shapeStr, type Shape } from './shape.js';
import { Tensor, type DType, type Device } from './tensor.js';
import { draw } from './random.js';

function alloc(shape: Shape, dtype: DType, what: string, device: Device = 'cpu'): Tensor {
  checkShape(shape, what);
  checkDevice(device, what);
  return new Tensor(native.empty(dtype, sizeOf(shape), device), shape, dtype, device);
}

function checkDevice(device: unknown, what: string): asserts device is Device {
  if (device !== 'cpu' && device !== 'cuda') throw new DeviceError(`${what}: device must be 'cpu' or 'cuda', got ${String(device)}`);
}

function checkDType(dtype: unknown, what: string): asserts dtype is DType {
  if (dtype !== 'float32' && dtype !== 'int32') throw new DTypeError(`${what}: dtype must be 'float32' or 'int32', got ${String(dtype)}`);
}

export function full(shape: Shape, value: number, dtype: DType = 'float32', device: Device = 'cpu'): Tensor {
  checkDType(dtype, 'full');
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ArgumentError(`full: value must be a number, got ${String(value)}`);
  const t = alloc(shape, dtype, 'full', device);
  if (dtype === 'float32') native.fill(t.h, value);
  else {
    if (!Number.isInteger(value)) throw new ArgumentError(`full: an int32 value must be an integer, got ${value}`);
    native.fillI32(t.h, value);
  }
  return t;
}
export const zeros = (shape: Shape, dtype: DType = 'float32', device: Device = 'cpu'): Tensor => full(shape, 0, dtype, device);
export const ones = (shape: Shape, dtype: DType = 'float32', device: Device = 'cpu'): Tensor => full(shape, 1, dtype, device);
export const zerosLike = (t: Tensor): Tensor => full(t.shape, 0, t.dtype, t.device);
export const onesLike = (t: Tensor): Tensor => full(t.shape, 1, t.dtype, t.device);

type Nested = number | Nested[];

function flatten(data: Nested, shape: number[], out: number[], depth: number): void {
  if (typeof data === 'number') {
    if (depth !== shape.length) throw new ShapeError('tensor: ragged nested array');
    out.push(data);
    return;
  }
  if (!Array.isArray(data)) throw new ArgumentError(`tensor: expected numbers or arrays, got ${typeof data}`);
  if (depth === shape.length) shape.push(data.length);
  else if (shape[depth] !== data.length) throw new ShapeError(`tensor: ragged nested array at depth ${depth}: ${data.length} vs ${shape[depth]}`);
  for (const d of data) flatten(d, shape, out, depth + 1);
}

/**
 * A tensor from data: a typed array or flat number array with a shape, or a nested array.
 * Float32Array/Int32Array set the dtype; number arrays default to float32.
 */
export function tensor(data: Nested | Float32Array | Int32Array, shape?: Shape, dtype?: DType, device: Device = 'cpu'): Tensor {
  checkDevice(device, 'tensor');
  let flat: Float32Array | Int32Array;
  let inferred: number[];
  if (data instanceof Float32Array || data instanceof Int32Array) {
    const dt = dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
    checkDType(dt, 'tensor');
    flat = dt === 'float32' ? (data instanceof Float32Array ? data : Float32Array.from(data)) : data instanceof Int32Array ? data : Int32Array.from(data, (v) => checkInt(v));
    inferred = [flat.length];
  } else {
    const values: number[] = [];
    inferred = [];
    flatten(data, inferred, values, 0);
    const dt = dtype ?? 'float32';
    checkDType(dt, 'tensor');
    if (dt === 'int32') values.forEach(checkInt);
    flat = dt === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
  }
  const finalShape = shape ? [...shape] : inferred;
  checkShape(finalShape, 'tensor');
  if (sizeOf(finalShape) !== flat.length)
    throw new ShapeError(`tensor: ${flat.length} values do not fill shape ${shapeStr(finalShape)} (${sizeOf(finalShape)} elements)`);
  return new Tensor(native.fromArray(flat, device), finalShape, flat instanceof Float32Array ? 'float32' : 'int32', device);
}

function checkInt(v: number): number {
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new ArgumentError(`tensor: ${v} is not an int32`);
  return v;
}

export function scalar(value: number, device: Device = 'cpu'): Tensor {
  return tensor([value], [], undefined, device);
}

/** Normal(mean, std) values from the global seeded stream. */
export function randn(shape: Shape, opts: { mean?: number; std?: number; device?: Device } = {}): Tensor {
  const t = alloc(shape, 'float32', 'randn', opts.device);
  const { seed, offset } = draw(t.size);
  native.fillNormal(t.h, opts.mean ?? 0, opts.std ?? 1, seed, offset);
  return t;
}

/** Uniform [lo, hi) values from the global seeded stream. */
export function uniform(shape: Shape, lo = 0, hi = 1, device: Device = 'cpu'): Tensor {
  const t = alloc(shape, 'float32', 'uniform', device);
  const { seed, offset } = draw(t.size);
  native.fillUniform(t.h, lo, hi, seed, offset);
  return t;
}

export function arange(n: number, dtype: DType = 'int32'): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`arange: n must be a non-negative integer, got ${n}`);
  const a = dtype === 'int32' ? Int32Array.from({ length: n }, (_, i) => i) : Float32Array.from({ length: n }, (_, i) => i);
  return tensor(a, [n]);
}
