import { describe, expect, it } from 'vitest';
import * as lt from '../../src/index.js';
import { Bert } from '../../src/models/index.js';
import { tensor, tidy, backward, manualSeed, memory } from '../../src/index.js';
import { randint } from '../helpers/rng.js';

const V = 37, P = 16, C = 16, L = 2, MASK = 36;
const tinyCfg = { vocab_size: V, n_positions: P, n_layer: L, n_head: 2, n_embd: C, dropout: 0 };

function std(a: Float32Array | Int32Array): number {
  let m = 0, s = 0;
  for (const x of a) m += x;
  m /= a.length;
  for (const x of a) s += (x - m) ** 2;
  return Math.sqrt(s / a.length);
}

describe('BERT', () => {
  it('counts parameters by the closed form and names them', () => {
    manualSeed(0);
    const m = new Bert(tinyCfg);
    expect(m.numParameters()).toBe((V + P + 2) * C + L * (12 * C * C + 13 * C) + 2 * C * C + 6 * C + V);
    const names = m.namedParameters().map(([n]) => n);
    for (const n of ['wte.weight', 'wtt.weight', 'ln_emb.bias', 'blocks.1.attn.qkv.weight', 'blocks.1.ln2.weight', 'mlm.dense.weight', 'mlm.bias', 'pooler.weight'])
      expect(names).toContain(n);
    m.dispose();
  });

  it('initialises weights N(0, 0.02), biases 0, norms 1', () => {
    manualSeed(1);
    const m = new Bert({ ...tinyCfg, n_embd: 64 });
    const p = m.stateDict();
    expect(std(p['blocks.0.mlp.fc.weight'].toArray())).toBeCloseTo(0.02, 2);
    expect(std(p['wte.weight'].toArray())).toBeCloseTo(0.02, 2);
    expect([...p['blocks.0.attn.qkv.bias'].toArray(), ...p['mlm.bias'].toArray()].every((x) => x === 0)).toBe(true);
    expect([...p['blocks.0.ln1.weight'].toArray(), ...p['mlm.ln.weight'].toArray()].every((x) => x === 1)).toBe(true);
    m.dispose();
  });

  it('overfits one masked-LM batch to near-zero loss without leaking', () => {
    manualSeed(2);
    const m = new Bert(tinyCfg);
    const opt = new lt.AdamW(m.parameters(), { lr: 1e-2, weightDecay: 0 });
    const B = 2, T = 8;
    const orig = randint(B * T, MASK);
    const masked = Int32Array.from(orig);
    const lab = new Int32Array(B * T).fill(-100);
    for (const i of [1, 4, 6, 9, 10, 14]) {
      masked[i] = MASK;
      lab[i] = orig[i];
    }
    const ids = tensor(masked, [B, T]), labels = tensor(lab, [B, T]);
    const types = tensor(Int32Array.from({ length: B * T }, (_, i) => (i % T < 4 ? 0 : 1)), [B, T]);
    let first = 0, last = 0;
    const before = memory().numBytes;
    for (let step = 0; step < 120; step++) {
      last = tidy(() => {
        const l = m.mlmLoss(ids, labels, { tokenTypeIds: types });
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
    // The fast path (head on labelled rows only) is the same loss as the full logits.
    tidy(() => {
      const full = lt.crossEntropy(m.mlmLogits(ids, { tokenTypeIds: types }), labels).item();
      expect(Math.abs(full - m.mlmLoss(ids, labels, { tokenTypeIds: types }).item())).toBeLessThan(1e-6);
    });
    [ids, labels, types].forEach((t) => t.dispose());
    opt.dispose();
    m.dispose();
  });

  it('the key padding mask hides padded tokens from real ones', () => {
    manualSeed(3);
    const m = new Bert(tinyCfg).eval();
    const B = 2, T = 8;
    const a = randint(B * T, V), b = Int32Array.from(a);
    const keep = Float32Array.from({ length: B * T }, (_, i) => (i >= T + 5 ? 0 : 1)); // row 1: last 3 padded
    for (let i = T + 5; i < 2 * T; i++) b[i] = (a[i] + 1 + (i % 5)) % V;
    tidy(() => {
      const mask = tensor(keep, [B, T]);
      const ha = m.forward(tensor(a, [B, T]), { attentionMask: mask }).toArray();
      const hb = m.forward(tensor(b, [B, T]), { attentionMask: mask }).toArray();
      const ua = m.forward(tensor(a, [B, T])).toArray();
      const ub = m.forward(tensor(b, [B, T])).toArray();
      let masked = 0, unmasked = 0;
      for (let i = 0; i < B * T; i++) {
        if (!keep[i]) continue;
        for (let c = 0; c < C; c++) {
          masked = Math.max(masked, Math.abs(ha[i * C + c] - hb[i * C + c]));
          unmasked = Math.max(unmasked, Math.abs(ua[i * C + c] - ub[i * C + c]));
        }
      }
      expect(masked).toBeLessThan(1e-6);
      expect(unmasked).toBeGreaterThan(1e-3); // without the mask the change does reach them
      const pooled = m.pooled(tensor(a, [B, T]), { attentionMask: mask });
      expect(pooled.shape).toEqual([B, C]);
      expect([...pooled.toArray()].every((x) => Math.abs(x) < 1 && Number.isFinite(x))).toBe(true);
    });
    m.dispose();
  });

  it('rejects bad inputs with typed errors', () => {
    const m = new Bert(tinyCfg);
    tidy(() => {
      const ids = tensor(Int32Array.from([1, 2, 3]), [1, 3]);
      expect(() => m.forward(tensor([[1, 2]]))).toThrow(lt.ShapeError);
      expect(() => m.forward(tensor(Int32Array.from([1, 99]), [1, 2]))).toThrow(lt.IndexError);
      expect(() => m.forward(tensor(new Int32Array(P + 1), [1, P + 1]))).toThrow(/exceed the context length/);
      expect(() => m.forward(ids, { tokenTypeIds: tensor(Int32Array.from([0, 1, 2]), [1, 3]) })).toThrow(lt.IndexError);
      expect(() => m.forward(ids, { tokenTypeIds: tensor(Int32Array.from([0, 1]), [1, 2]) })).toThrow(lt.ShapeError);
      expect(() => m.forward(ids, { attentionMask: tensor([[1, 1]]) })).toThrow(lt.ShapeError);
      expect(() => m.mlmLoss(ids, tensor(Int32Array.from([1, 2]), [1, 2]))).toThrow(lt.ShapeError);
      expect(() => m.mlmLoss(ids, tensor(Int32Array.from([-100, V, -100]), [1, 3]))).toThrow(lt.IndexError);
      expect(() => new Bert({ ...tinyCfg, n_head: 3 })).toThrow(lt.ArgumentError);
    });
    m.dispose();
  });
});
