/**
 * The whole pipeline across devices: the demo, every stage (tokenizer, GPT pretraining, SFT,
 * reward model, DPO, KTO, BERT, T5, a classifier, PPO, GRPO) at the smallest sizes that still
 * run each one, once on the CPU and once on CUDA from the same seed, with the held-out figures
 * compared. Used by tests/train/device_trainers.test.ts where CUDA is usable (also on the
 * emulated backend) and by scripts/gpu-check.sh (through dist/) on the lent GPU machine.
 */
import { join } from 'node:path';
import { runDemo, type DemoResult, type DemoSizes } from './demo.js';
import type { CrossDeviceResult } from '../ops/cuda_check.js';

/** The demo at the smallest sizes that run every stage (a few seconds on the CPU). */
export const MICRO_DEMO_SIZES: DemoSizes = {
  countries: 6, documents: 120, evalDocuments: 4, vocabSize: 300, dim: 32, heads: 2, layers: 1, seqLen: 32, batchSize: 4,
  pretrainSteps: 3, pretrainLr: 5e-3, sftSteps: 2, sftLr: 5e-4, rewardSteps: 2, dpoSteps: 2, dpoLr: 1e-4, dpoBeta: 1,
  bertSteps: 2, t5Steps: 2, classifySteps: 2, rlIterations: 1, samples: 2,
};

/**
 * Continuous held-out figures of fixed text, compared to 1% (relative, or absolute below 1):
 * perplexities, the reward model's score of the reference answers and implicit-reward margins.
 * Anything computed from greedy or sampled answers (exact match, cloze, accuracies, the reward
 * model's score of a stage's own answers) may flip on a near-tie and is only required to be finite.
 */
const CONTINUOUS = ['perplexity', 'unigram_perplexity', 'rm_score_reference_answers', 'rm_margin', 'dpo_margin', 'kto_margin'];

export interface DemoDeviceCheck {
  cpu: DemoResult;
  cuda: DemoResult;
  /** One row per stage: the worst continuous difference, and whether every figure is finite on CUDA where it is on the CPU. */
  results: CrossDeviceResult[];
}

export function checkCudaDemo(outDir: string): DemoDeviceCheck {
  const run = (device: 'cpu' | 'cuda') => runDemo({ outDir: join(outDir, device), quick: true, all: true, sizes: MICRO_DEMO_SIZES, device, progress: false });
  const cpu = run('cpu'), cuda = run('cuda');
  const results: CrossDeviceResult[] = cpu.stages.map((st, i) => {
    const other = cuda.stages[i];
    if (!other || other.name !== st.name) return { name: `demo ${st.name}`, err: Infinity, tol: 1e-2, ok: false, detail: `CUDA run has stage ${other?.name ?? 'none'} here` };
    let err = 0;
    const bad: string[] = [];
    for (const [k, x] of Object.entries(st.metrics)) {
      const y = other.metrics[k];
      if (Number.isFinite(x) && !Number.isFinite(y)) bad.push(`${k} ${y}`);
      else if (CONTINUOUS.includes(k)) err = Math.max(err, Math.abs(y - x) / Math.max(1, Math.abs(x)));
    }
    const fmt = (v: unknown) => (typeof v === 'number' ? v.toPrecision(6) : String(v));
    const shown = CONTINUOUS.filter((k) => k in st.metrics).map((k) => `${k} ${fmt(st.metrics[k])}/${fmt(other.metrics[k])}`).join(', ');
    return { name: `demo ${st.name}`, err: bad.length ? Infinity : err, tol: 1e-2, ok: bad.length === 0 && err <= 1e-2,
      detail: bad.length ? `not finite on CUDA: ${bad.join(', ')}` : shown ? `cpu/cuda: ${shown}` : undefined };
  });
  return { cpu, cuda, results };
}
