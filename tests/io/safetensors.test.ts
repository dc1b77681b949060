import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, ShapeError, ArgumentError, tensor, tidy } from '../../src/index.js';
import {
  encodeSafetensors, readSafetensors, safetensorsFromTensors, tensorsFromSafetensors, writeSafetensors,
} from '../../src/io/index.js';
import { randnArray, randint } from '../helpers/rng.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { f32le, i64le, rawSafetensors, u16le } from './st_raw.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-st-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

describe('safetensors write/read', () => {
  it('round-trips F32, I32, scalars, empty tensors and metadata through a file', () => {
    const tensors = {
      'b.weight': { shape: [3, 5], data: randnArray(15) },
      'a.ids': { shape: [7], data: randint(7, 1000).map((x) => x - 500) },
      'c.scalar': { shape: [], data: Float32Array.of(-2.5) },
      'd.empty': { shape: [0], data: new Float32Array(0) },
      'e.empty2': { shape: [4, 0, 2], data: new Int32Array(0) },
      'f.big': { shape: [2, 3, 4, 5], data: randnArray(120) },
    };
    const file = path.join(tmpRoot, 'rt.safetensors');
    writeSafetensors(file, tensors, { format: 'pt', note: 'héllo ✓' });
    const r = readSafetensors(file);
    expect(r.metadata).toEqual({ format: 'pt', note: 'héllo ✓' });
    expect([...r.tensors.keys()].sort()).toEqual(Object.keys(tensors).sort());
    for (const [k, t] of Object.entries(tensors)) {
      const got = r.tensors.get(k)!;
      expect(got.shape, k).toEqual(t.shape);
      expect(got.dtype, k).toBe(t.data instanceof Float32Array ? 'F32' : 'I32');
      expect(got.data.constructor, k).toBe(t.data.constructor);
      expect(Array.from(got.data), k).toEqual(Array.from(t.data));
    }
    // No temp files left next to the output.
    expect(fs.readdirSync(tmpRoot).filter((n) => n.includes('rt.safetensors'))).toEqual(['rt.safetensors']);
  });

  it('writes sorted keys, metadata first, and an 8-byte aligned space-padded header', () => {
    for (const name of ['x', 'xy', 'xyz', 'xyzw', 'abcdefghi']) {
      const buf = encodeSafetensors({ [name]: { shape: [1], data: Float32Array.of(1) }, a: { shape: [2], data: Int32Array.of(1, 2) } }, { k: 'v' });
      const n = Number(buf.readBigUInt64LE(0));
      expect(n % 8).toBe(0);
      const text = buf.subarray(8, 8 + n).toString('utf8');
      expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
      const h = JSON.parse(text);
      expect(Object.keys(h)).toEqual(['__metadata__', 'a', name]);
      expect(h.a.data_offsets).toEqual([0, 8]);
      expect(readSafetensors(buf).tensors.get(name)!.data[0]).toBe(1);
    }
  });

  it('overwrites an existing file atomically and keeps unrelated files', () => {
    const file = path.join(tmpRoot, 'ow.safetensors');
    writeSafetensors(file, { a: { shape: [1], data: Float32Array.of(1) } });
    writeSafetensors(file, { b: { shape: [2], data: Float32Array.of(2, 3) } });
    expect([...readSafetensors(file).tensors.keys()]).toEqual(['b']);
  });

  it('reads a tensor named __proto__ and such metadata as plain entries', () => {
    const buf = rawSafetensors('{"__metadata__":{"__proto__":"m"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32le(7));
    const r = readSafetensors(buf);
    expect(r.tensors.get('__proto__')!.data[0]).toBe(7);
    expect(Object.getOwnPropertyDescriptor(r.metadata, '__proto__')?.value).toBe('m');
    const back = readSafetensors(encodeSafetensors(Object.fromEntries(r.tensors), r.metadata));
    expect(back.tensors.get('__proto__')!.data[0]).toBe(7);
  });

  it('rejects bad arguments to the writer', () => {
    expect(() => encodeSafetensors({ a: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(ShapeError);
    expect(() => encodeSafetensors({ a: { shape: [-1], data: new Float32Array(0) } })).toThrow(ShapeError);
    expect(() => encodeSafetensors({ a: { shape: [2], data: [1, 2] as unknown as Float32Array } })).toThrow(ArgumentError);
    expect(() => encodeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } })).toThrow(ArgumentError);
    expect(() => encodeSafetensors({}, { k: 1 as unknown as string })).toThrow(ArgumentError);
  });

  it('converts to and from lmtrain Tensors', () => {
    expectNoLeaks(() => tidy(() => {
      const w = randnArray(12), ids = Int32Array.of(5, -3, 2147483647);
      const stored = safetensorsFromTensors({ w: tensor(w, [3, 4]), ids: tensor(ids, [3]), raw: { shape: [1], data: Float32Array.of(9) } });
      const r = readSafetensors(encodeSafetensors(stored));
      const back = tensorsFromSafetensors(r);
      expect(back.get('w')!.shape).toEqual([3, 4]);
      expect(back.get('w')!.dtype).toBe('float32');
      expect(Array.from(back.get('w')!.toArray())).toEqual(Array.from(w));
      expect(back.get('ids')!.dtype).toBe('int32');
      expect(Array.from(back.get('ids')!.toArray())).toEqual(Array.from(ids));
      expect(back.get('raw')!.toArray()[0]).toBe(9);
    }));
  });
});

describe('safetensors dtypes written by other tools', () => {
  const entry = (dtype: string, shape: number[], begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] });

  it('widens F16 exactly, including subnormals, infinities, NaN and -0', () => {
    // 1, -2, 65504 (max), 2^-24 (min subnormal), 2^-14 (min normal), +Inf, -Inf, NaN, -0, 0.333251953125
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555];
    const r = readSafetensors(rawSafetensors({ h: entry('F16', [2, 5], 0, 20) }, u16le(...bits)));
    const t = r.tensors.get('h')!;
    expect(t.dtype).toBe('F16');
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.shape).toEqual([2, 5]);
    const d = Array.from(t.data);
    expect(d.slice(0, 7)).toEqual([1, -2, 65504, 2 ** -24, 2 ** -14, Infinity, -Infinity]);
    expect(Number.isNaN(d[7])).toBe(true);
    expect(Object.is(d[8], -0)).toBe(true);
    expect(d[9]).toBe(0.333251953125);
  });

  it('widens BF16 exactly', () => {
    // 1, -3, +Inf, NaN, smallest subnormal 2^-133, 1.0078125 (1 + 2^-7), -0
    const bits = [0x3f80, 0xc040, 0x7f80, 0x7fc0, 0x0001, 0x3f81, 0x8000];
    const t = readSafetensors(rawSafetensors({ b: entry('BF16', [7], 0, 14) }, u16le(...bits))).tensors.get('b')!;
    const d = Array.from(t.data);
    expect(d[0]).toBe(1);
    expect(d[1]).toBe(-3);
    expect(d[2]).toBe(Infinity);
    expect(Number.isNaN(d[3])).toBe(true);
    expect(d[4]).toBe(2 ** -133);
    expect(d[5]).toBe(1 + 2 ** -7);
    expect(Object.is(d[6], -0)).toBe(true);
  });

  it('narrows I64 to Int32Array with a range check', () => {
    const ok = readSafetensors(rawSafetensors({ i: entry('I64', [4], 0, 32) }, i64le(0n, -1n, 2147483647n, -2147483648n))).tensors.get('i')!;
    expect(ok.data).toBeInstanceOf(Int32Array);
    expect(Array.from(ok.data)).toEqual([0, -1, 2147483647, -2147483648]);
    for (const v of [2147483648n, -2147483649n, 1n << 40n, -(1n << 62n)]) {
      const f = () => readSafetensors(rawSafetensors({ big: entry('I64', [2], 0, 16) }, i64le(1n, v)));
      expect(f).toThrow(DataError);
      expect(f).toThrow(/'big'.*index 1 does not fit in int32/);
    }
  });

  it('reads F64, I8, U8, I16, U16, U32 and BOOL', () => {
    const data = new Uint8Array([
      ...new Uint8Array(Float64Array.of(0.5, -1e300).buffer), // F64 0..16
      0xff, 0x7f, // I8 16..18
      0xff, 0x00, // U8 18..20
      ...u16le(0x8000, 0x7fff), // I16 20..24
      ...u16le(0xffff, 1), // U16 24..28
      ...new Uint8Array(Uint32Array.of(5, 2147483647).buffer), // U32 28..36
      1, 0, // BOOL 36..38
    ]);
    const r = readSafetensors(rawSafetensors({
      f64: entry('F64', [2], 0, 16), i8: entry('I8', [2], 16, 18), u8: entry('U8', [2], 18, 20), i16: entry('I16', [2], 20, 24),
      u16: entry('U16', [2], 24, 28), u32: entry('U32', [2], 28, 36), bool: entry('BOOL', [2], 36, 38),
    }, data));
    const v = (k: string) => Array.from(r.tensors.get(k)!.data);
    expect(v('f64')).toEqual([0.5, -Infinity]);
    expect(v('i8')).toEqual([-1, 127]);
    expect(v('u8')).toEqual([255, 0]);
    expect(v('i16')).toEqual([-32768, 32767]);
    expect(v('u16')).toEqual([65535, 1]);
    expect(v('u32')).toEqual([5, 2147483647]);
    expect(v('bool')).toEqual([1, 0]);
    expect(() => readSafetensors(rawSafetensors({ u: entry('U32', [1], 0, 4) }, new Uint8Array(Uint32Array.of(2 ** 31).buffer)))).toThrow(DataError);
    expect(() => readSafetensors(rawSafetensors({ b: entry('BOOL', [1], 0, 1) }, Uint8Array.of(2)))).toThrow(DataError);
  });

  it('reads NaN and Inf payloads as values', () => {
    const t = readSafetensors(rawSafetensors({ x: entry('F32', [4], 0, 16) }, f32le(NaN, Infinity, -Infinity, 3))).tensors.get('x')!;
    const d = Array.from(t.data);
    expect(Number.isNaN(d[0])).toBe(true);
    expect(d.slice(1)).toEqual([Infinity, -Infinity, 3]);
  });
});
