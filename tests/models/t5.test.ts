import { describe, expect, it } from 'vitest';
import * as lt from '../../src/index.js';
import { T5, relativePositionBucket } from '../../src/models/index.js';
import { tensor, tidy, backward, manualSeed, memory } from '../../src/index.js';
import { randint } from '../helpers/rng.js';

const V = 40, C = 16, NH = 2, DKV = 6, FF = 32, L = 2, LD = 2;
const tinyCfg = { vocab_size: V, n_layer: L, n_decoder_layer: LD, n_head: NH, n_embd: C, d_kv: DKV, d_ff: FF, dropout: 0 };

function std(a: Float32Array | Int32Array): number {
  let m = 0, s = 0;
  for (const x of a) m += x;
  m /= a.length;
  for (const x of a) s += (x - m) ** 2;
  return Math.sqrt(s / a.length);
}

/**
 * Span corruption on two rows (sentinels 39, 38; eos 1; pad 0): the input keeps the text with
 * each dropped span replaced by a sentinel, the target lists each sentinel and its span.
 * Row 1 is shorter: its input is padded (mask 0) and its labels are -100 past the end.
 */
const spans = {
  input: [[5, 6, 39, 9, 10, 38, 13, 14, 1], [20, 39, 23, 24, 25, 1, 0, 0, 0]],
  mask: [[1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0, 0, 0]],
  decoderInput: [[0, 39, 7, 8, 38, 11, 12], [0, 39, 21, 22, 0, 0, 0]],
  labels: [[39, 7, 8, 38, 11, 12, 1], [39, 21, 22, 1, -100, -100, -100]],
};
const i32 = (rows: number[][]): lt.Tensor => tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length]);

describe('T5', () => {
  it('counts parameters by the closed form and names them', () => {
    manualSeed(0);
    const m = new T5(tinyCfg);
    const I = NH * DKV, NB = 32;
    expect(m.numParameters()).toBe(V * C + L * (4 * C * I + 2 * C * FF + 2 * C) + LD * (8 * C * I + 2 * C * FF + 3 * C) + 2 * (NB * NH + C));
    const names = m.namedParameters().map(([n]) => n);
    for (const n of ['shared.weight', 'encoder.blocks.0.attn.rel_bias.weight', 'encoder.blocks.1.ff.wo.weight', 'encoder.ln_f.weight',
      'decoder.blocks.0.self_attn.rel_bias.weight', 'decoder.blocks.1.cross_attn.o.weight', 'decoder.ln_f.weight'])
      expect(names).toContain(n);
    // One relative-position table per stack, in its first layer only.
    expect(names.filter((n) => n.includes('rel_bias'))).toHaveLength(2);
    expect(names.some((n) => n.endsWith('.bias') && !n.includes('rel_bias'))).toBe(false);
    m.dispose();
  });

  it('initialises as Mesh-TF', () => {
    manualSeed(1);
    const c = 64, nh = 4, dkv = 16, ff = 256;
    const m = new T5({ ...tinyCfg, n_embd: c, n_head: nh, d_kv: dkv, d_ff: ff, vocab_size: 64 });
    const p = m.stateDict();
    const near = (name: string, want: number): void => {
      const s = std(p[name].toArray());
      expect(Math.abs(s / want - 1), `${name}: std ${s}, want ${want}`).toBeLessThan(0.1);
    };
    near('shared.weight', 1);
    near('encoder.blocks.0.attn.q.weight', (c * dkv) ** -0.5);
    near('encoder.blocks.1.attn.k.weight', c ** -0.5);
    near('decoder.blocks.0.cross_attn.v.weight', c ** -0.5);
    near('decoder.blocks.1.self_attn.o.weight', (nh * dkv) ** -0.5);
    near('encoder.blocks.0.ff.wi.weight', c ** -0.5);
    near('decoder.blocks.0.ff.wo.weight', ff ** -0.5);
    expect([...p['decoder.blocks.0.ln_cross.weight'].toArray()].every((x) => x === 1)).toBe(true);
    m.dispose();
  });

  it('buckets relative positions as the T5 formula', () => {
    // Bidirectional, 32 buckets, max distance 128: 16 per direction, offsets 0..7 exact,
    // then 8 + floor(ln(n/8) / ln(128/8) * 8) capped at 15; keys after the query add 16.
    const bi: [number, number][] = [[0, 0], [-3, 3], [3, 19], [-7, 7], [-8, 8], [-12, 9], [20, 26], [-200, 15], [1000, 31]];
    for (const [rel, want] of bi) expect(relativePositionBucket(rel, true, 32, 128), `bidirectional ${rel}`).toBe(want);
    // Unidirectional: the future is bucket 0; offsets 0..15 exact, then 16 + floor(ln(n/16) / ln(8) * 16) capped at 31.
    const uni: [number, number][] = [[5, 0], [0, 0], [-5, 5], [-15, 15], [-16, 16], [-40, 23], [-127, 31], [-500, 31]];
    for (const [rel, want] of uni) expect(relativePositionBucket(rel, false, 32, 128), `unidirectional ${rel}`).toBe(want);
    expect(relativePositionBucket(-3, true)).toBe(3); // defaults 32 / 128

    // The stack's bias (1, NH, Tq, Tk) holds table[bucket(j - i), h].
    manualSeed(2);
    const m = new T5(tinyCfg);
    tidy(() => {
      const attn = m.decoder.blocks[0].self_attn;
      const table = attn.rel_bias!.weight.toArray();
      const past = 2, Tq = 3, Tk = 5;
      const bias = attn.positionBias(past, Tq, Tk);
      expect(bias.shape).toEqual([1, NH, Tq, Tk]);
      const got = bias.toArray();
      for (let h = 0; h < NH; h++) for (let i = 0; i < Tq; i++) for (let j = 0; j < Tk; j++)
        expect(got[(h * Tq + i) * Tk + j]).toBe(table[relativePositionBucket(j - (past + i), false) * NH + h]);
    });
    m.dispose();
  });

  it('overfits a span-corruption pair to near-zero loss without leaking', () => {
    manualSeed(3);
    const m = new T5(tinyCfg);
    const opt = new lt.AdamW(m.parameters(), { lr: 1e-2, weightDecay: 0 });
    const x = i32(spans.input), dec = i32(spans.decoderInput), y = i32(spans.labels);
    const mask = tensor(spans.mask);
    let first = 0, last = 0;
    const before = memory().numBytes;
    for (let step = 0; step < 150; step++) {
      last = tidy(() => {
        const l = m.loss(x, dec, y, { attentionMask: mask });
        backward(l);
        if (step === 0) {
          // The relative-position tables are reached through gather + permute: they learn too.
          for (const t of [m.encoder.blocks[0].attn.rel_bias!.weight, m.decoder.blocks[0].self_attn.rel_bias!.weight])
            expect([...t.grad!.toArray()].some((g) => g !== 0)).toBe(true);
        }
        opt.stepUpdate();
        opt.zeroGrad();
        return l.item();
      });
      if (step === 0) first = last;
    }
    expect(memory().numBytes).toBe(before);
    expect(first).toBeGreaterThan(3);
    expect(last).toBeLessThan(0.05);
    [x, dec, y, mask].forEach((t) => t.dispose());
    opt.dispose();
    m.dispose();
  });

  it('decoder logits with the KV cache equal logits without it', () => {
    manualSeed(4);
    const m = new T5(tinyCfg).eval();
    const B = 2, Ts = 9, Tt = 7;
    const src = randint(B * Ts, V), tgt = randint(B * Tt, V);
    const before = memory().numBytes;
    tidy(() => {
      const mask = tensor(spans.mask);
      const enc = m.encode(tensor(src, [B, Ts]), { attentionMask: mask });
      const full = m.decode(tensor(tgt, [B, Tt]), enc, { encoderMask: mask }).toArray();
      const cache = m.newDecoderCache(B, Tt);
      const P = 3;
      const pre = tensor(Int32Array.from({ length: B * P }, (_, i) => tgt[Math.floor(i / P) * Tt + (i % P)]), [B, P]);
      const parts = [m.decode(pre, enc, { encoderMask: mask, cache }).toArray()];
      for (let t = P; t < Tt; t++) parts.push(m.decode(tensor(Int32Array.from([tgt[t], tgt[Tt + t]]), [B, 1]), enc, { encoderMask: mask, cache }).toArray());
      expect(cache.length).toBe(Tt);
      let maxErr = 0;
      for (let b = 0; b < B; b++) for (let t = 0; t < Tt; t++) for (let v = 0; v < V; v++) {
        const ref = full[(b * Tt + t) * V + v];
        const got = t < P ? parts[0][(b * P + t) * V + v] : parts[t - P + 1][b * V + v];
        maxErr = Math.max(maxErr, Math.abs(ref - got));
      }
      expect(maxErr).toBeLessThan(1e-5);
      // A full cache, or one filled over another encoder output, is refused.
      const one = tensor(Int32Array.from([1, 1]), [B, 1]);
      expect(() => m.decode(one, enc, { encoderMask: mask, cache })).toThrow(lt.ShapeError);
      const other = m.newDecoderCache(B, Tt);
      m.decode(one, enc, { cache: other });
      expect(() => m.decode(one, m.encode(tensor(src, [B, Ts])), { cache: other })).toThrow(lt.ArgumentError);
      cache.dispose();
      other.dispose();
    });
    expect(memory().numBytes).toBe(before);
    m.dispose();
  });

  it('rejects bad inputs with typed errors', () => {
    const m = new T5(tinyCfg);
    tidy(() => {
      const ids = tensor(Int32Array.from([1, 2, 3]), [1, 3]);
      const enc = m.encode(ids);
      expect(() => m.encode(tensor([[1, 2]]))).toThrow(lt.ShapeError);
      expect(() => m.encode(tensor(Int32Array.from([1, V]), [1, 2]))).toThrow(lt.IndexError);
      expect(() => m.encode(ids, { attentionMask: tensor([[1, 1]]) })).toThrow(lt.ShapeError);
      expect(() => m.decode(tensor(Int32Array.from([1, 2, 1, 2]), [2, 2]), enc)).toThrow(lt.ShapeError);
      expect(() => m.decode(ids, enc, { encoderMask: tensor([[1, 1]]) })).toThrow(lt.ShapeError);
      expect(() => m.decode(tensor(Int32Array.from([0, 99]), [1, 2]), enc)).toThrow(lt.IndexError);
      expect(() => m.loss(ids, ids, tensor(Int32Array.from([1, 2]), [1, 2]))).toThrow(lt.ShapeError);
      expect(() => m.loss(ids, ids, tensor(Int32Array.from([1, 2, V]), [1, 3]))).toThrow(lt.IndexError);
      expect(() => m.decode(ids, enc, { cache: m.newDecoderCache(2, 4) })).toThrow(lt.ArgumentError);
      expect(() => m.newDecoderCache(1, 0)).toThrow(lt.ArgumentError);
      expect(() => new T5({ ...tinyCfg, d_kv: 0 })).toThrow(lt.ArgumentError);
    });
    m.dispose();
  });
});
