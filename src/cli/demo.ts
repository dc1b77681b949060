/**
 * `lmtrain demo [--quick] [--all] [--json] [--out DIR]`: the whole pipeline on the built-in
 * world (tokenizer, GPT pretraining, SFT, reward model, DPO; --all adds KTO, BERT, T5, a
 * classifier, PPO and GRPO), one evaluation table, sample answers, and DIR/report.html.
 */
import { parseArgs, usage, resolveDevice, DEVICE_OPTIONS, type OptionSpec } from './args.js';
import { runDemo } from '../pipeline/demo.js';

const SPEC: Record<string, OptionSpec> = {
  quick: { type: 'boolean', help: 'the small version (about a minute on 2 cores)' },
  all: { type: 'boolean', help: 'also KTO, BERT masked LM, T5 span corruption, a classifier, PPO and GRPO' },
  out: { type: 'string', help: 'output folder (runs/demo)' },
  seed: { type: 'number', help: 'world and training seed (1)' },
  ...DEVICE_OPTIONS,
  json: { type: 'boolean', help: 'print the table as JSON: {stages:[{name, seconds, metrics}], total_seconds}' },
};

export async function runDemoCli(args: string[]): Promise<number> {
  const o = parseArgs('demo', args, SPEC);
  if (o.help) { console.log(usage('demo', SPEC)); return 0; }
  const device = resolveDevice('demo', o.device, o.precision);
  const out = (o.out as string | undefined) ?? 'runs/demo';
  const json = !!o.json;
  const lines: string[] = [];
  const r = runDemo({ outDir: out, quick: !!o.quick, all: !!o.all, seed: (o.seed as number | undefined) ?? 1, device, progress: !json, log: (l) => lines.push(l) });
  if (json) console.log(JSON.stringify({ stages: r.stages.map(({ name, seconds, metrics }) => ({ name, seconds, metrics })), total_seconds: r.total_seconds }));
  else {
    console.log(lines.join('\n'));
    console.log(`\nreport: ${r.report}  (rebuild with: lmtrain report ${out})`);
  }
  return 0;
}
