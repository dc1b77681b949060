// Faults: a NaN/Inf loss (stop with a clear message keeping the last good checkpoint, or skip
// the step), host out-of-memory (a typed OutOfMemoryError, not a crash), and a second run
// on an output folder that is in use (refused through runPretrain, not only the lock helper).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { LmtError, OutOfMemoryError } from '../../src/errors.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { NonFiniteLossError, Trainer } from '../../src/train/trainer.js';
import { runPretrain } from '../../src/train/pretrain.js';
import { zeros } from '../../src/tensor/creation.js';
import { memory } from '../../src/tensor/scope.js';
import { manualSeed } from '../../src/tensor/random.js';
import { native } from '../../src/native/binding.js';
import { tinyTask } from './tiny.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-faults-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const base = { lr: 1e-2, warmupSteps: 0, progress: false, saveEvery: 1, logEvery: 1 };
const metrics = (out: string) => fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('non-finite loss', () => {
  for (const bad of [NaN, -Infinity]) {
    it(`${bad} at step 3 with nonFinite 'stop': a clear error, the step-3 checkpoint kept`, () => {
      manualSeed(1);
      const task = tinyTask({ badAt: 3, badValue: bad });
      const out = path.join(tmp, `stop-${bad}`);
      const t = new Trainer(task, { ...base, steps: 6, outDir: out });
      let err: unknown;
      try { t.run(); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(NonFiniteLossError);
      expect((err as Error).message).toMatch(new RegExp(`the loss became ${bad} at step 3; training stopped \\(the last good checkpoint in .* is kept\\)`));
      t.dispose();
      task.model.dispose();
      const ck = loadCheckpoint(out);
      expect((ck.trainerState as { step: number }).step).toBe(3);
      for (const [, w] of ck.weights) expect(w.data.every(Number.isFinite)).toBe(true);
      expect(metrics(out).some((m) => m.event === 'nonfinite_loss' && m.step === 3)).toBe(true);
    });
  }

  it("'skip': the bad step changes nothing, training goes on, and a skipped last step still checkpoints", () => {
    manualSeed(1);
    const task = tinyTask({ badAt: 2 });
    const out = path.join(tmp, 'skip');
    const t = new Trainer(task, { ...base, steps: 5, outDir: out, nonFinite: 'skip' });
    const r = t.run();
    expect(r.steps).toBe(5);
    expect(t.losses).toHaveLength(4);
    expect(t.losses.every(Number.isFinite)).toBe(true);
    t.dispose();
    task.model.dispose();
    expect((loadCheckpoint(out).trainerState as { step: number }).step).toBe(5);
    // The last step is the bad one, and no periodic saves: the end-of-run checkpoint is still written.
    manualSeed(1);
    const task2 = tinyTask({ badAt: 4 });
    const out2 = path.join(tmp, 'skip-last');
    const t2 = new Trainer(task2, { ...base, saveEvery: 0, steps: 5, outDir: out2, nonFinite: 'skip' });
    t2.run();
    t2.dispose();
    task2.model.dispose();
    expect((loadCheckpoint(out2).trainerState as { step: number }).step).toBe(5);
  });
});

describe('host out-of-memory', () => {
  // vm.overcommit_memory=1 ("always") would let a 1 TiB malloc succeed and the fill be
  // OOM-killed; 0 (heuristic, the default) and 2 refuse it up front.
  const overcommit = fs.existsSync('/proc/sys/vm/overcommit_memory') ? fs.readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim() : '0';
  it.skipIf(overcommit === '1')('zeros([2**38]) (1 TiB) and empty(2^40) give OutOfMemoryError and leak nothing', () => {
    const before = memory();
    expect(() => zeros([2 ** 38])).toThrow(OutOfMemoryError);
    expect(() => zeros([2 ** 20, 2 ** 19])).toThrow(OutOfMemoryError);
    expect(() => native.empty('float32', 2 ** 40)).toThrow(OutOfMemoryError);
    try { zeros([2 ** 38]); } catch (e) { expect((e as Error).message).toMatch(/out of host memory allocating 1099511627776 bytes/); }
    const after = memory();
    expect([after.numTensors, after.numBytes]).toEqual([before.numTensors, before.numBytes]);
    // And the process still works.
    const z = zeros([4]);
    expect(Array.from(z.toArray())).toEqual([0, 0, 0, 0]);
    z.dispose();
  });
});

describe('output lock through runPretrain', () => {
  it('a second run on an output folder in use is refused; after the holder dies it proceeds', async () => {
    const corpus = path.join(tmp, 'corpus.txt');
    fs.writeFileSync(corpus, Array.from({ length: 300 }, (_, i) => `document ${i}: the cat sat on mat ${i % 7} and the dog ran ${i % 5}.`).join('\n\n'));
    const out = path.join(tmp, 'pretrain-out');
    fs.mkdirSync(out, { recursive: true });
    const cfg = { model: 'gpt' as const, data: [corpus], outDir: out, vocabSize: 300, seqLen: 8, batchSize: 2, progress: false,
      modelConfig: { n_embd: 8, n_head: 2, n_layer: 1 }, trainer: { steps: 2, warmupSteps: 0 }, evalBatches: 1 };
    // Another live process holds the lock (its pid in .lock, as acquireOutputLock writes it).
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await new Promise((r) => holder.once('spawn', r));
    fs.writeFileSync(path.join(out, '.lock'), `${holder.pid}\n`);
    let err: unknown;
    try { runPretrain(cfg); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LmtError);
    expect((err as LmtError).code).toBe('LMT_ERR_LOCKED');
    expect((err as Error).message).toMatch(new RegExp(`output directory .*pretrain-out is in use by process ${holder.pid}; wait for it to finish or choose another --out`));
    expect(fs.readdirSync(out)).toEqual(['.lock']); // nothing was written
    // This process running twice into the same folder is refused as well.
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const r = runPretrain(cfg); // the dead holder's lock is stale: taken over
    expect(r.steps).toBe(2);
    expect(fs.existsSync(path.join(out, '.lock'))).toBe(false);
    expect(fs.existsSync(path.join(out, 'model.safetensors'))).toBe(true);
  }, 60_000);
});
