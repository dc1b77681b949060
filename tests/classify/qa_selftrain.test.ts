// QA (extractive on BERT, generative on GPT), self-training and the three CLI commands, on
// tiny models briefly pretrained on the built-in tasks' unlabelled text.
import { describe, expect, it, beforeAll, vi } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPretrain } from '../../src/train/pretrain.js';
import { runQa } from '../../src/train/qa.js';
import { runSelfTrain } from '../../src/train/self_train.js';
import { trainClassifier, predictProbs } from '../../src/train/classify.js';
import { SequenceClassifier } from '../../src/models/heads.js';
import { sentimentTask, worldQaTask } from '../../src/pipeline/tasks.js';
import { runClassifyCli } from '../../src/cli/classify.js';
import { runQaCli } from '../../src/cli/qa.js';
import { runSelfTrainCli } from '../../src/cli/self_train.js';
import { DataError, memory } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lmt-qa-'));
const qa = worldQaTask(5, { countries: 8, train: 300, dev: 40, test: 5 });
const senti = sentimentTask(7, { train: 300, dev: 10, test: 150, unlabeled: 1500, negation: 0.1, contrast: 0.15 });
const tiny = { n_layer: 2, n_head: 2, n_embd: 32, dropout: 0 };
const jsonl = (f: string, rows: object[]) => { writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n'); return f; };

beforeAll(() => {
  writeFileSync(join(dir, 'world.txt'), qa.unlabeled.join('\n\n'));
  writeFileSync(join(dir, 'reviews.txt'), senti.unlabeled.join('\n\n'));
  runPretrain({ model: 'bert', data: [join(dir, 'world.txt')], outDir: join(dir, 'bert'), vocabSize: 300, seqLen: 64, batchSize: 8, modelConfig: tiny, trainer: { steps: 60, lr: 5e-3 }, progress: false });
  runPretrain({ model: 'gpt', data: [join(dir, 'reviews.txt')], outDir: join(dir, 'gpt'), vocabSize: 320, seqLen: 32, batchSize: 16, modelConfig: tiny, trainer: { steps: 400, lr: 5e-3 }, progress: false });
}, 60_000);

describe('question answering', () => {
  it('extractive QA on BERT learns to point at the answer span', () => {
    const before = memory().numBytes;
    const r = runQa({ init: join(dir, 'bert'), train: qa.train, eval: qa.dev, maxLen: 64, trainer: { steps: 150, lr: 2e-3, warmupSteps: 10 }, progress: false });
    console.log('extractive', r.eval);
    expect(memory().numBytes).toBe(before);
    expect(r.mode).toBe('extractive');
    expect(r.eval!.f1).toBeGreaterThan(0.3);
    expect(r.eval!.f1).toBeGreaterThanOrEqual(r.eval!.exactMatch);
  });
  it('generative QA on GPT trains on the answer tokens and scores by exact match', () => {
    const out = join(dir, 'gen');
    const r = runQa({ init: join(dir, 'gpt'), fromScratch: true, train: qa.train.slice(0, 100), eval: qa.dev.slice(0, 10), outDir: out, maxLen: 96, trainer: { steps: 30, lr: 2e-3, warmupSteps: 3 }, progress: false });
    expect(r.mode).toBe('generative');
    const losses = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => typeof x.loss === 'number').map((x) => x.loss as number);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) * 0.8);
    expect(r.eval!.exactMatch).toBeGreaterThanOrEqual(0);
  });
  it('generative QA on T5: encoder reads the prompt, decoder writes the answer', () => {
    const init = join(dir, 't5');
    runPretrain({ model: 't5', data: [join(dir, 'world.txt')], outDir: init, vocabSize: 300, seqLen: 32, batchSize: 4,
      modelConfig: { n_embd: 32, n_head: 2, d_kv: 16, d_ff: 64, n_layer: 1, n_decoder_layer: 1 }, trainer: { steps: 2 }, progress: false });
    const out = join(dir, 't5qa');
    const before = memory().numBytes;
    const r = runQa({ init, train: qa.train.slice(0, 64), eval: qa.dev.slice(0, 4), outDir: out, maxLen: 64, maxAnswerTokens: 4, trainer: { steps: 30, lr: 3e-3, warmupSteps: 3 }, progress: false });
    expect(memory().numBytes).toBe(before);
    expect(r.mode).toBe('generative');
    const losses = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => typeof x.loss === 'number').map((x) => x.loss as number);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) * 0.8);
    expect(r.eval!.exactMatch).toBeGreaterThanOrEqual(0);
  });
  it('an extractive answer not in its context is a DataError', () => {
    expect(() => runQa({ init: join(dir, 'bert'), train: [{ question: 'q', context: 'abc', answer: 'zzz' }], progress: false })).toThrow(DataError);
  });
});

describe('self-training', () => {
  it('teacher labels the unlabelled reviews; the student trains on both', () => {
    const before = memory().numBytes;
    const r = runSelfTrain({
      init: join(dir, 'gpt'), train: senti.train.slice(0, 32), eval: senti.test, unlabeled: senti.unlabeled.slice(0, 300).map((t) => t.replace(/ ?(Loved it|Recommended|Five stars|Hated it|Avoid|One star)!.*$|(好评|推荐|五星|差评|别去|一星)！.*$/u, '')),
      threshold: 0.8, rounds: 1, classify: { seed: 1, maxLen: 32, trainer: { steps: 60, lr: 1e-3, warmupSteps: 6 } }, progress: false,
    });
    console.log(`self-training: teacher ${r.teacher.accuracy}, student ${r.rounds[0].student.accuracy}, kept ${r.rounds[0].kept} (${r.rounds[0].perClass})`);
    expect(memory().numBytes).toBe(before);
    expect(r.rounds).toHaveLength(1);
    expect(r.rounds[0].kept).toBeGreaterThan(0);
    expect(r.rounds[0].perClass[0]).toBe(r.rounds[0].perClass[1]);
    expect(r.gain).toBeCloseTo(r.rounds[0].student.accuracy - r.teacher.accuracy, 12);
  });
});

describe('classification', () => {
  it('BERT [CLS] head: a saved classifier reloads with the same predictions and label map', () => {
    const out = join(dir, 'bert-cls');
    const data = senti.train.slice(0, 40).map((e, i) => ({ text: e.text, label: i % 2 }));
    const c = trainClassifier({ init: join(dir, 'bert'), train: data, eval: data.slice(0, 8), outDir: out, maxLen: 32, trainer: { steps: 4, warmupSteps: 1 }, progress: false });
    try {
      expect(c.labels).toEqual(['0', '1']);
      expect(c.eval!.confusion.flat().reduce((a, b) => a + b, 0)).toBe(8);
      const texts = data.slice(0, 6).map((e) => e.text);
      const again = SequenceClassifier.fromCheckpoint(out);
      const reloaded = { ...c, model: again, dispose: () => again.dispose() };
      const a = predictProbs(c, texts), b = predictProbs(reloaded, texts);
      a.forEach((row, i) => row.forEach((p, k) => expect(b[i][k]).toBeCloseTo(p, 5)));
      expect(again.config.id2label).toEqual(['0', '1']);
      again.dispose();
    } finally {
      c.dispose();
    }
  });
});

describe('CLI', () => {
  it('classify, qa and self-train write checkpoints whose config carries the label map', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const train = jsonl(join(dir, 'train.jsonl'), senti.train.slice(0, 64).map((e, i) => ({ text: e.text, label: i % 3 === 0 ? 7 : e.label === 'positive' ? 1 : 0 })));
      const dev = jsonl(join(dir, 'dev.jsonl'), senti.test.slice(0, 20).map((e) => ({ text: e.text, label: e.label === 'positive' ? 1 : 0 })));
      const out = join(dir, 'cls');
      expect(await runClassifyCli(['--init', join(dir, 'gpt'), '--data', train, '--eval', dev, '--out', out, '--steps', '5', '--from-scratch', '--json'])).toBe(0);
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      expect(cfg.id2label).toEqual(['0', '1', '7']);
      expect(JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')).confusion).toHaveLength(3);
      SequenceClassifier.fromCheckpoint(out).dispose();
      const qtrain = jsonl(join(dir, 'qa.jsonl'), qa.train.slice(0, 20));
      expect(await runQaCli(['--init', join(dir, 'bert'), '--data', qtrain, '--eval', qtrain, '--out', join(dir, 'qa'), '--steps', '3', '--json'])).toBe(0);
      expect(existsSync(join(dir, 'qa', 'eval.json'))).toBe(true);
      const unl = join(dir, 'unl.txt');
      writeFileSync(unl, senti.unlabeled.slice(0, 30).join('\n') + '\n');
      expect(await runSelfTrainCli(['--init', join(dir, 'gpt'), '--data', train, '--unlabeled', unl, '--eval', dev, '--out', join(dir, 'st'), '--steps', '3', '--threshold', '0', '--json'])).toBe(0);
      expect(JSON.parse(readFileSync(join(dir, 'st', 'self_train.json'), 'utf8')).rounds).toHaveLength(1);
    } finally {
      log.mockRestore();
    }
  });
});
