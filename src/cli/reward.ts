/**
 * `lmtrain reward --init DIR --data prefs.jsonl [--eval dev.jsonl] [--feedback] [--center 0.01] --out DIR`
 * Trains a reward model (GPT backbone + scalar head) from a GPT checkpoint: Bradley–Terry on
 * pairs {"prompt","chosen","rejected"}, or with --feedback a logistic loss on
 * {"prompt","completion","label"}. Held-out metrics come from --eval pairs.
 */
import { parseArgs, usage, need, resolveDevice, DEVICE_OPTIONS, type OptionSpec } from './args.js';
import { readFeedback, readPreferences } from '../data/preferences.js';
import { runReward, type RewardResult } from '../train/reward.js';

const SPEC: Record<string, OptionSpec> = {
  init: { type: 'string', help: 'starting GPT checkpoint (SFT or pretrained)' },
  data: { type: 'string', help: 'training JSONL: preference pairs, or feedback with --feedback' },
  eval: { type: 'string', help: 'held-out preference pairs {"prompt","chosen","rejected"} for accuracy' },
  feedback: { type: 'boolean', help: 'train on binary feedback {"prompt","completion","label"} (logistic loss)' },
  center: { type: 'number', help: 'reward-centring coefficient (0 = off; 0.01 is typical)' },
  out: { type: 'string', help: 'output folder (the reward model checkpoint)' },
  steps: { type: 'number', help: 'optimizer steps (100)' },
  batchSize: { type: 'number', help: 'pairs or examples per step (8)' },
  lr: { type: 'number', help: 'learning rate (1e-3)' },
  seed: { type: 'number', help: 'seed (1)' },
  ...DEVICE_OPTIONS,
  trainable: { type: 'string', help: "train only backbone parameters matching this RegExp (backbone.blocks.1.mlp...), or 'top-mlp'; the head always trains" },
  json: { type: 'boolean', help: 'print the result as JSON' },
};

function report(r: RewardResult, json: boolean): void {
  if (json) { console.log(JSON.stringify(r)); return; }
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  console.log(`held-out pair accuracy ${f(r.before.accuracy)} -> ${f(r.after.accuracy)} (${r.after.pairs} pairs)`);
  console.log(`margin ${f(r.after.margin)}, rewards chosen ${f(r.after.rewardsChosen)}, rejected ${f(r.after.rewardsRejected)}, mean ${f(r.after.rewardMean)}, std ${f(r.after.rewardStd)}`);
}

export async function runRewardCli(args: string[]): Promise<number> {
  const o = parseArgs('reward', args, SPEC);
  if (o.help) { console.log(usage('reward', SPEC)); return 0; }
  const device = resolveDevice('reward', o.device, o.precision);
  const data = need('reward', o.data as string | undefined, '--data');
  const r = runReward({
    init: need('reward', o.init as string | undefined, '--init'),
    ...(o.feedback ? { feedback: readFeedback(data) } : { pairs: readPreferences(data) }),
    evalPairs: o.eval ? readPreferences(o.eval as string) : undefined,
    center: (o.center as number | undefined) ?? 0,
    outDir: need('reward', o.out as string | undefined, '--out'),
    batchSize: (o.batchSize as number | undefined) ?? 8, seed: (o.seed as number | undefined) ?? 1, trainable: o.trainable as string | undefined, device,
    trainer: { steps: (o.steps as number | undefined) ?? 100, lr: (o.lr as number | undefined) ?? 1e-3, warmupSteps: 5, evalEvery: 25 },
    progress: !o.json,
  });
  report(r, !!o.json);
  return 0;
}
