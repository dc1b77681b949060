// Every differentiable op's gradient against central finite differences, plus the meta-test:
// an op registered without a case here fails the suite.
import { afterAll, describe, expect, it } from 'vitest';
import * as lt from '../../src/index.js';
import { tensor, tidy, type Tensor } from '../../src/index.js';
import { executedBackwardOps } from '../../src/autograd/graph.js';
import { rand, randint, randnArray } from '../helpers/rng.js';

const T = (shape: number[], scale = 1) => tensor(randnArray(shape.reduce((a, b) => a * b, 1), scale), shape);
/** Values at least 0.2 away from 0 (kinks of relu/abs). */
const awayFromZero = (shape: number[]) => tensor(randnArray(shape.reduce((a, b) => a * b, 1)).map((v) => (v >= 0 ? v + 0.2 : v - 0.2)), shape);
const positive = (shape: number[]) => tensor(randnArray(shape.reduce((a, b) => a * b, 1)).map((v) => Math.abs(v) + 0.5), shape);
/** Shuffled values on a 0.37 grid shifted by `shift`: no ties within or across (shift 0.185). */
const distinct = (n: number, shape: number[], shift = 0) =>
  tensor(Float32Array.from({ length: n }, (_, i) => i * 0.37 - n * 0.1 + shift).sort(() => rand() - 0.5), shape);

type Case = { name: string; inputs: () => Tensor[]; f: (...xs: Tensor[]) => Tensor; tol?: number };

const ids = tensor(randint(6, 9), [2, 3]); // fixed across the finite-difference calls
const causal = () => tensor(new Float32Array(25).map((_, i) => (i % 5 > Math.floor(i / 5) ? -Infinity : 0)), [5, 5]);

const cases: Case[] = [
  { name: 'add', inputs: () => [T([3, 1, 5]), T([4, 1])], f: lt.add },
  { name: 'sub', inputs: () => [T([3, 4]), T([4])], f: lt.sub },
  { name: 'mul', inputs: () => [T([2, 3, 4]), T([3, 1])], f: lt.mul },
  { name: 'div', inputs: () => [T([3, 4]), positive([4])], f: lt.div },
  { name: 'maximum', inputs: () => [distinct(12, [3, 4]), distinct(12, [3, 4], 0.185)], f: lt.maximum },
  { name: 'minimum', inputs: () => [distinct(12, [3, 4]), distinct(12, [3, 4], 0.185)], f: lt.minimum },
  { name: 'pow', inputs: () => [positive([3, 4]), T([4], 0.5)], f: lt.pow },
  { name: 'neg', inputs: () => [T([7])], f: lt.neg },
  { name: 'exp', inputs: () => [T([7])], f: lt.exp },
  { name: 'log', inputs: () => [positive([7])], f: lt.log },
  { name: 'tanh', inputs: () => [T([7])], f: lt.tanh },
  { name: 'sqrt', inputs: () => [positive([7])], f: lt.sqrt },
  { name: 'rsqrt', inputs: () => [positive([7])], f: lt.rsqrt },
  { name: 'relu', inputs: () => [awayFromZero([9])], f: lt.relu },
  { name: 'sigmoid', inputs: () => [T([7])], f: lt.sigmoid },
  { name: 'abs', inputs: () => [awayFromZero([9])], f: lt.abs },
  { name: 'square', inputs: () => [T([7])], f: lt.square },
  { name: 'reciprocal', inputs: () => [positive([7])], f: lt.reciprocal },
  { name: 'affine', inputs: () => [T([7])], f: (x) => lt.affine(x, -1.5, 2) },
  { name: 'sum', inputs: () => [T([3, 4, 5])], f: (x) => lt.sum(x, { axis: 1 }) },
  { name: 'mean', inputs: () => [T([3, 4, 5])], f: (x) => lt.mean(x, { axis: -1, keepDims: true }) },
  { name: 'max', inputs: () => [distinct(20, [4, 5])], f: (x) => lt.max(x, { axis: 0 }) },
  { name: 'reshape', inputs: () => [T([2, 6])], f: (x) => lt.mul(lt.reshape(x, [3, -1]), lt.reshape(x, [3, 4])) },
  { name: 'permute', inputs: () => [T([2, 3, 4])], f: (x) => lt.permute(x, [2, 0, 1]) },
  { name: 'slice', inputs: () => [T([4, 5])], f: (x) => lt.slice(x, 1, 1, 4) },
  { name: 'concat', inputs: () => [T([2, 3]), T([2, 2])], f: (a, b) => lt.concat([a, b], 1) },
  { name: 'expand', inputs: () => [T([3, 1])], f: (x) => lt.expand(x, [2, 3, 4]) },
  { name: 'sum_to', inputs: () => [T([2, 3, 4])], f: (x) => lt.sumTo(x, [3, 1]) },
  { name: 'gather', inputs: () => [T([4, 5])], f: (x) => lt.gather(x, tensor(Int32Array.from([3, 1, 3]), [3]), 1) },
  { name: 'where', inputs: () => [T([3, 4]), T([4])], f: (a, b) => lt.where(tensor(Float32Array.from({ length: 12 }, (_, i) => i % 2), [3, 4]), a, b) },
  { name: 'clone', inputs: () => [T([5])], f: lt.clone },
  { name: 'matmul', inputs: () => [T([2, 3, 4]), T([4, 5])], f: (a, b) => lt.matmul(a, b) },
  { name: 'matmul', inputs: () => [T([2, 4, 3]), T([2, 5, 4])], f: (a, b) => lt.matmul(a, b, { transA: true, transB: true }) },
  { name: 'matmul', inputs: () => [T([2, 4, 3]), T([4, 5])], f: (a, b) => lt.matmul(a, b, { transA: true }) },
  { name: 'matmul', inputs: () => [T([3, 4]), T([5, 4])], f: (a, b) => lt.matmul(a, b, { transB: true }) },
  { name: 'softmax', inputs: () => [T([2, 5, 5])], f: (x) => lt.softmax(x, { mask: causal() }) },
  { name: 'log_softmax', inputs: () => [T([3, 7])], f: (x) => lt.logSoftmax(x) },
  { name: 'layernorm', inputs: () => [T([4, 6]), T([6]), T([6])], f: (x, w, b) => lt.layernorm(x, w, b) },
  { name: 'rmsnorm', inputs: () => [T([4, 6]), T([6])], f: (x, w) => lt.rmsnorm(x, w) },
  { name: 'gelu', inputs: () => [T([9])], f: lt.gelu },
  { name: 'embedding', inputs: () => [T([9, 4])], f: (w) => lt.embedding(ids, w) },
  { name: 'cross_entropy', inputs: () => [T([5, 7])], f: (x) => lt.crossEntropy(x, tensor(Int32Array.from([1, -100, 6, 0, 3]), [5]), { labelSmoothing: 0.1 }) },
  { name: 'attention', inputs: () => [T([2, 2, 5, 4]), T([2, 2, 6, 4]), T([2, 2, 6, 4]), T([1, 2, 5, 6])],
    f: (q, k, v, b) => lt.attention(q, k, v, { causal: true, bias: b, keyPaddingMask: tensor(Float32Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1]), [2, 6]) }) },
  { name: 'dropout', inputs: () => [T([50])], f: (() => { let st: lt.RngState | null = null; return (x: Tensor) => { st ??= lt.getRngState(); lt.setRngState(st); return lt.dropout(x, 0.4); }; })() },
];

describe('gradients match finite differences', () => {
  for (const c of cases) {
    it(c.name, () => {
      tidy(() => {
        const r = lt.gradcheck(c.f, c.inputs());
        expect(r.maxError).toBeLessThan(c.tol ?? 2e-2);
      });
    });
  }
});

describe('gradient registry', () => {
  afterAll(() => undefined);
  it('every registered differentiable op has a gradient test above', () => {
    // to_device copies between devices: it only records on a machine with a GPU, where
    // checkCudaOps ('to() gradient', tests/ops/cuda.test.ts) checks its gradient.
    const tested = new Set([...cases.map((c) => c.name), 'to_device']);
    const missing = lt.differentiableOps().filter((n) => !tested.has(n));
    expect(missing).toEqual([]);
  });
  it('every tested op actually ran its backward', () => {
    const names = [...new Set(cases.map((c) => c.name))];
    expect(names.filter((n) => !executedBackwardOps.has(n))).toEqual([]);
  });
});
