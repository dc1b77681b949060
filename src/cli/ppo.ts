/**
 * `lmtrain ppo  --init DIR (--reward DIR | --reward-fn exact-answer) --prompts prompts.jsonl [--eval prompts.jsonl] --out DIR`
 * `lmtrain grpo --init DIR (--reward DIR | --reward-fn exact-answer) --prompts prompts.jsonl [--eval prompts.jsonl] --out DIR`
 * exact-answer checks facts of the built-in world (--world-seed, --countries as in generation).
 */
import type { Device } from '../tensor/tensor.js';
import { parseArgs, usage, need, resolveDevice, DEVICE_OPTIONS, type OptionSpec } from './args.js';
import { ArgumentError } from '../errors.js';
import { readPrompts } from '../data/preferences.js';
import { generateWorld } from '../pipeline/world.js';
import { runPpo, type RlResult } from '../train/ppo.js';
import { runGrpo } from '../train/grpo.js';
import { exactAnswerReward, rewardModelFn, type RewardFn } from '../train/rewards.js';

const COMMON: Record<string, OptionSpec> = {
  init: { type: 'string', help: 'starting checkpoint (policy and frozen reference)' },
  reward: { type: 'string', help: 'reward-model checkpoint folder (lmtrain reward)' },
  rewardFn: { type: 'string', help: 'programmatic reward instead: exact-answer' },
  worldSeed: { type: 'number', help: 'world seed for exact-answer (1)' },
  countries: { type: 'number', help: 'world size for exact-answer (24)' },
  prompts: { type: 'string', help: 'training prompts JSONL {"prompt"}' },
  eval: { type: 'string', help: 'held-out prompts JSONL: mean reward before/after' },
  out: { type: 'string', help: 'output folder' },
  iterations: { type: 'number', help: 'rollout + update iterations (20)' },
  batchSize: { type: 'number', help: 'prompts per iteration (ppo 16, grpo 4)' },
  epochs: { type: 'number', help: 'passes over each rollout batch (ppo 4, grpo 1)' },
  lr: { type: 'number', help: 'learning rate (1e-5)' },
  klCoef: { type: 'number', help: 'KL coefficient to the reference (ppo 0.05, grpo 0.04)' },
  maxNewTokens: { type: 'number', help: 'completion length limit (24)' },
  seed: { type: 'number', help: 'seed (1)' },
  ...DEVICE_OPTIONS,
  trainable: { type: 'string', help: "train only policy parameters matching this RegExp, or 'top-mlp' (default: all)" },
  json: { type: 'boolean', help: 'print the result as JSON' },
};
const GRPO_SPEC: Record<string, OptionSpec> = { ...COMMON, groupSize: { type: 'number', help: 'samples per prompt G (8)' } };

function rewardOf(cmd: string, o: Record<string, unknown>): RewardFn & { dispose?: () => void } {
  if (o.reward && o.rewardFn) throw new ArgumentError(`${cmd}: give --reward or --reward-fn, not both`);
  if (o.reward) return rewardModelFn(o.reward as string);
  if (o.rewardFn === 'exact-answer') return exactAnswerReward(generateWorld((o.worldSeed as number | undefined) ?? 1, (o.countries as number | undefined) ?? 24));
  if (o.rewardFn) throw new ArgumentError(`${cmd}: --reward-fn must be exact-answer, got ${String(o.rewardFn)}`);
  throw new ArgumentError(`${cmd}: a reward source is needed: --reward DIR or --reward-fn exact-answer`);
}

function report(r: RlResult, json: boolean): void {
  if (json) { console.log(JSON.stringify(r)); return; }
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  const last = r.history.at(-1);
  console.log(`held-out mean reward ${f(r.before.meanReward)} -> ${f(r.after.meanReward)} sampled, ${f(r.before.greedyReward)} -> ${f(r.after.greedyReward)} greedy (${r.after.prompts} prompts)`);
  if (last) console.log(`last iteration: reward ${f(last.reward)}, KL ${f(last.kl)}, entropy ${f(last.entropy)}, clip fraction ${f(last.clipFraction)}`);
  for (const s of r.samples) console.log(`- ${s.prompt}\n  before: ${s.before}\n  after:  ${s.after}`);
}

function common(cmd: string, o: Record<string, unknown>, reward: RewardFn, device: Device) {
  const num = (k: string) => o[k] as number | undefined;
  const def = <T>(v: T | undefined) => (v === undefined ? {} : v);
  return {
    init: need(cmd, o.init as string | undefined, '--init'),
    prompts: readPrompts(need(cmd, o.prompts as string | undefined, '--prompts')).map((p) => p.prompt),
    evalPrompts: o.eval ? readPrompts(o.eval as string).map((p) => p.prompt) : undefined,
    outDir: need(cmd, o.out as string | undefined, '--out'),
    reward, progress: !o.json, trainable: o.trainable as string | undefined, device,
    ...Object.fromEntries(['iterations', 'batchSize', 'epochs', 'lr', 'klCoef', 'maxNewTokens', 'seed', 'groupSize'].filter((k) => num(k) !== undefined).map((k) => [k, def(num(k))])),
  };
}

async function run(cmd: 'ppo' | 'grpo', args: string[]): Promise<number> {
  const spec = cmd === 'ppo' ? COMMON : GRPO_SPEC;
  const o = parseArgs(cmd, args, spec);
  if (o.help) { console.log(usage(cmd, spec)); return 0; }
  const device = resolveDevice(cmd, o.device, o.precision);
  const reward = rewardOf(cmd, o);
  try {
    const c = common(cmd, o, reward, device);
    report(cmd === 'ppo' ? runPpo(c) : runGrpo(c), !!o.json);
  } finally {
    reward.dispose?.();
  }
  return 0;
}

export const runPpoCli = (args: string[]): Promise<number> => run('ppo', args);
export const runGrpoCli = (args: string[]): Promise<number> => run('grpo', args);
