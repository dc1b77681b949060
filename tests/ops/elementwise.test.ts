import { describe, expect, it } from 'vitest';
import * as lt from '../../src/index.js';
import { tensor, tidy } from '../../src/index.js';
import { rand, randnArray } from '../helpers/rng.js';
import { maxRelErr } from '../helpers/reference.js';

function bcastRef(a: Float32Array, as: number[], b: Float32Array, bs: number[], f: (x: number, y: number) => number) {
  const n = Math.max(as.length, bs.length);
  const pa = [...Array(n - as.length).fill(1), ...as], pb = [...Array(n - bs.length).fill(1), ...bs];
  const out = pa.map((d, i) => Math.max(d, pb[i]));
  const size = out.reduce((x, y) => x * y, 1);
  const res = new Float64Array(size);
  const idx = new Array(n).fill(0);
  for (let e = 0; e < size; e++) {
    let r = e;
    for (let d = n - 1; d >= 0; d--) { idx[d] = r % out[d]; r = Math.floor(r / out[d]); }
    let ia = 0, ib = 0;
    for (let d = 0; d < n; d++) { ia = ia * pa[d] + (pa[d] === 1 ? 0 : idx[d]); ib = ib * pb[d] + (pb[d] === 1 ? 0 : idx[d]); }
    res[e] = f(a[ia], b[ib]);
  }
  return { res, out };
}

describe('elementwise', () => {
  const cases: [number[], number[]][] = [[[7], [7]], [[3, 1, 5], [1, 4, 1]], [[2, 3, 257], [257]], [[5, 13], []], [[1], [6, 1]], [[1009], [1009]]];
  const fns: Record<string, [(a: lt.Tensor, b: lt.Tensor) => lt.Tensor, (x: number, y: number) => number, boolean]> = {
    add: [lt.add, (x, y) => x + y, false], sub: [lt.sub, (x, y) => x - y, false], mul: [lt.mul, (x, y) => x * y, false],
    div: [lt.div, (x, y) => x / y, true], maximum: [lt.maximum, Math.max, false], minimum: [lt.minimum, Math.min, false],
    pow: [lt.pow, (x, y) => x ** y, true],
  };
  for (const [name, [f, ref, positive]] of Object.entries(fns)) {
    it(`${name} broadcasts like numpy and matches float64`, () => tidy(() => {
      let worst = 0;
      for (const [as, bs] of cases) {
        const a = randnArray(as.reduce((x, y) => x * y, 1)).map((v) => (positive ? Math.abs(v) + 0.5 : v));
        const b = randnArray(bs.reduce((x, y) => x * y, 1)).map((v) => (positive ? Math.abs(v) + 0.5 : v));
        const got = f(tensor(a, as), tensor(b, bs));
        const { res, out } = bcastRef(a, as, b, bs, ref);
        expect(got.shape).toEqual(out);
        worst = Math.max(worst, maxRelErr(got.toArray(), res));
      }
      expect(worst).toBeLessThan(2e-6);
    }));
  }
  const unaries: Record<string, [(x: lt.Tensor) => lt.Tensor, (x: number) => number, boolean]> = {
    neg: [lt.neg, (x) => -x, false], exp: [lt.exp, Math.exp, false], log: [lt.log, Math.log, true], tanh: [lt.tanh, Math.tanh, false],
    sqrt: [lt.sqrt, Math.sqrt, true], rsqrt: [lt.rsqrt, (x) => 1 / Math.sqrt(x), true], relu: [lt.relu, (x) => Math.max(0, x), false],
    sigmoid: [lt.sigmoid, (x) => 1 / (1 + Math.exp(-x)), false], abs: [lt.abs, Math.abs, false], square: [lt.square, (x) => x * x, false],
    reciprocal: [lt.reciprocal, (x) => 1 / x, true], // GPT-2's 0.5x(1 + tanh(u)) written as x * sigmoid(2u): the same function, without the
    // cancellation of 1 + tanh(u) for large negative x that makes the tanh form useless there.
    gelu: [lt.gelu, (x) => x / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))), false],
  };
  for (const [name, [f, ref, positive]] of Object.entries(unaries)) {
    it(`${name} matches float64 on awkward sizes`, () => tidy(() => {
      for (const n of [1, 7, 1009, 65537]) {
        const a = randnArray(n, 3).map((v) => (positive ? Math.abs(v) + 0.1 : v));
        const got = f(tensor(a, [n])).toArray();
        expect(maxRelErr(got, Array.from(a, ref))).toBeLessThan(1e-5);
      }
    }));
  }
  it('affine, scale and number operands', () => tidy(() => {
    const a = randnArray(11);
    expect(maxRelErr(lt.affine(tensor(a), 2.5, -1).toArray(), Array.from(a, (x) => 2.5 * x - 1))).toBeLessThan(1e-6);
    expect(maxRelErr(lt.add(tensor(a), 3).toArray(), Array.from(a, (x) => x + 3))).toBeLessThan(1e-6);
    expect(maxRelErr(lt.sub(2, tensor(a)).toArray(), Array.from(a, (x) => 2 - x))).toBeLessThan(1e-6);
    expect(rand()).toBeLessThan(1);
  }));
  it('rejects shapes that do not broadcast, naming both', () => tidy(() => {
    expect(() => lt.add(lt.zeros([2, 3]), lt.zeros([4]))).toThrow(lt.ShapeError);
    expect(() => lt.add(lt.zeros([2, 3]), lt.zeros([4]))).toThrow('[2,3] and [4]');
    expect(() => lt.add(lt.zeros([2]), NaN)).toThrow(lt.ArgumentError);
    expect(() => lt.add(lt.zeros([2]), lt.zeros([2], 'int32'))).toThrow(lt.DTypeError);
  }));
});
