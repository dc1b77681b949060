#!/usr/bin/env node
// Training throughput, lmtrain against PyTorch on the identical model and step, in one run:
//   node bench/train-vs-torch.mjs [--steps N] [--json] tiny small gpt2-124m
// lmtrain runs as `lmtrain bench train --config C --json` in its own process (so its peak RSS
// is its own); PyTorch (bench/torch_train.py, Debian's python3-torch) runs with 2 torch
// threads under OPENBLAS_NUM_THREADS=2 and =1 (the two pools fight over the cores when both
// are 2), and the better of the two is the reference. Needs `npm run build` first; the
// Python with torch is $LMT_PYTHON, else /usr/bin/python3, else python3.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
let steps = 10;
let json = false;
const configs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--steps') steps = Number(args[++i]);
  else if (args[i] === '--json') json = true;
  else configs.push(args[i]);
}
if (configs.length === 0) configs.push('tiny', 'small', 'gpt2-124m');
const python = process.env.LMT_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

function run(cmd, argv, env = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | ') };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const rows = [];
for (const config of configs) {
  const ours = run(process.execPath, ['dist/cli/index.js', 'bench', 'train', '--device', 'cpu', '--config', config, '--steps', String(steps), '--json']);
  if (ours.error) throw new Error(`lmtrain bench train --config ${config} failed: ${ours.error}`);
  const peers = ['2', '1'].map((blas) => ({ blas, r: run(python, [join(here, 'torch_train.py'), '--config', config, '--steps', String(steps), '--threads', '2'], { OPENBLAS_NUM_THREADS: blas }) }));
  const ok = peers.filter((p) => !p.r.error);
  const best = ok.sort((a, b) => b.r.tokens_per_s - a.r.tokens_per_s)[0];
  rows.push({
    config, lmtrain: ours, torch: best ? best.r : null, torch_settings: peers.map((p) => ({ openblas_threads: p.blas, tokens_per_s: p.r.tokens_per_s ?? null, error: p.r.error })),
    ratio: best ? ours.tokens_per_s / best.r.tokens_per_s : null, rss_ratio: best ? ours.peak_rss_mib / best.r.peak_rss_mib : null,
  });
  if (!json) {
    const r = rows.at(-1);
    const f0 = (x) => Math.round(x).toLocaleString('en');
    console.log(`${config}: lmtrain ${f0(ours.tokens_per_s)} tok/s (${ours.ms_per_step.toFixed(0)} ms/step, ${ours.gflops.toFixed(1)} GFLOP/s = ${ours.pct_peak.toFixed(1)}% of ${ours.peak_gflops.toFixed(0)}, RSS ${f0(ours.peak_rss_mib)} MiB)`);
    for (const p of peers) console.log(`  torch 2 threads / OpenBLAS ${p.blas}: ${p.r.error ? `failed: ${p.r.error}` : `${f0(p.r.tokens_per_s)} tok/s (${p.r.ms_per_step.toFixed(0)} ms/step, RSS ${f0(p.r.peak_rss_mib)} MiB)`}`);
    console.log(r.ratio === null ? '  no PyTorch reference (install python3-torch, or set LMT_PYTHON)' : `  ratio lmtrain / best torch: ${r.ratio.toFixed(2)}x tokens/s, ${r.rss_ratio.toFixed(2)}x peak RSS`);
  }
}
if (json) console.log(JSON.stringify(rows));
