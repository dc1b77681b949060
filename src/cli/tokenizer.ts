/**
 * `lmtrain tokenizer train --data FILE... --vocab-size N --out tokenizer.json [--special A,B,...]`
 *
 * Data files are plain UTF-8 text, or JSONL with {"text": ...} when the name ends in .jsonl.
 * Files are streamed into the word counter, so only the word counts are held in memory.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { DataError } from '../errors.js';
import { defaultSpecialTokens } from '../tokenizer/special.js';
import { trainBPEFromCounts, WordCounter } from '../tokenizer/train.js';

const USAGE = `usage: lmtrain tokenizer train --data FILE... --vocab-size N --out tokenizer.json [options]

Trains a byte-level BPE tokenizer (GPT-2 style, Hugging Face tokenizer.json).

  --data FILE...        UTF-8 text files; a .jsonl file holds one {"text": ...} per line
  --vocab-size N        final vocabulary size, including the 256 bytes and the special tokens
  --out FILE            where to write tokenizer.json
  --special A,B,...     special tokens, ids 0.. in this order (repeatable); default:
                        ${defaultSpecialTokens(2).join(',')},... (32 sentinels)
  --min-frequency N     never merge a pair seen fewer than N times (default 2)`;

/** Text files are handed to the counter in pieces of about this many characters, cut at a newline. */
const CHUNK_CHARS = 1 << 20;

export async function runTokenizer(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    console.log(USAGE);
    return sub === undefined ? 1 : 0;
  }
  if (sub !== 'train') {
    console.error(`lmtrain tokenizer: unknown subcommand '${sub}'\n\n${USAGE}`);
    return 2;
  }
  const usage = (msg: string) => { console.error(`lmtrain tokenizer train: ${msg}\n\n${USAGE}`); return 2; };

  const data: string[] = [];
  let specials: string[] | undefined;
  let vocabSize: number | undefined, minFrequency = 2, out: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      const v = rest[i + 1];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      i++;
      return v;
    };
    const int = (name: string, v: string) => {
      const n = Number(v);
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new UsageError(`${name} must be a positive integer, got '${v}'`);
      return n;
    };
    try {
      switch (a) {
        case '--data':
          while (i + 1 < rest.length && !rest[i + 1].startsWith('--')) data.push(rest[++i]);
          break;
        case '--vocab-size': vocabSize = int(a, value()); break;
        case '--min-frequency': minFrequency = int(a, value()); break;
        case '--out': out = value(); break;
        case '--special':
          specials = [...(specials ?? []), ...value().split(',').filter((s) => s.length > 0)];
          break;
        case '-h': case '--help':
          console.log(USAGE);
          return 0;
        default:
          return usage(`unknown option '${a}'`);
      }
    } catch (e) {
      if (e instanceof UsageError) return usage(e.message);
      throw e;
    }
  }
  if (data.length === 0) return usage('--data needs at least one file');
  if (vocabSize === undefined) return usage('--vocab-size is required');
  if (out === undefined) return usage('--out is required');
  specials ??= defaultSpecialTokens();

  const t0 = performance.now();
  const counter = new WordCounter(specials);
  for (const file of data) {
    if (file.endsWith('.jsonl')) await countJsonl(file, counter); else await countText(file, counter);
    console.error(`tokenizer: read ${file} (${counter.counts.size} distinct words so far)`);
  }
  const tty = process.stderr.isTTY === true;
  let lastTenth = -1;
  const tok = trainBPEFromCounts(counter, {
    vocabSize, specialTokens: specials, minFrequency,
    onProgress: (done, total) => {
      if (tty) {
        process.stderr.write(`\rtokenizer: merges ${done}/${total}`);
      } else {
        const tenth = Math.floor((10 * done) / Math.max(1, total));
        if (tenth !== lastTenth) { lastTenth = tenth; console.error(`tokenizer: merges ${done}/${total}`); }
      }
    },
  });
  if (tty) process.stderr.write('\n');
  await tok.save(out);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const short = tok.vocabSize < vocabSize ? ` (no pair left with frequency >= ${minFrequency} beyond that)` : '';
  console.log(`wrote ${out}: vocab ${tok.vocabSize}${short}, ${specials.length} special tokens, in ${secs} s`);
  return 0;
}

class UsageError extends Error {}

async function countText(file: string, counter: WordCounter): Promise<void> {
  const dec = new TextDecoder('utf-8');
  let pending = '';
  for await (const chunk of createReadStream(file)) {
    pending += dec.decode(chunk as Buffer, { stream: true });
    if (pending.length >= CHUNK_CHARS) {
      // Cutting after a newline keeps pre-tokenization as it would be on the whole file
      // (up to how a run of newlines is split, which no merge depends on much).
      const cut = pending.lastIndexOf('\n') + 1;
      if (cut > 0) { counter.add(pending.slice(0, cut)); pending = pending.slice(cut); }
    }
  }
  pending += dec.decode();
  if (pending.length > 0) counter.add(pending);
}

async function countJsonl(file: string, counter: WordCounter): Promise<void> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new DataError(`invalid JSON (${(e as Error).message})`, file, line);
    }
    const t = typeof obj === 'object' && obj !== null && !Array.isArray(obj) ? (obj as Record<string, unknown>).text : undefined;
    if (typeof t !== 'string') throw new DataError('expected an object with a string "text" field', file, line);
    counter.add(t);
  }
}
