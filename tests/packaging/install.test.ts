// The npm tarball installs and works with no compiler, no Python, no CUDA toolkit and no GPU:
// pack, install into a fresh folder with a PATH of node, npm, npx and sh only (with install
// scripts disabled, then enabled), run `lmtrain info --json` and three training steps.
// Also checks the package facts (scripts/package-facts.mjs: fails if libcuda/libcudart are
// NEEDED). Slow (prebuild when stale, npm pack, two installs): its own file.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrebuild, pack, minimalBin, cleanEnv, installInto, run, tempDir, root, which, TRAIN_SCRIPT } from './pack.js';

interface Facts {
  tarball: { bytes: number; prebuilds: string[] };
  binary: { glibcFloor: string; needed: string[] };
  cuda: { compiled: boolean; driverFloor: string | null; sass: string[]; ptx: string[] };
  problems: string[];
}

describe('npm package', () => {
  let work: string;
  let tarball: string;
  let facts: Facts;
  let env: NodeJS.ProcessEnv;
  const nvccAtBuild = Boolean(process.env.CUDACXX || which('nvcc'));

  beforeAll(() => {
    ensurePrebuild();
    work = tempDir('lmt-pack-');
    tarball = pack(work);
    const bin = minimalBin(work);
    env = cleanEnv(bin);
  }, 600_000);

  afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

  it('package facts: no libcuda/libcudart NEEDED, floors and archs readable', () => {
    const out = execFileSync(process.execPath, [join(root, 'scripts', 'package-facts.mjs'), '--json', '--tarball', tarball], { cwd: root, encoding: 'utf8' });
    facts = JSON.parse(out) as Facts;
    expect(facts.problems).toEqual([]);
    expect(facts.binary.needed.some((n) => /libcuda/.test(n))).toBe(false);
    expect(facts.binary.glibcFloor).toMatch(/^2\.\d+$/);
    expect(facts.tarball.prebuilds).toEqual([`prebuilds/${process.platform}-${process.arch}/lmtrain.glibc.node`]);
    expect(facts.tarball.bytes).toBeLessThan(20 * 2 ** 20);
    if (nvccAtBuild) {
      expect(facts.cuda.compiled).toBe(true);
      expect(facts.cuda.driverFloor).toBeTruthy();
      expect(facts.cuda.sass.length + facts.cuda.ptx.length).toBeGreaterThan(0);
    }
  });

  function checkInstalled(app: string): void {
    expect(existsSync(join(app, 'node_modules', 'lmtrain', 'build'))).toBe(false);
    const i = JSON.parse(run(join(app, 'node_modules', '.bin', 'lmtrain'), ['info', '--json'], app, env)) as {
      version: string; binary: { kind: string; path: string; glibcFloor: string };
      cuda: { compiled: boolean; available: boolean; why: string; runtime: string | null; archs: string[] };
    };
    expect(i.version).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
    expect(i.binary.kind).toBe('prebuild');
    expect(i.binary.path).toBe(join(app, 'node_modules', 'lmtrain', 'prebuilds', `${process.platform}-${process.arch}`, 'lmtrain.glibc.node'));
    expect(i.binary.glibcFloor).toBe(facts?.binary.glibcFloor ?? i.binary.glibcFloor);
    if (nvccAtBuild) {
      expect(i.cuda.compiled).toBe(true);
      expect(i.cuda.runtime).toMatch(/^\d+\.\d+$/);
      expect(i.cuda.archs.length).toBeGreaterThan(0);
    }
    if (!i.cuda.available) expect(i.cuda.why.length).toBeGreaterThan(10);

    writeFileSync(join(app, 'train.mjs'), TRAIN_SCRIPT);
    const r = JSON.parse(run(join(env.PATH!.split(':')[0]!, 'node'), ['train.mjs'], app, env)) as { losses: number[]; binary: string };
    expect(r.binary).toBe('prebuild');
    expect(r.losses).toHaveLength(3);
    for (const l of r.losses) expect(Number.isFinite(l)).toBe(true);
    expect(r.losses[2]!).toBeLessThan(r.losses[0]!);
  }

  it('installs with --ignore-scripts and runs info + 3 training steps (PATH: node, npm, npx, sh)', () => {
    const { app, log } = installInto(tarball, env, ['--ignore-scripts']);
    expect(log).not.toMatch(/lmtrain install:/);
    checkInstalled(app);
  });

  it('installs with install scripts enabled: the install script finds the prebuild and builds nothing', () => {
    const { app, log } = installInto(tarball, env, []);
    expect(log).toMatch(/lmtrain install: using .*prebuilds.*lmtrain\.glibc\.node \(cuda compiled: (true|false)\)/);
    checkInstalled(app);
  });
});
