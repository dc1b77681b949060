/** `lmtrain pretrain --model gpt|bert|t5 [--objective clm|mlm|span] --data ... --out DIR` */
import { parseArgs, usage, need, resolveDevice, DEVICE_OPTIONS, type OptionSpec } from './args.js';
import { runPretrain, type ModelKind, type Objective } from '../train/pretrain.js';
import { fmtTime } from '../train/progress.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorld, worldCorpus } from '../pipeline/world.js';
import { ArgumentError } from '../errors.js';

const SPEC: Record<string, OptionSpec> = {
  model: { type: 'string', help: 'gpt | bert | t5' },
  objective: { type: 'string', help: 'clm | mlm | span (default: the model\'s own)' },
  data: { type: 'list', help: 'text files, folders, or JSONL {"text"} files' },
  builtinWorld: { type: 'boolean', help: 'train on the built-in bilingual world corpus (no data needed)' },
  out: { type: 'string', help: 'output folder (checkpoint, metrics.jsonl)' },
  tokenizer: { type: 'string', help: 'tokenizer.json (default: train a byte-level BPE)' },
  vocabSize: { type: 'number', help: 'vocabulary size when training the tokenizer (512)' },
  preset: { type: 'string', help: 'model preset (tiny, small, ...)' },
  layers: { type: 'number', help: 'number of layers' },
  heads: { type: 'number', help: 'attention heads' },
  dim: { type: 'number', help: 'model width (n_embd)' },
  seqLen: { type: 'number', help: 'tokens per row (64)' },
  batchSize: { type: 'number', help: 'rows per micro-batch (16)' },
  gradAccum: { type: 'number', help: 'micro-batches per step (1)' },
  steps: { type: 'number', help: 'optimizer steps (200)' },
  lr: { type: 'number', help: 'peak learning rate (3e-3)' },
  warmup: { type: 'number', help: 'warmup steps (20)' },
  evalEvery: { type: 'number', help: 'evaluate every N steps (50)' },
  saveEvery: { type: 'number', help: 'checkpoint every N steps (0 = at the end)' },
  seed: { type: 'number', help: 'random seed (1)' },
  ...DEVICE_OPTIONS,
  resume: { type: 'boolean', help: 'continue from the checkpoint in --out' },
  json: { type: 'boolean', help: 'print the result as JSON' },
};

export async function runPretrainCli(args: string[]): Promise<number> {
  const o = parseArgs('pretrain', args, SPEC);
  if (o.help) { console.log(usage('pretrain', SPEC)); return 0; }
  const device = resolveDevice('pretrain', o.device, o.precision);
  const modelConfig: Record<string, unknown> = {};
  if (o.preset) modelConfig.preset = o.preset;
  if (o.layers) { modelConfig.n_layer = o.layers; modelConfig.n_decoder_layer = o.layers; }
  if (o.heads) modelConfig.n_head = o.heads;
  if (o.dim) modelConfig.n_embd = o.dim;
  const outDir = need('pretrain', o.out as string | undefined, '--out');
  let data = o.data as string[] | undefined;
  if (o.builtinWorld) {
    if (data) throw new ArgumentError('pretrain: give either --data or --builtin-world, not both');
    // The corpus is written next to the checkpoint so a run can be inspected and repeated.
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, 'world_corpus.txt');
    writeFileSync(file, worldCorpus(generateWorld((o.seed as number | undefined) ?? 1), { documents: 3000 }).join('\n\n'));
    data = [file];
  }
  const r = runPretrain({
    model: need('pretrain', o.model as ModelKind | undefined, '--model'),
    objective: o.objective as Objective | undefined,
    data: need('pretrain', data, '--data (or --builtin-world)'),
    outDir,
    tokenizer: o.tokenizer as string | undefined,
    vocabSize: (o.vocabSize as number | undefined) ?? 512,
    seqLen: (o.seqLen as number | undefined) ?? 64,
    batchSize: (o.batchSize as number | undefined) ?? 16,
    seed: (o.seed as number | undefined) ?? 1,
    resume: !!o.resume,
    device,
    modelConfig,
    trainer: {
      steps: (o.steps as number | undefined) ?? 200, lr: (o.lr as number | undefined) ?? 3e-3, gradAccum: (o.gradAccum as number | undefined) ?? 1,
      warmupSteps: (o.warmup as number | undefined) ?? 20, evalEvery: (o.evalEvery as number | undefined) ?? 50, saveEvery: (o.saveEvery as number | undefined) ?? 0,
    },
    progress: !o.json,
  });
  if (o.json) console.log(JSON.stringify(r));
  else {
    console.log(`${r.model} (${r.objective}), ${r.parameters.toLocaleString('en')} parameters, ${r.trainTokens.toLocaleString('en')} training tokens`);
    console.log(`held-out loss ${r.valLoss.toFixed(4)} (perplexity ${r.valPerplexity.toFixed(2)}); unigram baseline ${r.unigramLoss.toFixed(4)}`);
    console.log(`${r.steps} steps in ${fmtTime(r.seconds)}, ${Math.round(r.tokensPerSecond).toLocaleString('en')} tokens/s; checkpoint in ${o.out}`);
  }
  return 0;
}
