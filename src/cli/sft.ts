/** `lmtrain sft --init DIR --data sft.jsonl [--eval dev.jsonl] [--lora R] [--lora-alpha A] [--pack] --out DIR` */
import { parseArgs, usage, need, resolveDevice, DEVICE_OPTIONS, type OptionSpec } from './args.js';
import { runSft } from '../train/sft.js';
import { DEFAULT_LORA_TARGETS } from '../nn/lora.js';
import { fmtTime } from '../train/progress.js';

const SPEC: Record<string, OptionSpec> = {
  init: { type: 'string', help: 'pretrained GPT checkpoint folder' },
  data: { type: 'string', help: 'SFT JSONL: {"instruction","input"?,"response"} or {"messages":[...]}' },
  eval: { type: 'string', help: 'held-out SFT JSONL (loss and exact match)' },
  out: { type: 'string', help: 'output folder (checkpoint, metrics.jsonl, adapters with --lora)' },
  chatTemplate: { type: 'string', help: 'tokenizer_config.json with a Jinja chat_template, or a .jinja file (default: ChatML)' },
  trainOnAll: { type: 'boolean', help: 'loss on every token, not only the assistant\'s' },
  pack: { type: 'boolean', help: 'pack examples into full rows (block-diagonal attention)' },
  lora: { type: 'number', help: 'LoRA rank r (default: full fine-tuning)' },
  loraAlpha: { type: 'number', help: 'LoRA alpha (2r)' },
  loraDropout: { type: 'number', help: 'LoRA dropout (0.05)' },
  loraTargets: { type: 'list', help: `module name suffixes to adapt (${DEFAULT_LORA_TARGETS.join(' ')})` },
  seqLen: { type: 'number', help: 'row length / longest example (n_positions)' },
  batchSize: { type: 'number', help: 'examples (or packed rows) per batch (16)' },
  gradAccum: { type: 'number', help: 'micro-batches per step (1)' },
  steps: { type: 'number', help: 'optimizer steps (200)' },
  lr: { type: 'number', help: 'peak learning rate (1e-3; 3e-3 with --lora)' },
  warmup: { type: 'number', help: 'warmup steps (10)' },
  evalEvery: { type: 'number', help: 'evaluate every N steps (0 = at the end)' },
  evalExamples: { type: 'number', help: 'held-out examples scored by exact match (200; 0 = all)' },
  maxNewTokens: { type: 'number', help: 'longest generated answer (24)' },
  seed: { type: 'number', help: 'random seed (1)' },
  ...DEVICE_OPTIONS,
  json: { type: 'boolean', help: 'print the result as JSON' },
};

export async function runSftCli(args: string[]): Promise<number> {
  const o = parseArgs('sft', args, SPEC);
  if (o.help) { console.log(usage('sft', SPEC)); return 0; }
  const device = resolveDevice('sft', o.device, o.precision);
  const r = o.lora as number | undefined;
  const num = (k: string, d: number): number => (o[k] as number | undefined) ?? d;
  const r0 = runSft({
    init: need('sft', o.init as string | undefined, '--init'),
    device,
    data: need('sft', o.data as string | undefined, '--data'),
    outDir: need('sft', o.out as string | undefined, '--out'),
    eval: o.eval as string | undefined,
    chatTemplate: o.chatTemplate as string | undefined,
    trainOnAll: !!o.trainOnAll,
    pack: !!o.pack,
    lora: r === undefined ? null : {
      r, alpha: num('loraAlpha', 2 * r), dropout: num('loraDropout', 0.05),
      targetModules: (o.loraTargets as string[] | undefined) ?? DEFAULT_LORA_TARGETS,
    },
    seqLen: o.seqLen as number | undefined,
    batchSize: num('batchSize', 16),
    seed: num('seed', 1),
    evalExamples: num('evalExamples', 200),
    maxNewTokens: num('maxNewTokens', 24),
    trainer: {
      steps: num('steps', 200), lr: num('lr', r === undefined ? 1e-3 : 3e-3), gradAccum: num('gradAccum', 1),
      warmupSteps: num('warmup', 10), evalEvery: num('evalEvery', 0), weightDecay: r === undefined ? 0.1 : 0,
    },
    progress: !o.json,
  });
  if (o.json) console.log(JSON.stringify(r0));
  else {
    const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : `${(100 * x).toFixed(1)}%`);
    console.log(`sft (${r0.mode}${r0.loraConfig ? `, r=${r0.loraConfig.r}` : ''}, ${r0.template}): ${r0.trainExamples} examples, ${r0.trainableParameters.toLocaleString('en')} of ${r0.parameters.toLocaleString('en')} parameters trained`);
    if (r0.final) console.log(`held-out loss ${r0.base ? `${r0.base.loss.toFixed(3)} -> ` : ''}${r0.final.loss.toFixed(3)}, exact match ${r0.base ? `${pct(r0.base.exact_match)} -> ` : ''}${pct(r0.final.exact_match)}`);
    console.log(`${r0.steps} steps in ${fmtTime(r0.seconds)}, ${Math.round(r0.tokensPerSecond).toLocaleString('en')} real tokens/s (fill ${pct(r0.fillRatio)}); checkpoint in ${o.out}`);
    for (const s of r0.samples.slice(0, 3)) console.log(`  ${JSON.stringify(s.reference)}: ${s.before !== undefined ? `${JSON.stringify(s.before)} -> ` : ''}${JSON.stringify(s.after)}`);
  }
  return 0;
}
