import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorld, worldCorpus } from '../../src/pipeline/world.js';
import { runPretrain } from '../../src/train/pretrain.js';
import { lrAt } from '../../src/train/schedule.js';
import { GPT } from '../../src/models/gpt.js';
import { memory } from '../../src/index.js';

let dir = '', corpus = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lmt-pretrain-'));
  corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, worldCorpus(generateWorld(5, 12), { documents: 700 }).join('\n\n'));
});

const small = { n_embd: 32, n_head: 2, n_layer: 2, dropout: 0.1 };
const losses = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => typeof r.loss === 'number').map((r) => r.loss as number);

describe('pretraining', () => {
  it('GPT learns the corpus: held-out loss well below the unigram baseline; checkpoint reloads', () => {
    const out = join(dir, 'gpt');
    const before = memory().numBytes;
    const r = runPretrain({ model: 'gpt', data: [corpus], outDir: out, vocabSize: 384, seqLen: 32, batchSize: 8, modelConfig: { ...small, dropout: 0 },
      trainer: { steps: 200, lr: 5e-3, warmupSteps: 10 }, progress: false });
    expect(memory().numBytes).toBe(before);
    console.log(`gpt: held-out loss ${r.valLoss.toFixed(3)}, unigram ${r.unigramLoss.toFixed(3)}`);
    expect(r.valLoss).toBeLessThan(r.unigramLoss - 1);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'optimizer.safetensors', 'trainer_state.json', 'metrics.jsonl'])
      expect(existsSync(join(out, f))).toBe(true);
    const m = GPT.fromCheckpoint(out);
    expect(m.numParameters()).toBe(r.parameters);
    m.dispose();
  });

  it('a run stopped and resumed gives the same losses, bit for bit (with dropout)', () => {
    const common = { model: 'gpt' as const, data: [corpus], vocabSize: 320, seqLen: 32, batchSize: 4, modelConfig: small, progress: false };
    const trainer = { steps: 12, lr: 2e-3, warmupSteps: 3 };
    runPretrain({ ...common, outDir: join(dir, 'a'), trainer });
    runPretrain({ ...common, outDir: join(dir, 'b'), trainer: { ...trainer, stopAt: 5 } });
    runPretrain({ ...common, outDir: join(dir, 'b'), trainer, resume: true });
    const a = losses(join(dir, 'a')), b = losses(join(dir, 'b'));
    expect(a).toHaveLength(12);
    expect(b).toEqual(a);
  });

  it('BERT (masked LM) and T5 (span corruption) train and improve', () => {
    for (const model of ['bert', 't5'] as const) {
      const out = join(dir, model);
      const r = runPretrain({ model, data: [corpus], outDir: out, vocabSize: 384, seqLen: 32, batchSize: 8,
        modelConfig: model === 't5' ? { n_embd: 32, n_head: 2, d_kv: 16, d_ff: 64, n_layer: 1, n_decoder_layer: 1 } : { ...small, dropout: 0 },
        trainer: { steps: 100, lr: 3e-3, warmupSteps: 10 }, progress: false });
      const l = losses(out);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      console.log(`${model}: first-5 mean loss ${mean(l.slice(0, 5)).toFixed(3)}, last-5 ${mean(l.slice(-5)).toFixed(3)}, held-out ${r.valLoss.toFixed(3)}, unigram ${r.unigramLoss.toFixed(3)}`);
      expect(mean(l.slice(-5))).toBeLessThan(mean(l.slice(0, 5)) * 0.85);
      expect(Number.isFinite(r.valLoss)).toBe(true);
    }
  });

  it('warmup then cosine decay', () => {
    const c = { lr: 1, minLr: 0.1, warmupSteps: 10, totalSteps: 110 };
    expect(lrAt(0, c)).toBeCloseTo(0.1);
    expect(lrAt(9, c)).toBeCloseTo(1);
    expect(lrAt(60, c)).toBeCloseTo(0.55);
    expect(lrAt(110, c)).toBeCloseTo(0.1);
  });
});
