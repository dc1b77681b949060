/**
 * Child-process jobs of the reliability tests (run through child.mjs):
 *   train: the tiny GPT task with a checkpoint every step, resuming from `out` when a
 *          checkpoint is there; prints "ready <step>" once training starts and "step <n>"
 *          after each batch.
 *   save:  saveCheckpoint of `floats` zeros to `out` (for file-size limits).
 */
import { Trainer } from '../../src/train/trainer.js';
import { findCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.js';
import { manualSeed } from '../../src/tensor/random.js';
import { LmtError } from '../../src/errors.js';
import { tinyTask } from './tiny.js';

export const TRAIN = { lr: 1e-2, warmupSteps: 2, clipNorm: 1, logEvery: 1, progress: false };

export async function main(a: { job: 'train' | 'save'; out: string; steps?: number; floats?: number }): Promise<void> {
  if (a.job === 'save') {
    try {
      saveCheckpoint(a.out, { config: { floats: a.floats }, weights: { w: { shape: [a.floats!], data: new Float32Array(a.floats!) } } });
      process.stdout.write('saved\n');
    } catch (e) {
      process.stdout.write(JSON.stringify({ name: (e as Error).name, lmt: e instanceof LmtError, code: (e as LmtError).code, errno: (e as { errno?: string }).errno, message: (e as Error).message }) + '\n');
    }
    return;
  }
  manualSeed(1);
  const task = tinyTask();
  const next = task.nextBatch.bind(task);
  let n = 0;
  task.nextBatch = () => {
    if (n++ === 0) process.stdout.write(`ready\n`);
    return next();
  };
  const trainer = new Trainer(task, { ...TRAIN, steps: a.steps!, saveEvery: 1, outDir: a.out });
  if (findCheckpoint(a.out)) trainer.resume(a.out);
  trainer.run();
  process.stdout.write('done\n');
}
