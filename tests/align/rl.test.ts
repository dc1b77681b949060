// PPO and GRPO on the built-in world with the exact-answer reward: held-out mean reward rises.
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorld, worldCorpus, worldInstructions } from '../../src/pipeline/world.js';
import { runPretrain } from '../../src/train/pretrain.js';
import { runSft } from '../../src/train/sft.js';
import { runPpo, type RlResult } from '../../src/train/ppo.js';
import { runGrpo } from '../../src/train/grpo.js';
import { exactAnswerReward } from '../../src/train/rewards.js';
import { memory } from '../../src/index.js';

const world = generateWorld(3, 12);
const kinds = ['capital', 'language', 'currency', 'leader'] as const;
const inst = worldInstructions(world, { chinese: false, kinds, heldOutFraction: 0.25 });
// SFT answers a quarter of the facts never; pretraining text states them all. RL prompts ask those
// held-out facts in other words (heldOutRephrased) and see only the reward, never an answer; the
// held-out prompts are the held-out wording, which RL never saw. What RL can teach here is to say
// what pretraining put in the model when asked in one wording, and the tests check that it
// carries over to the other.
const trainPrompts = inst.heldOutRephrased.map((q) => q.instruction);
const evalPrompts = inst.heldOut.map((q) => q.instruction);
const reward = exactAnswerReward(world);
let sft = '';

function show(name: string, r: RlResult): void {
  console.log(`${name}: held-out mean reward ${r.before.meanReward.toFixed(3)} -> ${r.after.meanReward.toFixed(3)} sampled, ${r.before.greedyReward.toFixed(3)} -> ${r.after.greedyReward.toFixed(3)} greedy (${r.after.prompts} prompts), ` +
    `train reward ${r.history[0].reward.toFixed(3)} -> ${r.history.at(-1)!.reward.toFixed(3)}, KL ${r.history.at(-1)!.kl.toFixed(3)}, ${r.seconds.toFixed(1)} s`);
  for (const s of r.samples) console.log(`  ${s.prompt}\n    before (${s.rewardBefore}): ${s.before}\n    after  (${s.rewardAfter}): ${s.after}`);
}

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'lmt-rl-'));
  const corpus = join(dir, 'c.txt');
  writeFileSync(corpus, worldCorpus(world, { documents: 1500, chinese: false }).join('\n\n'));
  const base = join(dir, 'base');
  runPretrain({ model: 'gpt', data: [corpus], outDir: base, vocabSize: 400, seqLen: 64, batchSize: 8,
    modelConfig: { n_embd: 64, n_head: 4, n_layer: 2, dropout: 0 }, trainer: { steps: 400, lr: 5e-3, warmupSteps: 10 }, progress: false });
  // A short SFT gives answers their form (a sentence, then <|im_end|>); the facts come from pretraining.
  const data = join(dir, 'sft.jsonl');
  writeFileSync(data, inst.train.map((q) => JSON.stringify({ instruction: q.instruction, response: q.response })).join('\n'));
  sft = join(dir, 'sft');
  runSft({ init: base, data, outDir: sft, batchSize: 16, evalBase: false, evalExamples: 0, samples: 0, trainer: { steps: 40, lr: 2e-3, warmupSteps: 5 }, progress: false });
}, 120_000);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rising = (r: RlResult) => [mean(r.history.slice(0, 5).map((h) => h.reward)), mean(r.history.slice(-5).map((h) => h.reward))];
// Only the top block's MLP trains ('top-mlp'): with every weight trainable the held-out reward
// fell while the training reward rose (docs/ALIGNMENT.md). Measured at these settings, seeds 1-3:
// held-out sampled reward 0.06-0.10 -> 0.14-0.24 (GRPO) and 0.15-0.19 (PPO).
const common = { evalPrompts, reward, iterations: 30, lr: 3e-4, maxNewTokens: 16, evalSamples: 8, trainable: 'top-mlp', seed: 1, progress: false };

function expectHeldOutGain(r: RlResult): void {
  expect(r.after.prompts).toBe(evalPrompts.length);
  expect(r.after.meanReward).toBeGreaterThan(r.before.meanReward + 0.05);
  expect(r.after.greedyReward).toBeGreaterThanOrEqual(r.before.greedyReward);
  const [first, last] = rising(r);
  expect(last).toBeGreaterThan(first + 0.05);
  expect(r.history.every((h) => Number.isFinite(h.kl) && h.entropy > 0)).toBe(true);
  expect(r.samples.length).toBeGreaterThan(0);
}

describe('RL on the world (exact-answer reward)', () => {
  it('PPO raises the mean reward on held-out prompts and reports KL', () => {
    const before = memory().numBytes;
    const r = runPpo({ ...common, init: sft, prompts: trainPrompts, batchSize: 16, minibatchSize: 8, epochs: 2 });
    show('ppo', r);
    expectHeldOutGain(r);
    expect(r.history.every((h) => Number.isFinite(h.valueLoss!))).toBe(true);
    expect(memory().numBytes).toBe(before);
  }, 120_000);
  it('GRPO raises the mean reward on held-out prompts and reports KL', () => {
    const r = runGrpo({ ...common, init: sft, prompts: trainPrompts, batchSize: 4, groupSize: 8, minibatchSize: 16 });
    show('grpo', r);
    expectHeldOutGain(r);
  }, 120_000);
});
