/** `lmtrain import gpt2 --from HF_DIR --out DIR [--force]` */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LmtError } from '../errors.js';
import { acquireOutputLock, CHECKPOINT_FILES } from '../io/checkpoint.js';
import { importGPT2 } from '../io/hf_gpt2.js';

const USAGE = `usage: lmtrain import gpt2 --from HF_DIR --out DIR [--force]

Converts a Hugging Face GPT-2 (config.json + model.safetensors [+ tokenizer.json]) into an
lmtrain checkpoint. --force replaces a checkpoint already in DIR.`;

export async function runImport(args: string[]): Promise<number> {
  const [kind, ...rest] = args;
  if (kind === undefined || kind === '-h' || kind === '--help') {
    console.log(USAGE);
    return kind === undefined ? 2 : 0;
  }
  if (kind !== 'gpt2') {
    console.error(`lmtrain import: unknown model kind '${kind}' (supported: gpt2)\n\n${USAGE}`);
    return 2;
  }
  let from: string | undefined, out: string | undefined, force = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--force') force = true;
    else if (a === '--from' || a === '--out') {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) {
        console.error(`lmtrain import: ${a} needs a directory\n\n${USAGE}`);
        return 2;
      }
      if (a === '--from') from = v;
      else out = v;
    } else {
      console.error(`lmtrain import: unknown option ${a}\n\n${USAGE}`);
      return 2;
    }
  }
  if (!from || !out) {
    console.error(`lmtrain import: --from and --out are required\n\n${USAGE}`);
    return 2;
  }
  if (!force && fs.existsSync(path.join(out, CHECKPOINT_FILES.model))) {
    console.error(`lmtrain import: ${out} already holds a checkpoint; pass --force to replace it`);
    return 1;
  }
  let lock;
  try {
    lock = acquireOutputLock(out);
  } catch (e) {
    if (e instanceof LmtError) {
      console.error(`lmtrain import: ${e.message}`);
      return 1;
    }
    throw e;
  }
  try {
    const r = importGPT2(from, out);
    const c = r.config;
    console.log(
      `imported GPT-2 (${c.n_layer} layers, ${c.n_head} heads, n_embd ${c.n_embd}, vocab ${c.vocab_size}, ` +
        `context ${c.n_positions}; ${r.numParams.toLocaleString('en-US')} parameters${r.tokenizer ? ', tokenizer.json' : ''}) into ${out}`,
    );
    return 0;
  } catch (e) {
    if (e instanceof LmtError) {
      console.error(`lmtrain import: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    lock.release();
  }
}
