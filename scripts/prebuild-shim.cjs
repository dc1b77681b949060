#!/usr/bin/env node
// prebuildify's `--node-gyp` hook: prebuildify has no cmake-js backend, so it runs this
// script as if it were node-gyp, with
//   rebuild --target=<node version> --devdir=<cache> --arch=<arch> (--release | --debug)
// (prebuildify 6.0.1, index.js build()). Mapped to `cmake-js rebuild --arch <arch> [--debug]`
// from the package root into <cwd>/build, which is where prebuildify looks for the .node
// (<cwd>/build/Release or Debug). --target and --devdir are dropped: an N-API build needs
// neither (package.json "binary.napi_versions" makes cmake-js use node-api-headers).
// Extra CMake options: LMT_PREBUILD_CMAKE_ARGS="--CDNAME=value ...".
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');
const argv = process.argv.slice(2);
if (argv[0] !== 'rebuild') {
  console.error(`prebuild-shim: expected "rebuild ...", got: ${argv.join(' ')}`);
  process.exit(2);
}
let arch = process.arch;
let debug = false;
for (const a of argv.slice(1)) {
  if (a.startsWith('--arch=')) arch = a.slice('--arch='.length);
  else if (a === '--debug') debug = true;
  else if (a === '--release' || a.startsWith('--target=') || a.startsWith('--devdir=')) continue;
  else console.error(`prebuild-shim: ignoring ${a}`);
}
const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const args = [cmakeJs, 'rebuild', '--directory', root, '--out', path.resolve('build'), '--arch', arch,
  '--CDLMT_BUILD_TESTS=OFF', '--CDLMT_BUILD_ADDON=ON'];
if (debug) args.push('--debug');
const extra = (process.env.LMT_PREBUILD_CMAKE_ARGS || '').split(/\s+/).filter(Boolean);
args.push(...extra);
console.error(`prebuild-shim: cmake-js ${args.slice(1).join(' ')}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(r.status === null ? 1 : r.status);
