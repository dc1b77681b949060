// Faults: disk full (a 64 KiB tmpfs, or skipped where mount is not allowed), the process
// file-size limit (a child under `ulimit -f` with SIGXFSZ ignored), a read-only filesystem,
// and a path whose parent is a file. Each must give an LmtError saying what failed and where,
// leave the previous checkpoint loadable, and leave no temp files behind.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { LmtError } from '../../src/errors.js';
import { acquireOutputLock, loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { runPretrain } from '../../src/train/pretrain.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-io-'));
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  fs.rmSync(tmp, { recursive: true, force: true });
});
const here = path.dirname(new URL(import.meta.url).pathname);
const ckpt = (floats: number, tag = 1) => ({ config: { tag }, weights: { w: { shape: [floats], data: new Float32Array(floats).fill(tag) } } });

/** A tmpfs of `size` at a fresh folder, or null where mounting is not permitted. */
function tmpfs(size: string, ro = false): string | null {
  const dir = fs.mkdtempSync(path.join(tmp, 'mnt-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${ro ? ',ro' : ''}`, 'tmpfs', dir]);
  if (r.status !== 0) return null;
  mounts.push(dir);
  return dir;
}
function thrown(fn: () => unknown): LmtError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LmtError);
    return e as LmtError;
  }
  throw new Error('did not throw');
}

describe('write failures give clear errors', () => {
  it('disk full (ENOSPC): names the file, keeps the previous checkpoint, leaves no temp files', (ctx) => {
    const mnt = tmpfs('64k');
    if (!mnt) return ctx.skip();
    const dir = path.join(mnt, 'run', 'ckpt');
    saveCheckpoint(dir, ckpt(1000, 1)); // 4 KB: fits
    const e = thrown(() => saveCheckpoint(dir, ckpt(40_000, 2))); // 160 KB: does not
    expect(e.code).toBe('LMT_ERR_IO');
    expect((e as { errno?: string }).errno).toBe('ENOSPC');
    expect(e.message).toMatch(/saveCheckpoint: could not save to .*run\/ckpt \(any previous checkpoint there is unchanged\): cannot write file .*model\.safetensors: no space left on the device/);
    expect(loadCheckpoint(dir).config.tag).toBe(1);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['ckpt']);
    // A bare safetensors write says the same.
    const e2 = thrown(() => writeSafetensors(path.join(mnt, 'big.safetensors'), { w: { shape: [40_000], data: new Float32Array(40_000) } }));
    expect(e2.message).toMatch(/cannot write file .*big\.safetensors: no space left on the device.*\(ENOSPC in write\)/);
    expect(fs.readdirSync(mnt).sort()).toEqual(['run']);
  });

  it('read-only filesystem (EROFS) and a parent that is a file (ENOTDIR)', (ctx) => {
    const parentFile = path.join(tmp, 'a-file');
    fs.writeFileSync(parentFile, 'x');
    const e = thrown(() => saveCheckpoint(path.join(parentFile, 'ckpt'), ckpt(4)));
    expect(e.message).toMatch(/could not save to .*a-file\/ckpt .*(a component of the path is a file, not a folder \(ENOTDIR|a file is in the way where a folder is needed \(EEXIST in mkdir .*a-file\))/);
    const lock = thrown(() => acquireOutputLock(path.join(parentFile, 'out')));
    expect(lock.message).toMatch(/cannot write output folder .*a-file\/out: a component of the path is a file/);
    // Through the pretraining entry point: the same message, before any work.
    expect(() => runPretrain({ model: 'gpt', data: [parentFile], outDir: path.join(parentFile, 'out'), progress: false })).toThrow(/a-file\/out/);
    const ro = tmpfs('64k', true);
    if (!ro) return ctx.skip();
    const e3 = thrown(() => saveCheckpoint(path.join(ro, 'ckpt'), ckpt(4)));
    expect(e3.message).toMatch(/could not save to .*ckpt .*the filesystem is read-only; write elsewhere \(EROFS/);
  });

  it('file-size limit (EFBIG, `ulimit -f`, SIGXFSZ ignored) in a child process', () => {
    const dir = path.join(tmp, 'fsize', 'ckpt');
    const job = (floats: number) => {
      const script = `trap '' XFSZ; ulimit -f 64; exec "${process.execPath}" "${path.join(here, 'child.mjs')}" "${path.join(here, 'train_child.ts')}" '${JSON.stringify({ job: 'save', out: dir, floats })}'`;
      const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').pop()!;
    };
    expect(job(1000)).toBe('saved'); // 4 KB
    const err = JSON.parse(job(100_000)) as { lmt: boolean; code: string; errno: string; message: string }; // 400 KB > the limit
    expect(err).toMatchObject({ lmt: true, code: 'LMT_ERR_IO', errno: 'EFBIG' });
    expect(err.message).toMatch(/cannot write file .*model\.safetensors: the file would exceed the file-size limit of this process/);
    expect(loadCheckpoint(dir).config.floats).toBe(1000);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['ckpt']);
  }, 30_000);
});
