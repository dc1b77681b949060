// The trainers beyond pretraining (SFT, DPO, KTO, reward model, PPO, GRPO, classifier, QA on
// BERT, GPT and T5), evaluation, generation and the demo on --device cuda: where a GPU is
// usable, two steps of each on CUDA match the same two steps on the CPU; without one, asking
// for CUDA is a DeviceError that says why, and nothing leaks.
import { describe, expect, it, beforeAll, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cudaAvailable, DeviceError, getMatmulPrecision, info, memory, setMatmulPrecision } from '../../src/index.js';
import { generateWorld, worldCorpus, worldInstructions } from '../../src/pipeline/world.js';
import { worldPreferences, pairsToFeedback } from '../../src/pipeline/preferences.js';
import { runPretrain } from '../../src/train/pretrain.js';
import { runSft } from '../../src/train/sft.js';
import { runDpo, runKto } from '../../src/train/dpo.js';
import { runReward } from '../../src/train/reward.js';
import { runClassify } from '../../src/train/classify.js';
import { sentimentTask, worldQaTask } from '../../src/pipeline/tasks.js';
import { runQa } from '../../src/train/qa.js';
import { sequenceNll } from '../../src/train/lm_eval.js';
import { runDemo } from '../../src/pipeline/demo.js';
import { checkCudaDemo } from '../../src/pipeline/demo_check.js';
import { runPpo } from '../../src/train/ppo.js';
import { runGrpo } from '../../src/train/grpo.js';
import { exactAnswerReward } from '../../src/train/rewards.js';
import { generate } from '../../src/generate/generate.js';
import { GPT } from '../../src/models/gpt.js';
import { main } from '../../src/cli/main.js';
import type { Device } from '../../src/tensor/tensor.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';

const world = generateWorld(4, 6);
const inst = worldInstructions(world, { chinese: false, kinds: ['capital', 'leader'] });
const prefs = worldPreferences(world, { perFact: 1, attrs: ['capital', 'leader'] });
const prompts = inst.train.slice(0, 4).map((q) => q.instruction);
const reward = exactAnswerReward(world);
const sentiment = sentimentTask(1, { train: 40, dev: 8, test: 8, unlabeled: 0 });
const qa = worldQaTask(4, { countries: 6, train: 16, dev: 2, test: 1 });
const dir = mkdtempSync(join(tmpdir(), 'lmt-dev-'));
let sft = '';

beforeAll(() => {
  const corpus = join(dir, 'c.txt');
  writeFileSync(corpus, worldCorpus(world, { documents: 200, chinese: false }).join('\n\n'));
  runPretrain({ model: 'gpt', data: [corpus], outDir: join(dir, 'base'), vocabSize: 300, seqLen: 64, batchSize: 4,
    modelConfig: { n_embd: 32, n_head: 2, n_layer: 2, dropout: 0 }, trainer: { steps: 30, lr: 5e-3, warmupSteps: 2 }, progress: false });
  writeFileSync(join(dir, 'sft.jsonl'), inst.train.map((q) => JSON.stringify({ instruction: q.instruction, response: q.response })).join('\n'));
  sft = join(dir, 'sft');
  runSft({ init: join(dir, 'base'), data: join(dir, 'sft.jsonl'), outDir: sft, batchSize: 4, evalBase: false, evalExamples: 0, samples: 0, trainer: { steps: 10, lr: 2e-3, warmupSteps: 1 }, progress: false });
  // Backbones for extractive (BERT) and encoder-decoder (T5) QA: a few steps, so the weights are not the init.
  runPretrain({ model: 'bert', data: [corpus], outDir: join(dir, 'bert'), vocabSize: 300, seqLen: 64, batchSize: 4,
    modelConfig: { n_embd: 32, n_head: 2, n_layer: 1, dropout: 0 }, trainer: { steps: 3, lr: 5e-3, warmupSteps: 1 }, progress: false });
  runPretrain({ model: 't5', data: [corpus], outDir: join(dir, 't5'), vocabSize: 300, seqLen: 32, batchSize: 4,
    modelConfig: { n_embd: 32, n_head: 2, d_kv: 16, d_ff: 64, n_layer: 1, n_decoder_layer: 1, dropout: 0 }, trainer: { steps: 3, lr: 5e-3, warmupSteps: 1 }, progress: false });
}, 120_000);

/** All weights of a checkpoint, by name. */
const weights = (ck: string): Map<string, Float32Array> => new Map([...loadCheckpoint(ck).weights].map(([k, v]) => [k, Float32Array.from(v.data)]));

/** Every trainer for two steps (or one RL iteration) on `device`: its checkpoint and a few metrics. */
function trainAll(device: Device): { dirs: Record<string, string>; metrics: Record<string, number[]> } {
  const out = (name: string) => join(dir, `${name}-${device}`);
  const steps = { steps: 2, lr: 1e-3, warmupSteps: 1 };
  runSft({ init: join(dir, 'base'), data: join(dir, 'sft.jsonl'), outDir: out('sft'), batchSize: 4, evalBase: false, evalExamples: 0, samples: 0, device, trainer: steps, progress: false });
  const d = runDpo({ init: sft, pairs: prefs.train, evalPairs: prefs.heldOut, loss: 'sigmoid', beta: 1, batchSize: 4, seed: 1, trainable: 'top-mlp', device, outDir: out('dpo'), trainer: steps, progress: false });
  const k = runKto({ init: sft, feedback: pairsToFeedback(prefs.train), evalPairs: prefs.heldOut, beta: 1, batchSize: 4, seed: 1, device, outDir: out('kto'), trainer: steps, progress: false });
  const r = runReward({ init: sft, pairs: prefs.train, evalPairs: prefs.heldOut, batchSize: 4, seed: 1, device, outDir: out('reward'), trainer: steps, progress: false });
  // A reward that varies with the completion, so that one iteration has advantages to follow.
  const varied = (_: readonly string[], cs: readonly string[]) => cs.map((c) => (c.length % 5) / 4);
  const rl = { init: sft, prompts, evalPrompts: prompts.slice(0, 2), reward: varied, iterations: 1, maxNewTokens: 6, lr: 1e-3, seed: 1, samples: 0, evalSamples: 2, device, progress: false };
  const p = runPpo({ ...rl, outDir: out('ppo'), batchSize: 4, minibatchSize: 4, epochs: 1 });
  const g = runGrpo({ ...rl, outDir: out('grpo'), batchSize: 2, groupSize: 2, minibatchSize: 4 });
  const c = runClassify({ init: join(dir, 'base'), train: sentiment.train, eval: sentiment.test, labels: sentiment.labels, outDir: out('classify'), dropout: 0, batchSize: 4, seed: 1, device, trainer: steps, progress: false });
  const qaRun = (init: string, name: string, maxLen: number) => runQa({ init, train: qa.train, eval: qa.dev, outDir: out(name), maxLen, maxAnswerTokens: 4, batchSize: 4, seed: 1, device, trainer: steps, progress: false });
  const qb = qaRun(join(dir, 'bert'), 'qa-bert', 64), qg = qaRun(sft, 'qa-gpt', 96), qt = qaRun(join(dir, 't5'), 'qa-t5', 64);
  const m = GPT.fromCheckpoint(out('dpo')).to(device);
  const ids = generate(m, [1, 2, 3], { temperature: 0, maxNewTokens: 5 });
  const nll = sequenceNll(m, [1, 5, 9, 2, 7, 3, 8, 4, 6, 10, 11], 4);
  m.dispose();
  return {
    dirs: { sft: out('sft'), dpo: out('dpo'), kto: out('kto'), reward: out('reward'), ppo: out('ppo'), grpo: out('grpo'), classify: out('classify'),
      'qa-bert': out('qa-bert'), 'qa-gpt': out('qa-gpt'), 'qa-t5': out('qa-t5') },
    metrics: {
      dpo: [d.after.margin, d.summary.finalLoss], kto: [k.after.margin, k.summary.finalLoss], reward: [r.after.margin, r.after.rewardMean, r.summary.finalLoss],
      ppo: [p.history[0].kl, p.history[0].entropy], grpo: [g.history[0].kl, g.history[0].entropy], classify: [c.summary.finalLoss, c.eval!.accuracy], generate: ids, eval: [nll.nll, nll.tokens],
      'qa-bert': [qb.summary.finalLoss, qb.eval!.f1], 'qa-gpt': [qg.summary.finalLoss, qg.eval!.f1], 'qa-t5': [qt.summary.finalLoss, qt.eval!.f1],
    },
  };
}

describe('trainers on --device cuda', () => {
  if (!cudaAvailable()) {
    it('without a usable GPU each trainer refuses CUDA with a DeviceError naming the reason, and frees what it loaded', async () => {
      const why = info().cuda.why;
      const before = memory().numBytes;
      const steps = { steps: 1 };
      expect(() => runSft({ init: join(dir, 'base'), data: join(dir, 'sft.jsonl'), outDir: join(dir, 'x-sft'), device: 'cuda', trainer: steps, progress: false })).toThrow(DeviceError);
      expect(() => runDpo({ init: sft, pairs: prefs.train, loss: 'sigmoid', beta: 1, batchSize: 4, seed: 1, device: 'cuda', trainer: steps, progress: false })).toThrow(why);
      expect(() => runKto({ init: sft, feedback: pairsToFeedback(prefs.train), beta: 1, batchSize: 4, seed: 1, device: 'cuda', trainer: steps, progress: false })).toThrow(DeviceError);
      expect(() => runReward({ init: sft, pairs: prefs.train, batchSize: 4, seed: 1, device: 'cuda', trainer: steps, progress: false })).toThrow(DeviceError);
      expect(() => runPpo({ init: sft, prompts, reward, device: 'cuda', progress: false })).toThrow(DeviceError);
      expect(() => runGrpo({ init: sft, prompts, reward, device: 'cuda', progress: false })).toThrow(DeviceError);
      expect(() => runClassify({ init: join(dir, 'base'), train: sentiment.train, device: 'cuda', progress: false })).toThrow(why);
      for (const init of [join(dir, 'bert'), sft, join(dir, 't5')])
        expect(() => runQa({ init, train: qa.train, device: 'cuda', progress: false })).toThrow(why);
      // The demo refuses before it writes its data or trains a tokenizer.
      expect(() => runDemo({ outDir: join(dir, 'x-demo'), quick: true, device: 'cuda', progress: false })).toThrow(why);
      expect(existsSync(join(dir, 'x-demo', 'data'))).toBe(false);
      expect(memory().numBytes).toBe(before);
      const file = (name: string, rows: unknown[]) => { writeFileSync(join(dir, name), rows.map((r) => JSON.stringify(r)).join('\n')); return join(dir, name); };
      const pairs = file('prefs.jsonl', prefs.train), fb = file('fb.jsonl', pairsToFeedback(prefs.train)), pr = file('prompts.jsonl', prompts.map((prompt) => ({ prompt })));
      for (const cmd of [['sft', '--init', join(dir, 'base'), '--data', join(dir, 'sft.jsonl')], ['dpo', '--init', sft, '--data', pairs], ['kto', '--init', sft, '--data', fb],
        ['reward', '--init', sft, '--data', pairs], ['qa', '--init', join(dir, 'bert'), '--data', file('qa.jsonl', qa.train)],
        ['self-train', '--init', join(dir, 'base'), '--data', file('cls2.jsonl', sentiment.train), '--unlabeled', file('unl.jsonl', [{ text: 'good' }]), '--eval', file('cls3.jsonl', sentiment.test)], ['demo', '--quick'], ['classify', '--init', join(dir, 'base'), '--data', file('cls.jsonl', sentiment.train)], ['ppo', '--init', sft, '--reward-fn', 'exact-answer', '--prompts', pr], ['grpo', '--init', sft, '--reward-fn', 'exact-answer', '--prompts', pr]])
        await expect(main([...cmd, '--device', 'cuda', '--out', join(dir, 'y')])).rejects.toThrow(why);
      await expect(main(['generate', '--model', sft, '--prompt', 'The', '--device', 'cuda'])).rejects.toThrow(why);
      await expect(main(['eval', '--model', sft, '--data', join(dir, 'c.txt'), '--device', 'cuda'])).rejects.toThrow(why);
      // --precision is for CUDA matmuls: asking for tensor cores on the CPU is an error, not a no-op.
      await expect(main(['sft', '--init', join(dir, 'base'), '--data', join(dir, 'sft.jsonl'), '--out', join(dir, 'y'), '--precision', 'bf16'])).rejects.toThrow(/--precision bf16 is for CUDA matmuls \(add --device cuda\)/);
      await expect(main(['pretrain', '--model', 'gpt', '--data', join(dir, 'c.txt'), '--out', join(dir, 'y'), '--precision', 'fp16'])).rejects.toThrow(/--precision must be fp32, tf32 or bf16, got 'fp16'/);
      expect(memory().numBytes).toBe(before);
      expect(getMatmulPrecision()).toBe('fp32');
    });
  } else {
    it('two steps of each trainer on CUDA match the CPU: the same weights and metrics', () => {
      const cpu = trainAll('cpu'), gpu = trainAll('cuda');
      console.log(JSON.stringify({ cpu: cpu.metrics, cuda: gpu.metrics }));
      for (const [name, xs] of Object.entries(cpu.metrics)) {
        expect(gpu.metrics[name].length, name).toBe(xs.length);
        xs.forEach((x, i) => {
          expect(Number.isFinite(gpu.metrics[name][i]), `${name}[${i}]`).toBe(true);
          expect(Math.abs(gpu.metrics[name][i] - x), `${name}[${i}]: cpu ${x}, cuda ${gpu.metrics[name][i]}`).toBeLessThanOrEqual(2e-3 * Math.max(1, Math.abs(x)));
        });
      }
      // Weights: the CUDA run's change from the starting checkpoint differs from the CPU run's by
      // under 1% of the change itself (Adam's first steps are nearly sign(g), so a gradient
      // within rounding of 0 may step either way: a mean, not a max).
      const start = (name: string) => weights(name === 'sft' || name === 'classify' ? join(dir, 'base') : name === 'qa-bert' ? join(dir, 'bert') : name === 'qa-t5' ? join(dir, 't5') : sft);
      for (const name of Object.keys(cpu.dirs)) {
        const w0 = start(name), a = weights(cpu.dirs[name]), b = weights(gpu.dirs[name]);
        expect([...b.keys()].sort(), name).toEqual([...a.keys()].sort());
        let moved = 0, diff = 0;
        for (const [k, x] of a) {
          // A head's backbone is saved as backbone.*; a new head starts from nothing we compare against.
          const y = b.get(k)!, x0 = w0.get(k) ?? w0.get(k.replace(/^backbone\./, ''));
          x.forEach((v, i) => { moved += Math.abs(v - (x0 ? x0[i] : 0)); diff += Math.abs(v - y[i]); expect(Number.isFinite(y[i])).toBe(true); });
        }
        console.log(`${name}: sum |cpu - start| ${moved.toExponential(3)}, sum |cuda - cpu| ${diff.toExponential(3)}`);
        expect(moved, name).toBeGreaterThan(0);
        expect(diff, name).toBeLessThan(0.01 * moved);
      }
    }, 1_200_000);
    it('--precision bf16 and tf32: SFT from the command line on CUDA lands within rounding of fp32 on the CPU; fp32 on CUDA matches it', async () => {
      const run = async (extra: string[]) => {
        const lines: string[] = [];
        const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.join(' ')); });
        try {
          await main(['sft', '--init', join(dir, 'base'), '--data', join(dir, 'sft.jsonl'), '--out', join(dir, `p-${extra.join('-')}`), '--steps', '3', '--batch-size', '4', '--json', ...extra]);
        } finally {
          log.mockRestore();
        }
        return JSON.parse(lines.at(-1)!).finalLoss as number;
      };
      const cpu = await run([]);
      for (const p of ['bf16', 'tf32']) {
        const got = await run(['--device', 'cuda', '--precision', p]);
        console.log(`sft 3 steps, final loss: cpu fp32 ${cpu}, cuda ${p} ${got}`);
        expect(Math.abs(got - cpu)).toBeLessThan(2e-2 * cpu);
      }
      expect(await run(['--device', 'cuda'])).toBeCloseTo(cpu, 4);
      // main() hands an in-process caller its own setting back, whatever the command asked for.
      setMatmulPrecision('tf32');
      try {
        await run(['--device', 'cuda', '--precision', 'bf16']);
        expect(getMatmulPrecision()).toBe('tf32');
      } finally {
        setMatmulPrecision('fp32');
      }
    }, 600_000);
    it('the demo, every stage at micro sizes, gives the same held-out table on CUDA as on the CPU', () => {
      const { cuda, results } = checkCudaDemo(join(dir, 'demo'));
      for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.err.toExponential(2)}${r.detail ? ` ${r.detail}` : ''}`);
      expect(results.map((r) => r.name)).toEqual(cuda.stages.map((x) => `demo ${x.name}`));
      expect(results.filter((r) => !r.ok)).toEqual([]);
      const settings = JSON.parse(readFileSync(join(dir, 'demo', 'cuda', 'metrics.jsonl'), 'utf8').split('\n')[0]);
      expect(settings.device).toBe('cuda');
    }, 10_800_000); // seconds on a GPU; over an hour on the CPU emulation (each block of each launch is a set of threads)
  }
});

