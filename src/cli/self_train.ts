/**
 * `lmtrain self-train --init DIR --data train.jsonl --unlabeled FILE --eval dev.jsonl --out DIR`
 * [--threshold 0.9] [--no-balance] [--rounds N] [--from-scratch]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, usage, need, resolveDevice, DEVICE_OPTIONS, type OptionSpec } from './args.js';
import { runSelfTrain } from '../train/self_train.js';

const SPEC: Record<string, OptionSpec> = {
  init: { type: 'string', help: 'checkpoint the teacher and students start from' },
  data: { type: 'string', help: 'labelled JSONL {"text","label"}' },
  unlabeled: { type: 'string', help: 'unlabelled texts: JSONL {"text"} or one per line' },
  eval: { type: 'string', help: 'held-out JSONL {"text","label"}' },
  out: { type: 'string', help: 'output folder (the last student, metrics.jsonl, self_train.json)' },
  fromScratch: { type: 'boolean', help: 'random weights with the config and tokenizer of --init' },
  threshold: { type: 'number', help: 'keep pseudo-labels with probability >= this (0.9)' },
  noBalance: { type: 'boolean', help: 'keep every confident pseudo-label (default: as many per class)' },
  rounds: { type: 'number', help: 'teacher -> student rounds (1)' },
  steps: { type: 'number', help: 'optimizer steps per model (200)' },
  lr: { type: 'number', help: 'peak learning rate (1e-3)' },
  batchSize: { type: 'number', help: 'examples per step (16)' },
  maxLen: { type: 'number', help: 'tokens per example (64)' },
  seed: { type: 'number', help: 'random seed (1)' },
  ...DEVICE_OPTIONS,
  json: { type: 'boolean', help: 'print the result as JSON' },
};

export async function runSelfTrainCli(args: string[]): Promise<number> {
  const o = parseArgs('self-train', args, SPEC);
  if (o.help) { console.log(usage('self-train', SPEC)); return 0; }
  const device = resolveDevice('self-train', o.device, o.precision);
  const n = (k: string) => o[k] as number | undefined;
  const steps = n('steps') ?? 200, lr = n('lr') ?? 1e-3;
  const out = need('self-train', o.out as string | undefined, '--out');
  const r = runSelfTrain({
    init: need('self-train', o.init as string | undefined, '--init'),
    train: need('self-train', o.data as string | undefined, '--data'),
    unlabeled: need('self-train', o.unlabeled as string | undefined, '--unlabeled'),
    eval: need('self-train', o.eval as string | undefined, '--eval'),
    outDir: out, fromScratch: !!o.fromScratch, threshold: n('threshold') ?? 0.9, balance: !o.noBalance, rounds: n('rounds') ?? 1,
    classify: {
      device, seed: n('seed') ?? 1, maxLen: n('maxLen') ?? 64, batchSize: n('batchSize') ?? 16,
      trainer: { steps, lr, warmupSteps: Math.ceil(steps / 10), minLr: lr / 10, weightDecay: 0.01 },
    },
    progress: !o.json,
  });
  writeFileSync(join(out, 'self_train.json'), JSON.stringify(r, null, 2) + '\n');
  if (o.json) console.log(JSON.stringify(r));
  else {
    const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
    console.log(`teacher: accuracy ${pct(r.teacher.accuracy)}, macro-F1 ${pct(r.teacher.macroF1)}`);
    for (const x of r.rounds) console.log(`round ${x.round}: ${x.kept} pseudo-labels (${x.perClass.join(' / ')}), student accuracy ${pct(x.student.accuracy)}, macro-F1 ${pct(x.student.macroF1)}`);
    console.log(`gain over the teacher: ${r.gain >= 0 ? '+' : ''}${(100 * r.gain).toFixed(2)} points; student checkpoint in ${out}`);
  }
  return 0;
}
