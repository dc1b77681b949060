/**
 * Reward model: a GPT backbone with a scalar head read at the last real token of
 * prompt + completion (rendered with the chat template, as every preference trainer here
 * does). Trained with the Bradley–Terry loss on preference pairs,
 *   L = -log sigmoid(r_chosen - r_rejected),
 * or with a logistic loss on thumbs-up/down feedback, L = -log sigmoid(s * r), s = +1 / -1.
 * Optional reward centring (TRL's center_rewards_coefficient): lambda * mean((r_c + r_r)^2)
 * on pairs, lambda * mean(r)^2 on feedback; Bradley–Terry only sees differences, so without it
 * the rewards' offset drifts freely.
 *
 * Checkpoint: config.json is the GPT config plus `task: 'reward'` and `reward_head: true`;
 * weights are `backbone.*` (the GPT) and `reward_head.weight` (1, C), `reward_head.bias` (1).
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { ArgumentError, DataError } from '../errors.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { GPT } from '../models/gpt.js';
import type { GPTConfig } from '../models/config.js';
import { lastTokenHidden } from '../models/heads.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { restrictTrainable, topMlpPattern } from './session.js';
import type { Device, Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { noGrad } from '../autograd/graph.js';
import { add, affine, mul, square, sub } from '../ops/elementwise.js';
import { mean } from '../ops/reduce.js';
import { reshape, slice } from '../ops/shape.js';
import { IndexSampler, type IndexCursor } from '../data/index_sampler.js';
import type { FeedbackExample, PreferencePair } from '../data/preferences.js';
import { acquireOutputLock, loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { Trainer, type TrainerConfig, type TrainSummary } from './trainer.js';
import { batchCompletions, encodeCompletion, type EncodedCompletion } from './logprobs.js';
import { logSigmoid } from './losses/common.js';

const REWARD_KEYS = ['task', 'reward_head'];

export interface RewardConfig extends GPTConfig { task: 'reward'; reward_head: true }

/** A batch of rendered prompt + completion sequences, right-padded. */
export interface RewardBatch { ids: Int32Array; B: number; T: number; lengths: Int32Array }

export function rewardBatch(items: readonly EncodedCompletion[], padId: number): RewardBatch {
  if (items.length === 0) throw new ArgumentError('rewardBatch: no sequences');
  const b = batchCompletions(items, padId);
  return { ids: b.ids, B: b.B, T: b.T, lengths: Int32Array.from(items, (e) => e.ids.length) };
}

export class RewardModel extends Module {
  readonly config: RewardConfig;
  backbone: GPT;
  reward_head: Linear;

  /** A fresh head (zero weights, so every reward starts at exactly 0) on `backbone`. */
  constructor(backbone: GPT, readonly tok: Tokenizer) {
    super();
    if (tok.vocabSize > backbone.config.vocab_size)
      throw new ArgumentError(`RewardModel: the tokenizer has ${tok.vocabSize} tokens but the model's vocab_size is ${backbone.config.vocab_size}`);
    this.backbone = backbone;
    this.config = { ...backbone.config, task: 'reward', reward_head: true };
    this.reward_head = new Linear(backbone.config.n_embd, 1, { std: 0 });
  }

  get maxLen(): number { return this.backbone.config.n_positions; }

  encode(prompt: string, completion: string): EncodedCompletion {
    return encodeCompletion(this.tok, prompt, completion, this.maxLen);
  }

  /** (B) rewards, differentiable through head and backbone. */
  forwardScores(batch: RewardBatch): Tensor {
    const h = this.backbone.forwardHidden(tensor(batch.ids, [batch.B, batch.T], 'int32', this.device)); // (B, T, C)
    const r = this.reward_head.forward(lastTokenHidden(h, batch.lengths)); // (B, 1)
    return reshape(r, [batch.B]);
  }

  /** Rewards of completions to prompts, without gradient, in eval mode, in batches. */
  score(prompts: readonly string[], completions: readonly string[], batchSize = 16): Float32Array {
    if (prompts.length !== completions.length)
      throw new ArgumentError(`RewardModel.score: ${prompts.length} prompts but ${completions.length} completions`);
    const items = prompts.map((p, i) => {
      if (typeof p !== 'string' || typeof completions[i] !== 'string') throw new ArgumentError(`RewardModel.score: prompt and completion ${i} must be strings`);
      return this.encode(p, completions[i]);
    });
    return this.scoreEncoded(items, batchSize);
  }

  scoreEncoded(items: readonly EncodedCompletion[], batchSize = 16): Float32Array {
    const out = new Float32Array(items.length);
    const wasTraining = this.backbone.training;
    this.eval();
    try {
      noGrad(() => {
        for (let i = 0; i < items.length; i += batchSize) {
          const part = items.slice(i, i + batchSize);
          out.set(tidy(() => this.forwardScores(rewardBatch(part, this.tok.padId)).toArray()), i);
        }
      });
    } finally {
      this.train(wasTraining);
    }
    return out;
  }

  save(dir: string): void {
    saveCheckpoint(dir, { config: this.config, weights: this.stateDict(), tokenizerJson: this.tok.toJSONString() });
  }

  /** A GPT checkpoint (SFT or pretrained) with a fresh reward head. */
  static fromGpt(dir: string): RewardModel {
    const ck = loadCheckpoint(dir);
    if (!ck.tokenizerJson) throw new DataError('no tokenizer.json beside the model', dir);
    const tok = Tokenizer.fromJSON(ck.tokenizerJson, join(dir, 'tokenizer.json'));
    const gpt = GPT.fromCheckpoint(dir);
    try {
      return new RewardModel(gpt, tok);
    } catch (e) {
      gpt.dispose();
      throw e;
    }
  }

  static fromCheckpoint(dir: string): RewardModel {
    const ck = loadCheckpoint(dir);
    const where = join(dir, 'config.json');
    if (ck.config.model_type !== 'gpt' || ck.config.reward_head !== true)
      throw new DataError(`config.json has model_type '${String(ck.config.model_type)}' without "reward_head": true; not a reward model (train one with lmtrain reward)`, where);
    if (!ck.tokenizerJson) throw new DataError('no tokenizer.json beside the reward model', dir);
    const tok = Tokenizer.fromJSON(ck.tokenizerJson, join(dir, 'tokenizer.json'));
    const bare = Object.fromEntries(Object.entries(ck.config).filter(([k]) => !REWARD_KEYS.includes(k)));
    const gpt = new GPT(bare as Partial<GPTConfig>);
    let m: RewardModel;
    try {
      m = new RewardModel(gpt, tok);
    } catch (e) {
      gpt.dispose();
      throw e;
    }
    try {
      m.loadStateDict(ck.weights);
    } catch (e) {
      m.dispose();
      throw e;
    }
    return m;
  }
}

// ---- losses: pure functions of the rewards ----

/** Bradley–Terry: mean -log sigmoid(r_c - r_r), plus centre * mean((r_c + r_r)^2). rc, rr (N). */
export function bradleyTerryLoss(rc: Tensor, rr: Tensor, center = 0): Tensor {
  const bt = affine(mean(logSigmoid(sub(rc, rr))), -1);
  return center > 0 ? add(bt, affine(mean(square(add(rc, rr))), center)) : bt;
}

/** Logistic loss on binary feedback: mean -log sigmoid(s * r), s = +1 (good) / -1 (bad); plus centre * mean(r)^2. */
export function feedbackLoss(r: Tensor, labels: readonly boolean[], center = 0): Tensor {
  if (labels.length !== r.size) throw new ArgumentError(`feedbackLoss: ${labels.length} labels for ${r.size} rewards`);
  const signs = tensor(Float32Array.from(labels, (l) => (l ? 1 : -1)), [labels.length], 'float32', r.device);
  const nll = affine(mean(logSigmoid(mul(r, signs))), -1);
  return center > 0 ? add(nll, affine(square(mean(r)), center)) : nll;
}

// ---- metrics ----

export interface RewardMetrics {
  /** Pairs with r_c > r_r (a tie counts one half, so a model that scores all alike is exactly chance). */
  accuracy: number;
  /** Mean of r_c - r_r. */
  margin: number;
  rewardsChosen: number;
  rewardsRejected: number;
  /** Mean and standard deviation of all 2N rewards. */
  rewardMean: number;
  rewardStd: number;
  pairs: number;
}

export function rewardMetrics(rc: ArrayLike<number>, rr: ArrayLike<number>): RewardMetrics {
  const n = rc.length;
  if (rr.length !== n) throw new ArgumentError(`rewardMetrics: ${n} chosen but ${rr.length} rejected rewards`);
  if (n === 0) return { accuracy: NaN, margin: NaN, rewardsChosen: NaN, rewardsRejected: NaN, rewardMean: NaN, rewardStd: NaN, pairs: 0 };
  let acc = 0, sc = 0, sr = 0, sq = 0;
  for (let i = 0; i < n; i++) {
    acc += rc[i] > rr[i] ? 1 : rc[i] === rr[i] ? 0.5 : 0;
    sc += rc[i];
    sr += rr[i];
  }
  const m = (sc + sr) / (2 * n);
  for (let i = 0; i < n; i++) sq += (rc[i] - m) ** 2 + (rr[i] - m) ** 2;
  return { accuracy: acc / n, margin: (sc - sr) / n, rewardsChosen: sc / n, rewardsRejected: sr / n, rewardMean: m, rewardStd: Math.sqrt(sq / (2 * n)), pairs: n };
}

// ---- training ----

export interface RewardTrainConfig {
  /** GPT checkpoint (SFT or pretrained) to start from; holds tokenizer.json. */
  init: string;
  /** Preference pairs (Bradley–Terry); or `feedback` for the logistic loss. Exactly one. */
  pairs?: PreferencePair[];
  feedback?: FeedbackExample[];
  /** Held-out pairs for accuracy, margin and reward statistics. */
  evalPairs?: PreferencePair[];
  /** Reward-centring coefficient lambda (0 = off; TRL suggests 0.01). */
  center?: number;
  /** Pairs (or feedback examples) per step. */
  batchSize: number;
  seed: number;
  outDir?: string;
  /**
   * Train only the backbone parameters matching this RegExp source (names as in the checkpoint:
   * "backbone.blocks.1.mlp.fc.weight"), or 'top-mlp'; the reward head always trains.
   */
  trainable?: string;
  /** Where the reward model trains (cpu when absent). */
  device?: Device;
  trainer: Partial<TrainerConfig>;
  progress: boolean;
}

export interface RewardResult { before: RewardMetrics; after: RewardMetrics; summary: TrainSummary }

export function runReward(cfg: RewardTrainConfig): RewardResult {
  const hasPairs = cfg.pairs !== undefined, hasFeedback = cfg.feedback !== undefined;
  if (hasPairs === hasFeedback) throw new ArgumentError('reward: give exactly one of pairs (Bradley–Terry) or feedback (logistic loss)');
  const n = hasPairs ? cfg.pairs!.length : cfg.feedback!.length;
  if (n === 0) throw new ArgumentError(`reward: no ${hasPairs ? 'preference pairs' : 'feedback examples'}`);
  const center = cfg.center ?? 0;
  if (!(center >= 0) || !Number.isFinite(center)) throw new ArgumentError(`reward: center must be a finite number >= 0, got ${cfg.center}`);
  if (!Number.isInteger(cfg.batchSize) || cfg.batchSize < 1) throw new ArgumentError(`reward: batchSize must be a positive integer, got ${cfg.batchSize}`);
  const lock = cfg.outDir ? (mkdirSync(cfg.outDir, { recursive: true }), acquireOutputLock(cfg.outDir)) : null;
  try {
    const model = RewardModel.fromGpt(cfg.init);
    try {
      model.to(cfg.device ?? 'cpu');
      if (cfg.trainable !== undefined) {
        const pattern = cfg.trainable === 'top-mlp' ? topMlpPattern(model.config.n_layer, 'backbone.') : cfg.trainable;
        restrictTrainable(model, pattern, 'reward');
        model.reward_head.parameters().forEach((p) => (p.requiresGrad = true));
      }
      const pad = model.tok.padId;
      const evalC = (cfg.evalPairs ?? []).map((p) => model.encode(p.prompt, p.chosen));
      const evalR = (cfg.evalPairs ?? []).map((p) => model.encode(p.prompt, p.rejected));
      const evaluate = (): RewardMetrics => rewardMetrics(model.scoreEncoded(evalC), model.scoreEncoded(evalR));
      const before = evaluate();
      // Training items: for pairs, [chosen..., rejected...] in one batch; for feedback, one each.
      const chosen = hasPairs ? cfg.pairs!.map((p) => model.encode(p.prompt, p.chosen)) : [];
      const rejected = hasPairs ? cfg.pairs!.map((p) => model.encode(p.prompt, p.rejected)) : [];
      const single = hasFeedback ? cfg.feedback!.map((f) => model.encode(f.prompt, f.completion)) : [];
      const sampler = new IndexSampler(n, Math.min(cfg.batchSize, n), cfg.seed);
      const task = {
        model,
        nextBatch: () => sampler.next(),
        loss: (idx: number[]): Tensor => {
          if (!hasPairs) {
            const r = model.forwardScores(rewardBatch(idx.map((i) => single[i]), pad));
            return feedbackLoss(r, idx.map((i) => cfg.feedback![i].label), center);
          }
          const k = idx.length;
          const r = model.forwardScores(rewardBatch([...idx.map((i) => chosen[i]), ...idx.map((i) => rejected[i])], pad));
          return bradleyTerryLoss(slice(r, 0, 0, k), slice(r, 0, k, 2 * k), center);
        },
        tokens: (idx: number[]) => idx.reduce((s, i) => s + (hasPairs ? chosen[i].ids.length + rejected[i].ids.length : single[i].ids.length), 0),
        evaluate: () => {
          const m = evaluate();
          return { accuracy: m.accuracy, margin: m.margin, reward_mean: m.rewardMean, reward_std: m.rewardStd };
        },
        dataState: () => sampler.cursor(),
        setDataState: (s: unknown) => sampler.restore(s as IndexCursor),
        tokenizerJson: model.tok.toJSONString(),
      };
      const trainer = new Trainer(task, { weightDecay: 0, stage: hasPairs ? 'reward' : 'reward-feedback', outDir: cfg.outDir, progress: cfg.progress, ...cfg.trainer });
      try {
        const summary = trainer.run();
        return { before, after: evaluate(), summary };
      } finally {
        trainer.dispose();
      }
    } finally {
      model.dispose();
    }
  } finally {
    lock?.release();
  }
}
