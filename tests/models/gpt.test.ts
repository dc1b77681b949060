import { describe, expect, it } from 'vitest';
import * as lt from '../../src/index.js';
import { GPT } from '../../src/models/gpt.js';
import { tensor, tidy, backward, manualSeed, memory } from '../../src/index.js';
import { randint } from '../helpers/rng.js';

const tinyCfg = { vocab_size: 37, n_positions: 16, n_layer: 2, n_head: 2, n_embd: 16, dropout: 0 };

describe('GPT', () => {
  it('counts parameters as GPT-2 does', () => {
    manualSeed(0);
    const m = new GPT(tinyCfg);
    const C = 16, V = 37, T = 16, L = 2;
    expect(m.numParameters()).toBe(V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C);
    expect(m.namedParameters().map(([n]) => n)).toContain('blocks.1.attn.qkv.weight');
    m.dispose();
  });

  it('overfits one batch to near-zero loss', () => {
    manualSeed(1);
    const m = new GPT(tinyCfg);
    const opt = new lt.AdamW(m.parameters(), { lr: 1e-2, weightDecay: 0 });
    const ids = tensor(randint(2 * 9, 37), [2, 9]);
    const data = ids.toArray() as Int32Array;
    // Two rows that start with the same token make the first prediction ambiguous (an
    // irreducible ln 2 / 16 of loss): keep the rows' prefixes apart.
    if (data[9] === data[0]) data[9] = (data[0] + 1) % 37;
    const x = tensor(Int32Array.from({ length: 16 }, (_, i) => data[Math.floor(i / 8) * 9 + (i % 8)]), [2, 8]);
    const y = tensor(Int32Array.from({ length: 16 }, (_, i) => data[Math.floor(i / 8) * 9 + (i % 8) + 1]), [2, 8]);
    let first = 0, last = 0;
    const before = memory().numBytes;
    for (let step = 0; step < 150; step++) {
      last = tidy(() => {
        const l = m.loss(x, y);
        backward(l);
        opt.stepUpdate();
        opt.zeroGrad();
        return l.item();
      });
      if (step === 0) first = last;
    }
    expect(memory().numBytes).toBe(before);
    expect(first).toBeGreaterThan(3);
    expect(last).toBeLessThan(0.05);
    [x, y, ids].forEach((t) => t.dispose());
    opt.dispose();
    m.dispose();
  });

  it('logits with the KV cache equal logits without it', () => {
    manualSeed(2);
    const m = new GPT(tinyCfg).eval();
    const seq = randint(2 * 10, 37);
    tidy(() => {
      const full = m.forward(tensor(seq, [2, 10])).toArray();
      const cache = m.newCache(2);
      // prefix of 6, then 4 single steps
      const pre = tensor(Int32Array.from({ length: 12 }, (_, i) => seq[Math.floor(i / 6) * 10 + (i % 6)]), [2, 6]);
      const parts = [m.forward(pre, { cache }).toArray()];
      for (let t = 6; t < 10; t++) parts.push(m.forward(tensor(Int32Array.from([seq[t], seq[10 + t]]), [2, 1]), { cache }).toArray());
      const V = 37;
      let maxErr = 0;
      for (let b = 0; b < 2; b++) for (let t = 0; t < 10; t++) for (let v = 0; v < V; v++) {
        const ref = full[(b * 10 + t) * V + v];
        const got = t < 6 ? parts[0][(b * 6 + t) * V + v] : parts[t - 5][b * V + v];
        maxErr = Math.max(maxErr, Math.abs(ref - got));
      }
      expect(maxErr).toBeLessThan(1e-5);
      cache.dispose();
    });
    m.dispose();
  });

  it('rejects bad ids with typed errors', () => {
    const m = new GPT(tinyCfg);
    tidy(() => {
      expect(() => m.forward(tensor([[1, 2]]))).toThrow(lt.ShapeError);
      expect(() => m.forward(tensor(Int32Array.from([1, 99]), [1, 2]))).toThrow(lt.IndexError);
      expect(() => m.forward(tensor(new Int32Array(17), [1, 17]))).toThrow(/exceed the context length/);
    });
    m.dispose();
  });
});
