import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, IndexError } from '../../src/errors.js';
import { TokenCache, buildTokenCache, readTokenCacheHeader, readDocuments } from '../../src/data/index.js';
import { EOS, byteTokenizer, encodeDocs, expectSameInts, tempDir, testRng, write } from './helpers.js';

const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'naïve', 'café', '東京', '🙂'];
function randomText(rng = testRng(), n = 200): string {
  return Array.from({ length: n }, () => words[rng.int(words.length)]).join(rng.int(5) === 0 ? '\n' : ' ');
}

describe('token cache', () => {
  const dir = tempDir();
  const rng = testRng();
  const corpus = path.join(dir, 'corpus');
  const texts = Array.from({ length: 12 }, () => randomText(rng, 50 + rng.int(500)));
  texts.forEach((t, i) => write(dir, `corpus/${i < 6 ? 'a' : 'b'}/${String(i).padStart(2, '0')}.txt`, t));
  write(dir, 'corpus/c.jsonl', texts.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
  const expectedDocs = [...readDocuments(corpus)].map((d) => d.text);
  const expected = Int32Array.from(encodeDocs(expectedDocs));

  it('round-trips: every token, EOS after each document, header fields', () => {
    const out = path.join(dir, 'c1.tokens');
    const progress: [number, number][] = [];
    const res = buildTokenCache({ sources: corpus, out, tokenizer: byteTokenizer, eosId: EOS, onProgress: (d, t) => progress.push([d, t]) });
    expect(res.rebuilt).toBe(true);
    expect(expectedDocs.length).toBe(24);
    const cache = TokenCache.open(out);
    try {
      expect(cache.length).toBe(expected.length);
      expect(cache.documents).toBe(24);
      expect(cache.vocabSize).toBe(257);
      expect(cache.eosId).toBe(EOS);
      expect(cache.header.bytesPerToken).toBe(2);
      expect(fs.statSync(out).size).toBe(128 + 2 * expected.length);
      expectSameInts(cache.read(0, cache.length), expected);
      for (let i = 0; i < 200; i++) {
        const off = rng.int(cache.length), n = rng.int(cache.length - off + 1);
        expectSameInts(cache.read(off, n), expected.slice(off, off + n));
      }
      const out2 = new Int32Array(20).fill(-7);
      cache.readInto(5, 10, out2, 3);
      expect([...out2.subarray(3, 13)]).toEqual([...expected.subarray(5, 15)]);
      expect(out2[2]).toBe(-7);
      expect(out2[13]).toBe(-7);
      expect(() => cache.read(cache.length - 3, 4)).toThrow(IndexError);
      expect(() => cache.read(-1, 2)).toThrow(IndexError);
    } finally {
      cache.close();
    }
    const total = fs.readdirSync(corpus, { recursive: true }).map((f) => path.join(corpus, String(f)))
      .filter((f) => fs.statSync(f).isFile()).reduce((a, f) => a + fs.statSync(f).size, 0);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every(([, t]) => t === total)).toBe(true);
    expect(progress.every(([d], i) => i === 0 || d > progress[i - 1][0])).toBe(true);
    expect(progress[progress.length - 1][0]).toBe(total);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('reads a corpus many times larger than its read buffer', () => {
    const out = path.join(dir, 'c1.tokens');
    const cache = TokenCache.open(out, { bufferTokens: 64 });
    try {
      expect(cache.length).toBeGreaterThan(100 * 64);
      expectSameInts(cache.read(0, cache.length), expected);
      for (let i = 0; i < 300; i++) {
        const n = 1 + rng.int(300), off = rng.int(cache.length - n + 1);
        expectSameInts(cache.read(off, n), expected.slice(off, off + n));
      }
    } finally {
      cache.close();
    }
  });

  it('reuses a fresh cache and rebuilds a stale one', () => {
    const src = path.join(dir, 'stale');
    const f1 = write(dir, 'stale/one.txt', 'hello world');
    write(dir, 'stale/two.txt', 'second doc');
    const out = path.join(dir, 'stale.tokens');
    const build = (extra: Partial<Parameters<typeof buildTokenCache>[0]> = {}) =>
      buildTokenCache({ sources: src, out, tokenizer: byteTokenizer, eosId: EOS, ...extra });
    expect(build().rebuilt).toBe(true);
    expect(build().rebuilt).toBe(false);
    // Content change (size differs).
    fs.writeFileSync(f1, 'hello there world');
    expect(build().rebuilt).toBe(true);
    expect(build().rebuilt).toBe(false);
    // Same size, new mtime.
    fs.writeFileSync(f1, 'HELLO THERE WORLD');
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(f1, t, t);
    expect(build().rebuilt).toBe(true);
    // A new file in the folder.
    write(dir, 'stale/three.md', 'third');
    expect(build().rebuilt).toBe(true);
    // A different tokenizer (same vocab size, different encoding), an explicit fingerprint, another EOS, other read options.
    const shifted = { vocabSize: 257, encode: (s: string) => byteTokenizer.encode(s).map((b) => (b + 1) % 256) };
    expect(build({ tokenizer: shifted }).rebuilt).toBe(true);
    expect(build({ tokenizer: shifted }).rebuilt).toBe(false);
    expect(build({ tokenizerFingerprint: 'v1' }).rebuilt).toBe(true);
    expect(build({ tokenizerFingerprint: 'v1' }).rebuilt).toBe(false);
    expect(build({ tokenizerFingerprint: 'v2' }).rebuilt).toBe(true);
    expect(build({ tokenizerFingerprint: 'v2', eosId: 0 }).rebuilt).toBe(true);
    expect(build({ tokenizerFingerprint: 'v2', eosId: 0, read: { split: 'blank-line' } }).rebuilt).toBe(true);
    expect(build({ tokenizerFingerprint: 'v2', eosId: 0, read: { split: 'blank-line' }, force: true }).rebuilt).toBe(true);
    const cache = TokenCache.open(out);
    expect(cache.read(0, cache.length)).toEqual(Int32Array.from(
      ['HELLO THERE WORLD', 'third', 'second doc'].flatMap((d) => [...byteTokenizer.encode(d), 0])));
    cache.close();
  });

  it('a truncated or foreign file is a DataError on open and stale for the builder', () => {
    const src = write(dir, 'small.txt', 'some text here');
    const out = path.join(dir, 'broken.tokens');
    buildTokenCache({ sources: src, out, tokenizer: byteTokenizer, eosId: EOS });
    fs.truncateSync(out, fs.statSync(out).size - 1);
    expect(() => TokenCache.open(out)).toThrow(DataError);
    expect(() => TokenCache.open(out)).toThrow(/token cache is \d+ bytes; its header promises/);
    expect(buildTokenCache({ sources: src, out, tokenizer: byteTokenizer, eosId: EOS }).rebuilt).toBe(true);
    expect(TokenCache.open(out).read(0, 3)).toEqual(Int32Array.from(byteTokenizer.encode('som')));
    const foreign = write(dir, 'foreign.tokens', Buffer.alloc(200, 1));
    expect(() => TokenCache.open(foreign)).toThrow('bad magic');
  });

  it('uses u32 storage when ids exceed 16 bits', () => {
    const big = { vocabSize: 70_000, encode: (s: string) => byteTokenizer.encode(s).map((b) => 69_000 + b) };
    const src = write(dir, 'wide.txt', 'wide ids');
    const out = path.join(dir, 'wide.tokens');
    buildTokenCache({ sources: src, out, tokenizer: big, eosId: 65_536 });
    expect(readTokenCacheHeader(out).bytesPerToken).toBe(4);
    const cache = TokenCache.open(out, { bufferTokens: 3 });
    expect([...cache.read(0, cache.length)]).toEqual([...big.encode('wide ids'), 65_536]);
    cache.close();
  });

  it('a tokenizer id out of range is an IndexError naming the document, and leaves no file behind', () => {
    const src = write(dir, 'oops/x.txt', 'abc');
    const out = path.join(dir, 'oops.tokens');
    const bad = { vocabSize: 98, encode: (s: string) => byteTokenizer.encode(s) };
    expect(() => buildTokenCache({ sources: src, out, tokenizer: bad, eosId: 0 })).toThrow(IndexError);
    expect(() => buildTokenCache({ sources: src, out, tokenizer: bad, eosId: 0 })).toThrow(`id 98 at position 1 of the document at ${src}:1`);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('oops.tokens'))).toEqual([]);
  });
});
