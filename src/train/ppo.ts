/**
 * PPO-RLHF. The policy is the GPT from `init` with a value head: a Linear(C -> 1) on the
 * policy's own final hidden states (GPT.forwardHidden), so policy and critic share the
 * backbone and one forward gives both log-probs and values; the value loss is weighted by
 * vfCoef so it does not swamp the policy gradient. A frozen copy of `init` is the reference
 * for the KL penalty. Only the policy is saved (a GPT checkpoint); the value head is a
 * training device and is dropped.
 *
 * One iteration, phases numbered below as they happen: (1) rollout, (2) rewards, (3)
 * advantages, (4) epochs over minibatches. The RL maths (GAE, whitening, KL estimators, the
 * clipped losses) are the pure functions of losses/rl.ts.
 */
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { GPT } from '../models/gpt.js';
import { Linear } from '../nn/layers.js';
import type { Device, Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { backward, noGrad } from '../autograd/graph.js';
import { add, affine } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { reshape, slice } from '../ops/shape.js';
import { AdamW } from '../optim/adamw.js';
import { clipGradNorm } from '../optim/clip.js';
import { Rng } from '../data/rng.js';
import { saveCheckpoint } from '../io/checkpoint.js';
import { withPolicyAndReference } from './session.js';
import { ChatMLTemplate, stopTokenIds } from '../sft/chat_template.js';
import { sampleToken, seededUniform } from '../generate/sampling.js';
import { MetricsWriter } from './metrics.js';
import { ProgressBar } from './progress.js';
import { batchCompletions, completionFromIds, tokenLogprobs, tokenLogprobsFromLogits, type CompletionBatch, type EncodedCompletion } from './logprobs.js';
import { gae, KL_ESTIMATORS, ppoPolicyLoss, ppoValueLoss, whiten } from './losses/rl.js';
import { scoreWith, type RewardFn } from './rewards.js';

// ---- shared by PPO and GRPO ------------------------------------------------------------------

export type KlEstimator = keyof typeof KL_ESTIMATORS;

/** Settings common to PPO and GRPO, grouped by concern; defaults in defaultRlConfig. */
export interface RlConfig {
  // model and data
  /** Checkpoint folder of the starting policy (and frozen reference); holds tokenizer.json. */
  init: string;
  /** Training prompts (user turns; rendered with ChatML). */
  prompts: readonly string[];
  /** Held-out prompts: mean reward before and after. */
  evalPrompts?: readonly string[];
  reward: RewardFn;
  outDir?: string;
  /** Train only the policy parameters matching this RegExp source, or 'top-mlp' (see session.ts); all when absent. */
  trainable?: string;
  /** Where policy, reference and value head live (cpu when absent); a reward model stays where it was loaded. */
  device?: Device;
  // rollout
  /** Iterations of rollout + update. */
  iterations: number;
  /** Prompts per iteration. */
  batchSize: number;
  maxNewTokens: number;
  /** Sampling temperature of rollouts (1: the policy's own distribution, as the ratio assumes). */
  temperature: number;
  // optimisation
  lr: number;
  /** Passes over each iteration's rollouts. */
  epochs: number;
  /** Sequences per minibatch within an epoch. */
  minibatchSize: number;
  /** PPO ratio clip epsilon. */
  clip: number;
  /** Global gradient-norm clip (0 = off). */
  clipNorm: number;
  // KL to the reference
  klCoef: number;
  klEstimator: KlEstimator;
  // bookkeeping
  seed: number;
  /** Held-out prompts whose completions before/after are returned. */
  samples: number;
  /** Completions sampled per held-out prompt for the held-out mean reward. */
  evalSamples: number;
  progress: boolean;
}

export const defaultRlConfig: Omit<RlConfig, 'init' | 'prompts' | 'reward'> = {
  iterations: 20, batchSize: 16, maxNewTokens: 24, temperature: 1,
  lr: 1e-5, epochs: 4, minibatchSize: 8, clip: 0.2, clipNorm: 1,
  klCoef: 0.05, klEstimator: 'k1', seed: 1, samples: 4, evalSamples: 4, progress: true,
};

export interface Rollout {
  prompt: string;
  /** The completion's tokens as sampled (the stop token included when one was emitted). */
  ids: number[];
  text: string;
  /** Mean entropy (nats) of the sampling distributions over the completion's tokens. */
  entropy: number;
  encoded: EncodedCompletion;
}

/** meanReward: sampled completions (evalSamples per prompt); greedyReward: greedy ones. */
export interface RlEval { meanReward: number; greedyReward: number; prompts: number }
export interface RlSample { prompt: string; before: string; after: string; rewardBefore: number; rewardAfter: number }
export interface RlIterationMetrics { iteration: number; reward: number; kl: number; entropy: number; clipFraction: number; policyLoss: number; valueLoss?: number; length: number }
export interface RlResult { before: RlEval; after: RlEval; history: RlIterationMetrics[]; samples: RlSample[]; seconds: number }

export interface RlSession { tok: Tokenizer; policy: GPT; reference: GPT; stops: number[]; template: ChatMLTemplate; metrics: MetricsWriter | null }

export function checkRlConfig(name: string, c: RlConfig): void {
  const posInt = (k: keyof RlConfig) => { const v = c[k] as number; if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`${name}: ${k} must be a positive integer, got ${v}`); };
  (['iterations', 'batchSize', 'maxNewTokens', 'epochs', 'minibatchSize'] as const).forEach(posInt);
  if (c.prompts.length === 0) throw new ArgumentError(`${name}: no training prompts`);
  if (!(c.lr > 0)) throw new ArgumentError(`${name}: lr must be > 0, got ${c.lr}`);
  if (!(c.clip > 0)) throw new ArgumentError(`${name}: clip must be > 0, got ${c.clip}`);
  if (!(c.klCoef >= 0)) throw new ArgumentError(`${name}: klCoef must be >= 0, got ${c.klCoef}`);
  if (!(c.temperature > 0)) throw new ArgumentError(`${name}: temperature must be > 0 for rollouts, got ${c.temperature}`);
  if (!(c.klEstimator in KL_ESTIMATORS)) throw new ArgumentError(`${name}: klEstimator must be one of ${Object.keys(KL_ESTIMATORS).join(', ')}, got ${c.klEstimator}`);
}

/** Locks the output folder, loads the policy and a frozen reference from `init`, frees all after. */
export function withRlSession<T>(init: string, outDir: string | undefined, fn: (s: RlSession) => T, opts: { trainable?: string; who?: string; device?: Device } = {}): T {
  return withPolicyAndReference(init, outDir, ({ tok, policy, reference }) => {
    const template = new ChatMLTemplate();
    const metrics = outDir ? new MetricsWriter(join(outDir, 'metrics.jsonl')) : null;
    return fn({ tok, policy, reference, stops: stopTokenIds(tok, template), template, metrics });
  }, opts);
}

/**
 * n completions of one prompt sampled together: one batch of n rows through the KV cache (the
 * prompt once, then one position per step). A row ends at a stop token; the batch ends when
 * all rows have, at maxNewTokens, or when the context is full. temperature 0 is greedy.
 */
export function sampleCompletions(s: Pick<RlSession, 'tok' | 'policy' | 'stops' | 'template'>, prompt: string, n: number, opts: { maxNewTokens: number; temperature: number; rand: () => number }): Rollout[] {
  const { tok, policy: model, stops } = s;
  const ctx = model.config.n_positions;
  const promptIds = tok.encode(s.template.prompt([{ role: 'user', content: prompt }])).slice(-(ctx - 1));
  const limit = Math.min(ctx, promptIds.length + opts.maxNewTokens);
  const out = Array.from({ length: n }, () => ({ ids: [] as number[], ent: 0, done: false }));
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      const cache = model.newCache(n, limit);
      try {
        let feed = Array.from({ length: n }, () => promptIds).flat();
        let T = promptIds.length;
        while (true) {
          const rows = tidy(() => {
            const logits = model.forward(tensor(Int32Array.from(feed), [n, T], 'int32', model.device), { cache }); // (n, T, V)
            return slice(logits, 1, T - 1, T).toArray();
          });
          const V = model.config.vocab_size;
          const next: number[] = [];
          for (let b = 0; b < n; b++) {
            const o = out[b];
            if (o.done) { next.push(stops[0] ?? 0); continue; }
            const row = rows.subarray(b * V, (b + 1) * V);
            o.ent += entropyOf(row, opts.temperature);
            const t = sampleToken(row, { temperature: opts.temperature }, opts.rand());
            o.ids.push(t);
            next.push(t);
            if (stops.includes(t) || o.ids.length >= opts.maxNewTokens) o.done = true;
          }
          if (out.every((o) => o.done) || cache.length >= limit) break;
          feed = next;
          T = 1;
        }
      } finally {
        cache.dispose();
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return out.map((o) => {
    const cut = o.ids.findIndex((t) => stops.includes(t));
    return {
      prompt, ids: o.ids, entropy: o.ids.length ? o.ent / o.ids.length : 0,
      text: tok.decode(cut >= 0 ? o.ids.slice(0, cut) : o.ids, { skipSpecial: true }),
      encoded: completionFromIds(promptIds, o.ids, ctx),
    };
  });
}

/** Entropy of softmax(logits / temperature), in nats. */
function entropyOf(logits: ArrayLike<number>, temperature: number): number {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i] / temperature);
  let z = 0, s = 0;
  for (let i = 0; i < logits.length; i++) { const a = logits[i] / temperature - m; const e = Math.exp(a); z += e; s += e * a; }
  return Math.log(z) - s / z;
}

/**
 * Held-out rewards: the mean over `k` completions per prompt sampled at the rollout temperature
 * with a fixed seed (the quantity RL maximises, measured the same way before and after), and the
 * mean of greedy completions (also returned as texts, for samples).
 */
export function evaluateRewards(s: RlSession, prompts: readonly string[], reward: RewardFn, c: Pick<RlConfig, 'maxNewTokens' | 'temperature' | 'evalSamples' | 'seed'>): { eval: RlEval; texts: string[]; scores: Float32Array } {
  if (prompts.length === 0) return { eval: { meanReward: NaN, greedyReward: NaN, prompts: 0 }, texts: [], scores: new Float32Array(0) };
  const texts = prompts.map((p) => sampleCompletions(s, p, 1, { maxNewTokens: c.maxNewTokens, temperature: 0, rand: () => 0 })[0].text);
  const scores = scoreWith(reward, prompts, texts);
  const rand = seededUniform(c.seed + 7919);
  const sampled = prompts.flatMap((p) => sampleCompletions(s, p, c.evalSamples, { maxNewTokens: c.maxNewTokens, temperature: c.temperature, rand }));
  const sScores = scoreWith(reward, sampled.map((r) => r.prompt), sampled.map((r) => r.text));
  return { eval: { meanReward: meanOf(Array.from(sScores)), greedyReward: meanOf(Array.from(scores)), prompts: prompts.length }, texts, scores };
}

/** Per-row arrays (each the length of its row) padded into one (B, T) tensor. */
export function padRows(rows: readonly ArrayLike<number>[], b: CompletionBatch, device: Device = 'cpu'): Tensor {
  const out = new Float32Array(b.B * b.T);
  rows.forEach((r, i) => out.set(Array.from(r).slice(0, b.T), i * b.T));
  return tensor(out, [b.B, b.T], 'float32', device);
}

/** (B, T) token log-probs of a model as per-row arrays (no gradient). */
export function rowLogprobs(model: GPT, items: readonly EncodedCompletion[], padId: number): Float32Array[] {
  return noGrad(() => tidy(() => {
    const b = batchCompletions(items, padId);
    const lp = tokenLogprobs(model, b).logp.toArray() as Float32Array;
    return items.map((e, i) => lp.slice(i * b.T, i * b.T + e.ids.length));
  }));
}

/** Seeded order over the prompts, reshuffled every pass. */
export class PromptCursor {
  private order: number[] = [];
  private pos = 0;
  private readonly rng: Rng;
  constructor(readonly n: number, seed: number) { this.rng = new Rng(seed); }
  next(k: number): number[] {
    const out: number[] = [];
    while (out.length < k) {
      if (this.pos >= this.order.length) { this.order = shuffle(this.n, this.rng); this.pos = 0; }
      out.push(this.order[this.pos++]);
    }
    return out;
  }
}

export function shuffle(n: number, rng: Rng): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); [a[i], a[j]] = [a[j], a[i]]; }
  return a;
}

export function samplesOf(prompts: readonly string[], k: number, before: { texts: string[]; scores: Float32Array }, after: { texts: string[]; scores: Float32Array }): RlSample[] {
  return prompts.slice(0, k).map((p, i) => ({ prompt: p, before: before.texts[i], after: after.texts[i], rewardBefore: before.scores[i], rewardAfter: after.scores[i] }));
}

export const meanOf = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

// ---- PPO -------------------------------------------------------------------------------------

export interface PpoConfig extends RlConfig {
  /** Discount and GAE lambda. */
  gamma: number;
  lambda: number;
  /** Weight of the value loss in the shared-backbone objective. */
  vfCoef: number;
  /** Clip range of the value loss around the rollout's values. */
  valueClip: number;
}

export const defaultPpoConfig: Omit<PpoConfig, 'init' | 'prompts' | 'reward'> = { ...defaultRlConfig, gamma: 1, lambda: 0.95, vfCoef: 0.1, valueClip: 0.2 };

/** Logits and values (B, T) in one forward of the shared backbone. */
function policyAndValue(policy: GPT, head: Linear, b: CompletionBatch): { logits: Tensor; values: Tensor } {
  const h = policy.forwardHidden(tensor(b.ids, [b.B, b.T], 'int32', policy.device)); // (B, T, C)
  const C = policy.config.n_embd;
  const flat = reshape(h, [b.B * b.T, C]);
  const logits = reshape(matmul(flat, policy.wte.weight, { transB: true }), [b.B, b.T, policy.config.vocab_size]);
  return { logits, values: reshape(head.forward(flat), [b.B, b.T]) };
}

export function runPpo(partial: Partial<PpoConfig> & Pick<PpoConfig, 'init' | 'prompts' | 'reward'>): RlResult {
  const cfg: PpoConfig = { ...defaultPpoConfig, ...partial };
  checkRlConfig('ppo', cfg);
  const kl = KL_ESTIMATORS[cfg.klEstimator];
  return withRlSession(cfg.init, cfg.outDir, (s) => {
    const { tok, policy, reference } = s;
    const dev = policy.device;
    const t0 = Date.now();
    const rand = seededUniform(cfg.seed);
    const rng = new Rng(cfg.seed + 1);
    const cursor = new PromptCursor(cfg.prompts.length, cfg.seed);
    const evalPrompts = cfg.evalPrompts ?? [];
    const before = evaluateRewards(s, evalPrompts, cfg.reward, cfg);
    const head = new Linear(policy.config.n_embd, 1, { std: 0 }).to(dev); // values start at 0
    const opt = new AdamW([...policy.trainableParameters(), ...head.trainableParameters()], { lr: cfg.lr, weightDecay: 0 });
    const bar = new ProgressBar('ppo', cfg.iterations, process.stderr, cfg.progress);
    const history: RlIterationMetrics[] = [];
    try {
      for (let it = 1; it <= cfg.iterations; it++) {
        // 1. rollout: one completion per prompt, sampled with the KV cache
        const idx = cursor.next(Math.min(cfg.batchSize, cfg.prompts.length));
        const rollouts = idx.flatMap((i) => sampleCompletions(s, cfg.prompts[i], 1, { maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, rand }));
        const items = rollouts.map((r) => r.encoded);
        const n = items.length;
        // 2. rewards: the score at the final token, minus the per-token KL penalty to the reference
        const scores = scoreWith(cfg.reward, rollouts.map((r) => r.prompt), rollouts.map((r) => r.text));
        const { oldLp, oldV } = noGrad(() => tidy(() => {
          policy.eval();
          const b = batchCompletions(items, tok.padId);
          const pv = policyAndValue(policy, head, b);
          const lp = tokenLogprobsFromLogits(pv.logits, b).logp.toArray() as Float32Array, v = pv.values.toArray() as Float32Array;
          const rows = (a: Float32Array) => items.map((e, i) => a.slice(i * b.T, i * b.T + e.ids.length));
          return { oldLp: rows(lp), oldV: rows(v) };
        }));
        const refLp = rowLogprobs(reference, items, tok.padId);
        const masks = items.map((e) => Float32Array.from(e.labels, (l) => (l === -100 ? 0 : 1)));
        const klSum: number[] = [];
        const rewards = items.map((e, i) => {
          const r = new Float64Array(e.ids.length);
          let last = -1, k = 0;
          for (let t = 0; t < r.length; t++) if (masks[i][t]) {
            const d = kl(oldLp[i][t], refLp[i][t]);
            k += d;
            r[t] = -cfg.klCoef * d;
            last = t;
          }
          if (last >= 0) r[last] += scores[i];
          klSum.push(k);
          return r;
        });
        // 3. advantages: GAE per sequence, whitened over all the iteration's tokens
        const gaes = items.map((_, i) => gae(rewards[i], oldV[i], masks[i], cfg.gamma, cfg.lambda));
        const flatAdv = gaes.flatMap((g) => Array.from(g.advantages)), flatMask = masks.flatMap((m) => Array.from(m));
        const white = whiten(flatAdv, flatMask);
        let off = 0;
        const adv = items.map((e) => { const a = white.subarray(off, off + e.ids.length); off += e.ids.length; return a; });
        // 4. epochs over minibatches: clipped surrogate + vfCoef * clipped value loss
        policy.train();
        const clipFr: number[] = [], pLoss: number[] = [], vLoss: number[] = [];
        for (let ep = 0; ep < cfg.epochs; ep++) {
          const order = shuffle(n, rng);
          for (let m = 0; m < n; m += cfg.minibatchSize) {
            const mb = order.slice(m, m + cfg.minibatchSize);
            tidy(() => {
              const b = batchCompletions(mb.map((i) => items[i]), tok.padId);
              const pv = policyAndValue(policy, head, b);
              const { logp, mask } = tokenLogprobsFromLogits(pv.logits, b);
              const pol = ppoPolicyLoss(logp, padRows(mb.map((i) => oldLp[i]), b, dev), padRows(mb.map((i) => adv[i]), b, dev), mask, cfg.clip);
              const val = ppoValueLoss(pv.values, padRows(mb.map((i) => oldV[i]), b, dev), padRows(mb.map((i) => gaes[i].returns), b, dev), mask, cfg.valueClip);
              const loss = add(pol.loss, affine(val, cfg.vfCoef));
              clipFr.push(pol.clipFraction);
              pLoss.push(pol.loss.item());
              vLoss.push(val.item());
              backward(loss);
            });
            if (cfg.clipNorm > 0) clipGradNorm(opt.params, cfg.clipNorm);
            opt.stepUpdate();
            opt.zeroGrad();
          }
        }
        recordIteration(s, 'ppo', bar, history, it, { scores, kl: klSum, rollouts, clip: clipFr, policyLoss: pLoss, valueLoss: vLoss });
      }
    } finally {
      bar.done();
      opt.dispose();
      head.dispose();
    }
    return finishRl(s, 'ppo', cfg, evalPrompts, before, history, t0);
  }, { trainable: cfg.trainable, who: 'ppo', device: cfg.device });
}

/** One iteration's metrics record, written to metrics.jsonl and the progress bar. */
export function recordIteration(s: RlSession, stage: string, bar: ProgressBar, history: RlIterationMetrics[], it: number,
  m: { scores: Float32Array; kl: number[]; rollouts: readonly { entropy: number; ids: readonly number[] }[]; clip: number[]; policyLoss: number[]; valueLoss?: number[] }): void {
  const rec: RlIterationMetrics = {
    iteration: it, reward: meanOf(Array.from(m.scores)), kl: meanOf(m.kl), entropy: meanOf(m.rollouts.map((r) => r.entropy)),
    clipFraction: meanOf(m.clip), policyLoss: meanOf(m.policyLoss), ...(m.valueLoss ? { valueLoss: meanOf(m.valueLoss) } : {}),
    length: meanOf(m.rollouts.map((r) => r.ids.length)),
  };
  history.push(rec);
  s.metrics?.write({ stage, step: it, ...rec });
  bar.update(it, { reward: rec.reward, kl: rec.kl });
}

/** After the iterations: held-out rewards again, the policy checkpoint, the result. */
export function finishRl(s: RlSession, stage: string, cfg: RlConfig, evalPrompts: readonly string[], before: ReturnType<typeof evaluateRewards>, history: RlIterationMetrics[], t0: number): RlResult {
  s.policy.eval();
  const after = evaluateRewards(s, evalPrompts, cfg.reward, cfg);
  s.metrics?.write({ stage, event: 'eval', reward_before: before.eval.meanReward, reward_after: after.eval.meanReward });
  if (cfg.outDir) saveCheckpoint(cfg.outDir, { config: s.policy.config, weights: s.policy.stateDict(), tokenizerJson: s.tok.toJSONString() });
  return { before: before.eval, after: after.eval, history, samples: samplesOf(evalPrompts, cfg.samples, before, after), seconds: (Date.now() - t0) / 1000 };
}
