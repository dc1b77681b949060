/**
 * The training loop, shared by every stage. It reads top to bottom: batch, loss,
 * accumulation, clip, step, schedule, eval, log, checkpoint. A stage supplies a TrainTask
 * (model, batches, loss, evaluation, data cursor); the trainer owns the optimizer, the
 * schedule, metrics.jsonl, the progress bar and checkpoints, and resumes exactly: the
 * step, the optimizer moments, the global RNG and the data cursor are all restored, so a
 * run stopped and resumed gives the same losses bit for bit.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { AdamW } from '../optim/adamw.js';
import { clipGradNorm } from '../optim/clip.js';
import { backward, noGrad } from '../autograd/graph.js';
import { tidy } from '../tensor/scope.js';
import { affine } from '../ops/elementwise.js';
import { assign } from '../ops/shape.js';
import { tensor } from '../tensor/creation.js';
import { getRngState, setRngState, type RngState } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { ArgumentError, DataError, LmtError } from '../errors.js';
import { lrAt } from './schedule.js';
import { MetricsWriter } from './metrics.js';
import { ProgressBar } from './progress.js';
import { saveCheckpoint, loadCheckpoint } from '../io/checkpoint.js';

export interface TrainerConfig {
  /** Optimizer steps to run in total (a resumed run continues up to this). */
  steps: number;
  /** Micro-batches accumulated per optimizer step. */
  gradAccum: number;
  /** Peak learning rate, reached after warmupSteps, then cosine decay to minLr. */
  lr: number;
  minLr: number;
  warmupSteps: number;
  /** Decoupled weight decay on matrices (biases and norm gains never decay). */
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Global gradient-norm clip (0 = off). */
  clipNorm: number;
  /** Evaluate every N steps (0 = only at the end). */
  evalEvery: number;
  /** Save a checkpoint every N steps (0 = only at the end); needs outDir. */
  saveEvery: number;
  /** Write a metrics line every N steps. */
  logEvery: number;
  /** Where metrics.jsonl and checkpoints go (checkpoint: outDir itself). */
  outDir?: string;
  /** On a NaN/Inf loss: 'stop' (default; the last checkpoint stays) or 'skip' the step. */
  nonFinite: 'stop' | 'skip';
  /** Show a progress bar on stderr. */
  progress: boolean;
  /** Label for the progress bar and metrics ('pretrain', 'sft', ...). */
  stage: string;
  /** Stop (and checkpoint) after this step while keeping the schedule of `steps` (to split a run). */
  stopAt?: number;
}

export const defaultTrainerConfig: TrainerConfig = {
  steps: 100, gradAccum: 1, lr: 3e-4, minLr: 3e-5, warmupSteps: 10, weightDecay: 0.1, beta1: 0.9, beta2: 0.95,
  clipNorm: 1.0, evalEvery: 0, saveEvery: 0, logEvery: 1, nonFinite: 'stop', progress: true, stage: 'train',
};

export interface TrainTask<B> {
  model: Module & { config: object };
  nextBatch(): B;
  /** The scalar loss of a batch (grad mode on; called inside a scope). */
  loss(batch: B): Tensor;
  /** Tokens (or examples) in a batch, for throughput. */
  tokens(batch: B): number;
  /** Held-out metrics (run under noGrad, model in eval mode). */
  evaluate?(): Record<string, number>;
  dataState(): unknown;
  setDataState(s: unknown): void;
  /** Written as tokenizer.json with every checkpoint. */
  tokenizerJson?: object | string;
}

export interface TrainerState {
  step: number;
  rng: RngState;
  data: unknown;
  optimizerStep: number;
  stage: string;
}

export class NonFiniteLossError extends LmtError {
  constructor(message: string) { super(message, 'LMT_ERR_NONFINITE'); }
}

export interface TrainSummary { steps: number; finalLoss: number; seconds: number; tokensPerSecond: number; eval?: Record<string, number> }

export class Trainer<B> {
  readonly cfg: TrainerConfig;
  readonly opt: AdamW;
  step = 0;
  readonly losses: number[] = [];
  private metrics: MetricsWriter | null = null;

  constructor(readonly task: TrainTask<B>, cfg: Partial<TrainerConfig> = {}) {
    this.cfg = { ...defaultTrainerConfig, ...cfg };
    const c = this.cfg;
    if (!Number.isInteger(c.steps) || c.steps < 0) throw new ArgumentError(`Trainer: steps must be a non-negative integer, got ${c.steps}`);
    if (!Number.isInteger(c.gradAccum) || c.gradAccum < 1) throw new ArgumentError(`Trainer: gradAccum must be >= 1, got ${c.gradAccum}`);
    this.opt = new AdamW(task.model.trainableParameters(), { lr: c.lr, beta1: c.beta1, beta2: c.beta2, weightDecay: c.weightDecay });
  }

  /** Restores a checkpoint written by save(): weights, optimizer, step, RNG and data cursor. */
  resume(dir: string): void {
    const ck = loadCheckpoint(dir);
    const st = ck.trainerState as TrainerState | undefined;
    if (!st || !ck.optimizer) throw new LmtError(`resume: ${dir} has no optimizer.safetensors/trainer_state.json to resume from`, 'LMT_ERR_DATA');
    // trainer_state.json is a file like any other: check it before anything is applied.
    const stateFile = join(ck.dir, 'trainer_state.json');
    const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    if (!count(st.step)) throw new DataError(`resume: "step" must be a non-negative integer, got ${JSON.stringify(st.step)}`, stateFile);
    if (!count(st.optimizerStep)) throw new DataError(`resume: "optimizerStep" must be a non-negative integer, got ${JSON.stringify(st.optimizerStep)}`, stateFile);
    if (typeof st.rng !== 'object' || st.rng === null || !count(st.rng.seed) || !count(st.rng.offset))
      throw new DataError('resume: "rng" must be {seed, offset} with non-negative integers', stateFile);
    this.task.model.loadStateDict(ck.weights);
    const named = this.task.model.namedParameters().filter(([, p]) => p.requiresGrad);
    named.forEach(([name], i) => {
      for (const [prefix, arr] of [['m', this.opt.m], ['v', this.opt.v]] as const) {
        const s = ck.optimizer!.get(`${prefix}.${name}`);
        if (!s) throw new LmtError(`resume: optimizer state '${prefix}.${name}' is missing in ${dir}`, 'LMT_ERR_DATA');
        const src = tensor(s.data instanceof Float32Array ? s.data : Float32Array.from(s.data), s.shape, 'float32', arr[i].device);
        assign(arr[i], src);
        src.dispose();
      }
    });
    this.opt.step = st.optimizerStep;
    this.step = st.step;
    setRngState(st.rng);
    try {
      this.task.setDataState(st.data);
    } catch (e) {
      if (e instanceof LmtError) throw e;
      throw new DataError(`resume: the data cursor "data" does not fit this run (${(e as Error).message})`, stateFile);
    }
  }

  save(dir = this.cfg.outDir): void {
    if (!dir) throw new ArgumentError('Trainer.save: no output directory');
    const named = this.task.model.namedParameters();
    const optimizer: Record<string, Tensor> = {};
    named.filter(([, p]) => p.requiresGrad).forEach(([name], i) => {
      optimizer[`m.${name}`] = this.opt.m[i];
      optimizer[`v.${name}`] = this.opt.v[i];
    });
    const trainerState: TrainerState = { step: this.step, rng: getRngState(), data: this.task.dataState(), optimizerStep: this.opt.step, stage: this.cfg.stage };
    saveCheckpoint(dir, {
      config: this.task.model.config, weights: Object.fromEntries(named), tokenizerJson: this.task.tokenizerJson,
      optimizer, trainerState,
    });
  }

  run(): TrainSummary {
    const c = this.cfg;
    if (c.outDir) this.metrics = new MetricsWriter(join(c.outDir, 'metrics.jsonl'), { append: this.step > 0 && existsSync(join(c.outDir, 'metrics.jsonl')) });
    const bar = new ProgressBar(c.stage, c.steps, process.stderr, c.progress);
    const t0 = Date.now();
    let tokens = 0, lastLoss = NaN, lastEval: Record<string, number> | undefined;
    this.task.model.train();
    const end = Math.min(c.steps, c.stopAt ?? c.steps);
    while (this.step < end) {
      const lr = lrAt(this.step, { lr: c.lr, minLr: c.minLr, warmupSteps: c.warmupSteps, totalSteps: c.steps });
      this.opt.lr = lr;
      // 1. forward + backward over the micro-batches of this step
      let loss = 0;
      for (let micro = 0; micro < c.gradAccum; micro++) {
        const batch = this.task.nextBatch();
        tokens += this.task.tokens(batch);
        loss += tidy(() => {
          const l = this.task.loss(batch);
          const v = l.item();
          if (Number.isFinite(v)) backward(c.gradAccum === 1 ? l : affine(l, 1 / c.gradAccum));
          return v;
        }) / c.gradAccum;
      }
      // 2. a non-finite loss never reaches the weights
      if (!Number.isFinite(loss)) {
        this.opt.zeroGrad();
        this.metrics?.write({ stage: c.stage, step: this.step, event: 'nonfinite_loss', loss: String(loss) });
        if (c.nonFinite === 'stop') {
          bar.done();
          throw new NonFiniteLossError(`${c.stage}: the loss became ${loss} at step ${this.step}; training stopped` +
            (c.outDir ? ` (the last good checkpoint in ${c.outDir} is kept)` : ''));
        }
        this.step++;
        // A skipped step still reaches the save points (the last step above all).
        if (c.outDir && ((c.saveEvery > 0 && this.step % c.saveEvery === 0) || this.step === end)) this.save();
        continue;
      }
      // 3. clip, step, clear
      const gradNorm = c.clipNorm > 0 ? clipGradNorm(this.opt.params, c.clipNorm) : NaN;
      this.opt.stepUpdate();
      this.opt.zeroGrad();
      this.step++;
      this.losses.push(loss);
      lastLoss = loss;
      const secs = (Date.now() - t0) / 1000;
      if (this.step % c.logEvery === 0 || this.step === c.steps)
        this.metrics?.write({ stage: c.stage, step: this.step, loss, lr, grad_norm: gradNorm, tokens_per_s: tokens / Math.max(secs, 1e-9) });
      // 4. evaluation
      if (this.task.evaluate && ((c.evalEvery > 0 && this.step % c.evalEvery === 0) || this.step === c.steps)) {
        lastEval = this.evaluate();
        this.metrics?.write({ stage: c.stage, step: this.step, ...Object.fromEntries(Object.entries(lastEval).map(([k, v]) => [`eval_${k}`, v])) });
      }
      // 5. checkpoint
      if (c.outDir && ((c.saveEvery > 0 && this.step % c.saveEvery === 0) || this.step === end)) this.save();
      bar.update(this.step, { loss, lr, 'tok/s': Math.round(tokens / Math.max(secs, 1e-9)) });
    }
    bar.done();
    const seconds = (Date.now() - t0) / 1000;
    return { steps: this.step, finalLoss: lastLoss, seconds, tokensPerSecond: tokens / Math.max(seconds, 1e-9), eval: lastEval };
  }

  evaluate(): Record<string, number> {
    if (!this.task.evaluate) return {};
    this.task.model.eval();
    try {
      return noGrad(() => this.task.evaluate!());
    } finally {
      this.task.model.train();
    }
  }

  dispose(): void {
    this.opt.dispose();
  }
}

