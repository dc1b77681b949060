/**
 * Direct preference optimisation (DPO and its variants) and KTO. The policy starts from a
 * checkpoint; a frozen copy is the reference, whose log-probs are computed once and cached.
 * Metrics: implicit rewards beta * (log pi - log pi_ref) of chosen and rejected, their margin,
 * and preference accuracy (chosen ranked above rejected; a tie counts one half, so an untrained
 * policy scores exactly chance).
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { ArgumentError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { withPolicyAndReference } from './session.js';
import { GPT } from '../models/gpt.js';
import { tensor } from '../tensor/creation.js';
import type { Device } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { noGrad } from '../autograd/graph.js';
import { slice } from '../ops/shape.js';
import { IndexSampler, type IndexCursor } from '../data/index_sampler.js';
import type { FeedbackExample, PreferencePair } from '../data/preferences.js';
import { Trainer, type TrainerConfig, type TrainSummary, type TrainTask } from './trainer.js';
import { batchCompletions, completionLogprobs, encodeCompletion, type EncodedCompletion } from './logprobs.js';
import { dpoLoss, type DpoLossName } from './losses/dpo.js';
import { ktoLoss } from './losses/kto.js';

export interface PreferenceMetrics { accuracy: number; rewardsChosen: number; rewardsRejected: number; margin: number; pairs: number }

export interface DpoConfig {
  /** Checkpoint folder of the starting policy (and reference); holds tokenizer.json. */
  init: string;
  pairs: PreferencePair[];
  evalPairs?: PreferencePair[];
  loss: DpoLossName;
  beta: number;
  /** SimPO's margin. */
  gamma?: number;
  /** Weight of the SFT (negative log-likelihood) term on the chosen answers (RPO); 0 = off. */
  sftWeight?: number;
  labelSmoothing?: number;
  /**
   * Train only the parameters whose names match this RegExp source, or 'top-mlp' (the top
   * block without its attention, and ln_f); everything is trained when absent.
   */
  trainable?: string;
  /** Where policy and reference live (cpu when absent). */
  device?: Device;
  /** Pairs per step. */
  batchSize: number;
  seed: number;
  outDir?: string;
  trainer: Partial<TrainerConfig>;
  progress: boolean;
}

export interface DpoResult { before: PreferenceMetrics; after: PreferenceMetrics; summary: TrainSummary }

interface Encoded { chosen: EncodedCompletion; rejected: EncodedCompletion }

function encodePairs(tok: Tokenizer, pairs: readonly PreferencePair[], maxLen: number): Encoded[] {
  return pairs.map((p) => ({ chosen: encodeCompletion(tok, p.prompt, p.chosen, maxLen), rejected: encodeCompletion(tok, p.prompt, p.rejected, maxLen) }));
}

/** Summed completion log-probs of many sequences, in batches, without gradient. */
function logprobsOf(model: GPT, items: readonly EncodedCompletion[], padId: number, batch = 16): Float32Array {
  const out = new Float32Array(items.length);
  noGrad(() => {
    for (let i = 0; i < items.length; i += batch) {
      const part = items.slice(i, i + batch);
      const lp = tidy(() => completionLogprobs(model, batchCompletions(part, padId)).toArray());
      out.set(lp, i);
    }
  });
  return out;
}

function prefMetrics(pc: Float32Array, pr: Float32Array, rc: Float32Array, rr: Float32Array, beta: number, refFree: boolean, lens?: [Float32Array, Float32Array]): PreferenceMetrics {
  let acc = 0, sc = 0, sr = 0;
  const n = pc.length;
  for (let i = 0; i < n; i++) {
    const a = refFree ? (beta * pc[i]) / lens![0][i] : beta * (pc[i] - rc[i]);
    const b = refFree ? (beta * pr[i]) / lens![1][i] : beta * (pr[i] - rr[i]);
    acc += a > b ? 1 : a === b ? 0.5 : 0;
    sc += a;
    sr += b;
  }
  return { accuracy: n ? acc / n : NaN, rewardsChosen: sc / n, rewardsRejected: sr / n, margin: (sc - sr) / n, pairs: n };
}

/** Trains the task and returns the held-out metrics before and after. */
function trainAndCompare<B>(task: TrainTask<B>, cfg: Partial<TrainerConfig>, before: PreferenceMetrics, evaluate: () => PreferenceMetrics): DpoResult {
  const trainer = new Trainer(task, { weightDecay: 0, ...cfg });
  try {
    const summary = trainer.run();
    return { before, after: evaluate(), summary };
  } finally {
    trainer.dispose();
  }
}

export function runDpo(cfg: DpoConfig): DpoResult {
  if (!(cfg.beta > 0)) throw new ArgumentError(`dpo: beta must be > 0, got ${cfg.beta}`);
  if (cfg.pairs.length === 0) throw new ArgumentError('dpo: no preference pairs');
  return withPolicyAndReference(cfg.init, cfg.outDir, ({ tok, policy, reference, maxLen }) => {
    const train = encodePairs(tok, cfg.pairs, maxLen);
    const evalSet = encodePairs(tok, cfg.evalPairs ?? [], maxLen);
    const refFree = cfg.loss === 'simpo';
    // 1. reference log-probs, once
    const refOf = (set: Encoded[]) => [logprobsOf(reference, set.map((e) => e.chosen), tok.padId), logprobsOf(reference, set.map((e) => e.rejected), tok.padId)];
    const [refC, refR] = refOf(train);
    const [evRefC, evRefR] = refOf(evalSet);
    const lens = (set: Encoded[]): [Float32Array, Float32Array] => [Float32Array.from(set, (e) => Math.max(1, e.chosen.length)), Float32Array.from(set, (e) => Math.max(1, e.rejected.length))];
    const evaluate = (): PreferenceMetrics => {
      if (evalSet.length === 0) return { accuracy: NaN, rewardsChosen: NaN, rewardsRejected: NaN, margin: NaN, pairs: 0 };
      const pc = logprobsOf(policy, evalSet.map((e) => e.chosen), tok.padId);
      const pr = logprobsOf(policy, evalSet.map((e) => e.rejected), tok.padId);
      return prefMetrics(pc, pr, evRefC, evRefR, cfg.beta, refFree, lens(evalSet));
    };
    const before = evaluate();
    // 2. training: a seeded shuffled pass over the pairs per epoch
    const sampler = new IndexSampler(train.length, Math.min(cfg.batchSize, train.length), cfg.seed);
    const vec = (xs: number[]) => tensor(Float32Array.from(xs), [xs.length], 'float32', policy.device);
    const task = {
      model: policy,
      nextBatch: () => sampler.next(),
      loss: (idx: number[]) => {
        const seqs = [...idx.map((i) => train[i].chosen), ...idx.map((i) => train[i].rejected)];
        const lp = completionLogprobs(policy, batchCompletions(seqs, tok.padId));
        const n = idx.length;
        return dpoLoss(cfg.loss, {
          policyChosen: slice(lp, 0, 0, n), policyRejected: slice(lp, 0, n, 2 * n),
          refChosen: vec(idx.map((i) => refC[i])), refRejected: vec(idx.map((i) => refR[i])),
          chosenLengths: vec(idx.map((i) => Math.max(1, train[i].chosen.length))),
          rejectedLengths: vec(idx.map((i) => Math.max(1, train[i].rejected.length))),
        }, { beta: cfg.beta, gamma: cfg.gamma, labelSmoothing: cfg.labelSmoothing, sftWeight: cfg.sftWeight }).loss;
      },
      tokens: (idx: number[]) => idx.reduce((s, i) => s + train[i].chosen.ids.length + train[i].rejected.ids.length, 0),
      evaluate: () => {
        const m = evaluate();
        return { accuracy: m.accuracy, margin: m.margin, rewards_chosen: m.rewardsChosen, rewards_rejected: m.rewardsRejected };
      },
      dataState: () => sampler.cursor(),
      setDataState: (s: unknown) => sampler.restore(s as IndexCursor),
      tokenizerJson: tok.toJSONString(),
    };
    return trainAndCompare(task, { stage: `dpo-${cfg.loss}`, outDir: cfg.outDir, progress: cfg.progress, ...cfg.trainer }, before, evaluate);
  }, { trainable: cfg.trainable, who: 'dpo', device: cfg.device });
}

export interface KtoConfig extends Omit<DpoConfig, 'pairs' | 'evalPairs' | 'loss' | 'gamma' | 'labelSmoothing'> {
  feedback: FeedbackExample[];
  /** Held-out pairs for preference accuracy (KTO trains on single answers; pairs only measure). */
  evalPairs?: PreferencePair[];
  lambdaDesirable?: number;
  lambdaUndesirable?: number;
}

export function runKto(cfg: KtoConfig): DpoResult {
  if (cfg.feedback.length === 0) throw new ArgumentError('kto: no feedback examples');
  return withPolicyAndReference(cfg.init, cfg.outDir, ({ tok, policy, reference, maxLen }) => {
    const items = cfg.feedback.map((f) => encodeCompletion(tok, f.prompt, f.completion, maxLen));
    const refLp = logprobsOf(reference, items, tok.padId);
    const evalSet = encodePairs(tok, cfg.evalPairs ?? [], maxLen);
    const evRefC = logprobsOf(reference, evalSet.map((e) => e.chosen), tok.padId);
    const evRefR = logprobsOf(reference, evalSet.map((e) => e.rejected), tok.padId);
    const evaluate = (): PreferenceMetrics => evalSet.length === 0
      ? { accuracy: NaN, rewardsChosen: NaN, rewardsRejected: NaN, margin: NaN, pairs: 0 }
      : prefMetrics(logprobsOf(policy, evalSet.map((e) => e.chosen), tok.padId), logprobsOf(policy, evalSet.map((e) => e.rejected), tok.padId), evRefC, evRefR, cfg.beta, false);
    const before = evaluate();
    const sampler = new IndexSampler(items.length, Math.min(cfg.batchSize, items.length), cfg.seed);
    const task = {
      model: policy,
      nextBatch: () => sampler.next(),
      loss: (idx: number[]) => {
        const lp = completionLogprobs(policy, batchCompletions(idx.map((i) => items[i]), tok.padId));
        const ref = tensor(Float32Array.from(idx, (i) => refLp[i]), [idx.length], 'float32', policy.device);
        // z: the batch's mean log-ratio, detached and clamped at 0 (a simple KL estimate).
        const lpa = lp.toArray();
        const z = idx.reduce((s, i, k) => s + (lpa[k] - refLp[i]), 0) / idx.length;
        return ktoLoss(lp, ref, idx.map((i) => (cfg.feedback[i].label ? 1 : 0)), z, { beta: cfg.beta, lambdaDesirable: cfg.lambdaDesirable, lambdaUndesirable: cfg.lambdaUndesirable });
      },
      tokens: (idx: number[]) => idx.reduce((s, i) => s + items[i].ids.length, 0),
      evaluate: () => { const m = evaluate(); return { accuracy: m.accuracy, margin: m.margin }; },
      dataState: () => sampler.cursor(),
      setDataState: (s: unknown) => sampler.restore(s as IndexCursor),
      tokenizerJson: tok.toJSONString(),
    };
    return trainAndCompare(task, { stage: 'kto', outDir: cfg.outDir, progress: cfg.progress, ...cfg.trainer }, before, evaluate);
  }, { trainable: cfg.trainable, who: 'kto', device: cfg.device });
}
