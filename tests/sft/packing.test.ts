// Packing: a packed row computes, token by token, what each of its examples computes alone.
import { describe, expect, it } from 'vitest';
import { GPT } from '../../src/models/gpt.js';
import { tensor } from '../../src/tensor/creation.js';
import { tidy } from '../../src/tensor/scope.js';
import { manualSeed } from '../../src/tensor/random.js';
import { memory } from '../../src/index.js';
import { batchTensors, collatePacked, collatePadded, packRows, blockDiagonalBias, type TokenizedExample } from '../../src/sft/packing.js';
import { generate } from '../../src/generate/generate.js';

const ex = (ids: number[]): TokenizedExample => ({ ids: Int32Array.from(ids), labels: Int32Array.from(ids.slice(1).concat([-100])) });

describe('packing', () => {
  it('packRows fills first-fit and never exceeds T; collatePacked restarts positions and labels', () => {
    const es = [ex([1, 2, 3]), ex([4, 5]), ex([6, 7, 8, 9]), ex([10])];
    const rows = packRows(es, 6);
    expect(rows.map((r) => r.map((e) => e.ids.length))).toEqual([[3, 2, 1], [4]]);
    const capped = packRows([...es, ex([1, 2, 3, 4, 5]), ex([1])], 6, 2);
    expect([capped.length, capped.placed]).toEqual([2, 4]);
    const b = collatePacked(packRows(es.slice(0, 3).concat([ex([10])]).reverse(), 6), 6, 0);
    expect([...b.ids]).toEqual([10, 6, 7, 8, 9, 0, 4, 5, 1, 2, 3, 0]);
    expect([...b.positionIds!]).toEqual([0, 0, 1, 2, 3, 0, 0, 1, 0, 1, 2, 0]);
    expect([...b.segments!]).toEqual([0, 1, 1, 1, 1, -1, 0, 0, 1, 1, 1, -1]);
    expect([...b.labels]).toEqual([-100, 7, 8, 9, -100, -100, 5, -100, 2, 3, -100, -100]);
    expect(b.realTokens).toBe(10);
    const bias = tidy(() => blockDiagonalBias(b.segments!, 2, 6).toArray());
    // row 0, query 3 (second example): keys 1..3 are its own, key 0 is the first example's
    expect([...bias.slice(3 * 6, 3 * 6 + 4)]).toEqual([-Infinity, 0, 0, 0]);
    const p = collatePadded(es.slice(0, 2), 0);
    expect([p.B, p.T, ...p.ids]).toEqual([2, 3, 1, 2, 3, 4, 5, 0]);
  });

  it('a packed row gives the same per-token logits as each example run alone (and padding agrees)', () => {
    manualSeed(3);
    const model = new GPT({ vocab_size: 50, n_embd: 32, n_head: 4, n_layer: 2, n_positions: 32, dropout: 0 });
    model.eval();
    const before = memory().numBytes;
    const es = [ex([5, 9, 11, 3, 7]), ex([2, 8, 8, 1]), ex([40, 41, 42, 43, 44, 45, 46])];
    const T = 20;
    const alone = es.map((e) => tidy(() => model.forward(tensor(e.ids, [1, e.ids.length])).toArray()));
    const packed = tidy(() => {
      const t = batchTensors(collatePacked(packRows(es, T), T, 0));
      return model.forward(t.ids, { positionIds: t.positionIds, attnBias: t.attnBias }).toArray();
    });
    const padded = tidy(() => model.forward(tensor(collatePadded(es, 0).ids, [3, 7])).toArray());
    const V = 50;
    let at = 0, maxErr = 0, maxPad = 0;
    es.forEach((e, k) => {
      for (let i = 0; i < e.ids.length * V; i++) {
        maxErr = Math.max(maxErr, Math.abs(packed[(at * V) + i] - alone[k][i]));
        maxPad = Math.max(maxPad, Math.abs(padded[k * 7 * V + i] - alone[k][i]));
      }
      at += e.ids.length;
    });
    expect(Number.isFinite(maxErr)).toBe(true);
    expect(maxErr).toBeLessThan(1e-5);
    expect(maxPad).toBeLessThan(1e-5);
    // Without the mask and position reset, the second example would differ: the test has teeth.
    const naive = tidy(() => model.forward(tensor(collatePacked(packRows(es, T), T, 0).ids, [1, T])).toArray());
    expect(Math.abs(naive[5 * V] - alone[1][0])).toBeGreaterThan(1e-4);
    expect(memory().numBytes).toBe(before);
    model.dispose();
  });

  it('GPT.forward checks positionIds and attnBias shapes; the KV cache path is unchanged', () => {
    manualSeed(4);
    const model = new GPT({ vocab_size: 30, n_embd: 16, n_head: 2, n_layer: 1, n_positions: 16, dropout: 0 });
    tidy(() => {
      const ids = tensor(Int32Array.from([1, 2, 3]), [1, 3]);
      expect(() => model.forward(ids, { positionIds: tensor(Int32Array.from([0, 1]), [1, 2]) })).toThrow(/positionIds/);
      expect(() => model.forward(ids, { attnBias: tensor(new Float32Array(4), [1, 1, 2, 2]) })).toThrow(/attnBias/);
    });
    const a = generate(model, [1, 2, 3], { temperature: 0, maxNewTokens: 6 });
    const b = generate(model, [1, 2, 3], { temperature: 0, maxNewTokens: 6, useCache: false });
    expect(a).toEqual(b);
    model.dispose();
  });
});
