// The TS op suite on CUDA against the CPU ops, from the built dist/ (no vitest needed): the
// same checks as tests/ops/cuda.test.ts. Run by scripts/gpu-check.sh on the lent GPU machine.
// Prints one line per op and a JSON summary last; exit code 1 if any check failed.
import { checkCudaOps, cudaAvailable, info } from '../dist/index.js';

if (!cudaAvailable()) {
  console.log(`CUDA is not usable: ${info().cuda.why}`);
  process.exit(2);
}
const t0 = Date.now();
const res = checkCudaOps();
for (const r of res) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${Number.isFinite(r.err) ? r.err.toExponential(2) : r.err} (tol ${r.tol})${r.detail ? ` ${r.detail}` : ''}`);
const failed = res.filter((r) => !r.ok).length;
console.log(JSON.stringify({ ts_cuda_checks: res.length, failed, seconds: (Date.now() - t0) / 1000 }));
process.exit(failed ? 1 : 0);
