/**
 * The device a command runs on when neither --device nor LMT_DEVICE names one: CUDA when it is
 * usable, else the CPU. "Usable" means more than a driver and a device: the first time it is
 * asked, the process runs three training steps of a small GPT on both devices from the same
 * init (every op a training step uses: embedding, matmul, attention, layernorm, GELU,
 * cross-entropy, AdamW, gradient clipping) and compares losses, gradient norm and weights. A
 * GPU whose results differ from the CPU's is not picked silently; the command runs on the CPU
 * and says why on stderr. With --precision tf32 or bf16 the same steps also run at that
 * precision (the tensor-core GEMMs, and at bf16 the tensor-core attention), and must pass too.
 * An explicit --device cuda skips the check, so a user can still choose the GPU.
 *
 * The library's own defaults (tensor creation, the run* configs) stay 'cpu', as in PyTorch:
 * this is the command line's default only.
 */
import { native, type MatmulPrecision } from '../native/binding.js';
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
  /** Small GPT training steps on both devices at this matmul precision, compared. */
  selfCheck: (precision: MatmulPrecision) => CrossDeviceResult;
}

/**
 * The choice itself, separated from the process so tests can give it any probe: fp32 first,
 * then `precision` where it is tf32 or bf16.
 */
export function chooseDefaultDevice(p: DefaultDeviceProbe, precision: MatmulPrecision = 'fp32'): DefaultDeviceChoice {
  if (!p.usable) return { device: 'cpu', reason: `CUDA is not usable: ${p.why}` };
  const t0 = performance.now();
  const passed: string[] = [];
  let gpu: string;
  try {
    gpu = p.gpu();
  } catch {
    gpu = 'the GPU';
  }
  for (const prec of precision === 'fp32' ? (['fp32'] as const) : (['fp32', precision] as const)) {
    let r: CrossDeviceResult;
    try {
      r = p.selfCheck(prec);
    } catch (e) {
      r = { name: 'self-check', err: Infinity, tol: 0, ok: false, detail: (e as Error).message };
    }
    const checkSeconds = (performance.now() - t0) / 1000;
    if (!(r.ok && Number.isFinite(r.err))) {
      const what = Number.isFinite(r.err) ? `largest difference from the CPU ${r.err.toExponential(2)} > bound ${r.tol.toExponential(0)}` : (r.detail ?? 'non-finite result');
      const which = prec === 'fp32' ? 'CUDA self-check' : `CUDA self-check at ${prec} matmuls`;
      return {
        device: 'cpu',
        reason: `${gpu} failed the ${which} (${what})`,
        warning: `lmtrain: ${gpu} failed the ${which} (${what}); running on the CPU. ` +
          '--device cuda (or LMT_DEVICE=cuda) uses the GPU anyway; please report this with the output of `lmtrain info`.',
        checkSeconds,
      };
    }
    passed.push(`${prec === 'fp32' ? '' : `at ${prec}: `}largest difference from the CPU ${r.err.toExponential(1)}, bound ${r.tol.toExponential(0)}`);
  }
  return { device: 'cuda', reason: `${gpu}; self-check passed (${passed.join('; ')})`, checkSeconds: (performance.now() - t0) / 1000 };
}

function processProbe(): DefaultDeviceProbe {
  const i = native.info();
  return {
    usable: i.cudaCompiled && i.cudaDevices > 0,
    why: i.cudaWhy,
    gpu: () => {
      const d = (i.cudaDeviceList ?? [])[0];
      return d?.name ? `${d.name} (compute capability ${d.computeCapability ?? '?'})` : 'the GPU';
    },
    // The check leaves the caller's RNG stream and matmul precision as they were: a command
    // that seeds later must draw the same numbers whichever device was picked.
    selfCheck: (check) => {
      const rng = getRngState();
      const precision = getMatmulPrecision();
      try {
        return gptStep(check);
      } finally {
        setMatmulPrecision(precision);
        setRngState(rng);
      }
    },
  };
}

// Per precision; the fp32 steps, which every precision runs first, are run once.
const cached = new Map<MatmulPrecision, DefaultDeviceChoice>();
const checked = new Map<MatmulPrecision, CrossDeviceResult>();

/**
 * The command line's default device for this process at this matmul precision (checked once,
 * then remembered).
 */
export function defaultDeviceChoice(precision: MatmulPrecision = 'fp32'): DefaultDeviceChoice {
  let c = cached.get(precision);
  if (c === undefined) {
    const probe = processProbe();
    const run = probe.selfCheck;
    probe.selfCheck = (p) => {
      let r = checked.get(p);
      if (r === undefined) checked.set(p, (r = run(p)));
      return r;
    };
    c = chooseDefaultDevice(probe, precision);
    cached.set(precision, c);
  }
  return c;
}

export function defaultDevice(precision: MatmulPrecision = 'fp32'): Device {
  return defaultDeviceChoice(precision).device;
}
