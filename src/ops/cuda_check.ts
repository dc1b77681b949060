/**
 * The op suite across devices: every op runs forward and backward on the CPU and on CUDA from
 * the same random inputs, and the outputs and input gradients are compared (max |cuda - cpu|
 * over max |cpu|). The CPU ops are the reference (they are checked against float64 and finite
 * differences by the test suite). Used by tests/ops/cuda.test.ts where a GPU is usable and by
 * scripts/gpu-check.sh (through dist/) on the lent GPU machine, which has no vitest.
 */
import { Tensor } from '../tensor/tensor.js';
import { tensor, randn, uniform } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { manualSeed } from '../tensor/random.js';
import { backward, noGrad } from '../autograd/graph.js';
import * as E from './elementwise.js';
import { sum, mean, max } from './reduce.js';
import { permute, slice, concat, expand, gather, where, transpose, reshape, toFloat } from './shape.js';
import { matmul } from './matmul.js';
import { softmax, logSoftmax } from './softmax.js';
import { layernorm, rmsnorm } from './layernorm.js';
import { gelu } from './gelu.js';
import { embedding } from './embedding.js';
import { crossEntropy } from './cross_entropy.js';
import { attention } from './attention.js';
import { dropout } from './dropout.js';
import { AdamW } from '../optim/adamw.js';
import { clipGradNorm } from '../optim/clip.js';
import { GPT } from '../models/gpt.js';
import { gptConfig } from '../models/config.js';
import { setMatmulPrecision, getMatmulPrecision } from './device.js';
import type { MatmulPrecision } from '../native/binding.js';

export interface CrossDeviceResult {
  name: string;
  /** Largest normalised difference over the outputs and gradients compared. */
  err: number;
  tol: number;
  ok: boolean;
  detail?: string;
}

function maxErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return Infinity;
  let maxRef = 0, maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i], g = got[i];
    if (Number.isNaN(g) !== Number.isNaN(r)) return Infinity;
    if (!Number.isFinite(r) || !Number.isFinite(g)) {
      if (r !== g && !(Number.isNaN(r) && Number.isNaN(g))) return Infinity;
      continue;
    }
    maxRef = Math.max(maxRef, Math.abs(r));
    maxDiff = Math.max(maxDiff, Math.abs(g - r));
  }
  return maxDiff / Math.max(maxRef, 1e-30);
}

interface Case {
  name: string;
  /** Float inputs (get gradients) and int inputs (ids, targets); made on the CPU. */
  make: () => { floats: Tensor[]; ints?: Tensor[] };
  run: (floats: Tensor[], ints: Tensor[]) => Tensor;
  tol?: number;
  /** No backward (the op has no gradient, or it is not the point). */
  forwardOnly?: boolean;
  /** The CUDA matmul precision for the CUDA run (the CPU has only fp32). */
  precision?: MatmulPrecision;
}

/** Forward + backward of one case on one device; returns the output and input gradients. */
function runOn(c: Case, device: 'cpu' | 'cuda', floats0: Tensor[], ints0: Tensor[]): Float32Array[] {
  return tidy(() => {
    const floats = floats0.map((t) => {
      const x = noGrad(() => t.to(device));
      // A fresh leaf per device (to() of a CPU tensor on the CPU returns it as is).
      const leaf = device === 'cpu' ? noGrad(() => E.affine(t, 1)) : x;
      leaf.requiresGrad = !c.forwardOnly;
      return leaf;
    });
    const ints = ints0.map((t) => t.to(device));
    const precision = device === 'cuda' ? c.precision : undefined;
    const before = getMatmulPrecision();
    if (precision) setMatmulPrecision(precision);
    let out: Tensor;
    try {
      out = c.run(floats, ints);
    } finally {
      if (precision) setMatmulPrecision(before);
    }
    const res = [Float32Array.from(out.toArray())];
    if (!c.forwardOnly) {
      // Weighted sum so that every output element gets its own upstream gradient.
      manualSeed(99);
      const w = randn(out.shape as number[], { device });
      if (precision) setMatmulPrecision(precision);
      try {
        backward(sum(E.mul(out, w)));
      } finally {
        if (precision) setMatmulPrecision(before);
      }
      for (const f of floats) res.push(f.grad ? Float32Array.from(f.grad.toArray()) : new Float32Array(0));
    }
    for (const f of floats) { f.grad?.dispose(); f.grad = null; }
    return res;
  });
}

/** t rounded to the nearest bf16 values (a new tensor; t is disposed). */
function bf16Round(t: Tensor): Tensor {
  const a = Float32Array.from(t.toArray());
  const u = new Uint32Array(a.buffer);
  for (let i = 0; i < u.length; i++) u[i] = ((u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16) << 16;
  const out = tensor(a, t.shape as number[]);
  t.dispose();
  return out;
}

function ints(values: number[], shape: number[]): Tensor {
  return tensor(Int32Array.from(values), shape);
}

function cases(): Case[] {
  const r = (shape: number[], std = 1) => randn(shape, { std });
  const cs: Case[] = [];
  for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const)
    cs.push({ name: `${op} (broadcast)`, make: () => ({ floats: [r([4, 33, 7]), op === 'div' ? uniform([33, 1], 0.5, 2) : r([33, 1])] }), run: ([a, b]) => E[op](a, b) });
  cs.push({ name: 'pow', make: () => ({ floats: [uniform([5, 9], 0.5, 2), uniform([5, 9], -1, 2)] }), run: ([a, b]) => E.pow(a, b) });
  cs.push({ name: 'add scalar', make: () => ({ floats: [r([17, 5])] }), run: ([a]) => E.mul(E.add(a, 2.5), 0.5) });
  for (const op of ['neg', 'exp', 'tanh', 'relu', 'sigmoid', 'abs', 'square'] as const)
    cs.push({ name: op, make: () => ({ floats: [r([1000])] }), run: ([a]) => E[op](a) });
  for (const op of ['log', 'sqrt', 'rsqrt', 'reciprocal'] as const)
    cs.push({ name: op, make: () => ({ floats: [uniform([1000], 0.2, 3)] }), run: ([a]) => E[op](a) });
  cs.push({ name: 'sum axis', make: () => ({ floats: [r([6, 50, 3])] }), run: ([a]) => sum(a, { axis: 1 }) });
  cs.push({ name: 'mean all', make: () => ({ floats: [r([6, 50, 3])] }), run: ([a]) => mean(a) });
  cs.push({ name: 'max last axis', make: () => ({ floats: [r([8, 77])] }), run: ([a]) => max(a, { axis: -1 }) });
  cs.push({ name: 'permute + reshape', make: () => ({ floats: [r([2, 3, 4, 5])] }), run: ([a]) => reshape(permute(a, [2, 0, 3, 1]), [4, 30]) });
  cs.push({ name: 'slice + concat', make: () => ({ floats: [r([5, 12]), r([5, 3])] }), run: ([a, b]) => concat([slice(a, 1, 2, 9), b], 1) });
  cs.push({ name: 'expand', make: () => ({ floats: [r([1, 6, 1])] }), run: ([a]) => expand(a, [3, 6, 4]) });
  cs.push({ name: 'gather', make: () => ({ floats: [r([10, 4])], ints: [ints([3, 0, 9, 3, 3, 7], [6])] }), run: ([a], [i]) => gather(a, i, 0) });
  cs.push({ name: 'where', make: () => ({ floats: [r([7, 8]), r([7, 8]), uniform([7, 8])] }), run: ([a, b, c]) => where(E.sub(c, E.abs(E.neg(E.sub(c, 0.5)))), a, b) });
  cs.push({ name: 'matmul', make: () => ({ floats: [r([3, 37, 29]), r([29, 53])] }), run: ([a, b]) => matmul(a, b) });
  cs.push({ name: 'matmul transA transB batched', make: () => ({ floats: [r([2, 70, 33]), r([2, 41, 70])] }), run: ([a, b]) => matmul(a, b, { transA: true, transB: true }) });
  cs.push({ name: 'matmul large', make: () => ({ floats: [r([256, 384]), r([384, 512])] }), run: ([a, b]) => matmul(a, b), tol: 2e-5 });
  cs.push({ name: 'softmax', make: () => ({ floats: [r([4, 9, 31], 3)] }), run: ([a]) => softmax(a) });
  cs.push({ name: 'logSoftmax', make: () => ({ floats: [r([4, 9, 31], 3)] }), run: ([a]) => logSoftmax(a) });
  cs.push({ name: 'layernorm', make: () => ({ floats: [r([6, 11, 96]), r([96]), r([96])] }), run: ([x, w, b]) => layernorm(x, w, b), tol: 2e-5 });
  cs.push({ name: 'rmsnorm', make: () => ({ floats: [r([6, 11, 96]), r([96])] }), run: ([x, w]) => rmsnorm(x, w), tol: 2e-5 });
  cs.push({ name: 'gelu', make: () => ({ floats: [r([3000], 2)] }), run: ([a]) => gelu(a) });
  cs.push({ name: 'embedding', make: () => ({ floats: [r([50, 16])], ints: [ints([1, 4, 4, 49, 0, 4, 7, 1], [2, 4])] }), run: ([w], [i]) => embedding(i, w) });
  cs.push({ name: 'crossEntropy', make: () => ({ floats: [r([2, 7, 300], 2)], ints: [ints([5, -100, 299, 0, 17, 17, 3, 100, 2, -100, 250, 1, 1, 9], [2, 7])] }), run: ([l], [t]) => crossEntropy(l, t, { labelSmoothing: 0.1 }) });
  cs.push({ name: 'crossEntropy V=50257', make: () => ({ floats: [r([3, 50257])], ints: [ints([0, 50256, 12345], [3])] }), run: ([l], [t]) => crossEntropy(l, t) });
  cs.push({ name: 'attention causal', make: () => ({ floats: [r([2, 3, 70, 64]), r([2, 3, 70, 64]), r([2, 3, 70, 64])] }), run: ([q, k, v]) => attention(q, k, v, { causal: true }), tol: 3e-5 });
  cs.push({
    name: 'attention bias + padding',
    make: () => ({ floats: [r([2, 2, 9, 32]), r([2, 2, 12, 32]), r([2, 2, 12, 32]), r([1, 2, 9, 12], 0.5)], ints: [ints([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [2, 12])] }),
    run: ([q, k, v, b], [m]) => attention(q, k, v, { bias: b, keyPaddingMask: toFloat(m) }),
    tol: 3e-5,
  });
  // The tensor-core attention (bf16 precision): inputs already bf16, so what differs is the
  // bf16 rounding of P, dS and the upstream gradient inside the kernels.
  const rb = (shape: number[], std = 1) => bf16Round(r(shape, std));
  cs.push({ name: 'attention causal, bf16 tensor cores', make: () => ({ floats: [rb([2, 3, 70, 64]), rb([2, 3, 70, 64]), rb([2, 3, 70, 64])] }), run: ([q, k, v]) => attention(q, k, v, { causal: true }), precision: 'bf16', tol: 1e-2 });
  cs.push({
    name: 'attention bias + padding, bf16 tensor cores',
    make: () => ({ floats: [rb([2, 2, 9, 32]), rb([2, 2, 12, 32]), rb([2, 2, 12, 32]), r([1, 2, 9, 12], 0.5)], ints: [ints([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [2, 12])] }),
    run: ([q, k, v, b], [m]) => attention(q, k, v, { bias: b, keyPaddingMask: toFloat(m) }),
    precision: 'bf16',
    tol: 1e-2,
  });
  cs.push({ name: 'dropout (same mask)', make: () => ({ floats: [r([4096])] }), run: ([a]) => { manualSeed(5); return dropout(a, 0.3); } });
  cs.push({ name: 'transpose', make: () => ({ floats: [r([3, 5, 7])] }), run: ([a]) => transpose(a) });
  return cs;
}

/**
 * Three GPT training steps (loss, gradient norm, AdamW update) on each device from the same
 * init; with `bf16` the CUDA matmuls run on bf16 tensor cores (inputs rounded to 8 bits of
 * mantissa), so the tolerance is that of bf16.
 */
export function gptStep(precision: MatmulPrecision = 'fp32'): CrossDeviceResult {
  const bf16 = precision !== 'fp32';
  const run = (device: 'cpu' | 'cuda') => {
    if (device === 'cuda') setMatmulPrecision(precision);
    manualSeed(7);
    const model = new GPT(gptConfig({ vocab_size: 97, n_positions: 32, n_layer: 2, n_head: 2, n_embd: 64, dropout: 0 }));
    let opt: AdamW | undefined;
    try {
      model.to(device);
      opt = new AdamW(model.trainableParameters(), { lr: 1e-3, weightDecay: 0.1 });
      const ids = Int32Array.from({ length: 2 * 17 }, (_, i) => (i * 31 + 7) % 97);
      const x = new Int32Array(2 * 16), y = new Int32Array(2 * 16);
      for (let b = 0; b < 2; b++) for (let t = 0; t < 16; t++) { x[b * 16 + t] = ids[b * 17 + t]; y[b * 16 + t] = ids[b * 17 + t + 1]; }
      const losses: number[] = [];
      let norm = 0;
      for (let s = 0; s < 3; s++) {
        tidy(() => {
          const loss = crossEntropy(model.forward(tensor(x, [2, 16], 'int32', device)), tensor(y, [2, 16], 'int32', device));
          losses.push(loss.item());
          backward(loss);
        });
        norm = clipGradNorm(opt.params, 1.0);
        opt.stepUpdate();
        opt.zeroGrad();
      }
      const w = Float32Array.from(model.parameters()[0].toArray());
      return { losses, norm, w };
    } finally {
      // Also when a step throws: the self-check behind the default device must not leave a
      // model's worth of GPU memory behind.
      opt?.dispose();
      model.dispose();
      setMatmulPrecision('fp32');
    }
  };
  const a = run('cpu'), b = run('cuda');
  // Under bf16/tf32 the weights are left out: Adam's first steps move each weight by about
  // lr * sign(g), so a gradient near zero that the rounding flips moves it by 2 lr either way.
  const err = Math.max(maxErr(b.losses, a.losses), maxErr([b.norm], [a.norm]), bf16 ? 0 : maxErr(b.w, a.w));
  const tol = precision === 'bf16' ? 1e-2 : precision === 'tf32' ? 2e-3 : 1e-4;
  return { name: `GPT training step x3 (loss, grad norm, AdamW update)${bf16 ? `, ${precision} matmuls` : ''}`, err, tol, ok: err <= tol, detail: `losses cpu ${a.losses.map((l) => l.toFixed(5)).join(' ')} / cuda ${b.losses.map((l) => l.toFixed(5)).join(' ')}` };
}

/** Runs every case on both devices (CUDA must be usable) and returns one result per case. */
export function checkCudaOps(): CrossDeviceResult[] {
  const out: CrossDeviceResult[] = [];
  for (const c of cases()) {
    const tol = c.tol ?? 1e-5;
    try {
      manualSeed(1234);
      const made = c.make();
      const floats = made.floats, intsIn = made.ints ?? [];
      const cpu = runOn(c, 'cpu', floats, intsIn);
      const gpu = runOn(c, 'cuda', floats, intsIn);
      [...floats, ...intsIn].forEach((t) => t.dispose());
      const err = Math.max(...cpu.map((r, i) => maxErr(gpu[i], r)));
      out.push({ name: c.name, err, tol, ok: err <= tol });
    } catch (e) {
      out.push({ name: c.name, err: Infinity, tol, ok: false, detail: (e as Error).message });
    }
  }
  try {
    // The gradient of to(): a CPU leaf used on the GPU gets its gradient back on the CPU.
    const x = randn([300]);
    x.requiresGrad = true;
    tidy(() => backward(sum(E.mul(x.to('cuda'), 3))));
    const g = x.grad ? Array.from(x.grad.toArray()) : [];
    const ok = x.grad?.device === 'cpu' && g.length === 300 && g.every((v) => v === 3);
    out.push({ name: 'to() gradient', err: ok ? 0 : Infinity, tol: 0, ok });
    x.grad?.dispose();
    x.dispose();
  } catch (e) {
    out.push({ name: 'to() gradient', err: Infinity, tol: 0, ok: false, detail: (e as Error).message });
  }
  for (const precision of ['fp32', 'tf32', 'bf16'] as const) {
    try {
      out.push(gptStep(precision));
    } catch (e) {
      setMatmulPrecision('fp32');
      out.push({ name: `GPT training step, ${precision} matmuls`, err: Infinity, tol: 1e-4, ok: false, detail: (e as Error).message });
    }
  }
  return out;
}
