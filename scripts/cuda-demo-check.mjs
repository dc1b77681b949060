// The whole pipeline on CUDA against the CPU, from the built dist/ (no vitest needed): the demo
// with every stage at micro sizes on both devices, held-out figures compared (the same check as
// tests/train/device_trainers.test.ts). Run by scripts/gpu-check.sh on the lent GPU machine.
// Prints one line per stage and a JSON summary last; exit code 1 if any stage differs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCudaDemo, cudaAvailable, info } from '../dist/index.js';

if (!cudaAvailable()) {
  console.log(`CUDA is not usable: ${info().cuda.why}`);
  process.exit(2);
}
const t0 = Date.now();
const { cpu, cuda, results } = checkCudaDemo(mkdtempSync(join(tmpdir(), 'lmt-demo-check-')));
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${Number.isFinite(r.err) ? r.err.toExponential(2) : r.err} (tol ${r.tol})${r.detail ? ` ${r.detail}` : ''}`);
const failed = results.filter((r) => !r.ok).length;
console.log(JSON.stringify({ demo_stages: results.length, failed, cpu_seconds: cpu.total_seconds, cuda_seconds: cuda.total_seconds, seconds: (Date.now() - t0) / 1000 }));
process.exit(failed ? 1 : 0);
