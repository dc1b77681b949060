/**
 * `lmtrain dpo --init DIR --data prefs.jsonl [--eval dev.jsonl] [--beta 0.1] [--loss sigmoid|ipo|hinge|simpo] --out DIR`
 * `lmtrain kto --init DIR --data feedback.jsonl [--eval prefs.jsonl] [--beta 0.1] --out DIR`
 */
import { parseArgs, usage, need, resolveDevice, DEVICE_OPTIONS, type OptionSpec } from './args.js';
import { readFeedback, readPreferences } from '../data/preferences.js';
import { runDpo, runKto, type DpoResult } from '../train/dpo.js';
import type { DpoLossName } from '../train/losses/dpo.js';

const COMMON: Record<string, OptionSpec> = {
  init: { type: 'string', help: 'starting checkpoint (policy and frozen reference)' },
  data: { type: 'string', help: 'training JSONL' },
  eval: { type: 'string', help: 'held-out preference pairs {"prompt","chosen","rejected"} for accuracy' },
  out: { type: 'string', help: 'output folder' },
  beta: { type: 'number', help: 'KL strength beta (0.1)' },
  steps: { type: 'number', help: 'optimizer steps (100)' },
  batchSize: { type: 'number', help: 'examples per step (8)' },
  lr: { type: 'number', help: 'learning rate (3e-4)' },
  seed: { type: 'number', help: 'seed (1)' },
  ...DEVICE_OPTIONS,
  trainable: { type: 'string', help: "train only parameters whose names match this RegExp, or 'top-mlp' (default: all)" },
  json: { type: 'boolean', help: 'print the result as JSON' },
};
const DPO_SPEC: Record<string, OptionSpec> = {
  ...COMMON,
  loss: { type: 'string', help: 'sigmoid | ipo | hinge | simpo (sigmoid)' },
  gamma: { type: 'number', help: 'SimPO margin (0.5)' },
  sftWeight: { type: 'number', help: 'weight of an SFT term on the chosen answers (RPO; 0 = off)' },
};

function report(r: DpoResult, json: boolean): void {
  if (json) { console.log(JSON.stringify(r)); return; }
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  console.log(`held-out preference accuracy ${f(r.before.accuracy)} -> ${f(r.after.accuracy)} (${r.after.pairs} pairs)`);
  console.log(`rewards chosen ${f(r.after.rewardsChosen)}, rejected ${f(r.after.rewardsRejected)}, margin ${f(r.after.margin)}`);
}

export async function runDpoCli(args: string[]): Promise<number> {
  const o = parseArgs('dpo', args, DPO_SPEC);
  if (o.help) { console.log(usage('dpo', DPO_SPEC)); return 0; }
  const device = resolveDevice('dpo', o.device, o.precision);
  const r = runDpo({
    init: need('dpo', o.init as string | undefined, '--init'),
    pairs: readPreferences(need('dpo', o.data as string | undefined, '--data')),
    evalPairs: o.eval ? readPreferences(o.eval as string) : undefined,
    outDir: need('dpo', o.out as string | undefined, '--out'),
    loss: ((o.loss as string | undefined) ?? 'sigmoid') as DpoLossName,
    beta: (o.beta as number | undefined) ?? 0.1, gamma: o.gamma as number | undefined, sftWeight: o.sftWeight as number | undefined,
    batchSize: (o.batchSize as number | undefined) ?? 8, seed: (o.seed as number | undefined) ?? 1, trainable: o.trainable as string | undefined, device,
    trainer: { steps: (o.steps as number | undefined) ?? 100, lr: (o.lr as number | undefined) ?? 3e-4, warmupSteps: 5, evalEvery: 25 },
    progress: !o.json,
  });
  report(r, !!o.json);
  return 0;
}

export async function runKtoCli(args: string[]): Promise<number> {
  const o = parseArgs('kto', args, COMMON);
  if (o.help) { console.log(usage('kto', COMMON)); return 0; }
  const device = resolveDevice('kto', o.device, o.precision);
  const r = runKto({
    init: need('kto', o.init as string | undefined, '--init'),
    feedback: readFeedback(need('kto', o.data as string | undefined, '--data')),
    evalPairs: o.eval ? readPreferences(o.eval as string) : undefined,
    outDir: need('kto', o.out as string | undefined, '--out'),
    beta: (o.beta as number | undefined) ?? 0.1,
    batchSize: (o.batchSize as number | undefined) ?? 8, seed: (o.seed as number | undefined) ?? 1, trainable: o.trainable as string | undefined, device,
    trainer: { steps: (o.steps as number | undefined) ?? 100, lr: (o.lr as number | undefined) ?? 3e-4, warmupSteps: 5, evalEvery: 25 },
    progress: !o.json,
  });
  report(r, !!o.json);
  return 0;
}
