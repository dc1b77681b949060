#!/usr/bin/env node
// `npm run build:cuda`: a local cmake-js build (into build/Release, which node-gyp-build loads
// before any prebuild) that REQUIRES the CUDA backend: it fails with a clear message when no
// CUDA compiler is found instead of silently building CPU-only. Needs cmake, a C++17
// compiler, cmake-js (a devDependency; `npm i -D cmake-js` in an app) and the CUDA toolkit
// (nvcc; found via CUDACXX, PATH, or /usr/local/cuda/bin). Extra args go to cmake-js, e.g.
// `npm run build:cuda -- --CDCMAKE_CUDA_ARCHITECTURES=90a-real`, or `-O <dir>` for another build folder.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const fail = (m) => { console.error(`build:cuda: ${m}`); process.exit(1); };

function onPath(cmd) {
  for (const d of (process.env.PATH || '').split(path.delimiter)) {
    if (d && fs.existsSync(path.join(d, cmd))) return path.join(d, cmd);
  }
  return null;
}

const nvcc = process.env.CUDACXX || onPath('nvcc') ||
  ['/usr/local/cuda/bin/nvcc', '/opt/cuda/bin/nvcc'].find((p) => fs.existsSync(p));
if (!nvcc || !fs.existsSync(nvcc)) {
  fail('no CUDA compiler found (looked at $CUDACXX, nvcc on PATH, /usr/local/cuda/bin/nvcc).\n' +
    '  Install the CUDA toolkit (CUDA 13: driver >= 580 to run) or set CUDACXX=/path/to/nvcc.\n' +
    '  Without CUDA: `npm run build:native` (cmake-js) or `npx node-gyp rebuild` (g++ only) build the CPU backend.');
}
if (!onPath('cmake')) fail('cmake is not on PATH (CMake >= 3.18 is needed for the CUDA build).');
let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root, process.cwd()] });
} catch {
  fail('cmake-js is not installed: `npm i -D cmake-js` (>= 8).');
}

const args = [cmakeJs, 'build', `--CDCMAKE_CUDA_COMPILER=${nvcc}`, '--CDLMT_CUDA=ON', ...process.argv.slice(2)];
console.error(`build:cuda: cmake-js ${args.slice(1).join(' ')}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail(`cmake-js failed (exit ${r.status})`);

const extra = process.argv.slice(2);
const oi = extra.findIndex((a) => a === '-O' || a === '--out');
const outDir = oi >= 0 ? path.resolve(extra[oi + 1]) : path.join(root, 'build');
const out = path.join(outDir, extra.includes('-D') || extra.includes('--debug') ? 'Debug' : 'Release', 'lmtrain.node');
const check = spawnSync(process.execPath, ['-e', `const i=require(${JSON.stringify(out)}).info();` +
  'console.log(JSON.stringify(i)); process.exit(i.cudaCompiled ? 0 : 3)'], { encoding: 'utf8' });
if (check.status !== 0) {
  fail(`${out} was built without the CUDA backend (CMake did not enable CUDA with ${nvcc}); ` +
    'see the "lmtrain: CUDA backend" line of the CMake output.');
}
const i = JSON.parse(check.stdout);
console.error(`build:cuda: ${path.relative(root, out)}: CUDA ${Math.floor(i.cudaRuntimeVersion / 1000)}.` +
  `${(i.cudaRuntimeVersion % 1000) / 10}, archs ${i.cudaArchs}; usable here: ${i.cudaDevices > 0 ? 'yes' : `no (${i.cudaWhy})`}`);
