import { describe, expect, it, vi } from 'vitest';
import * as lt from '../../src/index.js';
import { tidy, keep, memory, tensor, zeros, randn, backward, DisposedTensorError, ScopeError } from '../../src/index.js';
import { setDebugLeaks } from '../../src/tensor/tensor.js';
import { expectNoLeaks } from '../helpers/leaks.js';

describe('memory scopes', () => {
  it('tidy frees intermediates and keeps what it returns', () => {
    const before = memory().numTensors;
    const r = tidy(() => {
      const a = zeros([10]);
      const b = lt.add(a, 1);
      lt.mul(b, b);
      return b;
    });
    expect(memory().numTensors).toBe(before + 1);
    expect(r.toList()).toEqual(new Array(10).fill(1));
    r.dispose();
    expect(memory().numTensors).toBe(before);
  });
  it('keep protects a tensor; nested scopes hand results outward', () => {
    const before = memory().numTensors;
    let kept: lt.Tensor | null = null;
    const out = tidy(() => {
      kept = keep(zeros([3]));
      const inner = tidy(() => [lt.add(zeros([2]), 2), { x: zeros([1]) }]);
      return inner[0] as lt.Tensor;
    });
    expect(memory().numTensors).toBe(before + 2);
    kept!.dispose();
    out.dispose();
    expect(memory().numTensors).toBe(before);
  });
  it('use after dispose throws DisposedTensorError; dispose is idempotent', () => {
    const a = zeros([2]);
    a.dispose();
    a.dispose();
    expect(() => a.toArray()).toThrow(DisposedTensorError);
    expect(() => lt.add(a, 1)).toThrow(DisposedTensorError);
  });
  it('a Promise returned into tidy throws and frees the scope', () => {
    const before = memory().numTensors;
    expect(() => tidy(() => { zeros([4]); return Promise.resolve(1) as unknown as number; })).toThrow(ScopeError);
    expect(memory().numTensors).toBe(before);
  });
  it('a throwing function frees its tensors', () => {
    const before = memory().numTensors;
    expect(() => tidy(() => { zeros([4]); throw new Error('boom'); })).toThrow('boom');
    expect(memory().numTensors).toBe(before);
  });
  it('a tidy that returns a loss keeps its graph; one that returns a number frees it', () => {
    const w = keep(randn([4, 4]));
    w.requiresGrad = true;
    expectNoLeaks(() => {
      const loss = tidy(() => lt.sum(lt.square(lt.matmul(w, w))));
      tidy(() => backward(loss));
      expect(w.grad).not.toBeNull();
      loss.dispose();
      w.grad!.dispose();
      w.grad = null;
      tidy(() => lt.sum(lt.square(lt.matmul(w, w))).item());
    });
    w.dispose();
  });
});

describe('training-like loop', () => {
  it('1,000 iterations keep memory flat and the loss falls', () => {
    lt.manualSeed(1);
    const W1 = keep(lt.affine(randn([8, 16]), 0.3)), b1 = keep(zeros([16])), W2 = keep(lt.affine(randn([16, 4]), 0.3)), ln = keep(lt.ones([16]));
    const params = [W1, b1, W2, ln];
    params.forEach((p) => (p.requiresGrad = true));
    const opt = new lt.AdamW(params, { lr: 1e-2, weightDecay: 0.01 });
    const x = keep(randn([32, 8]));
    const y = keep(tensor(Int32Array.from({ length: 32 }, (_, i) => i % 4), [32]));
    let first = 0, last = 0, mem0 = 0;
    for (let it = 0; it < 1000; it++) {
      const loss = tidy(() => {
        const h = lt.gelu(lt.layernorm(lt.add(lt.matmul(x, W1), b1), ln));
        const logits = lt.matmul(lt.dropout(h, 0.1), W2);
        const l = lt.crossEntropy(logits, y);
        backward(l);
        lt.clipGradNorm(params, 1.0);
        opt.stepUpdate();
        opt.zeroGrad();
        return l.item();
      });
      if (it === 0) first = loss;
      if (it === 10) mem0 = memory().numBytes;
      if (it > 10) expect(memory().numBytes).toBe(mem0);
      last = loss;
    }
    expect(last).toBeLessThan(first * 0.2);
    opt.dispose();
    [...params, x, y].forEach((t) => t.dispose());
  });
});

describe('leak backstop', () => {
  it('reports a tensor garbage-collected without dispose(), with where it was made', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc).toBeTypeOf('function');
    const warnings: string[] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation((m: unknown) => { warnings.push(String(m)); });
    setDebugLeaks(true);
    (function makeAndForget() { zeros([3, 5]); })();
    for (let i = 0; i < 20 && warnings.length === 0; i++) {
      gc!();
      await new Promise((r) => setTimeout(r, 10));
    }
    setDebugLeaks(false);
    spy.mockRestore();
    expect(warnings.some((w) => w.includes('[3,5]') && w.includes('makeAndForget'))).toBe(true);
  });
});
