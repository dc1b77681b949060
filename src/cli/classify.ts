/**
 * `lmtrain classify --init DIR --data train.jsonl [--eval dev.jsonl] --out DIR [--from-scratch]`
 * `lmtrain classify --label-efficiency --out DIR [--model gpt|bert] [--seeds 1 2 3] [--init DIR]`
 * `lmtrain classify --write-task sentiment|qa --out DIR [--task-seed N]`
 * The second form runs the label-efficiency experiment on the built-in sentiment task; the
 * third writes a built-in task as JSONL files for the other commands.
 */
import { parseArgs, usage, need, resolveDevice, DEVICE_OPTIONS, type OptionSpec } from './args.js';
import { runClassify } from '../train/classify.js';
import { runLabelEfficiency, type LabelCount } from '../train/label_efficiency.js';
import { ArgumentError } from '../errors.js';
import { writeTask } from '../pipeline/tasks.js';

const SPEC: Record<string, OptionSpec> = {
  init: { type: 'string', help: 'checkpoint to fine-tune (config, weights, tokenizer)' },
  data: { type: 'string', help: 'training JSONL {"text","label"}' },
  eval: { type: 'string', help: 'held-out JSONL {"text","label"}' },
  out: { type: 'string', help: 'output folder (checkpoint, metrics.jsonl, eval.json)' },
  fromScratch: { type: 'boolean', help: 'same config and tokenizer as --init, random weights' },
  steps: { type: 'number', help: 'optimizer steps (200)' },
  lr: { type: 'number', help: 'peak learning rate (1e-3)' },
  batchSize: { type: 'number', help: 'examples per step (16)' },
  maxLen: { type: 'number', help: 'tokens per example (64)' },
  evalEvery: { type: 'number', help: 'evaluate every N steps (0 = at the end)' },
  seed: { type: 'number', help: 'random seed (1)' },
  ...DEVICE_OPTIONS,
  writeTask: { type: 'string', help: 'write the built-in task sentiment | qa as files into --out, then stop' },
  labelEfficiency: { type: 'boolean', help: 'run the label-efficiency experiment on the built-in sentiment task' },
  model: { type: 'string', help: 'label efficiency: backbone to pretrain, gpt | bert (gpt)' },
  seeds: { type: 'list', help: 'label efficiency: seeds (1 2 3)' },
  counts: { type: 'list', help: 'label efficiency: label counts (32 128 512 all)' },
  taskSeed: { type: 'number', help: 'label efficiency: seed of the generated task (1)' },
  negation: { type: 'number', help: 'label efficiency: share of negated clauses in the task (0.3)' },
  contrast: { type: 'number', help: 'label efficiency: share of "X, but Y" reviews in the task (0.4)' },
  json: { type: 'boolean', help: 'print the result as JSON' },
};

const num = (o: Record<string, unknown>, k: string): number | undefined => o[k] as number | undefined;

export async function runClassifyCli(args: string[]): Promise<number> {
  const o = parseArgs('classify', args, SPEC);
  if (o.help) { console.log(usage('classify', SPEC)); return 0; }
  const device = resolveDevice('classify', o.device, o.precision);
  const out = need('classify', o.out as string | undefined, '--out');
  if (o.writeTask !== undefined) {
    if (o.writeTask !== 'sentiment' && o.writeTask !== 'qa') throw new ArgumentError(`classify: --write-task takes sentiment or qa, got '${String(o.writeTask)}'`);
    for (const f of writeTask(o.writeTask, out, num(o, 'taskSeed') ?? 1, { negation: num(o, 'negation'), contrast: num(o, 'contrast') })) console.log(f);
    return 0;
  }
  if (o.labelEfficiency) {
    const counts = (o.counts as string[] | undefined)?.map((c): LabelCount => {
      if (c === 'all') return 'all';
      const n = Number(c);
      if (!Number.isInteger(n) || n < 1) throw new ArgumentError(`classify: --counts takes positive integers or 'all', got '${c}'`);
      return n;
    });
    const model = (o.model as string | undefined) ?? 'gpt';
    if (model !== 'gpt' && model !== 'bert') throw new ArgumentError(`classify: --model must be gpt or bert, got '${model}'`);
    const r = runLabelEfficiency({
      outDir: out, device, model, init: o.init as string | undefined, counts, seeds: (o.seeds as string[] | undefined)?.map(Number),
      taskSeed: num(o, 'taskSeed'), progress: !o.json, taskSize: { negation: num(o, 'negation'), contrast: num(o, 'contrast') },
      finetune: { steps: num(o, 'steps') ?? 150, lr: num(o, 'lr') ?? 1e-3, batchSize: num(o, 'batchSize') ?? 16, maxLen: num(o, 'maxLen') ?? 48 },
    } as Parameters<typeof runLabelEfficiency>[0]);
    console.log(o.json ? JSON.stringify(r) : `test accuracy / macro-F1 (%), mean over seeds ${r.config.seeds.join(', ')}:\n${r.markdown}results in ${out}/label_efficiency.{json,md}`);
    return 0;
  }
  const r = runClassify({
    init: need('classify', o.init as string | undefined, '--init'),
    device,
    train: need('classify', o.data as string | undefined, '--data'),
    eval: o.eval as string | undefined,
    outDir: out,
    fromScratch: !!o.fromScratch,
    seed: num(o, 'seed') ?? 1,
    maxLen: num(o, 'maxLen') ?? 64,
    batchSize: num(o, 'batchSize') ?? 16,
    trainer: {
      steps: num(o, 'steps') ?? 200, lr: num(o, 'lr') ?? 1e-3, evalEvery: num(o, 'evalEvery') ?? 0,
      warmupSteps: Math.ceil((num(o, 'steps') ?? 200) / 10), minLr: (num(o, 'lr') ?? 1e-3) / 10, weightDecay: 0.01,
    },
    progress: !o.json,
  });
  if (o.json) console.log(JSON.stringify(r));
  else {
    console.log(`labels: ${r.labels.join(', ')}; ${r.summary.steps} steps, final loss ${r.summary.finalLoss.toFixed(4)}`);
    if (r.eval) {
      console.log(`accuracy ${(100 * r.eval.accuracy).toFixed(2)}%, macro-F1 ${(100 * r.eval.macroF1).toFixed(2)}%`);
      console.log(`confusion (rows gold, columns predicted, order ${r.labels.join(' ')}):`);
      for (const row of r.eval.confusion) console.log('  ' + row.map((v) => String(v).padStart(6)).join(''));
    }
    console.log(`checkpoint in ${out}`);
  }
  return 0;
}
