#!/usr/bin/env node
// Builds the CUDA kernels and their tests (native/tests/cuda) against the CPU emulation in this
// folder and runs them: `node native/tests/cuda/emu/run.mjs [test_cuda_x ...]`. Kernel sources
// are compiled as C++ after one mechanical rewrite (kernel<<<grid, block, smem, stream>>>(args)
// becomes emu::launch(kernel, emu::cfg(grid, block, smem, stream), args); dynamic shared
// memory becomes a pointer into the emulated block's buffer), with AddressSanitizer and
// UBSan, so an out-of-bounds read or write in a kernel stops the test. This checks the
// kernels' logic where no GPU exists; it is not a substitute for running them on one
// (scripts/gpu-check.sh).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, statSync, readdirSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const emuDir = join(root, 'native/tests/cuda/emu');
const out = join(root, 'build/cuda-emu');
mkdirSync(join(out, 'src'), { recursive: true });
mkdirSync(join(out, 'obj'), { recursive: true });

const sections = {};
let sec = '';
for (const raw of readFileSync(join(root, 'native/sources.txt'), 'utf8').split('\n')) {
  const line = raw.trim();
  if (!line || line.startsWith('#')) continue;
  const m = /^\[(.+)\]$/.exec(line);
  if (m) { sec = m[1]; continue; }
  (sections[sec] ??= []).push(line);
}

export function convert(src) {
  let s = src.replace(/(\b[\w:]+(?:<[^<>;()]*>)?)\s*<<<([\s\S]*?)>>>\s*\(/g, (_, k, cfg) => `emu::launch(${k}, emu::cfg(${cfg}), `);
  s = s.replace(/extern\s+__shared__\s+(?:__align__\(\d+\)\s+)?([\w ]+?)\s+(\w+)\[\];/g, (_, t, n) => `${t}* ${n} = reinterpret_cast<${t}*>(emu::dyn_smem());`);
  return s;
}

const cudaSrc = (sections.cuda ?? []).filter((f) => !f.endsWith('runtime.cu'));
const units = [];
for (const f of cudaSrc) {
  const dst = join(out, 'src', basename(f).replace(/\.cu$/, '.cpp'));
  const text = convert(readFileSync(join(root, f), 'utf8'));
  if (!existsSync(dst) || readFileSync(dst, 'utf8') !== text) writeFileSync(dst, text);
  units.push(dst);
}
units.push(join(emuDir, 'emu.cpp'));
for (const f of sections.lib ?? []) units.push(join(root, f));

const flags = ['-std=c++20', '-O1', '-g', '-pthread', '-ffp-contract=off', '-fno-math-errno', '-fsanitize=address,undefined',
  '-fno-omit-frame-pointer', '-march=x86-64-v2', `-I${emuDir}`, `-I${join(root, 'native/cuda')}`, `-I${join(root, 'native/include')}`,
  `-I${join(root, 'native/core')}`, `-I${join(root, 'native/tests')}`, `-I${join(root, 'native/tests/cuda')}`, '-w'];

function run(cmd, args) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (d) => (text += d));
    p.stderr.on('data', (d) => (text += d));
    p.on('close', (code) => resolve({ code, text }));
  });
}
async function pool(jobs, n) {
  const results = [];
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < jobs.length) { const j = i++; results[j] = await jobs[j](); }
  }));
  return results;
}
const newer = (a, b) => existsSync(b) && statSync(b).mtimeMs >= statSync(a).mtimeMs;
const headersTime = Math.max(...[emuDir, join(root, 'native/cuda'), join(root, 'native/core'), join(root, 'native/include/lmt'), join(root, 'native/tests/cuda')]
  .flatMap((d) => readdirSync(d).filter((f) => /\.(h|cuh)$/.test(f)).map((f) => statSync(join(d, f)).mtimeMs)));
const jobs = parseInt(process.env.LMT_EMU_JOBS ?? String(Math.max(1, cpus().length)), 10);

// --addon: the N-API addon built against the emulation (no sanitizers: it is loaded into
// node), for running the TS CUDA tests where no GPU exists:
//   LMT_ADDON=build/cuda-emu/lmtrain.node npx vitest run tests/ops/cuda.test.ts
if (process.argv[2] === '--addon') {
  const picFlags = flags.filter((f) => !f.startsWith('-fsanitize') && f !== '-O1' && f !== '-g').concat(['-O2', '-fPIC', '-DLMT_WITH_CUDA=1']);
  const addonSrc = join(root, 'native/napi/addon.cpp');
  const allUnits = [...units, addonSrc];
  const picObjs = allUnits.map((u) => join(out, 'obj', basename(u).replace(/\.(cpp|cu)$/, '') + (/\/native\/(cpu|core|napi)\//.test(u) ? '.host' : '') + '.pic.o'));
  const napiInc = [`-I${join(root, 'node_modules/node-api-headers/include')}`, `-I${join(root, 'node_modules/node-addon-api')}`, '-DNAPI_VERSION=8', '-DNODE_ADDON_API_CPP_EXCEPTIONS', '-fvisibility=hidden'];
  const res = await pool(allUnits.map((u, k) => async () => {
    if (newer(u, picObjs[k]) && statSync(picObjs[k]).mtimeMs >= headersTime) return { code: 0, text: '' };
    return run('g++', [...picFlags, ...napiInc, '-c', u, '-o', picObjs[k]]);
  }), jobs);
  const failedUnits = res.map((r, k) => ({ r, u: allUnits[k] })).filter((x) => x.r.code !== 0);
  if (failedUnits.length) { for (const b of failedUnits) console.error(`compile failed: ${b.u}\n${b.r.text}`); process.exit(1); }
  const node = join(out, 'lmtrain.node');
  const r = await run('g++', ['-shared', '-pthread', ...picObjs, '-o', node, '-ldl']);
  if (r.code !== 0) { console.error(r.text); process.exit(1); }
  console.log(`built ${node}`);
  process.exit(0);
}

const objs = units.map((u) => join(out, 'obj', basename(u).replace(/\.(cpp|cu)$/, '') + (u.includes('/native/cpu/') || u.includes('/native/core/') ? '.host.o' : '.o')));
const compile = await pool(units.map((u, k) => async () => {
  if (newer(u, objs[k]) && statSync(objs[k]).mtimeMs >= headersTime) return { code: 0, text: '' };
  return run('g++', [...flags, '-c', u, '-o', objs[k]]);
}), jobs);
const bad = compile.map((r, k) => ({ r, u: units[k] })).filter((x) => x.r.code !== 0);
if (bad.length) {
  for (const b of bad) console.error(`compile failed: ${b.u}\n${b.r.text}`);
  process.exit(1);
}

const wanted = process.argv.slice(2);
const tests = readdirSync(join(root, 'native/tests/cuda')).filter((f) => /^test_cuda_.*\.cpp$/.test(f)).map((f) => f.replace(/\.cpp$/, ''))
  .filter((t) => !wanted.length || wanted.includes(t));
const built = await pool(tests.map((t) => async () => {
  const exe = join(out, t);
  const src = join(root, 'native/tests/cuda', `${t}.cpp`);
  if (newer(src, exe) && objs.every((o) => newer(o, exe)) && statSync(exe).mtimeMs >= headersTime) return { code: 0, text: '' };
  return run('g++', [...flags, src, ...objs, '-o', exe]);
}), jobs);
built.forEach((r, k) => { if (r.code !== 0) { console.error(`link failed: ${tests[k]}\n${r.text}`); process.exit(1); } });

let failed = 0;
const env = { ...process.env, LMT_CUDA_EMU: '1', ASAN_OPTIONS: 'detect_leaks=0', LMT_NUM_THREADS: '1' };
for (const t of tests) {
  const t0 = Date.now();
  const r = await new Promise((resolve) => {
    const p = spawn(join(out, t), [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (d) => (text += d));
    p.stderr.on('data', (d) => (text += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), parseInt(process.env.LMT_EMU_TIMEOUT ?? '600', 10) * 1000);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, text }); });
  });
  const lines = r.text.trim().split('\n');
  const fails = lines.filter((l) => l.startsWith('FAIL') || /ERROR: AddressSanitizer|runtime error|EMU:/.test(l));
  console.log(`${r.code === 0 ? 'pass' : 'FAIL'} ${t} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${lines[lines.length - 1]}`);
  for (const l of fails.slice(0, 20)) console.log(`    ${l}`);
  if (r.code !== 0) { failed++; if (!fails.length) console.log(lines.slice(-15).map((l) => `    ${l}`).join('\n')); }
}
process.exit(failed ? 1 : 0);
