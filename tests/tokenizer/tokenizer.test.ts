import { beforeAll, describe, expect, it } from 'vitest';
import {
  BYTE_TO_CHAR, GPT2_PATTERN, Tokenizer, defaultSpecialTokens, preTokenize, symbolsToBytes, trainBPE,
} from '../../src/tokenizer/index.js';
import { PairTable, applyMerges } from '../../src/tokenizer/bpe.js';
import { ArgumentError, IndexError } from '../../src/errors.js';
import { pick, rand } from '../helpers/rng.js';

const ALPHABET = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', ...'    \t\n\r\v\f', ..."''''sdtmlrev",
  ...'.,;:!?-_()[]{}<>/\\|@#$%^&*+=~`"', '\u0000', '\u007f', 'é', 'ß', '中', '文', '語', '\u00a0', '\u3000', '\u2028',
  '١', '²', '😀', '👍🏽', '🇯🇵', 'e\u0301', '\u200d', '\ufeff', '\ufffd', 'Ω', 'я',
];
function randomText(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += pick(ALPHABET);
  return s;
}
/** Any string of code points (no lone surrogates: JS strings from valid UTF-8 have none). */
function randomUnicode(n: number): string {
  const cps: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    let cp = r < 0.4 ? 0x20 + Math.floor(rand() * 0x5f) : r < 0.6 ? 0x4e00 + Math.floor(rand() * 0x5000)
      : r < 0.7 ? 0x1f300 + Math.floor(rand() * 0x300) : r < 0.8 ? 0x300 + Math.floor(rand() * 0x70) : Math.floor(rand() * 0x110000);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    cps.push(cp);
  }
  return String.fromCodePoint(...cps);
}

let cachedCorpus: string[] | undefined;
/** Random per run (seeded by the test seed), the same on every call. */
function corpus(): string[] {
  if (cachedCorpus) return cachedCorpus;
  const words = ['the', 'model', 'learns', 'token', 'language', 'train', 'data', "it's", 'we\'ll', '模型', '训练', '数据', '🚀', 'naïve', '42', '3.14'];
  const out: string[] = [];
  for (let d = 0; d < 200; d++) {
    let s = '';
    for (let i = 0; i < 60; i++) s += pick(words) + pick([' ', ' ', ' ', ', ', '. ', '\n', '  ']);
    out.push(s);
  }
  return (cachedCorpus = out);
}

let tok: Tokenizer;
beforeAll(() => {
  tok = trainBPE(corpus(), { vocabSize: 600, specialTokens: defaultSpecialTokens(12) });
});

describe('byte-level alphabet', () => {
  it('is GPT-2\'s bytes_to_unicode', () => {
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ');
    expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ');
    expect(BYTE_TO_CHAR[0x09]).toBe('ĉ');
    expect(BYTE_TO_CHAR[0x41]).toBe('A');
    expect(BYTE_TO_CHAR[0xad]).toBe('Ń');
    expect(BYTE_TO_CHAR[0xff]).toBe('ÿ');
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    for (let b = 0; b < 256; b++) expect(symbolsToBytes(BYTE_TO_CHAR[b])).toEqual(Uint8Array.of(b));
    expect(symbolsToBytes('€')).toBeNull();
  });
});

describe('pre-tokenizer', () => {
  it('splits exactly like the GPT-2 regex (the ASCII fast path included)', () => {
    const re = new RegExp(GPT2_PATTERN, 'gu');
    for (let i = 0; i < 400; i++) {
      const s = randomText(1 + Math.floor(rand() * 40));
      expect(preTokenize(s), JSON.stringify(s)).toEqual([...s.matchAll(re)].map((m) => m[0]));
    }
    expect(preTokenize("I'm here  now\n\n it's 42!")).toEqual(['I', "'m", ' here', ' ', ' now', '\n\n', ' it', "'s", ' 42', '!']);
  });
});

describe('BPE merge order', () => {
  /** `tokenizers`' rule, naively: merge the lowest-ranked adjacent pair, leftmost first. */
  function reference(merges: Map<string, [number, number]>, syms: number[]): number[] {
    const s = [...syms];
    for (;;) {
      let best = Infinity, at = -1, to = -1;
      for (let i = 0; i + 1 < s.length; i++) {
        const m = merges.get(`${s[i]},${s[i + 1]}`);
        if (m && m[0] < best) { best = m[0]; at = i; to = m[1]; }
      }
      if (at < 0) return s;
      s.splice(at, 2, to);
    }
  }
  it('short and long words both follow the lowest-rank-leftmost rule, for any merge table', () => {
    for (let trial = 0; trial < 30; trial++) {
      const base = 2 + Math.floor(rand() * 3);
      const nMerges = 5 + Math.floor(rand() * 40);
      const table = new PairTable(nMerges);
      const ref = new Map<string, [number, number]>();
      // Random ranks: deliberately not in creation order, unlike a trained table.
      const ranks = Array.from({ length: nMerges }, (_, i) => i).sort(() => rand() - 0.5);
      for (let m = 0; m < nMerges; m++) {
        const a = Math.floor(rand() * (base + m)), b = Math.floor(rand() * (base + m));
        table.set(a, b, ranks[m], base + m);
        ref.set(`${a},${b}`, [ranks[m], base + m]);
      }
      for (const n of [1, 2, 7, 40, 64, 65, 200]) {
        const syms = Array.from({ length: n }, () => Math.floor(rand() * base));
        const buf = Int32Array.from(syms);
        const m = applyMerges(table, buf, n);
        expect(Array.from(buf.subarray(0, m))).toEqual(reference(ref, syms));
      }
    }
  });
});

describe('encode / decode', () => {
  it('round-trips random unicode exactly', () => {
    for (let i = 0; i < 200; i++) {
      const s = i % 2 ? randomUnicode(1 + Math.floor(rand() * 80)) : randomText(1 + Math.floor(rand() * 80));
      const ids = tok.encode(s);
      expect(tok.decode(ids), JSON.stringify(s)).toBe(s);
      expect(tok.decodeBytes(ids)).toEqual(new TextEncoder().encode(s));
    }
  });

  it('round-trips text decoded from invalid UTF-8 (U+FFFD), a leading BOM and long words', () => {
    const broken = new TextDecoder().decode(Uint8Array.of(0x61, 0xff, 0xe2, 0x82, 0x20, 0xc3, 0x28, 0xf0, 0x9f, 0x98));
    expect(broken).toContain('\ufffd');
    for (const s of [broken, '\ufeffBOM first', '中'.repeat(500), 'a'.repeat(3000), ' '.repeat(100) + 'x', '']) {
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
  });

  it('decodeBytes is exact where tokens split a character', () => {
    const bytesOnly = trainBPE([], { vocabSize: 256 + 1, specialTokens: ['[PAD]'] });
    const ids = bytesOnly.encode('€😀');
    expect(ids).toHaveLength(7);
    expect(bytesOnly.decodeBytes(ids.slice(0, 1))).toEqual(Uint8Array.of(0xe2));
    expect(bytesOnly.decode(ids.slice(0, 2))).toBe('\ufffd');
    const parts = [bytesOnly.decodeBytes(ids.slice(0, 2)), bytesOnly.decodeBytes(ids.slice(2, 5)), bytesOnly.decodeBytes(ids.slice(5))];
    expect(new TextDecoder().decode(Buffer.concat(parts))).toBe('€😀');
  });

  it('compresses text like its training text', () => {
    const text = corpus().join('');
    expect(tok.encode(text).length).toBeLessThan(Buffer.byteLength(text) / 2.5);
  });

  it('encodes the same with a warm cache and in batches', () => {
    const texts = corpus().slice(0, 5);
    const cold = trainBPE(corpus(), { vocabSize: 600, specialTokens: defaultSpecialTokens(12) });
    expect(cold.encodeBatch(texts)).toEqual(texts.map((t) => tok.encode(t)));
  });

  it('rejects bad arguments with typed errors', () => {
    expect(() => tok.encode(42 as unknown as string)).toThrow(ArgumentError);
    expect(() => tok.decode([0, tok.vocabSize])).toThrow(IndexError);
    expect(() => tok.decode([1.5])).toThrow(IndexError);
    expect(() => tok.decode([-1])).toThrow(/ids\[0\] = -1/);
  });
});

describe('special tokens', () => {
  it('are matched first, longest first, and never split', () => {
    const id = (t: string) => tok.tokenToId(t)!;
    expect(tok.encode('<extra_id_10>')).toEqual([tok.sentinelId(10)]);
    expect(tok.encode('<extra_id_1><extra_id_11>x')).toEqual([tok.sentinelId(1), tok.sentinelId(11), ...tok.encode('x')]);
    const ids = tok.encode('<|im_start|>user\nhi[MASK]there<|im_end|><|endoftext|>');
    expect(ids[0]).toBe(id('<|im_start|>'));
    expect(ids).toContain(tok.maskId);
    expect(ids.slice(-2)).toEqual([id('<|im_end|>'), tok.eosId]);
    expect(tok.decode(ids)).toBe('<|im_start|>user\nhi[MASK]there<|im_end|><|endoftext|>');
    expect(tok.decode(ids, { skipSpecial: true })).toBe('user\nhithere');
    // a near miss is ordinary text
    expect(tok.encode('[MASK')).not.toContain(tok.maskId);
  });

  it('have ids 0.. in the order given, with role getters', () => {
    expect(tok.specialTokens).toEqual(defaultSpecialTokens(12));
    expect([tok.padId, tok.eosId, tok.maskId, tok.clsId, tok.sepId]).toEqual([0, 1, 2, 3, 4]);
    expect(tok.numSentinels).toBe(12);
    expect(tok.sentinelId(0)).toBe(7);
    expect(() => tok.sentinelId(12)).toThrow(/has 12 sentinels/);
    expect(tok.isSpecial(tok.padId)).toBe(true);
    expect(tok.isSpecial(100)).toBe(false);
    expect(tok.idToToken(0)).toBe('[PAD]');
    expect(tok.idToToken(7 + 12 + 32)).toBe('Ġ'); // bytes follow the special tokens
  });

  it('throw clearly when a role is missing, and addSpecial wraps by model family', () => {
    const gptLike = trainBPE(corpus(), { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    expect(() => gptLike.padId).toThrow(ArgumentError);
    expect(() => gptLike.padId).toThrow(/no pad token \(looked for \[PAD\]/);
    expect(gptLike.encode('hi', { addSpecial: true })).toEqual([...gptLike.encode('hi'), gptLike.eosId]);
    expect(tok.encode('hi', { addSpecial: true })).toEqual([tok.clsId, ...tok.encode('hi'), tok.sepId]);
  });
});
