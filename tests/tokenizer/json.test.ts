import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer, trainBPE, MAX_VOCAB } from '../../src/tokenizer/index.js';
import { DataError } from '../../src/errors.js';

const TEXTS = Array.from({ length: 60 }, (_, i) => `doc ${i}: the __proto__ constructor toString of 模型 😀 and "quotes" ${'ab'.repeat(i % 7)}\n`);
let tok: Tokenizer;
let json: Record<string, any>;
beforeAll(() => {
  tok = trainBPE(TEXTS, { vocabSize: 400, specialTokens: ['[PAD]', '<|endoftext|>', '<extra_id_0>'], minFrequency: 1 });
  json = JSON.parse(tok.toJSONString());
});
const clone = () => JSON.parse(JSON.stringify(json));
const dir = mkdtempSync(join(tmpdir(), 'lmt-tok-'));

describe('tokenizer.json', () => {
  it('has the Hugging Face layout', () => {
    expect(json.version).toBe('1.0');
    expect(json.pre_tokenizer).toEqual({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
    expect(json.decoder.type).toBe('ByteLevel');
    expect(json.model.type).toBe('BPE');
    expect(json.model.vocab['[PAD]']).toBe(0);
    expect(json.model.vocab['Ġ']).toBe(3 + 32);
    expect(json.added_tokens[1]).toEqual({ id: 1, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    expect(typeof json.model.merges[0]).toBe('string');
  });

  it('saves atomically and loads back to the same tokenizer', async () => {
    const path = join(dir, 'tokenizer.json');
    await tok.save(path);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    const back = await Tokenizer.load(path);
    expect(back.toJSONString()).toBe(tok.toJSONString());
    const text = TEXTS.join('') + '<extra_id_0>[PAD] unseen wörds';
    expect(back.encode(text)).toEqual(tok.encode(text));
    expect(Tokenizer.loadSync(path).vocabSize).toBe(tok.vocabSize);
    tok.saveSync(path);
    expect(readFileSync(path, 'utf8')).toBe(tok.toJSONString());
  });

  it('keeps a token named __proto__', () => {
    const t = trainBPE(['x'], { vocabSize: 260, specialTokens: ['__proto__', 'constructor'] });
    const j = JSON.parse(t.toJSONString());
    expect(Object.getOwnPropertyDescriptor(j.model.vocab, '__proto__')?.value).toBe(0);
    const back = Tokenizer.fromJSON(t.toJSONString());
    expect(back.encode('a__proto__b')).toEqual(t.encode('a__proto__b'));
    expect(back.tokenToId('__proto__')).toBe(0);
  });

  it('reads merges in the newer [["a", "b"]] form and from a string', () => {
    const j = clone();
    j.model.merges = j.model.merges.map((m: string) => m.split(' '));
    const text = TEXTS.join('');
    expect(Tokenizer.fromJSON(j).encode(text)).toEqual(tok.encode(text));
    expect(Tokenizer.fromJSON(JSON.stringify(json)).encode(text)).toEqual(tok.encode(text));
  });

  it('accepts added tokens outside the model vocab and ignore_merges', () => {
    const j = clone();
    j.added_tokens.push({ id: 400, content: '<|new|>', special: false });
    j.model.ignore_merges = true;
    const t = Tokenizer.fromJSON(j);
    expect(t.vocabSize).toBe(401);
    expect(t.encode('a<|new|>b')).toEqual([...t.encode('a'), 400, ...t.encode('b')]);
    expect(t.isSpecial(400)).toBe(false);
    expect(t.decode(t.encode(TEXTS[3]))).toBe(TEXTS[3]);
  });
});

describe('hostile tokenizer.json', () => {
  const bad = (mutate: (j: any) => void, message: RegExp) => {
    const j = clone();
    mutate(j);
    let err: unknown;
    try { Tokenizer.fromJSON(j, 'evil.json'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).file).toBe('evil.json');
    expect((err as Error).message).toMatch(message);
  };

  it('truncated or not JSON at all', async () => {
    const text = tok.toJSONString();
    expect(() => Tokenizer.fromJSON(text.slice(0, text.length / 2), 'cut.json')).toThrow(DataError);
    expect(() => Tokenizer.fromJSON(text.slice(0, text.length / 2), 'cut.json')).toThrow(/^cut\.json: invalid JSON/);
    expect(() => Tokenizer.fromJSON('[]', 'x.json')).toThrow(/x\.json: \(top level\): expected an object, got an array/);
    expect(() => Tokenizer.fromJSON(null)).toThrow(DataError);
    const path = join(dir, 'cut.json');
    writeFileSync(path, text.slice(0, 1000));
    await expect(Tokenizer.load(path)).rejects.toThrow(new RegExp(`^${path.replace(/[.\\/]/g, '\\$&')}: invalid JSON`));
  });

  it('wrong types', () => {
    bad((j) => { j.model = 'BPE'; }, /model: expected an object, got string/);
    bad((j) => { j.model.vocab = [1, 2]; }, /model\.vocab: expected an object/);
    bad((j) => { j.model.vocab.Ġ = '35'; }, /model\.vocab\["Ġ"\]: expected an integer id/);
    bad((j) => { j.model.vocab.Ġ = 35.5; }, /model\.vocab\["Ġ"\]: expected an integer id/);
    bad((j) => { j.model.merges = 7; }, /model\.merges: expected an array, got number/);
    bad((j) => { j.model.merges[3] = { a: 1 }; }, /model\.merges\[3\]: expected a string/);
    bad((j) => { j.model.merges[4] = 'Ġ'; }, /model\.merges\[4\]: expected "left right"/);
    bad((j) => { j.model.merges[5] = ['Ġ', 7]; }, /model\.merges\[5\]: expected two strings/);
    bad((j) => { j.added_tokens = {}; }, /added_tokens: expected an array/);
    bad((j) => { j.added_tokens[0].content = 5; }, /added_tokens\[0\]\.content: expected a non-empty string/);
    bad((j) => { j.added_tokens[1].special = 'yes'; }, /added_tokens\[1\]\.special: expected true or false/);
    bad((j) => { j.pre_tokenizer = 'ByteLevel'; }, /pre_tokenizer: expected an object or null/);
  });

  it('ids out of range or duplicated', () => {
    bad((j) => { j.model.vocab.Ġ = -1; }, /model\.vocab\["Ġ"\]: expected an integer id in \[0, /);
    bad((j) => { j.model.vocab.Ġ = MAX_VOCAB; }, /expected an integer id/);
    bad((j) => { j.model.vocab.Ġ = 36; }, /model\.vocab\["(Ġ|!)"\]: id 36 is also the id of "(!|Ġ)"/);
    bad((j) => { j.added_tokens[0].id = 1e12; }, /added_tokens\[0\]\.id: expected an integer id/);
    bad((j) => { j.added_tokens[2].id = 1; }, /added_tokens\[2\]\.id: id 1 is/);
    bad((j) => { j.added_tokens.push({ ...j.added_tokens[0], id: 500 }); }, /added_tokens\[3\]\.content: "\[PAD\]" is added twice/);
  });

  it('merges that reference unknown tokens', () => {
    bad((j) => { j.model.merges[0] = 'Ġ nope'; }, /model\.merges\[0\]: "nope" is not in model\.vocab/);
    bad((j) => { j.model.merges[0] = 'Ġ Ġ'; delete j.model.vocab['ĠĠ']; }, /merged token "ĠĠ" is not in model\.vocab|"ĠĠ" is not in model\.vocab/);
  });

  it('huge arrays are refused before they are walked', () => {
    bad((j) => { j.model.merges = new Array(MAX_VOCAB + 1).fill('a b'); }, /model\.merges: 1048577 entries exceeds the limit/);
    bad((j) => { j.added_tokens = new Array(70000).fill(j.added_tokens[0]); }, /added_tokens: 70000 entries exceeds the limit/);
    bad((j) => { j.model.vocab['x'.repeat(5000)] = 399; }, /characters exceeds the limit of 4096/);
  });

  it('unsupported models and pipelines are named', () => {
    bad((j) => { j.model.type = 'WordPiece'; }, /model\.type: 'WordPiece' is not supported/);
    bad((j) => { j.pre_tokenizer = { type: 'Metaspace' }; }, /pre_tokenizer: type 'Metaspace' is not supported; lmtrain reads byte-level BPE/);
    bad((j) => { j.pre_tokenizer.add_prefix_space = true; }, /pre_tokenizer\.add_prefix_space: true is not supported/);
    bad((j) => { j.normalizer = { type: 'NFC' }; }, /normalizer\.type: 'NFC' is not supported/);
    bad((j) => { j.decoder = { type: 'WordPiece' }; }, /decoder\.type: 'WordPiece'/);
    bad((j) => { j.model.byte_fallback = true; }, /model\.byte_fallback/);
    bad((j) => { j.model.continuing_subword_prefix = '##'; }, /model\.continuing_subword_prefix/);
    bad((j) => { j.model.dropout = 0.1; }, /model\.dropout/);
  });

  it('non-byte-level vocabularies are named', () => {
    bad((j) => { j.model.vocab['▁the'] = 399; }, /model\.vocab\["▁the"\]: character U\+2581 is not a byte-level symbol/);
    bad((j) => { delete j.model.vocab['Ċ']; }, /model\.vocab: lacks the symbol "Ċ" of byte 0x0a/);
  });
});
