#!/usr/bin/env node
// `npm run build:prebuild`: the prebuilt binary shipped in the package,
// prebuilds/<platform>-<arch>/lmtrain.<libc>.node (e.g. prebuilds/linux-x64/lmtrain.glibc.node).
//
// prebuildify --napi --strip --tag-libc, with cmake-js driven through prebuildify's
// --node-gyp hook (scripts/prebuild-shim.cjs). The CUDA backend is compiled in when a CUDA
// compiler is found (nvcc on PATH, or CUDACXX); C++ tests are off. The build runs in its own
// folder, build/prebuildify/, so it never touches the development build in build/Release
// (which node-gyp-build would load before the prebuild anyway).
//
// Not named "prebuild": npm runs a script of that name before every `npm run build`.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const stage = path.join(root, 'build', 'prebuildify');
fs.mkdirSync(stage, { recursive: true });
const shim = path.join(__dirname, 'prebuild-shim.cjs');
fs.chmodSync(shim, 0o755); // prebuildify spawns it directly (no shell)

const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
const args = [prebuildify, '--napi', '--strip', '--tag-libc', '--name', pkg.name, '--out', root,
  '--node-gyp', shim, ...process.argv.slice(2), stage];
console.error(`prebuild: prebuildify ${args.slice(1).join(' ')}`);
const t0 = Date.now();
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  console.error(`prebuild: prebuildify failed (exit ${r.status})`);
  process.exit(r.status || 1);
}

// Report what was made, loading it in this process (nothing else loaded a binding here).
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.node'))) {
  const file = path.join(dir, f);
  const info = require(file).info();
  const mb = (fs.statSync(file).size / 1048576).toFixed(2);
  console.error(`prebuild: ${path.relative(root, file)} (${mb} MiB, ${((Date.now() - t0) / 1000).toFixed(0)} s): ` +
    `cuda compiled ${info.cudaCompiled}${info.cudaCompiled ? ` (CUDA ${info.cudaRuntimeVersion}, archs ${info.cudaArchs})` : ''}`);
}
