/**
 * GRPO (group relative policy optimisation): G completions per prompt, each scored, and the
 * rewards normalised within their group (groupAdvantages) give one advantage per completion,
 * shared by all its tokens. No critic. Loss: the PPO clipped surrogate plus, optionally,
 * klCoef times the k3 KL estimate to the frozen reference (always >= 0, unbiased).
 *
 * One iteration, phases numbered as they happen: (1) rollout of G samples per prompt, (2)
 * rewards, (3) group advantages, (4) epochs over minibatches.
 */
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { backward } from '../autograd/graph.js';
import { add, affine, exp, sub } from '../ops/elementwise.js';
import { AdamW } from '../optim/adamw.js';
import { clipGradNorm } from '../optim/clip.js';
import { Rng } from '../data/rng.js';
import { ArgumentError } from '../errors.js';
import { seededUniform } from '../generate/sampling.js';
import { ProgressBar } from './progress.js';
import { batchCompletions, tokenLogprobs } from './logprobs.js';
import { groupAdvantages, KL_ESTIMATORS, ppoPolicyLoss } from './losses/rl.js';
import { maskedMean } from './losses/common.js';
import { scoreWith } from './rewards.js';
import {
  checkRlConfig, defaultRlConfig, evaluateRewards, finishRl, padRows, PromptCursor, recordIteration, rowLogprobs, sampleCompletions, shuffle, withRlSession,
  type RlConfig, type RlIterationMetrics, type RlResult,
} from './ppo.js';

export interface GrpoConfig extends RlConfig {
  /** Completions sampled per prompt (G). */
  groupSize: number;
}

/** batchSize counts prompts; each brings groupSize completions. klCoef 0.04 as in DeepSeekMath (0 = off). */
export const defaultGrpoConfig: Omit<GrpoConfig, 'init' | 'prompts' | 'reward'> = { ...defaultRlConfig, groupSize: 8, batchSize: 4, epochs: 1, minibatchSize: 16, klCoef: 0.04, klEstimator: 'k3' };

/** Per-token k3 KL(pi || ref) = exp(ref - logp) - (ref - logp) - 1, masked mean (differentiable in logp). */
export function k3Kl(logp: Tensor, refLogp: Tensor, mask: Tensor): Tensor {
  const d = sub(refLogp, logp);
  return maskedMean(affine(sub(exp(d), d), 1, -1), mask);
}

export function runGrpo(partial: Partial<GrpoConfig> & Pick<GrpoConfig, 'init' | 'prompts' | 'reward'>): RlResult {
  const cfg: GrpoConfig = { ...defaultGrpoConfig, ...partial };
  checkRlConfig('grpo', cfg);
  if (!Number.isInteger(cfg.groupSize) || cfg.groupSize < 2) throw new ArgumentError(`grpo: groupSize must be an integer >= 2, got ${cfg.groupSize}`);
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
    const opt = new AdamW(policy.trainableParameters(), { lr: cfg.lr, weightDecay: 0 });
    const bar = new ProgressBar('grpo', cfg.iterations, process.stderr, cfg.progress);
    const history: RlIterationMetrics[] = [];
    try {
      for (let it = 1; it <= cfg.iterations; it++) {
        // 1. rollout: G completions per prompt, each group one KV-cached batch
        const idx = cursor.next(Math.min(cfg.batchSize, cfg.prompts.length));
        const rollouts = idx.flatMap((i) => sampleCompletions(s, cfg.prompts[i], cfg.groupSize, { maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, rand }));
        const items = rollouts.map((r) => r.encoded);
        const n = items.length;
        // 2. rewards, and the rollout-time log-probs of policy and reference
        const scores = scoreWith(cfg.reward, rollouts.map((r) => r.prompt), rollouts.map((r) => r.text));
        policy.eval();
        const oldLp = rowLogprobs(policy, items, tok.padId);
        const refLp = rowLogprobs(reference, items, tok.padId);
        const klSum = items.map((e, i) => e.labels.reduce((a, l, t) => a + (l === -100 ? 0 : kl(oldLp[i][t], refLp[i][t])), 0));
        // 3. advantages: rewards normalised within each prompt's group, one per completion
        const groupAdv = groupAdvantages(scores, cfg.groupSize);
        const adv = items.map((e, i) => new Float32Array(e.ids.length).fill(groupAdv[i]));
        // 4. epochs over minibatches: clipped surrogate (+ klCoef * KL to the reference)
        policy.train();
        const clipFr: number[] = [], pLoss: number[] = [];
        for (let ep = 0; ep < cfg.epochs; ep++) {
          const order = shuffle(n, rng);
          for (let m = 0; m < n; m += cfg.minibatchSize) {
            const mb = order.slice(m, m + cfg.minibatchSize);
            tidy(() => {
              const b = batchCompletions(mb.map((i) => items[i]), tok.padId);
              const { logp, mask } = tokenLogprobs(policy, b);
              const pol = ppoPolicyLoss(logp, padRows(mb.map((i) => oldLp[i]), b, dev), padRows(mb.map((i) => adv[i]), b, dev), mask, cfg.clip);
              const loss = cfg.klCoef > 0 ? add(pol.loss, affine(k3Kl(logp, padRows(mb.map((i) => refLp[i]), b, dev), mask), cfg.klCoef)) : pol.loss;
              clipFr.push(pol.clipFraction);
              pLoss.push(pol.loss.item());
              backward(loss);
            });
            if (cfg.clipNorm > 0) clipGradNorm(opt.params, cfg.clipNorm);
            opt.stepUpdate();
            opt.zeroGrad();
          }
        }
        recordIteration(s, 'grpo', bar, history, it, { scores, kl: klSum, rollouts, clip: clipFr, policyLoss: pLoss });
      }
    } finally {
      bar.done();
      opt.dispose();
    }
    return finishRl(s, 'grpo', cfg, evalPrompts, before, history, t0);
  }, { trainable: cfg.trainable, who: 'grpo', device: cfg.device });
}
