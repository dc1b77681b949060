/** Helpers shared by the op modules: argument checks with typed errors and allocation. */
import { ArgumentError, DTypeError, DeviceError, ShapeError } from '../errors.js';
import { native } from '../native/binding.js';
import { Tensor, type DType, type Device } from '../tensor/tensor.js';
import { checkShape, shapeStr, sizeOf, type Shape } from '../tensor/shape.js';

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}

export function assertTensor(x: unknown, op: string, arg: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new ArgumentError(`${op}: '${arg}' must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.h; // throws DisposedTensorError when disposed
}

export function assertFloat(x: unknown, op: string, arg: string): asserts x is Tensor {
  assertTensor(x, op, arg);
  if (x.dtype !== 'float32') throw new DTypeError(`${op}: '${arg}' must be float32, got ${x.dtype}`);
}

export function assertInt(x: unknown, op: string, arg: string): asserts x is Tensor {
  assertTensor(x, op, arg);
  if (x.dtype !== 'int32') throw new DTypeError(`${op}: '${arg}' must be int32, got ${x.dtype}`);
}

export function assertSameDevice(op: string, ...ts: (Tensor | null | undefined)[]): void {
  const devs = new Set(ts.filter((t): t is Tensor => !!t).map((t) => t.device));
  if (devs.size > 1) throw new DeviceError(`${op}: inputs are on different devices (${[...devs].join(', ')})`);
}

export function assertNdim(x: Tensor, op: string, arg: string, ndims: number[]): void {
  if (!ndims.includes(x.ndim))
    throw new ShapeError(`${op}: '${arg}' must have ${ndims.join(' or ')} dimensions, got ${shapeStr(x.shape)}`);
}

export function assertFinite(v: unknown, op: string, arg: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(`${op}: '${arg}' must be a finite number, got ${String(v)}`);
}

/** An uninitialised tensor on `device` (every op writes all of its output). */
export function empty(device: Device, shape: Shape, dtype: DType = 'float32'): Tensor {
  checkShape(shape, 'empty');
  return new Tensor(native.empty(dtype, sizeOf(shape), device), shape, dtype, device);
}
