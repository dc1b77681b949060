/**
 * The device a command runs on when neither --device nor LMT_DEVICE names one: CUDA when it is
 * usable, else the CPU. "Usable" means more than a driver and a device: the first time it is
 * asked, the process runs three training steps of a small GPT on both devices from the same
 * init (every op a training step uses: embedding, matmul, attention, layernorm, GELU,
 * cross-entropy, AdamW, gradient clipping) and compares losses, gradient norm and weights. A
 * GPU whose results differ from the CPU's is not picked silently; the command runs on the CPU
 * and says why on stderr. An explicit --device cuda skips the check, so a user can still
 * choose the GPU.
 *
 * The library's own defaults (tensor creation, the run* configs) stay 'cpu', as in PyTorch:
 * this is the command line's default only.
 */
import { native } from '../native/binding.js';
import { getRngState, setRngState } from '../tensor/random.js';
import type { Device } from '../tensor/tensor.js';
import { gptStep, type CrossDeviceResult } from './cuda_check.js';
import { getMatmulPrecision, setMatmulPrecision } from './device.js';

export interface DefaultDeviceChoice {
  device: Device;
  /** Why this device: the GPU and the self-check's figure, or why CUDA is not used. */
  reason: string;
  /** Set when CUDA is usable but its self-check failed (the command says so on stderr). */
  warning?: string;
  /** How long the self-check took (it runs once per process, where CUDA is usable). */
  checkSeconds?: number;
}

export interface DefaultDeviceProbe {
  /** CUDA compiled in and at least one device answers. */
  usable: boolean;
  /** Why CUDA is unusable ('' when usable). */
  why: string;
  /** e.g. "NVIDIA H200 (compute capability 9.0)"; only asked for when usable. */
  gpu: () => string;
  selfCheck: () => CrossDeviceResult;
}

/** The choice itself, separated from the process so tests can give it any probe. */
export function chooseDefaultDevice(p: DefaultDeviceProbe): DefaultDeviceChoice {
  if (!p.usable) return { device: 'cpu', reason: `CUDA is not usable: ${p.why}` };
  let r: CrossDeviceResult;
  const t0 = performance.now();
  try {
    r = p.selfCheck();
  } catch (e) {
    r = { name: 'self-check', err: Infinity, tol: 0, ok: false, detail: (e as Error).message };
  }
  const checkSeconds = (performance.now() - t0) / 1000;
  const gpu = p.gpu();
  if (r.ok && Number.isFinite(r.err)) {
    return { device: 'cuda', reason: `${gpu}; self-check passed (largest difference from the CPU ${r.err.toExponential(1)}, bound ${r.tol.toExponential(0)})`, checkSeconds };
  }
  const what = Number.isFinite(r.err) ? `largest difference from the CPU ${r.err.toExponential(2)} > bound ${r.tol.toExponential(0)}` : (r.detail ?? 'non-finite result');
  return {
    device: 'cpu',
    reason: `${gpu} failed the CUDA self-check (${what})`,
    warning: `lmtrain: ${gpu} failed the CUDA self-check (${what}); running on the CPU. ` +
      '--device cuda (or LMT_DEVICE=cuda) uses the GPU anyway; please report this with the output of `lmtrain info`.',
    checkSeconds,
  };
}

function processProbe(): DefaultDeviceProbe {
  const i = native.info();
  return {
    usable: i.cudaCompiled && i.cudaDevices > 0,
    why: i.cudaWhy,
    gpu: () => {
      const d = (native.info().cudaDeviceList ?? [])[0];
      return d?.name ? `${d.name} (compute capability ${d.computeCapability ?? '?'})` : 'the GPU';
    },
    // The check leaves the caller's RNG stream and matmul precision as they were: a command
    // that seeds later must draw the same numbers whichever device was picked.
    selfCheck: () => {
      const rng = getRngState();
      const precision = getMatmulPrecision();
      try {
        return gptStep('fp32');
      } finally {
        setMatmulPrecision(precision);
        setRngState(rng);
      }
    },
  };
}

let cached: DefaultDeviceChoice | undefined;

/** The command line's default device for this process (checked once, then remembered). */
export function defaultDeviceChoice(): DefaultDeviceChoice {
  cached ??= chooseDefaultDevice(processProbe());
  return cached;
}

export function defaultDevice(): Device {
  return defaultDeviceChoice().device;
}
