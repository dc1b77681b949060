/**
 * `lmtrain bench kernels [--quick] [--threads N] [--suite S] [--json]` and
 * `lmtrain bench train --config tiny|small|gpt2-124m [--steps N] [--json]`.
 * Every kernel figure is printed with the ratio to a reference measured in the same run
 * (OpenBLAS when it is installed, else a naive loop; a memcpy for bandwidth; the unfused path
 * for attention).
 */
import type { MatmulPrecision } from '../native/binding.js';
import { parseArgs, usage, requireCpu, resolveDevice, type OptionSpec } from './args.js';
import { native } from '../native/binding.js';
import { runTrainBench, BENCH_CONFIGS } from '../train/bench.js';
import { ArgumentError } from '../errors.js';

const KERNEL_SPEC: Record<string, OptionSpec> = {
  quick: { type: 'boolean', help: 'fewer shapes, shorter timings (about 20 s)' },
  suite: { type: 'list', help: 'peak copy gemm attention memory (default: all)' },
  threads: { type: 'list', help: 'thread counts to measure (default: 1 and the pool size)' },
  device: { type: 'string', help: 'cpu (the CUDA kernels are timed by build/lmt_cuda_bench: scripts/gpu-check.sh)' },
  json: { type: 'boolean', help: 'print one JSON array of {kernel, layout, shape, seconds, gflops, ref, ref_gflops, ratio}' },
};
const TRAIN_SPEC: Record<string, OptionSpec> = {
  config: { type: 'string', help: `${Object.keys(BENCH_CONFIGS).join(' | ')} (ARCHITECTURE.md §7)` },
  steps: { type: 'number', help: 'timed steps (10)' },
  warmup: { type: 'number', help: 'untimed steps first (2)' },
  device: { type: 'string', help: 'cpu or cuda (default: cuda where usable and self-checked, see lmtrain info)' },
  batch: { type: 'number', help: "batch size (default: the config's)" },
  seqLen: { type: 'number', help: "sequence length (default: the config's; at most its positions)" },
  precision: { type: 'string', help: 'CUDA matmul precision: fp32 (default), tf32 or bf16 (tensor cores)' },
  json: { type: 'boolean', help: 'print one JSON object {config, tokens_per_s, ms_per_step, peak_rss_mib, gflops, pct_peak}' },
};

export interface KernelRecord {
  kernel: string; layout: string; shape: string; threads: number; seconds: number | null; gflops: number | null; gbps?: number | null;
  pct_peak?: number | null; ref: string | null; ref_gflops: number | null; ref_gbps?: number | null; ratio: number | null; max_rel_diff?: number | null;
}

export function benchKernels(opts: { quick?: boolean; suites?: string[]; threads?: number[]; progress?: boolean }): KernelRecord[] {
  const words = [...(opts.suites ?? []), ...(opts.threads ?? []).map((t) => `threads=${t}`)];
  if (opts.quick) words.push('quick');
  if (opts.progress) words.push('progress');
  return native.benchKernels(words.length ? words.join(',') : 'all').map((s) => JSON.parse(s) as KernelRecord);
}

const f = (v: number | null | undefined, d = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

export async function runBenchCli(args: string[]): Promise<number> {
  const [what, ...rest] = args;
  if (what === 'kernels') {
    const o = parseArgs('bench kernels', rest, KERNEL_SPEC);
    if (o.help) { console.log(usage('bench kernels', KERNEL_SPEC)); return 0; }
    requireCpu('bench kernels', o.device);
    const suites = (o.suite as string[] | undefined) ?? [];
    for (const s of suites) if (!['peak', 'copy', 'gemm', 'attention', 'memory'].includes(s)) throw new ArgumentError(`bench kernels: unknown suite '${s}' (peak, copy, gemm, attention, memory)`);
    const threads = ((o.threads as string[] | undefined) ?? []).map((t) => {
      const n = Number(t);
      if (!Number.isInteger(n) || n < 1 || n > 1024) throw new ArgumentError(`bench kernels: --threads takes integers 1-1024, got '${t}'`);
      return n;
    });
    // The peak and copy references go first so GEMM and the bandwidth kernels can be related to them.
    const withRefs = suites.length ? [...new Set(['peak', 'copy', ...suites])] : [];
    if (!o.json) console.error('benchmarking kernels (median of repetitions; each row with its reference from this run)...');
    const recs = benchKernels({ quick: !!o.quick, suites: withRefs, threads, progress: false });
    if (o.json) { console.log(JSON.stringify(recs)); return 0; }
    console.log('| kernel | layout | shape | threads | ms | GFLOP/s | GB/s | % peak | reference | ref GFLOP/s or GB/s | ratio |');
    console.log('|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|');
    for (const r of recs) {
      const ref = r.ref_gflops ?? r.ref_gbps;
      console.log(`| ${r.kernel} | ${r.layout} | ${r.shape} | ${r.threads} | ${r.seconds === null ? '—' : (r.seconds * 1000).toFixed(3)} | ${f(r.gflops)} | ${f(r.gbps)} | ${f(r.pct_peak)} | ${r.ref ?? '—'} | ${f(ref)} | ${f(r.ratio, 2)} |`);
    }
    return 0;
  }
  if (what === 'train') {
    const o = parseArgs('bench train', rest, TRAIN_SPEC);
    if (o.help) { console.log(usage('bench train', TRAIN_SPEC)); return 0; }
    // Validates --precision too: tf32/bf16 are CUDA-only, an error on the CPU.
    const device = resolveDevice('bench train', o.device, o.precision);
    const precision = (o.precision as MatmulPrecision | undefined) ?? 'fp32';
    const config = (o.config as string | undefined) ?? 'tiny';
    const r = runTrainBench({ config, steps: o.steps as number | undefined, warmup: o.warmup as number | undefined, device, precision,
      batch: o.batch as number | undefined, seqLen: o.seqLen as number | undefined,
      onStep: o.json ? undefined : (i, ms) => process.stderr.write(`  step ${i}: ${ms.toFixed(1)} ms\n`) });
    if (o.json) console.log(JSON.stringify(r));
    else {
      const where = device === 'cuda' ? `on CUDA, ${precision} matmuls` : `${r.threads} threads`;
      console.log(`${r.config}: ${Math.round(r.tokens_per_s).toLocaleString('en')} tokens/s, ${r.ms_per_step.toFixed(1)} ms/step (min ${r.ms_per_step_min.toFixed(1)}, max ${r.ms_per_step_max.toFixed(1)}), ${where}`);
      // The FMA peak is the CPU's, measured in the same run; no GPU peak is measured here.
      const rate = device === 'cuda' ? `${r.gflops.toFixed(1)} GFLOP/s` : `${r.gflops.toFixed(1)} GFLOP/s = ${r.pct_peak.toFixed(1)}% of the measured FMA peak ${r.peak_gflops.toFixed(0)} GFLOP/s`;
      console.log(`${r.parameters.toLocaleString('en')} parameters, ${(r.flops_per_token / 1e6).toFixed(2)} MFLOP/token: ${rate}; peak RSS ${r.peak_rss_mib.toFixed(0)} MiB`);
    }
    return 0;
  }
  if (what === undefined || what === '--help' || what === '-h') {
    console.log(`usage: lmtrain bench kernels [options] | lmtrain bench train [options]\n\n${usage('bench kernels', KERNEL_SPEC)}\n\n${usage('bench train', TRAIN_SPEC)}`);
    return what === undefined ? 1 : 0;
  }
  throw new ArgumentError(`bench: expected 'kernels' or 'train', got '${what}'`);
}
