/**
 * Training throughput (`lmtrain bench train`): full steps of forward, cross-entropy, backward,
 * gradient clipping and AdamW on the benchmark configs of ARCHITECTURE.md §7, on random tokens.
 * bench/torch_train.py runs the identical model and step in PyTorch for the side-by-side ratio.
 */
import { GPT } from '../models/gpt.js';
import { gptConfig } from '../models/config.js';
import { AdamW } from '../optim/adamw.js';
import { clipGradNorm } from '../optim/clip.js';
import { backward } from '../autograd/graph.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { manualSeed } from '../tensor/random.js';
import { native } from '../native/binding.js';
import { ArgumentError } from '../errors.js';
import { Rng } from '../data/rng.js';
import { setMatmulPrecision, synchronize } from '../ops/device.js';
import type { Device } from '../tensor/tensor.js';
import type { MatmulPrecision } from '../native/binding.js';

/** The benchmark configs (exactly ARCHITECTURE.md §7; peers run the same). */
export const BENCH_CONFIGS = {
  tiny: { vocab: 256, layers: 4, heads: 4, dModel: 128, T: 128, B: 16, positions: 128 },
  small: { vocab: 8192, layers: 6, heads: 6, dModel: 384, T: 256, B: 8, positions: 256 },
  'gpt2-124m': { vocab: 50257, layers: 12, heads: 12, dModel: 768, T: 64, B: 4, positions: 1024 },
} as const;
export type BenchConfigName = keyof typeof BENCH_CONFIGS;

export interface TrainBenchResult {
  config: string;
  tokens_per_s: number;
  ms_per_step: number;
  /** Fastest and slowest timed step (the machine is shared: the spread matters). */
  ms_per_step_min: number;
  ms_per_step_max: number;
  peak_rss_mib: number;
  gflops: number;
  pct_peak: number;
  peak_gflops: number;
  parameters: number;
  flops_per_token: number;
  steps: number;
  threads: number;
  device: Device;
  batch: number;
  seq_len: number;
  precision: MatmulPrecision;
}

/** Model FLOPs per token of one training step: 6N + 12 L T C (N without position embeddings; PaLM / nanoGPT). */
export function trainFlopsPerToken(c: { positions: number; dModel: number; layers: number; T: number }, params: number): number {
  const n = params - c.positions * c.dModel;
  return 6 * n + 12 * c.layers * c.T * c.dModel;
}

/** FMA peak of this machine at the pool's thread count, measured now (GFLOP/s). */
export function measuredPeak(): number {
  const threads = native.info().threads;
  const recs = native.benchKernels(`peak,threads=${threads}`).map((s) => JSON.parse(s) as { gflops: number | null });
  return Math.max(...recs.map((r) => r.gflops ?? 0));
}

export interface TrainBenchOptions {
  config: string;
  steps?: number;
  warmup?: number;
  seed?: number;
  /** 'cpu' (default) or 'cuda'. */
  device?: Device;
  /** Overrides of the config's batch size and sequence length (T <= its positions). */
  batch?: number;
  seqLen?: number;
  /** CUDA matmul precision (default fp32). */
  precision?: MatmulPrecision;
  onStep?: (i: number, ms: number) => void;
}

export function runTrainBench(opts: TrainBenchOptions): TrainBenchResult {
  const base = BENCH_CONFIGS[opts.config as BenchConfigName];
  if (!base) throw new ArgumentError(`bench train: --config must be one of ${Object.keys(BENCH_CONFIGS).join(', ')}, got '${opts.config}'`);
  const device: Device = opts.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new ArgumentError(`bench train: --device must be cpu or cuda, got '${String(device)}'`);
  for (const [k, v] of [['batch', opts.batch], ['seq-len', opts.seqLen]] as const)
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new ArgumentError(`bench train: --${k} must be a positive integer, got ${v}`);
  if (opts.seqLen !== undefined && opts.seqLen > base.positions)
    throw new ArgumentError(`bench train: --seq-len ${opts.seqLen} exceeds the config's ${base.positions} positions`);
  const c = { ...base, B: opts.batch ?? base.B, T: opts.seqLen ?? base.T };
  if (device === 'cuda') setMatmulPrecision(opts.precision ?? 'fp32');
  const steps = opts.steps ?? 10, warmup = opts.warmup ?? 2;
  if (!Number.isInteger(steps) || steps < 1) throw new ArgumentError(`bench train: --steps must be a positive integer, got ${opts.steps}`);
  manualSeed(opts.seed ?? 1);
  const model = new GPT(gptConfig({ vocab_size: c.vocab, n_positions: c.positions, n_layer: c.layers, n_head: c.heads, n_embd: c.dModel, dropout: 0 })).to(device);
  const opt = new AdamW(model.trainableParameters(), { lr: 3e-4, weightDecay: 0.1, beta1: 0.9, beta2: 0.95 });
  const rng = new Rng(opts.seed ?? 1);
  const batch = () => {
    const ids = new Int32Array(c.B * (c.T + 1));
    for (let i = 0; i < ids.length; i++) ids[i] = rng.int(c.vocab);
    const x = new Int32Array(c.B * c.T), y = new Int32Array(c.B * c.T);
    for (let b = 0; b < c.B; b++) {
      x.set(ids.subarray(b * (c.T + 1), b * (c.T + 1) + c.T), b * c.T);
      y.set(ids.subarray(b * (c.T + 1) + 1, (b + 1) * (c.T + 1)), b * c.T);
    }
    return { x, y };
  };
  const step = () => {
    const { x, y } = batch();
    tidy(() => {
      const loss = crossEntropy(model.forward(tensor(x, [c.B, c.T], 'int32', device)), tensor(y, [c.B, c.T], 'int32', device));
      backward(loss);
    });
    clipGradNorm(opt.params, 1.0);
    opt.stepUpdate();
    opt.zeroGrad();
    if (device === 'cuda') synchronize();
  };
  try {
    // The CPU's FMA peak; on CUDA no peak is measured here (pct_peak is then 0).
    const peak = device === 'cpu' ? measuredPeak() : 0;
    for (let i = 0; i < warmup; i++) step();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = process.hrtime.bigint();
      step();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      times.push(ms);
      opts.onStep?.(i + 1, ms);
    }
    const total = times.reduce((a, b) => a + b, 0);
    const msPerStep = total / steps;
    const params = model.numParameters();
    const fpt = trainFlopsPerToken(c, params);
    const tokensPerS = (c.B * c.T * steps) / (total / 1000);
    const gflops = (fpt * tokensPerS) / 1e9;
    return {
      config: opts.config, tokens_per_s: tokensPerS, ms_per_step: msPerStep, ms_per_step_min: Math.min(...times), ms_per_step_max: Math.max(...times),
      peak_rss_mib: process.resourceUsage().maxRSS / 1024, gflops, pct_peak: peak > 0 ? (100 * gflops) / peak : 0, peak_gflops: peak, parameters: params,
      flops_per_token: fpt, steps, threads: native.info().threads, device, batch: c.B, seq_len: c.T,
      precision: device === 'cuda' ? opts.precision ?? 'fp32' : 'fp32',
    };
  } finally {
    opt.dispose();
    model.dispose();
  }
}
