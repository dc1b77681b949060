/**
 * Sequence classification: a linear head on a pretrained BERT ([CLS] pooler) or GPT (last
 * real token), fine-tuned end to end with cross-entropy through the shared Trainer. The
 * backbone comes from a checkpoint directory (its tokenizer too); fromScratch keeps the
 * config and tokenizer but re-initialises the weights, the baseline that shows what
 * pretraining is worth. Metrics: accuracy, macro-F1, confusion matrix (metrics_cls.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError, DataError } from '../errors.js';
import { readClassificationJsonl, labelMap, type ClsExample } from '../data/cls.js';
import { padSequences } from '../data/collators.js';
import { Rng, type DataRngState } from '../data/rng.js';
import { Tokenizer } from '../tokenizer/index.js';
import { loadBackbone, SequenceClassifier } from '../models/heads.js';
import { Bert } from '../models/bert.js';
import { tensor } from '../tensor/creation.js';
import type { Device } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { manualSeed } from '../tensor/random.js';
import { noGrad } from '../autograd/graph.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { Trainer, type TrainerConfig, type TrainTask, type TrainSummary } from './trainer.js';
import { classificationMetrics, type ClassificationMetrics } from './metrics_cls.js';

export interface ClassifyConfig {
  /** Checkpoint directory of the backbone (config.json, model.safetensors, tokenizer.json). */
  init: string;
  /** Same config and tokenizer as init, random weights. */
  fromScratch: boolean;
  /** Labelled examples, or a JSONL file of {"text","label"}. */
  train: ClsExample[] | string;
  eval?: ClsExample[] | string;
  /** Label names in class-id order (default: from the training data, see labelMap). */
  labels?: string[];
  /** Where the fine-tuned checkpoint, metrics.jsonl and eval.json go (optional). */
  outDir?: string;
  /** Tokens per example including [CLS]/[SEP] or the final <eos> (capped at n_positions). */
  maxLen: number;
  batchSize: number;
  /** Dropout before the head. */
  dropout: number;
  seed: number;
  /** Where the classifier trains (cpu when absent). */
  device?: Device;
  trainer: Partial<TrainerConfig>;
  progress: boolean;
}

export const defaultClassifyConfig: Omit<ClassifyConfig, 'init' | 'train'> = {
  fromScratch: false, maxLen: 64, batchSize: 16, dropout: 0.1, seed: 1,
  trainer: { steps: 200, lr: 1e-3, minLr: 1e-4, warmupSteps: 20, weightDecay: 0.01 }, progress: true,
};

export interface ClassifyResult {
  labels: string[];
  summary: TrainSummary;
  eval?: ClassificationMetrics;
}

/** A trained classifier with what it needs to predict; dispose() frees the weights. */
export interface Classifier {
  model: SequenceClassifier;
  tok: Tokenizer;
  labels: string[];
  maxLen: number;
  dispose(): void;
}

function examplesOf(x: ClsExample[] | string): { examples: ClsExample[]; file?: string } {
  return typeof x === 'string' ? { examples: readClassificationJsonl(x), file: x } : { examples: x };
}

function classIds(examples: readonly ClsExample[], labels: readonly string[], file?: string): number[] {
  const index = new Map(labels.map((l, i) => [l, i]));
  return examples.map((e, i) => {
    const k = index.get(String(e.label));
    if (k === undefined) {
      const msg = `label ${JSON.stringify(e.label)} is not one of the training labels (${labels.join(', ')})`;
      throw file ? new DataError(msg, file) : new ArgumentError(`example ${i}: ${msg}`);
    }
    return k;
  });
}

/**
 * Token ids of one example: [CLS] x [SEP] for BERT; x alone for GPT, whose head reads the
 * last token of the text itself: after causal pretraining that state already predicts what
 * comes next, a far richer summary than an appended <eos> the model never learned to use.
 * Long GPT inputs keep their end, where the summary is read.
 */
export function encodeForClassifier(tok: Tokenizer, bert: boolean, text: string, maxLen: number): number[] {
  const ids = tok.encode(text);
  if (ids.length === 0) ids.push(bert ? tok.sepId : tok.eosId);
  return bert ? [tok.clsId, ...ids.slice(0, maxLen - 2), tok.sepId] : ids.slice(-maxLen);
}

type Batch = { ids: Int32Array; mask: Float32Array; lengths: Int32Array; B: number; T: number; y: Int32Array };

function collate(seqs: number[][], ys: number[], padId: number): Batch {
  const p = padSequences(seqs, { padId });
  return { ids: p.ids, mask: p.attentionMask, lengths: p.lengths, B: p.batchSize, T: p.seqLen, y: Int32Array.from(ys) };
}

/** Class probabilities (softmax of the logits) for each text, in eval mode without gradients. */
export function predictProbs(c: Classifier, texts: readonly string[], batchSize = 64): number[][] {
  const bert = c.model.backbone instanceof Bert;
  const out: number[][] = [];
  const was = c.model.training;
  c.model.eval();
  try {
    noGrad(() => {
      for (let i = 0; i < texts.length; i += batchSize) {
        const seqs = texts.slice(i, i + batchSize).map((t) => encodeForClassifier(c.tok, bert, t, c.maxLen));
        const b = collate(seqs, [], c.tok.padId);
        const dev = c.model.device;
        const logits = tidy(() => c.model.forward(tensor(b.ids, [b.B, b.T], 'int32', dev), tensor(b.mask, [b.B, b.T], 'float32', dev), b.lengths).toArray());
        const K = c.labels.length;
        for (let r = 0; r < b.B; r++) {
          const row = Array.from(logits.subarray(r * K, (r + 1) * K));
          const m = Math.max(...row);
          const e = row.map((v) => Math.exp(v - m));
          const s = e.reduce((a, v) => a + v, 0);
          out.push(e.map((v) => v / s));
        }
      }
    });
  } finally {
    c.model.train(was);
  }
  return out;
}

export const argmax = (xs: readonly number[]): number => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);

export function evaluateClassifier(c: Classifier, examples: readonly ClsExample[], file?: string): ClassificationMetrics {
  const gold = classIds(examples, c.labels, file);
  const pred = predictProbs(c, examples.map((e) => e.text)).map(argmax);
  return classificationMetrics(gold, pred, c.labels.length);
}

/**
 * Fine-tunes a classifier and returns it (the caller disposes it); with outDir the
 * checkpoint (config.json carries id2label), metrics.jsonl and eval.json are written there.
 */
export function trainClassifier(partial: Partial<ClassifyConfig> & Pick<ClassifyConfig, 'init' | 'train'>): Classifier & ClassifyResult {
  const cfg: ClassifyConfig = { ...defaultClassifyConfig, ...partial, trainer: { ...defaultClassifyConfig.trainer, ...partial.trainer } };
  const { examples: train, file: trainFile } = examplesOf(cfg.train);
  const ev = cfg.eval !== undefined ? examplesOf(cfg.eval) : undefined;
  const labels = labelMap(train, cfg.labels);
  if (labels.length < 2) throw new ArgumentError(`classify: the training data has ${labels.length} label(s); need at least 2`);
  const y = classIds(train, labels, trainFile);
  manualSeed(cfg.seed);
  const { backbone, tokenizerJson } = loadBackbone(cfg.init, { fromScratch: cfg.fromScratch });
  if (!tokenizerJson) { backbone.dispose(); throw new DataError('the checkpoint has no tokenizer.json', cfg.init); }
  const tok = Tokenizer.fromJSON(tokenizerJson, join(cfg.init, 'tokenizer.json'));
  const model = new SequenceClassifier(backbone, labels, { dropout: cfg.dropout });
  const dev = cfg.device ?? 'cpu';
  try {
    model.to(dev);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const maxLen = Math.min(cfg.maxLen, backbone.config.n_positions);
  const bert = backbone instanceof Bert;
  const seqs = train.map((e) => encodeForClassifier(tok, bert, e.text, maxLen));
  const clf: Classifier = { model, tok, labels, maxLen, dispose: () => model.dispose() };

  // Shuffled epochs; the cursor (order, position, rng) is the data state a resume restores.
  const rng = new Rng(cfg.seed * 1000003 + 11);
  let order: number[] = [], pos = 0;
  const nextBatch = (): Batch => {
    const idx: number[] = [];
    while (idx.length < Math.min(cfg.batchSize, seqs.length)) {
      if (pos >= order.length) { order = rng.shuffle(Array.from({ length: seqs.length }, (_, i) => i)); pos = 0; }
      idx.push(order[pos++]);
    }
    return collate(idx.map((i) => seqs[i]), idx.map((i) => y[i]), tok.padId);
  };
  const task: TrainTask<Batch> = {
    model,
    nextBatch,
    loss: (b) => crossEntropy(model.forward(tensor(b.ids, [b.B, b.T], 'int32', dev), tensor(b.mask, [b.B, b.T], 'float32', dev), b.lengths), tensor(b.y, [b.B], 'int32', dev)),
    tokens: (b) => b.B,
    evaluate: ev ? () => {
      const m = evaluateClassifier(clf, ev.examples, ev.file);
      return { accuracy: m.accuracy, macro_f1: m.macroF1 };
    } : undefined,
    dataState: () => ({ order, pos, rng: rng.state() }),
    setDataState: (s) => {
      const st = s as { order: number[]; pos: number; rng: DataRngState };
      order = st.order; pos = st.pos; rng.setState(st.rng);
    },
    tokenizerJson: tok.toJSONString(),
  };
  if (cfg.outDir) mkdirSync(cfg.outDir, { recursive: true });
  const trainer = new Trainer(task, { stage: 'classify', outDir: cfg.outDir, progress: cfg.progress, ...cfg.trainer });
  try {
    const summary = trainer.run();
    const metrics = ev ? evaluateClassifier(clf, ev.examples, ev.file) : undefined;
    if (cfg.outDir && metrics) writeFileSync(join(cfg.outDir, 'eval.json'), JSON.stringify({ labels, ...metrics }, null, 2) + '\n');
    return { ...clf, summary, eval: metrics };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    trainer.dispose();
  }
}

/** trainClassifier, then frees the model: for the CLI and experiments that keep only numbers. */
export function runClassify(partial: Partial<ClassifyConfig> & Pick<ClassifyConfig, 'init' | 'train'>): ClassifyResult {
  const c = trainClassifier(partial);
  c.dispose();
  return { labels: c.labels, summary: c.summary, eval: c.eval };
}
