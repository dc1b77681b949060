// softmax, layernorm, rmsnorm, embedding, cross-entropy, attention, reductions, dropout:
// forward against float64 references on awkward sizes and hostile values.
import { describe, expect, it } from 'vitest';
import * as lt from '../../src/index.js';
import { tensor, tidy } from '../../src/index.js';
import { randint, randnArray } from '../helpers/rng.js';
import { attentionRef, crossEntropyRef, layernormRef, maxRelErr, rmsnormRef, softmaxRef } from '../helpers/reference.js';

describe('softmax / logSoftmax', () => {
  it('match float64 with large logits, masks and fully masked rows', () => tidy(() => {
    for (const log of [false, true]) {
      for (const [rows, cols] of [[1, 1], [7, 13], [3, 1009], [64, 5]]) {
        const x = randnArray(rows * cols, 1e4);
        const f = log ? lt.logSoftmax : lt.softmax;
        expect(maxRelErr(f(tensor(x, [rows, cols])).toArray(), softmaxRef(x, rows, cols, null, log))).toBeLessThan(1e-5);
      }
      // causal (T,T) mask under (B,NH,T,T), and a (B,1,1,T) padding mask with a fully masked batch
      const B = 2, NH = 3, T = 5;
      const x = randnArray(B * NH * T * T);
      const causal = new Float32Array(T * T).map((_, i) => (i % T > Math.floor(i / T) ? -Infinity : 0));
      const y = (log ? lt.logSoftmax : lt.softmax)(tensor(x, [B, NH, T, T]), { mask: tensor(causal, [T, T]) });
      expect(maxRelErr(y.toArray(), softmaxRef(x, B * NH * T, T, (r, c) => causal[(r % T) * T + c], log))).toBeLessThan(1e-5);
      const pad = new Float32Array(B * T).fill(0);
      pad.fill(-Infinity, 0, T); // batch 0 fully masked
      const z = (log ? lt.logSoftmax : lt.softmax)(tensor(x, [B, NH, T, T]), { mask: tensor(pad, [B, 1, 1, T]) });
      const za = z.toArray();
      expect(za.every(Number.isFinite)).toBe(true);
      expect(maxRelErr(za, softmaxRef(x, B * NH * T, T, (r, c) => pad[Math.floor(r / (NH * T)) * T + c], log))).toBeLessThan(1e-5);
    }
  }));
});

describe('layernorm / rmsnorm', () => {
  it('match float64', () => tidy(() => {
    for (const [N, C] of [[1, 1], [7, 13], [3, 768], [130, 65]]) {
      const x = randnArray(N * C, 3).map((v) => v + 5), w = randnArray(C), b = randnArray(C);
      expect(maxRelErr(lt.layernorm(tensor(x, [N, C]), tensor(w), tensor(b)).toArray(), layernormRef(x, w, b, N, C, 1e-5))).toBeLessThan(1e-5);
      expect(maxRelErr(lt.layernorm(tensor(x, [N, C]), tensor(w), null).toArray(), layernormRef(x, w, null, N, C, 1e-5))).toBeLessThan(1e-5);
      expect(maxRelErr(lt.rmsnorm(tensor(x, [N, C]), tensor(w)).toArray(), rmsnormRef(x, w, N, C, 1e-6))).toBeLessThan(1e-5);
    }
  }));
  it('rejects a weight of the wrong size', () => tidy(() => {
    expect(() => lt.layernorm(lt.zeros([2, 4]), lt.ones([3]))).toThrow(/weight is \[3\], expected \[4\]/);
  }));
});

describe('embedding and gather', () => {
  it('looks up rows and rejects out-of-range ids with IndexError', () => tidy(() => {
    const V = 11, C = 6, w = randnArray(V * C);
    const ids = randint(2 * 7, V);
    const out = lt.embedding(tensor(ids, [2, 7]), tensor(w, [V, C]));
    expect(out.shape).toEqual([2, 7, C]);
    const o = out.toArray();
    for (let i = 0; i < ids.length; i++) for (let c = 0; c < C; c++) expect(o[i * C + c]).toBe(w[ids[i] * C + c]);
    expect(() => lt.embedding(tensor(Int32Array.from([0, 11]), [2]), tensor(w, [V, C]))).toThrow(lt.IndexError);
    expect(() => lt.embedding(tensor(Int32Array.from([-1]), [1]), tensor(w, [V, C]))).toThrow(lt.IndexError);
    const g = lt.gather(tensor(w, [V, C]), tensor(Int32Array.from([3, 0, 3]), [3]), 0).toArray();
    expect(Array.from(g.slice(0, C))).toEqual(Array.from(w.slice(3 * C, 4 * C)));
  }));
});

describe('crossEntropy', () => {
  it('matches float64 with large logits, ignore_index and label smoothing', () => tidy(() => {
    for (const eps of [0, 0.1]) for (const [N, V] of [[1, 1], [7, 13], [5, 1009], [2, 50257]]) {
      const logits = randnArray(N * V, 1e3);
      const t = randint(N, V);
      if (N > 1) t[1] = -100;
      const got = lt.crossEntropy(tensor(logits, [N, V]), tensor(t, [N]), { labelSmoothing: eps, reduction: 'none' }).toArray();
      expect(maxRelErr(got, crossEntropyRef(logits, t, N, V, -100, eps))).toBeLessThan(1e-5);
      const mean = lt.crossEntropy(tensor(logits, [N, V]), tensor(t, [N]), { labelSmoothing: eps }).item();
      const ref = crossEntropyRef(logits, t, N, V, -100, eps);
      const cnt = Array.from(t).filter((x) => x !== -100).length;
      expect(Math.abs(mean - ref.reduce((a, b) => a + b, 0) / cnt) / Math.max(1, Math.abs(mean))).toBeLessThan(1e-5);
    }
  }));
  it('gives IndexError for a target outside the vocabulary', () => tidy(() => {
    expect(() => lt.crossEntropy(lt.zeros([2, 5]), tensor(Int32Array.from([1, 5]), [2]))).toThrow(lt.IndexError);
    expect(() => lt.crossEntropy(lt.zeros([2, 5]), tensor(Int32Array.from([1]), [1]))).toThrow(lt.ShapeError);
  }));
});

describe('attention', () => {
  it('matches the full-matrix float64 reference (causal, padding, bias, Tq != Tk)', () => tidy(() => {
    let worst = 0;
    for (const [B, NH, Tq, Tk, HS] of [[1, 1, 1, 1, 1], [2, 3, 5, 5, 8], [1, 2, 1, 37, 16], [2, 2, 65, 65, 64], [1, 1, 130, 130, 8]]) {
      for (const causal of [false, true]) for (const withBias of [false, true]) for (const withMask of [false, true]) {
        const q = randnArray(B * NH * Tq * HS), k = randnArray(B * NH * Tk * HS), v = randnArray(B * NH * Tk * HS);
        const bias = withBias ? randnArray(NH * Tq * Tk) : null;
        const mask = withMask ? Float32Array.from({ length: B * Tk }, (_, i) => (i < Tk ? 0 : i % 3 === 0 ? 0 : 1)) : null;
        const out = lt.attention(tensor(q, [B, NH, Tq, HS]), tensor(k, [B, NH, Tk, HS]), tensor(v, [B, NH, Tk, HS]), {
          causal, bias: bias ? tensor(bias, [1, NH, Tq, Tk]) : null, keyPaddingMask: mask ? tensor(mask, [B, Tk]) : null,
        }).toArray();
        expect(out.every(Number.isFinite)).toBe(true);
        worst = Math.max(worst, maxRelErr(out, attentionRef(q, k, v, B, NH, Tq, Tk, HS, { causal, bias, biasB: 1, keyMask: mask })));
      }
    }
    console.log(`attention forward max_rel_err ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
  }));
});

describe('reductions', () => {
  it('sum, mean, max along each axis and over everything', () => tidy(() => {
    const shape = [3, 7, 5], x = randnArray(105);
    for (let ax = 0; ax < 3; ax++) {
      const s = lt.sum(tensor(x, shape), { axis: ax }).toArray();
      const m = lt.max(tensor(x, shape), { axis: ax }).toArray();
      const strides = [35, 5, 1];
      const others = [0, 1, 2].filter((d) => d !== ax);
      let o = 0;
      for (let i = 0; i < shape[others[0]]; i++) for (let j = 0; j < shape[others[1]]; j++) {
        let ss = 0, mm = -Infinity;
        for (let r = 0; r < shape[ax]; r++) {
          const v = x[i * strides[others[0]] + j * strides[others[1]] + r * strides[ax]];
          ss += v; mm = Math.max(mm, v);
        }
        expect(Math.abs(s[o] - ss)).toBeLessThan(1e-5);
        expect(m[o]).toBe(mm);
        o++;
      }
    }
    expect(Math.abs(lt.mean(tensor(x, shape)).item() - x.reduce((a, b) => a + b, 0) / 105)).toBeLessThan(1e-6);
    expect(lt.sum(tensor(x, shape), { axis: 1, keepDims: true }).shape).toEqual([3, 1, 5]);
  }));
});

describe('dropout', () => {
  it('keeps about 1-p, scales by 1/(1-p), is reproducible from the seed', () => tidy(() => {
    lt.manualSeed(7);
    const x = lt.ones([100000]);
    const y = lt.dropout(x, 0.3).toArray();
    const kept = y.filter((v) => v !== 0);
    expect(Math.abs(kept.length / 1e5 - 0.7)).toBeLessThan(0.01);
    expect(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    lt.manualSeed(7);
    expect(lt.dropout(x, 0.3).toArray()).toEqual(y);
    expect(lt.dropout(x, 0.3, false).toArray().every((v) => v === 1)).toBe(true);
    expect(() => lt.dropout(x, 1)).toThrow(lt.ArgumentError);
  }));
});
