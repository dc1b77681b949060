/**
 * `lmtrain qa --init DIR --data train.jsonl [--eval dev.jsonl] --out DIR [--from-scratch]`
 * Extractive span QA when --init is a BERT checkpoint, generative QA when it is a GPT.
 */
import { parseArgs, usage, need, resolveDevice, DEVICE_OPTIONS, type OptionSpec } from './args.js';
import { runQa } from '../train/qa.js';

const SPEC: Record<string, OptionSpec> = {
  init: { type: 'string', help: 'checkpoint to fine-tune: bert (extractive) or gpt (generative)' },
  data: { type: 'string', help: 'training JSONL {"question","context","answer"}' },
  eval: { type: 'string', help: 'held-out JSONL, scored by exact match and token F1' },
  out: { type: 'string', help: 'output folder (checkpoint, metrics.jsonl, eval.json)' },
  fromScratch: { type: 'boolean', help: 'same config and tokenizer as --init, random weights' },
  steps: { type: 'number', help: 'optimizer steps (300)' },
  lr: { type: 'number', help: 'peak learning rate (1e-3)' },
  batchSize: { type: 'number', help: 'examples per step (16)' },
  maxLen: { type: 'number', help: 'tokens per example (96)' },
  maxAnswerTokens: { type: 'number', help: 'longest answer in tokens (12)' },
  evalEvery: { type: 'number', help: 'evaluate every N steps (0 = at the end)' },
  seed: { type: 'number', help: 'random seed (1)' },
  ...DEVICE_OPTIONS,
  json: { type: 'boolean', help: 'print the result as JSON' },
};

export async function runQaCli(args: string[]): Promise<number> {
  const o = parseArgs('qa', args, SPEC);
  if (o.help) { console.log(usage('qa', SPEC)); return 0; }
  const device = resolveDevice('qa', o.device, o.precision);
  const n = (k: string) => o[k] as number | undefined;
  const steps = n('steps') ?? 300, lr = n('lr') ?? 1e-3;
  const out = need('qa', o.out as string | undefined, '--out');
  const r = runQa({
    init: need('qa', o.init as string | undefined, '--init'),
    train: need('qa', o.data as string | undefined, '--data'),
    eval: o.eval as string | undefined,
    device,
    outDir: out, fromScratch: !!o.fromScratch, seed: n('seed') ?? 1,
    maxLen: n('maxLen') ?? 96, batchSize: n('batchSize') ?? 16, maxAnswerTokens: n('maxAnswerTokens') ?? 12,
    trainer: { steps, lr, evalEvery: n('evalEvery') ?? 0, warmupSteps: Math.ceil(steps / 10), minLr: lr / 10, weightDecay: 0.01 },
    progress: !o.json,
  });
  if (o.json) console.log(JSON.stringify(r));
  else {
    console.log(`${r.mode} QA: ${r.summary.steps} steps, final loss ${r.summary.finalLoss.toFixed(4)}${r.truncated ? `; ${r.truncated} examples dropped (answer past --max-len)` : ''}`);
    if (r.eval) console.log(`exact match ${(100 * r.eval.exactMatch).toFixed(2)}%, token F1 ${(100 * r.eval.f1).toFixed(2)}%`);
    console.log(`checkpoint in ${out}`);
  }
  return 0;
}
