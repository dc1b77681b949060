/** `lmtrain eval --model DIR --data FILE...`: held-out loss and perplexity of a GPT checkpoint. */
import { join } from 'node:path';
import { parseArgs, usage, need, resolveDevice, DEVICE_OPTIONS, type OptionSpec } from './args.js';
import { GPT } from '../models/gpt.js';
import { Tokenizer } from '../tokenizer/index.js';
import { readDocuments } from '../data/readers.js';
import { sequenceNll } from '../train/lm_eval.js';

const SPEC: Record<string, OptionSpec> = {
  model: { type: 'string', help: 'checkpoint folder (a GPT)' },
  data: { type: 'list', help: 'text files, folders or JSONL {"text"} files' },
  seqLen: { type: 'number', help: 'tokens per window (the model context by default)' },
  ...DEVICE_OPTIONS,
  json: { type: 'boolean', help: 'print JSON' },
};

export async function runEval(args: string[]): Promise<number> {
  const o = parseArgs('eval', args, SPEC);
  if (o.help) { console.log(usage('eval', SPEC)); return 0; }
  const dir = need('eval', o.model as string | undefined, '--model');
  const data = need('eval', o.data as string[] | undefined, '--data');
  const device = resolveDevice('eval', o.device, o.precision);
  const tok = Tokenizer.loadSync(join(dir, 'tokenizer.json'));
  const model = GPT.fromCheckpoint(dir).eval();
  try {
    model.to(device);
    const T = Math.min((o.seqLen as number | undefined) ?? model.config.n_positions, model.config.n_positions);
    const stream: number[] = [];
    for (const d of readDocuments(data)) stream.push(...tok.encode(d.text), tok.eosId);
    const { nll, tokens: n } = sequenceNll(model, stream, T);
    const loss = nll / Math.max(n, 1);
    if (o.json) console.log(JSON.stringify({ tokens: n, loss, perplexity: Math.exp(loss) }));
    else console.log(`${n} tokens: loss ${loss.toFixed(4)}, perplexity ${Math.exp(loss).toFixed(2)}`);
  } finally {
    model.dispose();
  }
  return 0;
}
