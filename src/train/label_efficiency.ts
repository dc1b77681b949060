/**
 * Label efficiency: how many labels a pretrained model needs compared with the same
 * architecture from scratch. For each label count (32, 128, 512, all) and seed, both start
 * from the same checkpoint config and tokenizer, see the same labelled subset, and train for
 * the same steps; only the initial weights differ. The backbone is pretrained here on the
 * task's unlabelled text unless a checkpoint is given. Results: label_efficiency.json and
 * label_efficiency.md in outDir.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { Rng } from '../data/rng.js';
import type { ClsExample } from '../data/cls.js';
import { sentimentTask, type SentimentOptions } from '../pipeline/tasks.js';
import { runPretrain, type ModelKind } from './pretrain.js';
import { runClassify } from './classify.js';
import type { TrainerConfig } from './trainer.js';
import type { Device } from '../tensor/tensor.js';
import { requireDevice } from '../ops/device.js';

export type LabelCount = number | 'all';

export interface LabelEfficiencyConfig {
  /** The built-in task (sentiment) and the seed it is generated from. */
  taskSeed: number;
  taskSize: SentimentOptions;
  model: Extract<ModelKind, 'bert' | 'gpt'>;
  counts: LabelCount[];
  seeds: number[];
  /** A pretrained checkpoint; without one, pretraining runs on the task's unlabelled text. */
  init?: string;
  pretrain: { steps: number; lr: number; seqLen: number; batchSize: number; vocabSize: number; modelConfig: Record<string, unknown> };
  finetune: { steps: number; lr: number; batchSize: number; maxLen: number; trainer?: Partial<TrainerConfig> };
  outDir: string;
  /** Where pretraining and every fine-tune run (cpu when absent). */
  device?: Device;
  progress: boolean;
}

export const defaultLabelEfficiencyConfig: Omit<LabelEfficiencyConfig, 'outDir'> = {
  taskSeed: 1, taskSize: {}, model: 'gpt', counts: [32, 128, 512, 'all'], seeds: [1, 2, 3],
  pretrain: { steps: 1000, lr: 5e-3, seqLen: 32, batchSize: 16, vocabSize: 384, modelConfig: { n_layer: 2, n_head: 2, n_embd: 32, dropout: 0 } },
  finetune: { steps: 150, lr: 1e-3, batchSize: 16, maxLen: 48 },
  progress: true,
};

export interface LabelEfficiencyRow {
  labels: LabelCount;
  /** Examples actually used (count, or the whole training set). */
  n: number;
  pretrained: { accuracy: number; macroF1: number };
  scratch: { accuracy: number; macroF1: number };
  /** Per seed, same order as seeds. */
  perSeed: { seed: number; pretrained: number; scratch: number }[];
}

export interface LabelEfficiencyResult {
  config: Omit<LabelEfficiencyConfig, 'progress'>;
  init: string;
  testExamples: number;
  rows: LabelEfficiencyRow[];
  markdown: string;
}

/** The first n of the training set in a seeded order: the same subset for both inits. */
export function labelSubset(train: readonly ClsExample[], n: LabelCount, seed: number): ClsExample[] {
  if (n === 'all') return [...train];
  if (!Number.isInteger(n) || n < 1) throw new ArgumentError(`labelSubset: label count must be a positive integer or 'all', got ${n}`);
  const order = new Rng(seed * 31 + 5).shuffle(Array.from({ length: train.length }, (_, i) => i));
  return order.slice(0, Math.min(n, train.length)).map((i) => train[i]);
}

const pct = (x: number) => `${(100 * x).toFixed(1)}`;

export function labelEfficiencyMarkdown(rows: readonly LabelEfficiencyRow[]): string {
  const lines = ['| labels | pretrained acc | scratch acc | gain | pretrained macro-F1 | scratch macro-F1 |', '|---|---|---|---|---|---|'];
  for (const r of rows)
    lines.push(`| ${r.labels === 'all' ? `all (${r.n})` : r.n} | ${pct(r.pretrained.accuracy)} | ${pct(r.scratch.accuracy)} | ${r.pretrained.accuracy >= r.scratch.accuracy ? '+' : ''}${pct(r.pretrained.accuracy - r.scratch.accuracy)} | ${pct(r.pretrained.macroF1)} | ${pct(r.scratch.macroF1)} |`);
  return lines.join('\n') + '\n';
}

export function runLabelEfficiency(partial: Partial<LabelEfficiencyConfig> & Pick<LabelEfficiencyConfig, 'outDir'>): LabelEfficiencyResult {
  const d = defaultLabelEfficiencyConfig;
  // Options left undefined (an unset CLI flag) keep their defaults.
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as typeof partial;
  const cfg: LabelEfficiencyConfig = {
    ...d, ...given, pretrain: { ...d.pretrain, ...given.pretrain }, finetune: { ...d.finetune, ...given.finetune },
  };
  if (cfg.seeds.length === 0 || cfg.counts.length === 0) throw new ArgumentError('labelEfficiency: give at least one seed and one label count');
  const device = requireDevice(cfg.device ?? 'cpu', 'labelEfficiency');
  mkdirSync(cfg.outDir, { recursive: true });
  const task = sentimentTask(cfg.taskSeed, cfg.taskSize);
  let init = cfg.init;
  if (!init) {
    const corpus = join(cfg.outDir, 'unlabeled.txt');
    writeFileSync(corpus, task.unlabeled.join('\n\n') + '\n');
    init = join(cfg.outDir, 'pretrained');
    const p = cfg.pretrain;
    runPretrain({ model: cfg.model, data: [corpus], outDir: init, vocabSize: p.vocabSize, seqLen: p.seqLen, batchSize: p.batchSize, seed: cfg.taskSeed, device,
      modelConfig: p.modelConfig, trainer: { steps: p.steps, lr: p.lr, warmupSteps: Math.min(50, Math.ceil(p.steps / 10)), evalEvery: 0 }, progress: cfg.progress });
  }
  const rows: LabelEfficiencyRow[] = [];
  for (const count of cfg.counts) {
    const perSeed: LabelEfficiencyRow['perSeed'] = [];
    const sums = { pretrained: { accuracy: 0, macroF1: 0 }, scratch: { accuracy: 0, macroF1: 0 } };
    let n = 0;
    for (const seed of cfg.seeds) {
      const subset = labelSubset(task.train, count, seed);
      n = subset.length;
      const acc: Record<'pretrained' | 'scratch', number> = { pretrained: 0, scratch: 0 };
      for (const which of ['pretrained', 'scratch'] as const) {
        const f = cfg.finetune;
        const r = runClassify({ init, fromScratch: which === 'scratch', train: subset, eval: task.test, labels: task.labels, seed, device, maxLen: f.maxLen, batchSize: f.batchSize,
          trainer: { steps: f.steps, lr: f.lr, warmupSteps: Math.ceil(f.steps / 10), minLr: f.lr / 10, weightDecay: 0.01, ...f.trainer }, progress: false });
        sums[which].accuracy += r.eval!.accuracy / cfg.seeds.length;
        sums[which].macroF1 += r.eval!.macroF1 / cfg.seeds.length;
        acc[which] = r.eval!.accuracy;
      }
      perSeed.push({ seed, ...acc });
      if (cfg.progress) console.error(`label efficiency: ${count} labels, seed ${seed}: pretrained ${pct(acc.pretrained)}%, scratch ${pct(acc.scratch)}%`);
    }
    rows.push({ labels: count, n, ...sums, perSeed });
  }
  const markdown = labelEfficiencyMarkdown(rows);
  const { progress: _p, device: _d, ...stored } = cfg;
  const result: LabelEfficiencyResult = { config: stored, init, testExamples: task.test.length, rows, markdown };
  writeFileSync(join(cfg.outDir, 'label_efficiency.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(cfg.outDir, 'label_efficiency.md'), markdown);
  return result;
}
