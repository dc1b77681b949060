// On a small version of the built-in sentiment task, a briefly pretrained tiny GPT beats
// the same model from scratch at small label counts (the point of pretraining).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLabelEfficiency } from '../../src/train/label_efficiency.js';
import { memory } from '../../src/index.js';

describe('label efficiency', () => {
  it('pretrained beats scratch by a clear margin with 32 labels', () => {
    const out = mkdtempSync(join(tmpdir(), 'lmt-le-'));
    const before = memory().numBytes;
    const t0 = Date.now();
    const r = runLabelEfficiency({
      outDir: out, model: 'gpt', taskSeed: 3, seeds: [1], counts: [32],
      // Fewer negations and contrasts than the full task: a 2-layer, 32-wide model pretrained
      // for 600 steps learns word polarity from the unlabelled reviews, not all of composition.
      taskSize: { train: 400, dev: 10, test: 200, unlabeled: 2500, negation: 0.1, contrast: 0.15 },
      pretrain: { steps: 600, lr: 5e-3, seqLen: 32, batchSize: 16, vocabSize: 320, modelConfig: { n_layer: 2, n_head: 2, n_embd: 32, dropout: 0 } },
      finetune: { steps: 80, lr: 1e-3, batchSize: 16, maxLen: 32 },
      progress: false,
    });
    console.log(r.markdown, `${(Date.now() - t0) / 1000}s`);
    expect(memory().numBytes).toBe(before);
    const small = r.rows[0];
    expect(small.n).toBe(32);
    // Measured: 75.5% vs 57.0% (test set of 200, chance 50%).
    expect(small.pretrained.accuracy).toBeGreaterThan(small.scratch.accuracy + 0.1);
    expect(small.pretrained.accuracy).toBeGreaterThan(0.65);
    expect(existsSync(join(out, 'label_efficiency.json')) && existsSync(join(out, 'label_efficiency.md'))).toBe(true);
  });
});
