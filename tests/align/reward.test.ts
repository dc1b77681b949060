// Reward model on the built-in world: held-out pair accuracy rises from chance to >= 0.6; save/load is exact.
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorld, worldCorpus } from '../../src/pipeline/world.js';
import { worldPreferences, pairsToFeedback } from '../../src/pipeline/preferences.js';
import { runPretrain } from '../../src/train/pretrain.js';
import { RewardModel, bradleyTerryLoss, feedbackLoss, rewardMetrics, runReward } from '../../src/train/reward.js';
import { tensor } from '../../src/tensor/creation.js';
import { ArgumentError, DataError } from '../../src/errors.js';
import { memory } from '../../src/index.js';

const world = generateWorld(3, 32);
const prefs = worldPreferences(world, { perFact: 3 });
let base = '', tmp = '';

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'lmt-reward-'));
  const corpus = join(tmp, 'c.txt');
  writeFileSync(corpus, worldCorpus(world, { documents: 1500, chinese: false }).join('\n\n'));
  base = join(tmp, 'base');
  runPretrain({ model: 'gpt', data: [corpus], outDir: base, vocabSize: 400, seqLen: 64, batchSize: 8,
    modelConfig: { n_embd: 64, n_head: 4, n_layer: 2, dropout: 0 }, trainer: { steps: 400, lr: 5e-3, warmupSteps: 10 }, progress: false });
}, 120_000);

describe('reward losses', () => {
  it('Bradley–Terry, feedback and centring match hand-computed values', () => {
    const rc = tensor([1, 0], [2]), rr = tensor([0, 0], [2]);
    // -mean(log sigmoid([1, 0])) = (log(1 + e^-1) + log 2) / 2
    const bt = (Math.log(1 + Math.exp(-1)) + Math.log(2)) / 2;
    expect(bradleyTerryLoss(rc, rr).item()).toBeCloseTo(bt, 5);
    // + 0.5 * mean((r_c + r_r)^2) = 0.5 * (1 + 0) / 2
    expect(bradleyTerryLoss(rc, rr, 0.5).item()).toBeCloseTo(bt + 0.25, 5);
    const r = tensor([2, 1], [2]);
    // labels good, bad: -mean(log sigmoid(2), log sigmoid(-1)); centring 0.1 * mean(r)^2 = 0.1 * 2.25
    const fb = (Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(1))) / 2;
    expect(feedbackLoss(r, [true, false]).item()).toBeCloseTo(fb, 5);
    expect(feedbackLoss(r, [true, false], 0.1).item()).toBeCloseTo(fb + 0.225, 5);
    expect(() => feedbackLoss(r, [true])).toThrow(ArgumentError);
    const m = rewardMetrics([1, 2, 0], [0, 2, 1]);
    expect(m.accuracy).toBeCloseTo(0.5, 6);
    expect(m.margin).toBeCloseTo(0, 6);
    expect(m.rewardMean).toBeCloseTo(1, 6);
    expect(m.rewardStd).toBeCloseTo(Math.sqrt(4 / 6), 6);
  });
});

describe('reward model', () => {
  it('Bradley–Terry raises held-out pair accuracy from chance to >= 0.6; save/load gives identical scores', () => {
    const bytes = memory().numBytes;
    const out = join(tmp, 'rm');
    const r = runReward({ init: base, pairs: prefs.train, evalPairs: prefs.heldOut, center: 0.01, batchSize: 8, seed: 1, outDir: out,
      trainer: { steps: 60, lr: 1e-3, warmupSteps: 5 }, progress: false });
    console.log(`reward BT: held-out accuracy ${r.before.accuracy.toFixed(3)} -> ${r.after.accuracy.toFixed(3)}, margin ${r.after.margin.toFixed(3)}, mean ${r.after.rewardMean.toFixed(3)}, std ${r.after.rewardStd.toFixed(3)}`);
    expect(r.before.accuracy).toBe(0.5); // a zero-initialised head scores every answer alike
    expect(r.after.accuracy).toBeGreaterThanOrEqual(0.6); // measured 0.646 (96 held-out pairs)
    expect(r.after.margin).toBeGreaterThan(0);
    expect(memory().numBytes).toBe(bytes);

    const rm = RewardModel.fromCheckpoint(out);
    try {
      const prompts = prefs.heldOut.map((p) => p.prompt);
      const sc = rm.score(prompts, prefs.heldOut.map((p) => p.chosen));
      const sr = rm.score(prompts, prefs.heldOut.map((p) => p.rejected));
      const m = rewardMetrics(sc, sr);
      expect(m.accuracy).toBeCloseTo(r.after.accuracy, 6);
      expect(m.margin).toBeCloseTo(r.after.margin, 4);
      let wins = 0;
      sc.forEach((c, i) => { if (c > sr[i]) wins++; });
      expect(wins / sc.length).toBeGreaterThanOrEqual(0.6);
      // saved again and reloaded: bit-identical scores; batching does not change them either
      const again = join(tmp, 'rm2');
      rm.save(again);
      const rm2 = RewardModel.fromCheckpoint(again);
      try {
        expect(Array.from(rm2.score(prompts, prefs.heldOut.map((p) => p.chosen)))).toEqual(Array.from(sc));
        expect(rm2.score(prompts.slice(0, 1), [prefs.heldOut[0].chosen])[0]).toBeCloseTo(sc[0], 5);
      } finally {
        rm2.dispose();
      }
    } finally {
      rm.dispose();
    }
    expect(memory().numBytes).toBe(bytes);
  }, 120_000);

  it('the logistic loss on thumbs-up/down feedback improves held-out accuracy too', () => {
    const r = runReward({ init: base, feedback: pairsToFeedback(prefs.train), evalPairs: prefs.heldOut, batchSize: 16, seed: 1,
      trainer: { steps: 60, lr: 1e-3, warmupSteps: 5 }, progress: false });
    console.log(`reward feedback: held-out accuracy ${r.before.accuracy.toFixed(3)} -> ${r.after.accuracy.toFixed(3)}`);
    expect(r.after.accuracy).toBeGreaterThanOrEqual(0.58); // measured 0.615
  }, 120_000);

  it('bad inputs give typed errors', () => {
    expect(() => runReward({ init: base, batchSize: 8, seed: 1, trainer: {}, progress: false })).toThrow(ArgumentError);
    expect(() => runReward({ init: base, pairs: [], batchSize: 8, seed: 1, trainer: {}, progress: false })).toThrow(ArgumentError);
    expect(() => runReward({ init: base, pairs: prefs.train, center: -1, batchSize: 8, seed: 1, trainer: {}, progress: false })).toThrow(ArgumentError);
    expect(() => RewardModel.fromCheckpoint(base)).toThrow(DataError); // a plain GPT, no reward head
    const rm = RewardModel.fromGpt(base);
    try {
      expect(() => rm.score(['a', 'b'], ['x'])).toThrow(ArgumentError);
      expect(Array.from(rm.score(['a'], ['x']))).toEqual([0]); // fresh head: zero
    } finally {
      rm.dispose();
    }
  });
});
