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
    expect(exports.length).toBe(43);
  });

  it('survives random garbage on every export (typed errors only)', () => {
    const pool = garbagePool();
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
          typed++;
        }
        calls++;
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
