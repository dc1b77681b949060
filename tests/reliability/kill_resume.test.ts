// Fault: SIGKILL at random moments of a run that checkpoints every step (so most kills land
// inside saveCheckpoint). After each kill the previous checkpoint must load; the run resumed
// from it must end with the same losses, bit for bit, and the same weights as an
// uninterrupted run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { findCheckpoint, loadCheckpoint } from '../../src/io/checkpoint.js';
import { DataError } from '../../src/errors.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { Trainer } from '../../src/train/trainer.js';
import { manualSeed } from '../../src/tensor/random.js';
import { tinyTask } from './tiny.js';
import { TRAIN } from './train_child.js';

// On disk (not tmpfs): the fsyncs make saving most of each step, so most kills land in a save.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-kill-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const here = path.dirname(new URL(import.meta.url).pathname);
const STEPS = Number(process.env.LMT_KILL_STEPS ?? 20);
const KILLS = Number(process.env.LMT_KILLS ?? 3);

/** Runs the training child; kills it `killAfterMs` after it prints "ready" (or lets it finish). */
function runChild(out: string, killAfterMs?: number): Promise<{ killed: boolean; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'child.mjs'), path.join(here, 'train_child.ts'), JSON.stringify({ job: 'train', out, steps: STEPS })],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (killAfterMs !== undefined && stdout.includes('ready') && !child.killed) {
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        killAfterMs = undefined;
      }
    });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ killed: true, stdout });
      else if (code === 0) resolve({ killed: false, stdout });
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

const metrics = (out: string) => fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss?: number });

describe('SIGKILL during checkpointing', () => {
  it(`survives ${KILLS} kills at random moments and resumes exactly`, async () => {
    // Reference: the same run, uninterrupted, in this process.
    manualSeed(1);
    const task = tinyTask();
    const ref = path.join(tmp, 'ref');
    const trainer = new Trainer(task, { ...TRAIN, steps: STEPS, saveEvery: 1, outDir: ref });
    const t0 = Date.now();
    trainer.run();
    // Kills land within the first 70% of a run's duration, so a fast machine cannot finish first.
    const runMs = Date.now() - t0;
    trainer.dispose();
    task.model.dispose();

    const out = path.join(tmp, 'killed');
    let lastStep = 0, midSave = 0, kills = 0;
    for (let k = 0; k < KILLS; k++) {
      const r = await runChild(out, Math.floor(Math.random() * 0.7 * runMs));
      if (!r.killed) break;
      kills++;
      // Interrupted saves leave a temp or backup folder beside the checkpoint.
      if (fs.readdirSync(tmp).some((n) => /^killed\.(tmp|bak)-/.test(n))) midSave++;
      // Killed before the first save completed: nothing to load yet, and nothing half-written.
      if (!findCheckpoint(out)) {
        expect(lastStep).toBe(0);
        expect(() => loadCheckpoint(out)).toThrow(DataError);
        continue;
      }
      const ck = loadCheckpoint(out);
      const step = (ck.trainerState as { step: number }).step;
      expect(step).toBeGreaterThanOrEqual(lastStep);
      lastStep = step;
    }
    const fin = await runChild(out);
    expect(fin.killed).toBe(false);
    console.log(`kill/resume: ${kills} SIGKILLs (${midSave} left an interrupted save behind), last step before the final run ${lastStep}`);

    // Losses: the last record of each step equals the reference, bit for bit.
    const want = new Map(metrics(ref).filter((m) => m.loss !== undefined).map((m) => [m.step, m.loss]));
    const got = new Map(metrics(out).filter((m) => m.loss !== undefined).map((m) => [m.step, m.loss]));
    expect(got.size).toBe(STEPS);
    expect([...got.entries()].sort((a, b) => a[0] - b[0])).toEqual([...want.entries()].sort((a, b) => a[0] - b[0]));
    // Weights and optimizer state: identical.
    for (const f of ['model.safetensors', 'optimizer.safetensors']) {
      const a = readSafetensors(path.join(ref, f)), b = readSafetensors(path.join(out, f));
      for (const [k, t] of a.tensors) expect(Buffer.from(b.tensors.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), `${f} ${k}`).toBe(true);
    }
    expect(kills).toBeGreaterThan(0);
  }, 90_000);
});
