/** `lmtrain generate --model DIR --prompt TEXT [--max-new-tokens N --temperature --top-k --top-p --seed]` */
import { parseArgs, usage, need, resolveDevice, DEVICE_OPTIONS, type OptionSpec } from './args.js';
import { GPT } from '../models/gpt.js';
import { Tokenizer } from '../tokenizer/index.js';
import { generate } from '../generate/generate.js';
import { join } from 'node:path';

const SPEC: Record<string, OptionSpec> = {
  model: { type: 'string', help: 'checkpoint folder (a GPT)' },
  prompt: { type: 'string', help: 'the text to continue' },
  maxNewTokens: { type: 'number', help: 'at most this many new tokens (64)' },
  temperature: { type: 'number', help: '0 = greedy (default 0.8)' },
  topK: { type: 'number', help: 'sample from the k most likely (0 = off)' },
  topP: { type: 'number', help: 'nucleus sampling mass (1 = off)' },
  seed: { type: 'number', help: 'sampling seed (0)' },
  ...DEVICE_OPTIONS,
  noCache: { type: 'boolean', help: 'recompute the whole sequence each step (slow; for checking)' },
};

export async function runGenerate(args: string[]): Promise<number> {
  const o = parseArgs('generate', args, SPEC);
  if (o.help) { console.log(usage('generate', SPEC)); return 0; }
  const dir = need('generate', o.model as string | undefined, '--model');
  const prompt = need('generate', o.prompt as string | undefined, '--prompt');
  const tok = Tokenizer.loadSync(join(dir, 'tokenizer.json'));
  const device = resolveDevice('generate', o.device, o.precision);
  const model = GPT.fromCheckpoint(dir).to(device);
  try {
    const ids = tok.encode(prompt);
    const t0 = Date.now();
    const out = generate(model, ids.length ? ids : [tok.eosId], {
      maxNewTokens: (o.maxNewTokens as number | undefined) ?? 64, temperature: (o.temperature as number | undefined) ?? 0.8,
      topK: o.topK as number | undefined, topP: o.topP as number | undefined, seed: (o.seed as number | undefined) ?? 0,
      stopTokens: [tok.eosId], useCache: !o.noCache,
    });
    const secs = (Date.now() - t0) / 1000;
    const text = tok.decode(out.filter((t) => t !== tok.eosId));
    console.log(prompt + text);
    process.stderr.write(`${out.length} tokens in ${secs.toFixed(2)}s (${(out.length / Math.max(secs, 1e-9)).toFixed(1)} tokens/s)\n`);
  } finally {
    model.dispose();
  }
  return 0;
}
