/**
 * Task heads over a pretrained backbone (BERT or GPT), as Modules whose parameter names are
 * `backbone.*` and `head.*` / `qa.*`, and whose config.json is the backbone's config plus
 * `task` and, for classification, `num_labels` and `id2label` (the label map, so a saved
 * classifier maps its outputs back to the names in the data).
 *
 * Sentence summary: BERT uses its [CLS] pooler; GPT reads the hidden state of the last real
 * token, the only position that has seen the whole sequence under the causal mask.
 */
import { Module } from '../nn/module.js';
import { Dropout, Linear } from '../nn/layers.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { add } from '../ops/elementwise.js';
import { gather, reshape, slice } from '../ops/shape.js';
import { ArgumentError, DataError, ShapeError } from '../errors.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { Bert } from './bert.js';
import { GPT } from './gpt.js';
import type { BertConfig, GPTConfig } from './config.js';

export type Backbone = Bert | GPT;
export type BackboneConfig = BertConfig | GPTConfig;

const TASK_KEYS = ['task', 'num_labels', 'id2label'];

function backboneFromConfig(cfg: Record<string, unknown>, where: string): Backbone {
  const bare = Object.fromEntries(Object.entries(cfg).filter(([k]) => !TASK_KEYS.includes(k)));
  if (bare.model_type === 'bert') return new Bert(bare as Partial<BertConfig>);
  if (bare.model_type === 'gpt') return new GPT(bare as Partial<GPTConfig>);
  throw new DataError(`model_type '${String(bare.model_type)}' has no classification/QA head here (use bert or gpt)`, where);
}

/**
 * A backbone from a checkpoint directory: pretrained weights, or with fromScratch a fresh
 * random init of the same config. A fine-tuned checkpoint (weights under `backbone.`) works
 * too; its head is dropped.
 */
export function loadBackbone(dir: string, opts: { fromScratch?: boolean } = {}): { backbone: Backbone; tokenizerJson?: Record<string, unknown> } {
  const ck = loadCheckpoint(dir);
  const backbone = backboneFromConfig(ck.config, `${dir}/config.json`);
  if (!opts.fromScratch) {
    const nested = [...ck.weights.keys()].some((k) => k.startsWith('backbone.'));
    const weights = nested
      ? new Map([...ck.weights].filter(([k]) => k.startsWith('backbone.')).map(([k, v]) => [k.slice('backbone.'.length), v]))
      : ck.weights;
    try {
      backbone.loadStateDict(weights);
    } catch (e) {
      backbone.dispose();
      throw e;
    }
  }
  return { backbone, tokenizerJson: ck.tokenizerJson };
}

export interface ClassifierConfig extends Record<string, unknown> {
  model_type: 'bert' | 'gpt';
  task: 'sequence-classification';
  num_labels: number;
  id2label: string[];
}

export class SequenceClassifier extends Module {
  readonly config: ClassifierConfig;
  backbone: Backbone;
  drop: Dropout;
  head: Linear;

  constructor(backbone: Backbone, labels: readonly string[], opts: { dropout?: number } = {}) {
    super();
    if (labels.length < 2) throw new ArgumentError(`SequenceClassifier: need at least 2 labels, got ${labels.length}`);
    this.backbone = backbone;
    this.config = { ...backbone.config, task: 'sequence-classification', num_labels: labels.length, id2label: [...labels] };
    this.drop = new Dropout(opts.dropout ?? 0.1);
    this.head = new Linear(backbone.config.n_embd, labels.length);
  }

  /**
   * ids (B, T) right-padded, mask (B, T) float 1/0, lengths (B) real tokens per row
   * -> logits (B, K).
   */
  forward(ids: Tensor, mask: Tensor, lengths: ArrayLike<number>): Tensor {
    const [B, T] = ids.shape;
    if (lengths.length !== B) throw new ShapeError(`SequenceClassifier: ${lengths.length} lengths for a batch of ${B}`);
    let summary: Tensor;
    if (this.backbone instanceof Bert) summary = this.backbone.pooled(ids, { attentionMask: mask });
    else summary = lastTokenHidden(this.backbone.forwardHidden(ids), Array.from(lengths, (n) => Math.min(T, Math.max(1, n))));
    return this.head.forward(this.drop.forward(summary));
  }

  static fromCheckpoint(dir: string): SequenceClassifier {
    const ck = loadCheckpoint(dir);
    const cfg = ck.config as Partial<ClassifierConfig>;
    if (cfg.task !== 'sequence-classification' || !Array.isArray(cfg.id2label))
      throw new DataError(`config.json has task '${String(cfg.task)}', expected 'sequence-classification' with id2label`, `${dir}/config.json`);
    const m = new SequenceClassifier(backboneFromConfig(ck.config, `${dir}/config.json`), cfg.id2label.map(String));
    try {
      m.loadStateDict(ck.weights);
    } catch (e) {
      m.dispose();
      throw e;
    }
    return m;
  }
}

/** Extractive QA: start and end logits over the tokens of a BERT encoding. */
export class SpanQA extends Module {
  readonly config: Record<string, unknown>;
  backbone: Bert;
  qa: Linear;

  constructor(backbone: Bert) {
    super();
    this.backbone = backbone;
    this.config = { ...backbone.config, task: 'extractive-qa' };
    this.qa = new Linear(backbone.config.n_embd, 2);
  }

  /**
   * ids, types (B, T) int32, mask (B, T) float, allowed (B, T) float 1 where an answer may
   * start or end -> start and end logits (B, T), -1e4 outside `allowed` so softmax ignores them.
   */
  forward(ids: Tensor, types: Tensor, mask: Tensor, allowed: ArrayLike<number>): { start: Tensor; end: Tensor } {
    const [B, T] = ids.shape;
    const h = this.backbone.forward(ids, { tokenTypeIds: types, attentionMask: mask });
    const se = this.qa.forward(reshape(h, [B * T, this.backbone.config.n_embd])); // (B*T, 2)
    const bias = tensor(Float32Array.from(allowed, (a) => (a > 0 ? 0 : -1e4)), [B, T], 'float32', ids.device);
    const pick = (i: number) => add(reshape(slice(se, 1, i, i + 1), [B, T]), bias);
    return { start: pick(0), end: pick(1) };
  }

  static fromCheckpoint(dir: string): SpanQA {
    const ck = loadCheckpoint(dir);
    if (ck.config.task !== 'extractive-qa') throw new DataError(`config.json has task '${String(ck.config.task)}', expected 'extractive-qa'`, `${dir}/config.json`);
    const bb = backboneFromConfig(ck.config, `${dir}/config.json`);
    if (!(bb instanceof Bert)) { bb.dispose(); throw new DataError('extractive QA needs a bert backbone', `${dir}/config.json`); }
    const m = new SpanQA(bb);
    try {
      m.loadStateDict(ck.weights);
    } catch (e) {
      m.dispose();
      throw e;
    }
    return m;
  }
}

/**
 * The hidden state of each row's last real token: h (B, T, C) right-padded, lengths (B) real
 * tokens per row -> (B, C). Under the causal mask that position has seen the whole sequence,
 * and right padding after it is never seen, so no key padding mask is needed.
 */
export function lastTokenHidden(h: Tensor, lengths: ArrayLike<number>): Tensor {
  const [B, T, C] = h.shape;
  if (lengths.length !== B) throw new ShapeError(`lastTokenHidden: ${lengths.length} lengths for a batch of ${B}`);
  const last = Int32Array.from({ length: B }, (_, b) => {
    const n = lengths[b];
    if (!Number.isInteger(n) || n < 1 || n > T) throw new ShapeError(`lastTokenHidden: row ${b} has length ${n}, expected 1..${T}`);
    return b * T + n - 1;
  });
  return gather(reshape(h, [B * T, C]), tensor(last, [B], 'int32', h.device), 0);
}
