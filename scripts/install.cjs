#!/usr/bin/env node
// The package's "install" script (npm runs it when install scripts are allowed; with
// --ignore-scripts, or when npm blocks them, node-gyp-build still loads the prebuild at
// require time, so nothing depends on this script running).
//
//   1. a binary already loads (the prebuild for this platform, or an earlier build) -> done;
//   2. else cmake and cmake-js are available -> `cmake-js build` (CPU + CUDA when nvcc is found);
//   3. else `node-gyp rebuild` (CPU-only, g++ alone; binding.gyp).
//
// In the source checkout (src/ present) it does nothing: `npm run build` builds there, and
// `npm ci` must not build twice. LMT_BUILD_FROM_SOURCE=1 (or npm's --build-from-source)
// skips step 1.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const log = (m) => console.error(`lmtrain install: ${m}`);

if (fs.existsSync(path.join(root, 'src', 'native', 'binding.ts'))) {
  log('source checkout: nothing to do here (`npm run build` builds the addon)');
  process.exit(0);
}

/** Loads the binary node-gyp-build picks, in a child process (a bad binary cannot crash us). */
function probe() {
  const code = `const p=require('node-gyp-build').resolve(${JSON.stringify(root)});` +
    `const i=require(p).info();console.log(p+' (cuda compiled: '+i.cudaCompiled+')')`;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? { ok: true, what: r.stdout.trim() } : { ok: false, what: (r.stderr || '').trim().split('\n').slice(-3).join(' | ') };
}

function onPath(cmd) {
  for (const d of (process.env.PATH || '').split(path.delimiter)) {
    if (d && fs.existsSync(path.join(d, cmd))) return path.join(d, cmd);
  }
  return null;
}

function run(cmd, args) {
  log(`${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  return r.status === 0;
}

const fromSource = /^(1|true)$/i.test(process.env.LMT_BUILD_FROM_SOURCE || '') ||
  /^(true|lmtrain)$/i.test(process.env.npm_config_build_from_source || '');

if (!fromSource) {
  const p = probe();
  if (p.ok) {
    log(`using ${p.what}`);
    process.exit(0);
  }
  log(`no binary loads (${p.what}); building from source`);
}

let cmakeJs = null;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root, process.cwd()] });
} catch { /* not installed */ }
let ok;
if (cmakeJs && onPath('cmake')) {
  ok = run(process.execPath, [cmakeJs, 'build']);
} else {
  log(`cmake${onPath('cmake') ? '' : ' (not on PATH)'} / cmake-js${cmakeJs ? '' : ' (not installed)'} unavailable: CPU-only build with node-gyp`);
  const gyp = process.env.npm_config_node_gyp;
  const jobs = process.env.npm_config_jobs ? [] : ['--jobs', 'max'];
  if (gyp && fs.existsSync(gyp)) ok = run(process.execPath, [gyp, 'rebuild', ...jobs]);
  else ok = run(onPath('node-gyp') || 'node-gyp', ['rebuild', ...jobs]);
}
const after = probe();
if (!ok || !after.ok) {
  log(`the build from source failed${after.ok ? '' : `: ${after.what}`}.\n` +
    '  Needs g++ and make (node-gyp, CPU-only; Python 3 for gyp), or cmake + cmake-js (CPU + CUDA with nvcc).\n' +
    '  A prebuilt binary exists for linux-x64 (glibc); see the README, section Install.');
  process.exit(1);
}
log(`built ${after.what}`);
