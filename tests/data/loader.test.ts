import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import {
  ArrayTokenSource, BatchSampler, TokenCache, buildTokenCache, collateClm, isValidationDocument, sequentialBatches,
  splitTokenRanges, batchRows, type SamplerCursor, type TokenBatch,
} from '../../src/data/index.js';
import { EOS, byteTokenizer, tempDir, testRng, write } from './helpers.js';

/** A stream whose token i is i, so a window's first token is its start offset. */
const positions = (n: number) => new ArrayTokenSource(Int32Array.from({ length: n }, (_, i) => i));
const starts = (b: TokenBatch) => batchRows(b).map((r) => r[0]);

describe('splitTokenRanges', () => {
  it("'tail' takes exactly the last fraction", () => {
    expect(splitTokenRanges(1000, { valFraction: 0.1 })).toEqual({ train: [{ start: 0, end: 900 }], val: [{ start: 900, end: 1000 }] });
    expect(splitTokenRanges(1000, { valFraction: 0 })).toEqual({ train: [{ start: 0, end: 1000 }], val: [] });
  });
  it("'blocks' is a seeded, exact, disjoint cover of the stream", () => {
    const opts = { valFraction: 0.2, mode: 'blocks' as const, blockSize: 100, seed: 5 };
    const a = splitTokenRanges(10_050, opts), b = splitTokenRanges(10_050, opts);
    expect(a).toEqual(b);
    expect(splitTokenRanges(10_050, { ...opts, seed: 6 })).not.toEqual(a);
    const covered = new Uint8Array(10_050);
    let valTokens = 0;
    for (const [list, mark] of [[a.train, 1], [a.val, 2]] as const) {
      for (const r of list) {
        for (let i = r.start; i < r.end; i++) { expect(covered[i]).toBe(0); covered[i] = mark; }
        if (mark === 2) valTokens += r.end - r.start;
      }
    }
    expect(covered.every((c) => c !== 0)).toBe(true);
    // 101 blocks -> round(20.2) = 20 of them; the short last block may be among them.
    expect([2000, 1950]).toContain(valTokens);
    expect(a.val.length).toBeGreaterThan(3); // scattered, not one tail
  });
  it('rejects fractions outside [0, 1)', () => {
    expect(() => splitTokenRanges(10, { valFraction: 1 })).toThrow(ArgumentError);
    expect(() => splitTokenRanges(10, { valFraction: -0.1 })).toThrow('valFraction must be in [0, 1)');
  });
});

describe('isValidationDocument', () => {
  it('is deterministic, seed-dependent, and hits the fraction', () => {
    const docs = Array.from({ length: 20_000 }, (_, i) => `document number ${i}`);
    const val = docs.filter((d) => isValidationDocument(d, 0.1, 1));
    expect(docs.filter((d) => isValidationDocument(d, 0.1, 1))).toEqual(val);
    expect(Math.abs(val.length / docs.length - 0.1)).toBeLessThan(0.01);
    const other = docs.filter((d) => isValidationDocument(d, 0.1, 2));
    expect(other).not.toEqual(val);
  });
});

describe('BatchSampler', () => {
  it('each epoch takes every window once, in a seeded order that changes per epoch', () => {
    const src = positions(1000);
    const s = new BatchSampler(src, { batchSize: 4, windowLength: 11, seed: 3 });
    expect(s.windowsPerEpoch).toBe(99); // starts 0, 10, ..., 980 (990 + 11 > 1000)
    const seen: number[] = [];
    for (let i = 0; i < 50; i++) seen.push(...starts(s.next())); // 200 windows: two epochs and 2 more
    const epoch0 = seen.slice(0, 99), epoch1 = seen.slice(99, 198);
    const all = Array.from({ length: 99 }, (_, k) => k * 10);
    expect([...epoch0].sort((a, b) => a - b)).toEqual(all);
    expect([...epoch1].sort((a, b) => a - b)).toEqual(all);
    expect(epoch0).not.toEqual(all);
    expect(epoch1).not.toEqual(epoch0);
    expect(s.cursor().epoch).toBe(2);
    expect(s.cursor().index).toBe(2);
    const again = new BatchSampler(src, { batchSize: 4, windowLength: 11, seed: 3 });
    expect(starts(again.next())).toEqual(seen.slice(0, 4));
    const other = new BatchSampler(src, { batchSize: 4, windowLength: 11, seed: 4 });
    expect(starts(other.next())).not.toEqual(seen.slice(0, 4));
  });

  it('windows hold the right tokens and stay inside their ranges', () => {
    const src = positions(5000);
    const { train, val } = splitTokenRanges(5000, { valFraction: 0.25, mode: 'blocks', blockSize: 97, seed: 1 });
    const L = 17;
    const s = new BatchSampler(src, { batchSize: 8, windowLength: L, seed: 9, ranges: train });
    for (let i = 0; i < 100; i++) {
      for (const row of batchRows(s.next())) {
        expect([...row]).toEqual(Array.from({ length: L }, (_, t) => row[0] + t));
        expect(train.some((r) => row[0] >= r.start && row[0] + L <= r.end)).toBe(true);
        expect(val.some((r) => row[0] < r.end && row[0] + L > r.start)).toBe(false);
      }
    }
  });

  it('skips ranges too short for a window, wherever they lie', () => {
    const ranges = [{ start: 0, end: 5 }, { start: 10, end: 40 }, { start: 45, end: 47 }, { start: 50, end: 80 }, { start: 90, end: 95 }];
    const s = new BatchSampler(positions(100), { batchSize: 6, windowLength: 10, stride: 10, seed: 2, ranges });
    expect(s.windowsPerEpoch).toBe(6);
    expect(starts(s.next()).sort((a, b) => a - b)).toEqual([10, 20, 30, 50, 60, 70]);
  });

  it('resumes exactly from a saved cursor, mid-epoch and across epoch boundaries', () => {
    const src = positions(3000);
    const opts = { batchSize: 5, windowLength: 33, seed: 77 };
    const rng = testRng();
    for (const k of [0, 1, 7, 18, 19, 20, 45, 1 + rng.int(60)]) {
      const a = new BatchSampler(src, opts);
      for (let i = 0; i < k; i++) a.next();
      const saved = JSON.parse(JSON.stringify(a.cursor())) as SamplerCursor;
      const expected = Array.from({ length: 30 }, () => a.next().data);
      const b = new BatchSampler(src, { ...opts, cursor: saved });
      expect(Array.from({ length: 30 }, () => b.next().data)).toEqual(expected);
      const c = new BatchSampler(src, { ...opts, seed: 1 });
      c.next();
      c.restore(saved);
      expect(c.next().data).toEqual(expected[0]);
    }
  });

  it('resumes over a real token cache', () => {
    const dir = tempDir();
    const src = write(dir, 'text.txt', 'The quick brown fox jumps over the lazy dog. '.repeat(200));
    const out = path.join(dir, 'text.tokens');
    buildTokenCache({ sources: src, out, tokenizer: byteTokenizer, eosId: EOS });
    const cache = TokenCache.open(out, { bufferTokens: 50 });
    const opts = { batchSize: 4, windowLength: 65, seed: 12 };
    const a = new BatchSampler(cache, opts);
    for (let i = 0; i < 40; i++) a.next();
    const cursor = a.cursor();
    const next = [a.next(), a.next()];
    const b = new BatchSampler(cache, { ...opts, cursor });
    expect([b.next(), b.next()]).toEqual(next);
    const clm = collateClm(next[0]);
    expect(clm.seqLen).toBe(64);
    cache.close();
  });

  it('rejects windows that fit nowhere and cursors that do not fit', () => {
    expect(() => new BatchSampler(positions(10), { batchSize: 1, windowLength: 11, seed: 0 })).toThrow('no window of 11 tokens fits');
    const s = new BatchSampler(positions(100), { batchSize: 1, windowLength: 11, seed: 0 });
    expect(() => s.restore({ epoch: 0, index: 11, rngState: [1, 2, 3, 4] })).toThrow(ArgumentError);
    expect(() => new BatchSampler(positions(100), { batchSize: 1, windowLength: 11, seed: 0, ranges: [{ start: 50, end: 101 }] })).toThrow('not inside the source');
  });
});

describe('sequentialBatches', () => {
  it('visits every window once in stream order; the last batch may be short', () => {
    const ranges = [{ start: 0, end: 100 }, { start: 200, end: 260 }];
    const batches = [...sequentialBatches(positions(300), { batchSize: 4, windowLength: 10, stride: 10, ranges })];
    expect(batches.flatMap(starts)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 200, 210, 220, 230, 240, 250]);
    expect(batches.map((b) => b.batchSize)).toEqual([4, 4, 4, 4]);
    const short = [...sequentialBatches(positions(300), { batchSize: 7, windowLength: 10, stride: 10, ranges })];
    expect(short.map((b) => b.batchSize)).toEqual([7, 7, 2]);
  });
});
