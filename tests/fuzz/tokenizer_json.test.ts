// Fuzz target: the tokenizer.json loader (src/tokenizer/json.ts via Tokenizer.fromJSON and
// Tokenizer.loadSync). Property: a typed LmtError (DataError naming the JSON path) or a
// tokenizer that works: decode(encode(s)) === s and save/load round-trips.
// (There is no tokenizer_config.json loader in src/ yet; nothing to fuzz there.)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { TARGET_TIMEOUT, boundedAlloc, fc, loadCorpus, mutated, mutatedJson, runTarget, typedOrValue } from './common.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-fuzz-tok-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const PROBES = ['the cat sat on the mat', 'naïve café — 日本語 😀', '\u0000\ufffd\r\n', ''];
let n = 0;

function works(tok: Tokenizer, extra: string): void {
  for (const s of [...PROBES, extra]) expect(tok.decode(tok.encode(s))).toBe(s);
  const again = Tokenizer.fromJSON(tok.toJSONString());
  expect(again.vocabSize).toBe(tok.vocabSize);
  expect(Array.from(again.encode(extra))).toEqual(Array.from(tok.encode(extra)));
}

function check([input, extra]: [string | unknown, string]): 'ok' | 'typed' {
  let load: () => Tokenizer;
  if (typeof input === 'string' && (n++ & 15) === 0) {
    const f = path.join(tmp, `t${n & 63}.json`);
    fs.writeFileSync(f, input);
    load = () => Tokenizer.loadSync(f);
  } else {
    load = () => Tokenizer.fromJSON(input, 'fuzz.json');
  }
  const size = typeof input === 'string' ? input.length : 1 << 20;
  const r = boundedAlloc(size, () => typedOrValue(load), 64);
  if (!r.ok) {
    if (typeof input !== 'string' && !(r.error instanceof DataError)) throw new Error(`not a DataError: ${r.error.name}: ${r.error.message}`);
    return 'typed';
  }
  works(r.value, extra);
  return 'ok';
}

describe('fuzz: tokenizer.json loader', () => {
  const corpus = loadCorpus('tokenizer_json');
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const extra = fc.string({ unit: 'binary', maxLength: 24 });
  it('mutated file bytes', () => {
    const seeds = corpus.map((c) => c.bytes);
    runTarget('tokenizer_json', fc.tuple(mutated(seeds, 4).map(text), extra), check, seeds.map((s) => [text(s), 'x'] as [string, string]));
  }, TARGET_TIMEOUT);
  it('structure-aware edits of valid tokenizers (values replaced, deleted, wrapped)', () => {
    const valid = corpus.filter((c) => c.name.startsWith('valid')).map((c) => JSON.parse(text(c.bytes)) as unknown);
    const r = runTarget('tokenizer_json:structured', fc.tuple(fc.oneof(mutatedJson(valid, 3), mutatedJson(valid, 3).map((v) => JSON.stringify(v))), extra), check);
    expect(r.ok).toBeGreaterThan(0);
    expect(r.typed).toBeGreaterThan(0);
  }, TARGET_TIMEOUT);
});
