// The benchmark harness runs and reports in the documented shape (no timing is asserted:
// figures live in BENCHMARKS.md). GEMM results are checked against the reference's.
import { describe, expect, it, vi } from 'vitest';
import { runBenchCli } from '../../src/cli/bench.js';
import { native } from '../../src/native/binding.js';
import { ArgumentError, cudaAvailable } from '../../src/index.js';

async function capture(args: string[]): Promise<string> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.join(' ')); });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await runBenchCli(args)).toBe(0);
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
  return lines.join('\n');
}

describe('lmtrain bench', () => {
  it('kernels --json: one array of {kernel, layout, shape, seconds, gflops, ref, ref_gflops, ratio}; GEMM agrees with its reference', async () => {
    const recs = JSON.parse(await capture(['kernels', '--quick', '--suite', 'gemm', 'memory', '--threads', '1', '--json'])) as Record<string, unknown>[];
    expect(Array.isArray(recs)).toBe(true);
    for (const r of recs) for (const k of ['kernel', 'layout', 'shape', 'seconds', 'gflops', 'ref', 'ref_gflops', 'ratio']) expect(r, `${JSON.stringify(r)} lacks ${k}`).toHaveProperty(k);
    const kinds = new Set(recs.map((r) => r.kernel));
    for (const k of ['peak', 'copy', 'gemm', 'layernorm', 'gelu', 'softmax', 'cross_entropy', 'adamw', 'embedding']) expect(kinds.has(k), k).toBe(true);
    const gemm = recs.filter((r) => r.kernel === 'gemm');
    expect(new Set(gemm.map((r) => r.layout))).toEqual(new Set(['NN', 'NT', 'TN']));
    for (const r of gemm) {
      expect(r.gflops as number).toBeGreaterThan(0);
      expect(Number.isFinite(r.ratio as number)).toBe(true);
      expect(r.max_rel_diff as number).toBeLessThan(1e-5);
      expect(['openblas', 'naive']).toContain(r.ref);
    }
    for (const r of recs.filter((x) => x.ref === 'copy')) expect((r.gbps as number) > 0 && Number.isFinite(r.ratio as number)).toBe(true);
    const peak = recs.filter((r) => r.kernel === 'peak').map((r) => r.gflops as number);
    expect(Math.max(...peak)).toBeGreaterThan(1);
  }, 120_000);

  it('kernels prints a table; train --json prints {config, tokens_per_s, ms_per_step, peak_rss_mib, gflops, pct_peak}', async () => {
    const table = await capture(['kernels', '--quick', '--suite', 'attention', '--threads', '1']);
    expect(table).toMatch(/\| attention \| fwd\+bwd causal \|/);
    expect(table).toMatch(/unfused \(matmul, softmax, matmul\)/);
    const r = JSON.parse(await capture(['train', '--config', 'tiny', '--steps', '2', '--warmup', '1', '--json']));
    expect(r).toMatchObject({ config: 'tiny', steps: 2 });
    for (const k of ['tokens_per_s', 'ms_per_step', 'peak_rss_mib', 'gflops', 'pct_peak']) expect(r[k]).toBeGreaterThan(0);
    // 6N + 12 L T C per token, N without the position table (tiny: 4 layers, 128 wide, T 128).
    expect(r.flops_per_token).toBe(6 * (r.parameters - 128 * 128) + 12 * 4 * 128 * 128);
  }, 120_000);

  it('rejects bad requests with typed errors, in TS and at the native boundary', async () => {
    await expect(runBenchCli(['train', '--config', 'huge'])).rejects.toThrow(/--config must be one of tiny, small, gpt2-124m/);
    await expect(runBenchCli(['kernels', '--suite', 'fft'])).rejects.toThrow(ArgumentError);
    await expect(runBenchCli(['kernels', '--threads', '0'])).rejects.toThrow(/--threads takes integers/);
    await expect(runBenchCli(['nothing'])).rejects.toThrow(/expected 'kernels' or 'train'/);
    // bench train has a CUDA path: where CUDA is unusable it says why (DeviceError).
    if (!cudaAvailable()) await expect(runBenchCli(['train', '--device', 'cuda'])).rejects.toThrow(/CUDA is not usable/);
    await expect(runBenchCli(['train', '--device', 'tpu'])).rejects.toThrow(/--device \(or LMT_DEVICE\) must be cpu or cuda/);
    await expect(runBenchCli(['train', '--precision', 'bf16'])).rejects.toThrow(/--precision bf16 is for CUDA matmuls/);
    await expect(runBenchCli(['train', '--precision', 'fp8'])).rejects.toThrow(/--precision must be fp32, tf32 or bf16/);
    await expect(runBenchCli(['kernels', '--device', 'cuda'])).rejects.toThrow(/--device must be cpu/);
    await expect(runBenchCli(['kernels', '--device', 'gpu'])).rejects.toThrow(/--device must be cpu/);
    for (const bad of ['', 'x', 'gemm,bogus', 'threads=0', 'threads=99999', 'threads=2x', 'a'.repeat(300)])
      expect(() => native.benchKernels(bad), JSON.stringify(bad)).toThrow(ArgumentError);
    expect(() => (native.benchKernels as unknown as (...a: unknown[]) => unknown)(1)).toThrow(ArgumentError);
    expect(() => (native.benchKernels as unknown as (...a: unknown[]) => unknown)('gemm', 'x')).toThrow(ArgumentError);
  });
});
