// Without a usable prebuild, the install script builds from source: no cmake-js in an app,
// so node-gyp (npm's bundled copy) with g++ alone, CPU-only. Forced here with
// LMT_BUILD_FROM_SOURCE=1 (the prebuild is in the tarball and would load otherwise). PATH:
// node, npm, npx, sh + /usr/bin:/bin (g++, make, python3; no nvcc, no cmake-js).
// Slow (a full g++ build of the kernels, ~1 min on 2 cores): its own file.
import { describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pack, minimalBin, cleanEnv, installInto, run, tempDir, which } from './pack.js';

describe('build from source (node-gyp, CPU-only)', () => {
  it.skipIf(!which('g++') || !which('make'))('npm install with LMT_BUILD_FROM_SOURCE=1 builds with node-gyp and info says CUDA was not compiled', () => {
    const work = tempDir('lmt-src-');
    const tarball = pack(work);
    const env = cleanEnv(`${minimalBin(work)}:/usr/bin:/bin`, { LMT_BUILD_FROM_SOURCE: '1' });
    const { app, log } = installInto(tarball, env, []);
    expect(log).toMatch(/CPU-only build with node-gyp/);
    const built = join(app, 'node_modules', 'lmtrain', 'build', 'Release', 'lmtrain.node');
    expect(existsSync(built)).toBe(true);
    const i = JSON.parse(run(join(app, 'node_modules', '.bin', 'lmtrain'), ['info', '--json'], app, env)) as {
      binary: { kind: string; path: string }; cuda: { compiled: boolean; available: boolean; why: string };
    };
    expect(i.binary.kind).toBe('local build');
    expect(i.binary.path).toBe(built);
    expect(i.cuda.compiled).toBe(false);
    expect(i.cuda.available).toBe(false);
    expect(i.cuda.why).toMatch(/built without CUDA/);
    rmSync(work, { recursive: true, force: true });
  }, 600_000);
});
