// Shared steps of the packaging tests: a fresh prebuild, the npm tarball, a PATH without
// compilers, and npm install into a fresh folder (never the repo: a stale build/Release there
// would shadow the prebuild, node-gyp-build resolving build/Release > build/Debug > prebuilds/).
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, statSync, symlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);

function newestMtime(p: string, skip: (name: string) => boolean = () => false): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = 0;
  for (const n of readdirSync(p)) if (!skip(n)) m = Math.max(m, newestMtime(join(p, n), skip));
  return m;
}

export function which(cmd: string): string | null {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (d && existsSync(join(d, cmd))) return join(d, cmd);
  }
  return null;
}

/** A crude cross-process lock (both packaging files may run at once in vitest forks). */
export function withLock<T>(name: string, fn: () => T): T {
  const lock = join(root, 'build', `${name}.lock`);
  mkdirSync(join(root, 'build'), { recursive: true });
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try { mkdirSync(lock); break; } catch {
      try { if (Date.now() - statSync(lock).mtimeMs > 15 * 60_000) { rmdirSync(lock); continue; } } catch { /* gone */ }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try { return fn(); } finally { rmdirSync(lock); }
}

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd ?? root, env: opts.env ?? process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** The prebuild, rebuilt (npm run build:prebuild) when missing or older than the native sources. */
export function ensurePrebuild(): { file: string; rebuilt: boolean } {
  return withLock('prebuild', () => {
    const sources = Math.max(
      newestMtime(join(root, 'native'), (n) => n === 'tests' || n === 'bench'),
      newestMtime(join(root, 'CMakeLists.txt')),
      newestMtime(join(root, 'scripts', 'prebuild-shim.cjs')),
    );
    const existing = existsSync(prebuildDir) ? readdirSync(prebuildDir).filter((n) => n.endsWith('.node')) : [];
    if (existing.length === 1 && statSync(join(prebuildDir, existing[0]!)).mtimeMs > sources) {
      return { file: join(prebuildDir, existing[0]!), rebuilt: false };
    }
    sh('npm', ['run', 'build:prebuild']);
    const made = readdirSync(prebuildDir).filter((n) => n.endsWith('.node'));
    if (made.length !== 1) throw new Error(`expected one prebuild in ${prebuildDir}, found ${made.join(', ')}`);
    return { file: join(prebuildDir, made[0]!), rebuilt: true };
  });
}

/** `npm pack` into a fresh folder; the TS build (prepack) only when dist/ is older than src/. */
export function pack(dest: string): string {
  return withLock('pack', () => {
    const distFresh = existsSync(join(root, 'dist', 'index.js')) &&
      statSync(join(root, 'dist', 'index.js')).mtimeMs > newestMtime(join(root, 'src'));
    const args = ['pack', '--json', '--pack-destination', dest];
    if (distFresh) args.push('--ignore-scripts');
    const out = sh('npm', args);
    const j = JSON.parse(out.slice(out.indexOf('['))) as { filename: string }[];
    return join(dest, j[0]!.filename);
  });
}

/** A bin folder holding only node, npm, npx and sh (no g++, cmake, python, nvcc). */
export function minimalBin(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const c of ['node', 'npm', 'npx', 'sh']) {
    const p = c === 'node' ? process.execPath : which(c) ?? `/bin/${c}`;
    symlinkSync(realpathSync(p), join(bin, c));
  }
  return bin;
}

/** A clean environment: no npm_* variables inherited from `npm test`, npm's cache in HOME. */
export function cleanEnv(path: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: path, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR ?? tmpdir(), LANG: 'C.UTF-8' };
  // node-gyp must never download headers on an offline machine (also set in ~/.npmrc / .ci/run).
  env.npm_config_nodedir = process.env.npm_config_nodedir ?? (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
  if (!env.npm_config_nodedir) delete env.npm_config_nodedir;
  return { ...env, ...extra };
}

/** A fresh app folder with the tarball installed (offline from npm's cache where possible). */
export function installInto(tarball: string, env: NodeJS.ProcessEnv, flags: string[]): { app: string; log: string; ms: number } {
  const app = mkdtempSync(join(dirname(tarball), 'app-'));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const t0 = Date.now();
  const r: SpawnSyncReturns<string> = spawnSync('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', ...flags],
    { cwd: app, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const log = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`npm install ${flags.join(' ')} failed (${r.status}):\n${log}`);
  return { app, log, ms: Date.now() - t0 };
}

export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Three AdamW steps on a tiny GPT through the installed package's public API. */
export const TRAIN_SCRIPT = `
import { GPT, AdamW, tensor, tidy, backward, manualSeed, info } from 'lmtrain';
manualSeed(1);
const m = new GPT({ vocab_size: 64, n_positions: 16, n_layer: 2, n_head: 2, n_embd: 32, dropout: 0 });
const opt = new AdamW(m.parameters(), { lr: 1e-2, weightDecay: 0 });
const seq = Int32Array.from({ length: 2 * 9 }, (_, i) => (i * 7 + 3) % 64);
const x = tensor(Int32Array.from({ length: 16 }, (_, i) => seq[Math.floor(i / 8) * 9 + (i % 8)]), [2, 8]);
const y = tensor(Int32Array.from({ length: 16 }, (_, i) => seq[Math.floor(i / 8) * 9 + (i % 8) + 1]), [2, 8]);
const losses = [];
for (let step = 0; step < 3; step++) {
  losses.push(tidy(() => { const l = m.loss(x, y); backward(l); opt.stepUpdate(); opt.zeroGrad(); return l.item(); }));
}
console.log(JSON.stringify({ losses, binary: info().binary.kind }));
`;
