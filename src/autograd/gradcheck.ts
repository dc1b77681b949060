/**
 * Finite-difference gradient check. f maps the inputs to a tensor; the check compares the
 * autograd gradient of sum(f(x) * w) (w random, fixed) with central differences, one
 * element at a time, and reports the normalised max error per input.
 */
import { native } from '../native/binding.js';
import { backward, noGrad } from './graph.js';
import { tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { randn, tensor } from '../tensor/creation.js';
import { mul } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';

export interface GradcheckResult { maxError: number; perInput: number[] }

export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: { h?: number; maxElems?: number } = {}): GradcheckResult {
  const h = opts.h ?? 1e-2;
  const maxElems = opts.maxElems ?? 64;
  for (const x of inputs) if (x.dtype === 'float32') x.requiresGrad = true;
  const w = noGrad(() => { const o = f(...inputs); const r = randn(o.shape); o.dispose(); return r; });
  const objective = (): number => noGrad(() => tidy(() => sum(mul(f(...inputs), w)).item()));
  // Analytical
  for (const x of inputs) { x.grad?.dispose(); x.grad = null; }
  tidy(() => { backward(sum(mul(f(...inputs), w))); });
  const perInput: number[] = [];
  for (const x of inputs) {
    if (x.dtype !== 'float32') { perInput.push(0); continue; }
    const analytic = x.grad ? (x.grad.toArray() as Float32Array) : new Float32Array(x.size);
    const data = x.toArray() as Float32Array;
    const n = Math.min(x.size, maxElems);
    const step = x.size / n;
    let maxDiff = 0, maxRef = 0;
    for (let k = 0; k < n; k++) {
      const i = Math.floor(k * step);
      const orig = data[i];
      data[i] = orig + h; write(x, data);
      const fp = objective();
      data[i] = orig - h; write(x, data);
      const fm = objective();
      data[i] = orig; write(x, data);
      const numeric = (fp - fm) / (2 * h);
      if (!Number.isFinite(numeric) || !Number.isFinite(analytic[i])) { maxDiff = Infinity; continue; }
      maxDiff = Math.max(maxDiff, Math.abs(numeric - analytic[i]));
      maxRef = Math.max(maxRef, Math.abs(numeric));
    }
    perInput.push(maxDiff / Math.max(maxRef, 1e-3));
    x.grad?.dispose();
    x.grad = null;
  }
  w.dispose();
  return { maxError: Math.max(...perInput), perInput };
}

function write(x: Tensor, data: Float32Array): void {
  const src = tensor(data, x.shape);
  native.copyStrided(x.h, src.h, [x.size], [1], 0, 0);
  src.dispose();
}
