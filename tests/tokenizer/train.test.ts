import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR, Tokenizer, preTokenize, trainBPE } from '../../src/tokenizer/index.js';
import { ArgumentError } from '../../src/errors.js';
import { pick } from '../helpers/rng.js';

function makeCorpus(docs: number): string[] {
  const words = ['lower', 'lowest', 'newer', 'newest', 'wider', 'the', 'a', 'aaa', 'abab', '数据', '模型训练', '😀😀', 'x1', '2024', "don't"];
  const out: string[] = [];
  for (let d = 0; d < docs; d++) {
    let s = '';
    for (let i = 0; i < 40; i++) s += pick(words) + pick([' ', ' ', '\n', '. ', '  ', '[MASK]']);
    out.push(s);
  }
  return out;
}

/**
 * The definition of BPE training, slowly: recount every pair after every merge; the most
 * frequent pair wins, ties to the pair whose left then right string sorts first.
 */
function referenceTrain(texts: string[], vocabSize: number, specials: string[], minFrequency: number): string[] {
  const counts = new Map<string, number>();
  const re = new RegExp(specials.map((s) => s.replace(/[[\]|]/g, '\\$&')).join('|'), 'g');
  for (const t of texts) for (const part of t.split(re)) for (const p of preTokenize(part)) counts.set(p, (counts.get(p) ?? 0) + 1);
  const words = [...counts].map(([w, c]) => ({ syms: Array.from(Buffer.from(w, 'utf8'), (b) => BYTE_TO_CHAR[b]), c }));
  const vocab = [...specials, ...BYTE_TO_CHAR];
  while (vocab.length < vocabSize) {
    const pairs = new Map<string, [string, string, number]>();
    for (const { syms, c } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = `${syms[i]}\u0000${syms[i + 1]}`;
        const e = pairs.get(k);
        if (e) e[2] += c; else pairs.set(k, [syms[i], syms[i + 1], c]);
      }
    }
    let best: [string, string, number] | undefined;
    for (const e of pairs.values()) {
      if (!best || e[2] > best[2] || (e[2] === best[2] && (e[0] < best[0] || (e[0] === best[0] && e[1] < best[1])))) best = e;
    }
    if (!best || best[2] < minFrequency) break;
    const [a, b] = best;
    if (!vocab.includes(a + b)) vocab.push(a + b);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) { out.push(a + b); i++; } else out.push(w.syms[i]);
      }
      w.syms = out;
    }
  }
  return vocab;
}

const vocabOf = (t: Tokenizer) => Array.from({ length: t.vocabSize }, (_, i) => t.idToToken(i));

describe('trainBPE', () => {
  it('matches the slow reference definition (incremental pair counts are exact)', () => {
    const texts = makeCorpus(30);
    const specials = ['[PAD]', '[MASK]'];
    const tok = trainBPE(texts, { vocabSize: 420, specialTokens: specials, minFrequency: 1 });
    expect(vocabOf(tok)).toEqual(referenceTrain(texts, 420, specials, 1));
  });

  it('is deterministic: the same input gives the same tokenizer.json', () => {
    const texts = makeCorpus(50);
    const a = trainBPE(texts, { vocabSize: 500, specialTokens: ['<|endoftext|>'] }).toJSONString();
    const b = trainBPE([...texts], { vocabSize: 500, specialTokens: ['<|endoftext|>'] }).toJSONString();
    expect(a).toBe(b);
  });

  it('fills the vocabulary, compresses its training text and round-trips it', () => {
    const texts = makeCorpus(100);
    const progress: number[] = [];
    const tok = trainBPE(texts, { vocabSize: 310, specialTokens: ['[PAD]', '[MASK]'], onProgress: (d) => progress.push(d) });
    expect(tok.vocabSize).toBe(310);
    expect(progress.at(-1)).toBe(310 - 258);
    const text = texts.join('');
    const ids = tok.encode(text);
    expect(ids.length).toBeLessThan(Buffer.byteLength(text) / 2.5);
    expect(tok.decode(ids)).toBe(text);
    // Special tokens in the text are not training material: no merged token contains one.
    for (let id = 258; id < tok.vocabSize; id++) expect(tok.idToToken(id)).not.toContain('MASK]');
  });

  it('learns Chinese and emoji as multi-byte tokens', () => {
    const tok = trainBPE(Array(20).fill('模型训练 数据 😀😀 模型训练数据'), { vocabSize: 300 });
    expect(tok.encode('模型训练')).toHaveLength(1);
    expect(tok.decode(tok.encode('模型训练 😀'))).toBe('模型训练 😀');
  });

  it('stops early below minFrequency and accepts any iterable', () => {
    function* gen() { yield 'abc abc abc'; yield 'xyz'; }
    const tok = trainBPE(gen(), { vocabSize: 1000, minFrequency: 2 });
    expect(tok.vocabSize).toBeLessThan(1000);
    expect(tok.encode(' abc')).toHaveLength(1);
    expect(tok.encode('xyz')).toHaveLength(3);
  });

  it('rejects bad options', () => {
    expect(() => trainBPE(['a'], { vocabSize: 256, specialTokens: ['[PAD]'] })).toThrow(ArgumentError);
    expect(() => trainBPE(['a'], { vocabSize: 300, specialTokens: ['[PAD]', '[PAD]'] })).toThrow(/listed twice/);
    expect(() => trainBPE(['a'], { vocabSize: 300, specialTokens: [''] })).toThrow(ArgumentError);
    expect(() => trainBPE(['a'], { vocabSize: 300, specialTokens: ['A'] })).toThrow(/byte-level symbol/);
    expect(() => trainBPE(['a'], { vocabSize: 300.5 })).toThrow(ArgumentError);
    expect(() => trainBPE([3 as unknown as string], { vocabSize: 300 })).toThrow(ArgumentError);
    expect(() => trainBPE(['a'], { vocabSize: 300, minFrequency: 0 })).toThrow(ArgumentError);
  });

  it('handles a very long word without spaces', () => {
    const long = Array.from({ length: 5000 }, () => pick(['ab', 'cd', 'e'])).join('');
    const tok = trainBPE([long, long.slice(0, 3000)], { vocabSize: 320 });
    expect(tok.decode(tok.encode(long))).toBe(long);
  });
});
