/** Global gradient norm and clipping over a parameter set (one native pass each). */
import { native } from '../native/binding.js';
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

function grads(params: Tensor[]): Tensor[] {
  return params.map((p) => p.grad).filter((g): g is Tensor => g !== null && !g.isDisposed);
}

/** L2 norm of all gradients together. */
export function gradNorm(params: Tensor[]): number {
  return native.globalNorm(grads(params).map((g) => g.h));
}

/** Scales the gradients so their global norm is at most maxNorm; returns the norm before. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  if (!Number.isFinite(maxNorm) || maxNorm <= 0) throw new ArgumentError(`clipGradNorm: maxNorm must be a positive number, got ${maxNorm}`);
  return native.clipGradNorm(grads(params).map((g) => g.h), maxNorm);
}
