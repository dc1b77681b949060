// The native boundary: every export of the binding called with garbage must throw a typed
// LmtError (or succeed on benign input) and never crash the process or read out of bounds.
import { describe, expect, it } from 'vitest';
import { native } from '../../src/native/binding.js';
import { LmtError, ShapeError, DisposedTensorError, DTypeError, ArgumentError, IndexError } from '../../src/index.js';
import { rand } from '../helpers/rng.js';

const f32 = (n: number) => native.fromArray(new Float32Array(n).fill(0.5));
const i32 = (n: number) => native.fromArray(new Int32Array(n));

function garbagePool() {
  const disposed = f32(4);
  disposed.dispose();
  return [undefined, null, -1, 0, 1, 2, 3, 7, NaN, Infinity, -Infinity, 1e300, 2 ** 53, 2 ** 40, 0.5, 'x', 'float32', true, false,
    {}, [], [-1], [3], [2, 2], [2 ** 40, 2 ** 40], [NaN], [1, 1, 1, 1, 1, 1, 1, 1, 1], { numel: 3, dtype: 'float32' },
    new Float32Array(3), new Int32Array(3), new Float64Array(2), f32(1), f32(3), f32(64), i32(3), i32(64), disposed, [f32(3)], [disposed], [i32(3)], [true]];
}

describe('native boundary', () => {
  const exports = Object.keys(native).filter((k) => typeof (native as unknown as Record<string, unknown>)[k] === 'function' && k !== 'TensorHandle' && k !== 'setErrorClasses');

  it('exports the full kernel set', () => {
    expect(exports.length).toBe(49);
  });

  it('survives random garbage on every export (typed errors only)', () => {
    const pool = garbagePool();
    // Exports that take no arguments cannot be handed a bad one: called too, left out of the ratio.
    const argumentFree = new Set(['memory', 'info', 'flushCache', 'cudaSynchronize', 'getMatmulPrecision']);
    let calls = 0, typed = 0;
    for (const name of exports) {
      const fn = (native as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
      for (let trial = 0; trial < 400; trial++) {
        const arity = Math.floor(rand() * 21);
        const args = Array.from({ length: arity }, () => pool[Math.floor(rand() * pool.length)]);
        try {
          const r = fn(...args);
          if (r && typeof r === 'object' && 'dispose' in (r as object)) (r as { dispose(): void }).dispose();
        } catch (e) {
          if (!(e instanceof LmtError)) throw new Error(`${name}(${args.map((a) => typeof a).join(', ')}) threw a non-LmtError: ${String(e)}`);
          if (!argumentFree.has(name)) typed++;
        }
        if (!argumentFree.has(name)) calls++;
      }
    }
    native.setNumThreads(2);
    console.log(`boundary fuzz: ${calls} calls over ${exports.length} exports, ${typed} typed errors, no crash`);
    expect(typed).toBeGreaterThan(calls * 0.9);
  });

  it('checks buffer lengths against dims before any kernel runs', () => {
    const a = f32(6), b = f32(6), c = f32(3);
    expect(() => native.matmul(c, a, b, 1, 2, 2, 3, false, false, 3, 2, 2, 0, 0, 0, 1, 0)).toThrow(ShapeError); // c needs 4
    expect(() => native.matmul(f32(4), a, b, 2, 2, 2, 3, false, false, 3, 2, 2, 6, 0, 4, 1, 0)).toThrow(ShapeError); // batch 2
    expect(() => native.matmul(f32(4), a, b, 1, 2, 2, 3, false, false, 2, 2, 2, 0, 0, 0, 1, 0)).toThrow(ShapeError); // lda < K
    expect(() => native.attentionForward(f32(8), f32(2), f32(8), f32(8), f32(7), null, null, 1, 1, 2, 2, 4, 1, false, 0.5)).toThrow(ShapeError);
    expect(() => native.layernormForward(f32(6), f32(2), f32(1), f32(6), f32(3), null, 2, 3, 1e-5)).toThrow(ShapeError);
    expect(() => native.crossEntropyForward(f32(2), f32(2), f32(5), i32(2), 2, 3, -100, 0)).toThrow(ShapeError);
    expect(() => native.copyStrided(f32(4), f32(4), [2, 2], [4, 1], 0, 0)).toThrow(ShapeError);
    expect(() => native.binary(f32(6), f32(6), f32(2), [2, 3], [3, 1], [0, 1], 0)).toThrow(ShapeError);
    expect(() => native.embeddingForward(f32(6), i32(2), f32(6), 2, 2, 3)).not.toThrow();
    expect(() => native.matmul(f32(4), a, b, 2 ** 40, 2 ** 40, 2, 3, false, false, 3, 2, 2, 0, 0, 0, 1, 0)).toThrow(ShapeError);
  });

  it('names the problem with typed errors', () => {
    const d = f32(3);
    d.dispose();
    expect(() => native.geluForward(f32(3), d)).toThrow(DisposedTensorError);
    expect(() => native.geluForward(f32(3), i32(3))).toThrow(DTypeError);
    expect(() => native.geluForward(f32(3), { numel: 3 } as never)).toThrow(ArgumentError);
    expect(() => (native.geluForward as (...a: unknown[]) => void)(f32(3), f32(3), f32(3))).toThrow(/expected 2 arguments/);
    expect(() => native.layernormForward(f32(6), f32(2), f32(2), f32(6), f32(3), null, 2, 3, NaN)).toThrow(ArgumentError);
    expect(() => native.softmaxForward(f32(6), f32(6), null, -2, 3, 1, 1, false)).toThrow(/must be an integer in \[0, 2\^40\]/);
    const ids = native.fromArray(Int32Array.from([0, 5]));
    expect(() => native.embeddingForward(f32(6), ids, f32(9), 2, 3, 3)).toThrow(IndexError);
    try {
      native.embeddingForward(f32(6), ids, f32(9), 2, 3, 3);
    } catch (e) {
      expect((e as LmtError).code).toBe('LMT_ERR_INDEX');
    }
  });

  it('dispose is idempotent and views keep storage alive', () => {
    const before = native.memory();
    const a = f32(10);
    const v = native.view(a);
    a.dispose();
    a.dispose();
    expect(Array.from(native.toArray(v))).toEqual(new Array(10).fill(0.5));
    v.dispose();
    const after = native.memory();
    expect(after.bytes).toBe(before.bytes);
    expect(after.handles).toBe(before.handles);
  });
});

// ---- systematic: every kernel export, by table ------------------------------------------------
// Each row is a valid call template. From it, the test derives: each tensor argument replaced
// by one a single element too short (ShapeError, unless that argument is what sizes the call),
// by a stale (disposed) handle (DisposedTensorError) and by the other dtype (DTypeError); each
// size argument replaced by -1, NaN, 1.5 and 2^60 (ArgumentError); and all size arguments set
// to 2^40 or 2^21, whose products overflow 2^40 and int64 (ShapeError).
type Arg = unknown;
interface Row {
  name: string;
  args: () => Arg[];
  /** Tensor arguments (index, or [index, list position] inside a tensor list). */
  tensors: (number | [number, number])[];
  /** Tensor arguments whose numel sizes the call: shortening them is legal. */
  sizers?: number[];
  /** Integer size/seed/step arguments (index, or [index, position] inside a dims array). */
  dims: (number | [number, number])[];
  /** Size arguments whose product must fit 2^40 (for the overflow cases). */
  sizeDims?: (number | [number, number])[];
  /** Size arguments that alone may legally be huge (matmul's batch strides when batch is 1). */
  freeDims?: number[];
}
const F = (n: number) => f32(n);
const I = (n: number) => i32(n);
const attnDims = [1, 1, 2, 2, 2, 1];
const TABLE: Row[] = [
  { name: 'fill', args: () => [F(4), 1.5], tensors: [0], sizers: [0], dims: [] },
  { name: 'fillI32', args: () => [I(4), 3], tensors: [0], sizers: [0], dims: [] },
  { name: 'castI32F32', args: () => [F(4), I(4)], tensors: [0, 1], sizers: [1], dims: [] },
  { name: 'copyStrided', args: () => [F(4), F(5), [2, 2], [3, 1], 0, 0], tensors: [0, 1], dims: [[2, 0], [2, 1], [3, 0], [3, 1], 4, 5], sizeDims: [[2, 0], [2, 1], [3, 0]] },
  { name: 'scatterAddStrided', args: () => [F(5), F(4), [2, 2], [3, 1], 0], tensors: [0, 1], dims: [[2, 0], [2, 1], [3, 0], [3, 1], 4], sizeDims: [[2, 0], [2, 1], [3, 0]] },
  { name: 'fillUniform', args: () => [F(4), 0, 1, 1, 0], tensors: [0], sizers: [0], dims: [3, 4] },
  { name: 'fillNormal', args: () => [F(4), 0, 1, 1, 0], tensors: [0], sizers: [0], dims: [3, 4] },
  { name: 'unary', args: () => [F(4), F(4), 3, 1, 0], tensors: [0, 1], sizers: [1], dims: [2] },
  { name: 'unaryBackward', args: () => [F(4), F(4), F(4), F(4), 3], tensors: [0, 1, 2, 3], sizers: [1], dims: [4] },
  { name: 'binary', args: () => [F(6), F(6), F(3), [2, 3], [3, 1], [0, 1], 0], tensors: [0, 1, 2], dims: [[3, 0], [3, 1], [4, 0], [5, 1], 6], sizeDims: [[3, 0], [3, 1]] },
  { name: 'where', args: () => [F(6), F(6), F(6), F(3), [2, 3], [3, 1], [3, 1], [0, 1]], tensors: [0, 1, 2, 3], dims: [[4, 0], [4, 1], [5, 0], [6, 1], [7, 1]], sizeDims: [[4, 0], [4, 1]] },
  { name: 'reduce', args: () => [F(2), I(2), F(6), 1, 3, 2, 2], tensors: [0, 1, 2], dims: [3, 4, 5, 6], sizeDims: [3, 4, 5] },
  { name: 'reduceBackward', args: () => [F(6), F(2), I(2), 1, 3, 2, 2], tensors: [0, 1, 2], dims: [3, 4, 5, 6], sizeDims: [3, 4, 5] },
  { name: 'softmaxForward', args: () => [F(6), F(6), F(3), 2, 3, 1, 2, false], tensors: [0, 1, 2], dims: [3, 4, 5, 6], sizeDims: [3, 4, 5] },
  { name: 'softmaxBackward', args: () => [F(6), F(6), F(6), 2, 3, false], tensors: [0, 1, 2], dims: [3, 4], sizeDims: [3, 4] },
  { name: 'layernormForward', args: () => [F(6), F(2), F(2), F(6), F(3), F(3), 2, 3, 1e-5], tensors: [0, 1, 2, 3, 4, 5], dims: [6, 7], sizeDims: [6, 7] },
  { name: 'layernormBackward', args: () => [F(6), F(3), F(3), F(6), F(6), F(3), F(2), F(2), 2, 3], tensors: [0, 1, 2, 3, 4, 5, 6, 7], dims: [8, 9], sizeDims: [8, 9] },
  { name: 'rmsnormForward', args: () => [F(6), F(2), F(6), F(3), 2, 3, 1e-5], tensors: [0, 1, 2, 3], dims: [4, 5], sizeDims: [4, 5] },
  { name: 'rmsnormBackward', args: () => [F(6), F(3), F(6), F(6), F(3), F(2), 2, 3], tensors: [0, 1, 2, 3, 4, 5], dims: [6, 7], sizeDims: [6, 7] },
  { name: 'geluForward', args: () => [F(4), F(4)], tensors: [0, 1], sizers: [1], dims: [] },
  { name: 'geluBackward', args: () => [F(4), F(4), F(4)], tensors: [0, 1, 2], sizers: [2], dims: [] },
  { name: 'embeddingForward', args: () => [F(6), I(2), F(9), 2, 3, 3], tensors: [0, 1, 2], dims: [3, 4, 5], sizeDims: [3, 4, 5] },
  { name: 'embeddingBackward', args: () => [F(9), F(6), I(2), 2, 3, 3], tensors: [0, 1, 2], dims: [3, 4, 5], sizeDims: [3, 4, 5] },
  { name: 'gather', args: () => [F(4), F(6), I(2), 1, 3, 2, 2], tensors: [0, 1, 2], dims: [3, 4, 5, 6], sizeDims: [3, 4, 5, 6] },
  { name: 'gatherBackward', args: () => [F(6), F(4), I(2), 1, 3, 2, 2], tensors: [0, 1, 2], dims: [3, 4, 5, 6], sizeDims: [3, 4, 5, 6] },
  { name: 'crossEntropyForward', args: () => [F(2), F(2), F(6), I(2), 2, 3, -100, 0], tensors: [0, 1, 2, 3], dims: [4, 5], sizeDims: [4, 5] },
  { name: 'crossEntropyBackward', args: () => [F(6), F(2), F(6), F(2), I(2), 2, 3, -100, 0], tensors: [0, 1, 2, 3, 4], dims: [5, 6], sizeDims: [5, 6] },
  { name: 'attentionForward', args: () => [F(4), F(2), F(4), F(4), F(4), F(4), F(2), ...attnDims, false, 0.5], tensors: [0, 1, 2, 3, 4, 5, 6], dims: [7, 8, 9, 10, 11, 12], sizeDims: [7, 8, 9, 10, 11, 12] },
  { name: 'attentionBackward', args: () => [F(4), F(4), F(4), F(4), F(4), F(4), F(4), F(4), F(4), F(2), F(4), F(2), ...attnDims, false, 0.5], tensors: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], dims: [12, 13, 14, 15, 16, 17], sizeDims: [12, 13, 14, 15, 16, 17] },
  { name: 'matmul', args: () => [F(4), F(6), F(6), 1, 2, 2, 3, false, false, 3, 2, 2, 0, 0, 0, 1, 0], tensors: [0, 1, 2], dims: [3, 4, 5, 6, 9, 10, 11, 12, 13, 14], sizeDims: [3, 4, 5, 6, 9, 10, 11, 12, 13, 14], freeDims: [12, 13, 14] },
  { name: 'dropoutForward', args: () => [F(4), F(4), 0.1, 1, 0], tensors: [0, 1], sizers: [1], dims: [3, 4] },
  { name: 'dropoutBackward', args: () => [F(4), F(4), 0.1, 1, 0], tensors: [0, 1], sizers: [1], dims: [3, 4] },
  { name: 'adamwStep', args: () => [[F(4), F(2)], [F(4), F(2)], [F(4), F(2)], [F(4), F(2)], [true, false], 1e-3, 0.9, 0.999, 1e-8, 0.1, 1, 1], tensors: [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [3, 1]], sizers: [0], dims: [10] },
  { name: 'globalNorm', args: () => [[F(4), F(3)]], tensors: [[0, 0], [0, 1]], sizers: [0], dims: [] },
  { name: 'clipGradNorm', args: () => [[F(4), F(3)], 1], tensors: [[0, 0], [0, 1]], sizers: [0], dims: [] },
  { name: 'toArray', args: () => [F(4)], tensors: [0], sizers: [0], dims: [] },
  { name: 'toDevice', args: () => [F(4), 'cpu'], tensors: [0], sizers: [0], dims: [] },
  { name: 'deviceOf', args: () => [F(4)], tensors: [0], sizers: [0], dims: [] },
  { name: 'view', args: () => [F(4)], tensors: [0], sizers: [0], dims: [] },
  { name: 'empty', args: () => ['float32', 4], tensors: [], dims: [1] },
  { name: 'setNumThreads', args: () => [2], tensors: [], dims: [0] },
];

function call(name: string, args: Arg[]): unknown {
  const fn = (native as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
  return fn(...args);
}
function get(args: Arg[], at: number | [number, number]): unknown {
  return typeof at === 'number' ? args[at] : (args[at[0]] as unknown[])[at[1]];
}
function put(args: Arg[], at: number | [number, number], v: unknown): Arg[] {
  const out = args.map((a) => (Array.isArray(a) ? [...a] : a));
  if (typeof at === 'number') out[at] = v;
  else (out[at[0]] as unknown[])[at[1]] = v;
  return out;
}
function outcome(name: string, args: Arg[]): string {
  try {
    const r = call(name, args);
    if (r && typeof r === 'object' && 'dispose' in (r as object)) (r as { dispose(): void }).dispose();
    return 'ok';
  } catch (e) {
    if (!(e instanceof LmtError)) throw new Error(`${name} threw a non-LmtError: ${String(e)}`);
    return e.name;
  }
}
const disposeAll = (args: Arg[]) => args.flat().forEach((a) => { if (a && typeof a === 'object' && 'dispose' in (a as object)) (a as { dispose(): void }).dispose(); });

describe('native boundary, systematically by table', () => {
  it('covers every tensor-taking export', () => {
    const covered = new Set(TABLE.map((r) => r.name));
    const all = Object.keys(native).filter((k) => typeof (native as unknown as Record<string, unknown>)[k] === 'function');
    const skip = new Set(['TensorHandle', 'setErrorClasses', 'fromArray', 'memory', 'flushCache', 'info', 'benchKernels', 'cudaSynchronize', 'setMatmulPrecision', 'getMatmulPrecision']);
    expect(all.filter((k) => !skip.has(k) && !covered.has(k))).toEqual([]);
  });

  it('every template is a valid call', () => {
    for (const row of TABLE) {
      const args = row.args();
      expect(outcome(row.name, args), row.name).toBe('ok');
      disposeAll(args);
    }
  });

  it('each tensor argument: too short -> ShapeError, stale -> DisposedTensorError, wrong dtype -> DTypeError', () => {
    const before = native.memory();
    let cases = 0;
    for (const row of TABLE) {
      for (const at of row.tensors) {
        const base = row.args();
        const t = get(base, at) as { numel: number; dtype: 'float32' | 'int32' };
        const first = typeof at === 'number' ? at : at[0];
        const sizer = row.sizers?.includes(first) ?? false;
        // 1. one element short
        const short = native.empty(t.dtype, t.numel - 1);
        const got = outcome(row.name, put(base, at, short));
        if (sizer) expect(['ok', 'ShapeError'], `${row.name} arg ${String(at)} short`).toContain(got);
        else expect(got, `${row.name} arg ${String(at)} short`).toBe('ShapeError');
        short.dispose();
        // 2. stale handle
        const stale = native.empty(t.dtype, t.numel);
        stale.dispose();
        expect(outcome(row.name, put(base, at, stale)), `${row.name} arg ${String(at)} stale`).toBe('DisposedTensorError');
        // 3. other dtype (tensor lists are float32 only)
        if (!['toArray', 'view', 'toDevice', 'deviceOf'].includes(row.name)) {
          const other = native.empty(t.dtype === 'float32' ? 'int32' : 'float32', t.numel);
          expect(outcome(row.name, put(base, at, other)), `${row.name} arg ${String(at)} dtype`).toBe('DTypeError');
          other.dispose();
        }
        disposeAll(base);
        cases += 3;
      }
    }
    const after = native.memory();
    expect([after.handles, after.bytes]).toEqual([before.handles, before.bytes]);
    console.log(`boundary table: ${TABLE.length} exports, ${cases} tensor-argument cases, all typed`);
  });

  it('each size argument: -1, NaN, 1.5, 2^60 -> ArgumentError; overflowing products -> ShapeError', () => {
    let cases = 0;
    for (const row of TABLE) {
      for (const at of row.dims) {
        for (const bad of [-1, NaN, 1.5, 2 ** 60, Infinity]) {
          const base = row.args();
          expect(outcome(row.name, put(base, at, bad)), `${row.name} dim ${String(at)} = ${bad}`).toBe('ArgumentError');
          disposeAll(base);
          cases++;
        }
      }
      if (row.sizeDims) {
        // Each dim within bounds, their product past 2^40 (and, for 2^40 each, past int64).
        for (const big of [2 ** 40, 2 ** 21]) {
          const base = row.args();
          let args = base;
          for (const at of row.sizeDims) args = put(args, at, big);
          expect(outcome(row.name, args), `${row.name} all sizes = ${big}`).toBe('ShapeError');
          disposeAll(base);
          cases++;
        }
        // One size dim at 2^40 with the template's buffers: the need exceeds them (or the
        // kernel's own check refuses the combination first, e.g. matmul's overlapping batches).
        for (const at of row.sizeDims) {
          if (typeof at === 'number' && row.freeDims?.includes(at)) continue;
          const base = row.args();
          expect(['ShapeError', 'ArgumentError'], `${row.name} dim ${String(at)} = 2^40`).toContain(outcome(row.name, put(base, at, 2 ** 40)));
          disposeAll(base);
          cases++;
        }
      }
    }
    console.log(`boundary table: ${cases} size-argument cases, all typed`);
  });
});
