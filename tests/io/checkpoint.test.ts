import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, LmtError, tensor, tidy } from '../../src/index.js';
import { acquireOutputLock, findCheckpoint, loadCheckpoint, saveCheckpoint, writeSafetensors } from '../../src/io/index.js';
import { randnArray } from '../helpers/rng.js';
import { expectNoLeaks } from '../helpers/leaks.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-ckpt-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => path.join(tmpRoot, `run${n++}`, 'ckpt');

/** The pid of a process that has exited (so it is not alive, barring reuse). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

function smallCheckpoint(tag: number) {
  return {
    config: { model_type: 'gpt', n_layer: tag },
    weights: { 'wte.weight': { shape: [2, 3], data: randnArray(6) }, 'ln_f.bias': { shape: [3], data: Float32Array.of(tag, tag, tag) } },
  };
}

describe('checkpoint save/load', () => {
  it('round-trips weights, optimizer, tokenizer and trainer state from Tensors', () => {
    const dir = fresh();
    const w = randnArray(20), m = randnArray(20);
    expectNoLeaks(() => tidy(() => {
      saveCheckpoint(dir, {
        config: { model_type: 'gpt', vocab_size: 5, n_embd: 4 },
        weights: { 'wte.weight': tensor(w, [5, 4]), 'ids.buf': tensor(Int32Array.of(1, 2, 3), [3]) },
        tokenizerJson: { model: { type: 'BPE' }, added_tokens: [] },
        optimizer: { 'wte.weight.m': tensor(m, [5, 4]), step: tensor(Int32Array.of(7), []) },
        trainerState: { step: 7, rng: [1, 2, 3], cursor: { file: 0, offset: 123 } },
      });
    }));
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors', 'optimizer.safetensors', 'tokenizer.json', 'trainer_state.json']);
    const c = loadCheckpoint(dir);
    expect(c.dir).toBe(path.resolve(dir));
    expect(c.config).toEqual({ model_type: 'gpt', vocab_size: 5, n_embd: 4 });
    expect(c.weights.get('wte.weight')!.shape).toEqual([5, 4]);
    expect(Array.from(c.weights.get('wte.weight')!.data)).toEqual(Array.from(w));
    expect(Array.from(c.weights.get('ids.buf')!.data)).toEqual([1, 2, 3]);
    expect(c.tokenizerJson).toEqual({ model: { type: 'BPE' }, added_tokens: [] });
    expect(Array.from(c.optimizer!.get('wte.weight.m')!.data)).toEqual(Array.from(m));
    expect(c.optimizer!.get('step')!.shape).toEqual([]);
    expect(c.trainerState).toEqual({ step: 7, rng: [1, 2, 3], cursor: { file: 0, offset: 123 } });
    // Nothing left beside the checkpoint.
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['ckpt']);
  });

  it('leaves optional files out, and accepts tokenizer text', () => {
    const dir = fresh();
    saveCheckpoint(dir, { ...smallCheckpoint(1), tokenizerJson: '{"version":"1.0"}' });
    const c = loadCheckpoint(dir);
    expect(c.tokenizerJson).toEqual({ version: '1.0' });
    expect(c.optimizer).toBeUndefined();
    expect(c.trainerState).toBeUndefined();
    expect(() => saveCheckpoint(dir, { ...smallCheckpoint(1), tokenizerJson: '{nope' })).toThrow(LmtError);
    expect(() => saveCheckpoint(dir, { config: [] as unknown as object, weights: {} })).toThrow(LmtError);
  });

  it('replaces a checkpoint, drops its stale optional files and keeps the run\'s other files', () => {
    const dir = fresh();
    saveCheckpoint(dir, { ...smallCheckpoint(1), optimizer: { m: { shape: [1], data: Float32Array.of(1) } }, trainerState: { step: 1 } });
    const lock = acquireOutputLock(dir);
    const metrics = path.join(dir, 'metrics.jsonl');
    fs.writeFileSync(metrics, '{"step":1}\n');
    const fd = fs.openSync(metrics, 'a');
    fs.mkdirSync(path.join(dir, 'samples'));
    fs.writeFileSync(path.join(dir, 'samples', 'a.txt'), 'hello');
    fs.symlinkSync('samples/a.txt', path.join(dir, 'latest.txt'));

    saveCheckpoint(dir, smallCheckpoint(2));
    fs.writeSync(fd, '{"step":2}\n'); // through the descriptor opened before the swap
    fs.closeSync(fd);

    const c = loadCheckpoint(dir);
    expect(c.config.n_layer).toBe(2);
    expect(Array.from(c.weights.get('ln_f.bias')!.data)).toEqual([2, 2, 2]);
    expect(c.optimizer).toBeUndefined();
    expect(c.trainerState).toBeUndefined();
    expect(fs.readFileSync(metrics, 'utf8')).toBe('{"step":1}\n{"step":2}\n');
    expect(fs.readFileSync(path.join(dir, 'samples', 'a.txt'), 'utf8')).toBe('hello');
    expect(fs.readFileSync(path.join(dir, 'latest.txt'), 'utf8')).toBe('hello');
    expect(fs.readFileSync(path.join(dir, '.lock'), 'utf8').trim()).toBe(String(process.pid));
    expect(() => acquireOutputLock(dir)).toThrow(/in use by process/);
    lock.release();
    expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['ckpt']);
  });

  it('names the missing or invalid file', () => {
    const dir = fresh();
    expect(() => loadCheckpoint(dir)).toThrow(DataError);
    expect(() => loadCheckpoint(dir)).toThrow(/does not exist/);
    fs.mkdirSync(dir, { recursive: true });
    expect(() => loadCheckpoint(dir)).toThrow(/config\.json is missing/);
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    expect(() => loadCheckpoint(dir)).toThrow(/model\.safetensors is missing/);
    fs.writeFileSync(path.join(dir, 'model.safetensors'), 'garbage');
    expect(() => loadCheckpoint(dir)).toThrow(DataError);
    expect(() => loadCheckpoint(dir)).toThrow(/model\.safetensors/);
    writeSafetensors(path.join(dir, 'model.safetensors'), {});
    for (const [file, text] of [['config.json', '{bad'], ['config.json', '[1]'], ['tokenizer.json', 'nope'], ['trainer_state.json', '"s"']] as const) {
      const dir2 = fresh();
      saveCheckpoint(dir2, smallCheckpoint(1));
      fs.writeFileSync(path.join(dir2, file), text);
      const f = () => loadCheckpoint(dir2);
      expect(f).toThrow(DataError);
      expect(f).toThrow(file);
    }
    const dir3 = fresh();
    saveCheckpoint(dir3, smallCheckpoint(1));
    fs.writeFileSync(path.join(dir3, 'optimizer.safetensors'), Buffer.alloc(4));
    expect(() => loadCheckpoint(dir3)).toThrow(/optimizer\.safetensors/);
  });
});

describe('checkpoint crash recovery', () => {
  /** A finished old checkpoint, then the state a save leaves if killed after step `stage`. */
  function crashAt(stage: 'writing' | 'after-backup' | 'after-backup-relocked' | 'after-swap') {
    const dir = fresh();
    saveCheckpoint(dir, smallCheckpoint(1));
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), 'old\n');
    const pid = deadPid();
    const tmp = `${dir}.tmp-${pid}-0badc0de`;
    const bak = `${dir}.bak-${pid}-0badc0de`;
    // The temp copy as the crashed save had it: complete for the later stages, half-written before.
    fs.mkdirSync(tmp);
    fs.writeFileSync(path.join(tmp, 'config.json'), '{"model_type":"gpt","n_layer":2}');
    fs.writeFileSync(path.join(tmp, 'model.safetensors'), stage === 'writing' ? Buffer.from([1, 2, 3]) : fs.readFileSync(path.join(dir, 'model.safetensors')));
    if (stage !== 'writing') fs.renameSync(dir, bak);
    if (stage === 'after-backup-relocked') acquireOutputLock(dir).release(); // the next run recreates DIR for its lock
    if (stage === 'after-swap') {
      fs.renameSync(tmp, dir);
    }
    return { dir, tmp, bak };
  }

  it('a crash while writing the temp dir leaves the old checkpoint in place', () => {
    const { dir } = crashAt('writing');
    const c = loadCheckpoint(dir);
    expect(c.config.n_layer).toBe(1);
    expect(c.dir).toBe(path.resolve(dir));
  });

  for (const stage of ['after-backup', 'after-backup-relocked'] as const) {
    it(`a crash between the renames (${stage}) is recovered from the backup, and the next save cleans up`, () => {
      const { dir, bak } = crashAt(stage);
      expect(findCheckpoint(dir)).toBe(bak);
      const c = loadCheckpoint(dir);
      expect(c.dir).toBe(bak);
      expect(c.config.n_layer).toBe(1);
      expect(Array.from(c.weights.get('ln_f.bias')!.data)).toEqual([1, 1, 1]);
      saveCheckpoint(dir, smallCheckpoint(3));
      expect(loadCheckpoint(dir).config.n_layer).toBe(3);
      expect(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).toBe('old\n'); // carried from the backup
      expect(fs.readdirSync(path.dirname(dir))).toEqual(['ckpt']);
    });
  }

  it('a crash after the swap leaves the new checkpoint', () => {
    const { dir } = crashAt('after-swap');
    expect(loadCheckpoint(dir).config.n_layer).toBe(2);
  });

  it('does not remove the temp dir of a live process', () => {
    const dir = fresh();
    saveCheckpoint(dir, smallCheckpoint(1));
    const other = `${dir}.tmp-${process.ppid}-12345678`;
    fs.mkdirSync(other);
    saveCheckpoint(dir, smallCheckpoint(2));
    expect(fs.existsSync(other)).toBe(true);
  });
});

describe('output lock', () => {
  it('refuses a directory locked by a live process and names it', async () => {
    const dir = fresh();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, '.lock'), `${child.pid}\n`);
      const f = () => acquireOutputLock(dir);
      expect(f).toThrow(LmtError);
      expect(f).toThrow(new RegExp(`in use by process ${child.pid}`));
      expect(fs.readFileSync(path.join(dir, '.lock'), 'utf8')).toBe(`${child.pid}\n`);
    } finally {
      child.kill();
      await new Promise((r) => child.once('exit', r));
    }
    // Now dead: the lock is stale and taken over.
    const lock = acquireOutputLock(dir);
    expect(fs.readFileSync(lock.path, 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
    lock.release();
  });

  it('takes over a lock whose pid is dead, and old garbage; refuses fresh garbage', () => {
    const dir = fresh();
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, '.lock');
    fs.writeFileSync(file, `${deadPid()}\n`);
    acquireOutputLock(dir).release();
    fs.writeFileSync(file, '');
    expect(() => acquireOutputLock(dir)).toThrow(/being created/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    const l = acquireOutputLock(dir);
    expect(fs.readdirSync(dir)).toEqual(['.lock']);
    l.release();
  });

  it('refuses a second lock in the same process; release leaves a lock that is not ours', () => {
    const dir = fresh();
    const l = acquireOutputLock(dir);
    expect(() => acquireOutputLock(dir)).toThrow(/this process/);
    fs.writeFileSync(l.path, '1\n');
    l.release();
    expect(fs.readFileSync(l.path, 'utf8')).toBe('1\n');
  });
});
