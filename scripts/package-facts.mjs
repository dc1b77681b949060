#!/usr/bin/env node
// Facts about the package a user installs, checked in CI (tests/packaging) and quoted in the
// README's Install section:
//   - the npm tarball: packed/unpacked size, and that it holds dist/ and the prebuild;
//   - the prebuild: size, glibc / libstdc++ floors (highest symbol versions it imports, read
//     with objdump -T), its NEEDED libraries (readelf -d);
//   - CUDA: runtime version compiled in, the GPU architectures of the fatbin (parsed from the
//     .nv_fatbin ELF section: SASS "sm_XX" and PTX "compute_XX"), the NVIDIA driver floor.
// FAILS (exit 1) when the binary links libcuda or libcudart at load time, when the tarball
// lacks the prebuild or dist/, or when a fact cannot be read.
//
// usage: node scripts/package-facts.mjs [--json] [--binary <file.node>] [--tarball <file.tgz>]
//   (default binary: prebuilds/<platform>-<arch>/*.node; default tarball: `npm pack --dry-run`)
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const problems = [];

// ---- the binary ---------------------------------------------------------------------------
let binary = opt('--binary');
if (!binary) {
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let names = [];
  try { names = readdirSync(dir).filter((n) => n.endsWith('.node')); } catch { /* none */ }
  if (names.length === 0) {
    console.error(`package-facts: no prebuild in ${relative(root, dir)}/ (run \`npm run build:prebuild\`)`);
    process.exit(1);
  }
  binary = join(dir, names[0]);
}
const tool = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
const maxVersion = (text, prefix) => {
  const vs = [...new Set(text.match(new RegExp(`${prefix}_[0-9.]+`, 'g')) || [])].map((v) => v.slice(prefix.length + 1));
  vs.sort((a, b) => { const x = a.split('.').map(Number), y = b.split('.').map(Number);
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
    return 0; });
  return vs.length ? vs[vs.length - 1] : null;
};
const dynsyms = tool('objdump', ['-T', binary]);
const needed = [...tool('readelf', ['-d', binary]).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
const cudaNeeded = needed.filter((n) => /^libcuda(rt)?\.so/.test(n));
if (cudaNeeded.length) problems.push(`the binary links ${cudaNeeded.join(', ')} at load time: it would not load without a CUDA driver/toolkit`);

/** The GPU code in the .nv_fatbin section: [{kind: 'sass'|'ptx', arch: 'sm_90a'|'compute_90'}]. */
function fatbinArchs(file) {
  const b = readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return null; // ELF64 only
  const shoff = Number(b.readBigUInt64LE(0x28)), shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c), shstrndx = b.readUInt16LE(0x3e);
  const sh = (i) => ({ name: b.readUInt32LE(shoff + i * shentsize), offset: Number(b.readBigUInt64LE(shoff + i * shentsize + 24)),
    size: Number(b.readBigUInt64LE(shoff + i * shentsize + 32)) });
  const strtab = sh(shstrndx);
  let sec = null;
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    const end = b.indexOf(0, strtab.offset + s.name);
    if (b.toString('latin1', strtab.offset + s.name, end) === '.nv_fatbin') sec = s;
  }
  if (!sec) return [];
  const out = [];
  // A sequence of fatbins: header {u32 magic 0xBA55ED50, u16 version, u16 headerSize,
  // u64 payload size}, then entries {u16 kind (1 PTX, 2 ELF), u16, u32 headerSize,
  // u64 payloadSize, ..., u32 arch at +28, ..., u64 flags at +40 (bit 0x800...: "a" variant)}.
  let p = sec.offset;
  const end = sec.offset + sec.size;
  while (p + 16 <= end) {
    if (b.readUInt32LE(p) !== 0xba55ed50) { p += 8; continue; }
    const hsize = b.readUInt16LE(p + 6), total = Number(b.readBigUInt64LE(p + 8));
    let e = p + hsize;
    const stop = p + hsize + total;
    while (e + 48 <= stop) {
      const kind = b.readUInt16LE(e), ehsize = b.readUInt32LE(e + 4), psize = Number(b.readBigUInt64LE(e + 8));
      const arch = b.readUInt32LE(e + 28), flags = b.readBigUInt64LE(e + 40);
      if (ehsize === 0) break;
      out.push({ kind: kind === 1 ? 'ptx' : kind === 2 ? 'sass' : `kind${kind}`, arch, flags });
      e += ehsize + psize;
    }
    p = stop;
  }
  return out;
}

const require = createRequire(import.meta.url);
const ni = require(binary).info();
const entries = ni.cudaCompiled ? fatbinArchs(binary) : [];
const archFlags = new Map();
// Flag bit 0x100000 marks arch-specific code (sm_90a: wgmma/setmaxnreg), observed with nvcc 13.0.
const suffix = (x) => ((x.flags & 0x100000n) !== 0n ? 'a' : '');
const describe = (x) => `${x.kind === 'ptx' ? 'compute' : 'sm'}_${x.arch}${suffix(x)}`;
const sass = [...new Set((entries || []).filter((x) => x.kind === 'sass').map(describe))];
const ptx = [...new Set((entries || []).filter((x) => x.kind === 'ptx').map(describe))];
for (const x of entries || []) archFlags.set(describe(x), x.flags.toString(16));
if (ni.cudaCompiled && (!entries || entries.length === 0)) problems.push('the CUDA backend is compiled in but no .nv_fatbin entries were found');
const cudaMajor = Math.floor(ni.cudaRuntimeVersion / 1000);
// Linux minimum driver per CUDA major version (NVIDIA's CUDA Toolkit release notes, table 3).
const driverFloor = { 11: '450.80.02', 12: '525.60.13', 13: '580' }[cudaMajor] || (ni.cudaCompiled ? 'unknown' : null);

// ---- the tarball --------------------------------------------------------------------------
let tarball;
const tgz = opt('--tarball');
if (tgz) {
  const list = tool('tar', ['-tzf', tgz]).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  tarball = { file: tgz, size: statSync(tgz).size, unpackedSize: null, files: list };
} else {
  const j = JSON.parse(tool('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root }))[0];
  tarball = { file: j.filename, size: j.size, unpackedSize: j.unpackedSize, files: j.files.map((f) => f.path) };
}
tarball.entryCount = tarball.files.length;
const prebuildInTar = tarball.files.filter((f) => /^prebuilds\/.+\.node$/.test(f));
for (const must of ['dist/index.js', 'dist/cli/index.js', 'package.json', 'scripts/install.cjs', 'binding.gyp', 'CMakeLists.txt', 'native/sources.txt']) {
  if (!tarball.files.includes(must)) problems.push(`the tarball lacks ${must}`);
}
if (prebuildInTar.length === 0) problems.push('the tarball holds no prebuild (prebuilds/*/*.node)');
const leaked = tarball.files.filter((f) => /^(src|tests|build|native\/tests)\//.test(f));
if (leaked.length) problems.push(`the tarball ships development files: ${leaked.slice(0, 5).join(', ')}`);

const facts = {
  tarball: { file: tarball.file, bytes: tarball.size, unpackedBytes: tarball.unpackedSize, entries: tarball.entryCount, prebuilds: prebuildInTar },
  binary: {
    file: relative(root, binary) || binary,
    bytes: statSync(binary).size,
    glibcFloor: maxVersion(dynsyms, 'GLIBC'),
    libstdcxxFloor: maxVersion(dynsyms, 'GLIBCXX'),
    cxxabiFloor: maxVersion(dynsyms, 'CXXABI'),
    needed,
    cpuBaseline: 'x86-64-v2 (SSE4.2); AVX2/FMA/AVX-512 kernels chosen at run time',
  },
  cuda: {
    compiled: ni.cudaCompiled,
    runtime: ni.cudaCompiled ? `${cudaMajor}.${(ni.cudaRuntimeVersion % 1000) / 10} (cudart static)` : null,
    driverFloor,
    sass,
    ptx,
    fatbinFlags: Object.fromEntries(archFlags),
    archList: ni.cudaArchs,
    linksLibcuda: cudaNeeded.length > 0,
  },
  problems,
};

if (argv.includes('--json')) {
  console.log(JSON.stringify(facts, null, 2));
} else {
  const mib = (n) => `${(n / 1048576).toFixed(2)} MiB`;
  console.log(`tarball        ${facts.tarball.file}: ${mib(facts.tarball.bytes)} packed` +
    `${facts.tarball.unpackedBytes ? `, ${mib(facts.tarball.unpackedBytes)} unpacked` : ''}, ${facts.tarball.entries} files`);
  console.log(`prebuild       ${facts.binary.file}: ${mib(facts.binary.bytes)}`);
  console.log(`glibc floor    ${facts.binary.glibcFloor} (libstdc++ GLIBCXX_${facts.binary.libstdcxxFloor}, CXXABI_${facts.binary.cxxabiFloor})`);
  console.log(`NEEDED         ${needed.join(' ')}`);
  console.log(`cuda           ${facts.cuda.compiled ? `${facts.cuda.runtime}; SASS ${facts.cuda.sass.join(' ')}; PTX ${facts.cuda.ptx.join(' ')}` : 'not compiled in'}`);
  if (facts.cuda.compiled) console.log(`driver floor   NVIDIA >= ${driverFloor} (CUDA ${cudaMajor})`);
  console.log(`libcuda/cudart ${cudaNeeded.length ? `LINKED: ${cudaNeeded.join(' ')}` : 'not linked (static cudart, libcuda opened with dlopen at run time)'}`);
}
if (problems.length) {
  for (const p of problems) console.error(`package-facts: FAIL: ${p}`);
  process.exit(1);
}
