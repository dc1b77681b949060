/**
 * Loads the native addon (prebuild or local build, via node-gyp-build) and describes its
 * interface. Nothing above src/ops and src/tensor touches this module.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LmtError, nativeErrorClasses } from '../errors.js';

/** How CUDA matmuls compute fp32 products (see setMatmulPrecision in src/ops/device.ts). */
export type MatmulPrecision = 'fp32' | 'bf16' | 'tf32';

/** An opaque, type-tagged handle on native storage. */
export interface NativeHandle {
  dispose(): void;
  readonly disposed: boolean;
  readonly numel: number;
  readonly dtype: 'float32' | 'int32' | 'disposed';
  readonly bytes: number;
  readonly refs: number;
}
type H = NativeHandle;
type OptH = NativeHandle | null;

export interface NativeInfo {
  version: string;
  cpuFeatures: string;
  threads: number;
  cudaCompiled: boolean;
  cudaDevices: number;
  cudaWhy: string;
  /** CUDA runtime version the binary was built with (13000 = 13.0); 0 without CUDA. */
  cudaRuntimeVersion: number;
  /** Virtual architectures of the kernels as compute capabilities ("80,86,89,90"); "" without CUDA. */
  cudaArchs: string;
  /** One entry per usable device (empty when CUDA is unusable). */
  cudaDeviceList: NativeCudaDevice[];
}

export interface NativeCudaDevice {
  index: number;
  name?: string;
  computeCapability?: string;
  multiprocessors?: number;
  totalBytes?: number;
  freeBytes?: number;
  /** Set when the device could not be queried. */
  error?: string;
}

/** The binding's exports; argument order follows native/include/lmt/lmt.h. */
export interface Binding {
  TensorHandle: unknown;
  setErrorClasses(classes: Record<string, unknown>): void;
  empty(dtype: 'float32' | 'int32', numel: number, device?: 'cpu' | 'cuda'): H;
  fromArray(data: Float32Array | Int32Array, device?: 'cpu' | 'cuda'): H;
  toArray(h: H): Float32Array | Int32Array;
  /** A copy of the storage on `device`. */
  toDevice(h: H, device: 'cpu' | 'cuda'): H;
  deviceOf(h: H): 'cpu' | 'cuda';
  /** Waits for queued CUDA work (no-op without a usable device). */
  cudaSynchronize(): void;
  setMatmulPrecision(p: MatmulPrecision): void;
  getMatmulPrecision(): MatmulPrecision;
  view(h: H): H;
  memory(): { handles: number; storages: number; bytes: number; cachedBytes: number; cudaBytes: number; cudaCachedBytes: number };
  flushCache(): void;
  info(): NativeInfo;
  setNumThreads(n: number): void;
  fill(out: H, value: number): void;
  fillI32(out: H, value: number): void;
  castI32F32(out: H, x: H): void;
  copyStrided(out: H, x: H, shape: number[], strides: number[], offset: number, outOffset: number): void;
  scatterAddStrided(out: H, x: H, shape: number[], strides: number[], offset: number): void;
  fillUniform(out: H, lo: number, hi: number, seed: number, offset: number): void;
  fillNormal(out: H, mean: number, std: number, seed: number, offset: number): void;
  unary(out: H, x: H, op: number, alpha: number, beta: number): void;
  unaryBackward(dx: H, dout: H, x: OptH, y: OptH, op: number): void;
  binary(out: H, a: H, b: H, shape: number[], aStrides: number[], bStrides: number[], op: number): void;
  where(out: H, cond: H, a: H, b: H, shape: number[], cs: number[], as: number[], bs: number[]): void;
  reduce(out: H, argmax: OptH, x: H, outer: number, dim: number, inner: number, op: number): void;
  reduceBackward(dx: H, dout: H, argmax: OptH, outer: number, dim: number, inner: number, op: number): void;
  softmaxForward(out: H, x: H, mask: OptH, rows: number, cols: number, maskRows: number, maskDiv: number, log: boolean): void;
  softmaxBackward(dx: H, dout: H, y: H, rows: number, cols: number, log: boolean): void;
  layernormForward(out: H, mean: H, rstd: H, x: H, w: H, b: OptH, N: number, C: number, eps: number): void;
  layernormBackward(dx: H, dw: H, db: OptH, dout: H, x: H, w: H, mean: H, rstd: H, N: number, C: number): void;
  rmsnormForward(out: H, rstd: H, x: H, w: H, N: number, C: number, eps: number): void;
  rmsnormBackward(dx: H, dw: H, dout: H, x: H, w: H, rstd: H, N: number, C: number): void;
  geluForward(out: H, x: H): void;
  geluBackward(dx: H, dout: H, x: H): void;
  embeddingForward(out: H, ids: H, weight: H, N: number, V: number, C: number): void;
  embeddingBackward(dweight: H, dout: H, ids: H, N: number, V: number, C: number): void;
  gather(out: H, x: H, idx: H, outer: number, dim: number, inner: number, nIdx: number): void;
  gatherBackward(dx: H, dout: H, idx: H, outer: number, dim: number, inner: number, nIdx: number): void;
  crossEntropyForward(losses: H, lse: H, logits: H, targets: H, N: number, V: number, ignoreIndex: number, smoothing: number): void;
  crossEntropyBackward(dlogits: H, dlosses: H, logits: H, lse: H, targets: H, N: number, V: number, ignoreIndex: number, smoothing: number): void;
  attentionForward(out: H, lse: H, q: H, k: H, v: H, bias: OptH, keyMask: OptH, B: number, NH: number, Tq: number, Tk: number, HS: number, biasB: number, causal: boolean, scale: number): void;
  attentionBackward(dq: H, dk: H, dv: H, dbias: OptH, dout: H, q: H, k: H, v: H, out: H, lse: H, bias: OptH, keyMask: OptH, B: number, NH: number, Tq: number, Tk: number, HS: number, biasB: number, causal: boolean, scale: number): void;
  matmul(c: H, a: H, b: H, batch: number, M: number, N: number, K: number, transA: boolean, transB: boolean, lda: number, ldb: number, ldc: number, sa: number, sb: number, sc: number, alpha: number, beta: number): void;
  dropoutForward(out: H, x: H, p: number, seed: number, offset: number): void;
  dropoutBackward(dx: H, dout: H, p: number, seed: number, offset: number): void;
  adamwStep(params: H[], m: H[], v: H[], grads: H[], decay: boolean[], lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number, gradScale: number): void;
  globalNorm(tensors: H[]): number;
  clipGradNorm(tensors: H[], maxNorm: number): number;
  /** Kernel benchmark records as JSON strings; spec words: see lmt_bench_kernels in lmt.h. */
  benchKernels(spec: string): string[];
}

/** Op codes, mirroring the enums in lmt.h. */
export const UnaryOp = { neg: 0, exp: 1, log: 2, tanh: 3, sqrt: 4, rsqrt: 5, relu: 6, sigmoid: 7, abs: 8, square: 9, reciprocal: 10 } as const;
export type UnaryOpName = keyof typeof UnaryOp;
export const BinaryOp = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5, pow: 6 } as const;
export type BinaryOpName = keyof typeof BinaryOp;
export const ReduceOp = { sum: 0, mean: 1, max: 2 } as const;
export type ReduceOpName = keyof typeof ReduceOp;

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LoadedFrom { path: string; kind: 'local build' | 'prebuild' }

function load(): { binding: Binding; from: LoadedFrom } {
  const require = createRequire(import.meta.url);
  const gypBuild = require('node-gyp-build') as { (dir: string): Binding; resolve(dir: string): string };
  let path: string;
  try {
    // LMT_ADDON names another build of the addon (e.g. the CUDA emulation build of
    // native/tests/cuda/emu/run.mjs --addon); otherwise the usual prebuild/local build lookup.
    path = process.env.LMT_ADDON ? process.env.LMT_ADDON : gypBuild.resolve(packageRoot);
  } catch (e) {
    throw new LmtError(
      `lmtrain: no native binary could be loaded for ${process.platform}-${process.arch} (Node ${process.versions.node}).\n` +
        `  ${(e as Error).message}\n` +
        'Possible solutions:\n' +
        '  - build it from source: `npm run build:native` (cmake + cmake-js) or `npx node-gyp rebuild` (g++ only)\n' +
        '  - reinstall so the prebuilt binary in prebuilds/ is present: `npm install lmtrain`\n',
      'LMT_ERR_LOAD',
    );
  }
  const binding = require(path) as Binding;
  binding.setErrorClasses(nativeErrorClasses);
  return { binding, from: { path, kind: path.includes('prebuilds') ? 'prebuild' : 'local build' } };
}

const loaded = load();
export const native: Binding = loaded.binding;
export const loadedFrom: LoadedFrom = loaded.from;
