/**
 * Moving tensors between devices: `x.to('cuda')` / `x.to('cpu')` (and `toDevice(x, d)`).
 * A differentiable copy: the gradient is copied back to x's device. A tensor already on the
 * device is returned as is (no copy), like PyTorch's `.to`.
 */
import { native, type MatmulPrecision } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor, _setToDevice, type Device } from '../tensor/tensor.js';
import { ArgumentError, DeviceError } from '../errors.js';
import { assertTensor } from './util.js';

registerOp('to_device');

export function toDevice(x: Tensor, device: Device): Tensor {
  assertTensor(x, 'to', 'x');
  if (device !== 'cpu' && device !== 'cuda') throw new DeviceError(`to: device must be 'cpu' or 'cuda', got ${String(device)}`);
  if (x.device === device) return x;
  const out = new Tensor(native.toDevice(x.h, device), x.shape, x.dtype, device);
  record('to_device', [x], [out], [], ([g]) => [new Tensor(native.toDevice(g!.h, x.device), g!.shape, g!.dtype, x.device)]);
  return out;
}

_setToDevice(toDevice);

/** True when CUDA tensors can be made here (the binary has CUDA and a device is usable). */
export function cudaAvailable(): boolean {
  const i = native.info();
  return i.cudaCompiled && i.cudaDevices > 0;
}

/**
 * `device` when work can run there: 'cpu', or 'cuda' where CUDA is usable. Otherwise a
 * DeviceError naming `who` and, for CUDA, the reason (no driver, no device, not compiled in).
 * For runs that do a lot before their first tensor (the demo writes data and trains a
 * tokenizer first), so an unusable device fails at once.
 */
export function requireDevice(device: unknown, who: string): Device {
  if (device !== 'cpu' && device !== 'cuda') throw new DeviceError(`${who}: device must be 'cpu' or 'cuda', got ${String(device)}`);
  if (device === 'cuda') {
    const i = native.info();
    if (!i.cudaCompiled || i.cudaDevices === 0) throw new DeviceError(`${who}: CUDA is not usable: ${i.cudaWhy}`);
  }
  return device;
}

/** Waits for queued GPU work (timing needs it; copies to the host wait on their own). */
export function synchronize(): void {
  native.cudaSynchronize();
}

/**
 * How CUDA matmuls compute fp32 products: 'fp32' (default, matches the CPU), or on tensor
 * cores with fp32 accumulation 'tf32' (inputs rounded to 10 mantissa bits) or 'bf16' (7).
 * 'bf16' also runs attention with head sizes up to 128 on tensor cores (P and dS rounded to
 * bf16 as well). Weights, activations and optimizer state stay fp32 either way.
 */
export function setMatmulPrecision(p: MatmulPrecision): void {
  if (p !== 'fp32' && p !== 'bf16' && p !== 'tf32') throw new ArgumentError(`setMatmulPrecision: expected 'fp32', 'bf16' or 'tf32', got ${String(p)}`);
  native.setMatmulPrecision(p);
}

/** The current CUDA matmul precision (see setMatmulPrecision); 'fp32' where CUDA is not compiled in. */
export function getMatmulPrecision(): MatmulPrecision {
  return native.getMatmulPrecision();
}
