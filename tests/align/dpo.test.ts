// DPO and KTO on the built-in world: held-out preference accuracy rises from chance.
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorld, worldCorpus } from '../../src/pipeline/world.js';
import { worldPreferences, pairsToFeedback } from '../../src/pipeline/preferences.js';
import { runPretrain } from '../../src/train/pretrain.js';
import { runDpo, runKto } from '../../src/train/dpo.js';
import { memory } from '../../src/index.js';

const world = generateWorld(3, 12);
const prefs = worldPreferences(world, { perFact: 2 });
let base = '';

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'lmt-dpo-'));
  const corpus = join(dir, 'c.txt');
  writeFileSync(corpus, worldCorpus(world, { documents: 1500, chinese: false }).join('\n\n'));
  base = join(dir, 'base');
  runPretrain({ model: 'gpt', data: [corpus], outDir: base, vocabSize: 400, seqLen: 64, batchSize: 8,
    modelConfig: { n_embd: 64, n_head: 4, n_layer: 2, dropout: 0 }, trainer: { steps: 400, lr: 5e-3, warmupSteps: 10 }, progress: false });
}, 120_000);

describe('DPO', () => {
  it('raises held-out preference accuracy from chance to >= 75% (sigmoid loss, small version)', () => {
    const before = memory().numBytes;
    const r = runDpo({ init: base, pairs: prefs.train, evalPairs: prefs.heldOut, loss: 'sigmoid', beta: 0.1, batchSize: 8, seed: 1,
      trainer: { steps: 40, lr: 3e-4, warmupSteps: 5, clipNorm: 1 }, progress: false });
    console.log(`dpo sigmoid: held-out accuracy ${r.before.accuracy.toFixed(3)} -> ${r.after.accuracy.toFixed(3)}, margin ${r.after.margin.toFixed(3)}`);
    expect(r.before.accuracy).toBe(0.5);
    expect(r.after.accuracy).toBeGreaterThanOrEqual(0.75);
    expect(r.after.rewardsChosen).toBeGreaterThan(r.after.rewardsRejected);
    expect(memory().numBytes).toBe(before);
  }, 120_000);
  it('KTO on the same data as thumbs-up/down also improves held-out accuracy', () => {
    const r = runKto({ init: base, feedback: pairsToFeedback(prefs.train), evalPairs: prefs.heldOut, beta: 0.1, batchSize: 8, seed: 1,
      trainer: { steps: 60, lr: 1e-3, warmupSteps: 5 }, progress: false });
    console.log(`kto: held-out accuracy ${r.before.accuracy.toFixed(3)} -> ${r.after.accuracy.toFixed(3)}`);
    expect(r.after.accuracy).toBeGreaterThan(r.before.accuracy + 0.2);
  }, 120_000);
});
