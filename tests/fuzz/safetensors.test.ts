// Fuzz target: the safetensors reader (src/io/safetensors.ts), from a Buffer and from a file.
// Property: every input gives a DataError or a correct result (each tensor's data has
// prod(shape) elements, F32/I32 payloads are the file's bytes), never another error, and
// the reader allocates O(file size), whatever the header claims.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { readSafetensors, type SafetensorsFile } from '../../src/io/safetensors.js';
import { rawSafetensors } from '../io/st_raw.js';
import { TARGET_TIMEOUT, boundedAlloc, fc, loadCorpus, mutated, runTarget, typedOrValue } from './common.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-fuzz-st-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;

function checkResult(bytes: Uint8Array, r: SafetensorsFile): void {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  expect(r.tensors.size).toBe(names.length);
  for (const k of names) {
    const e = r.tensors.get(k)!;
    const h = header[k];
    expect(e.shape).toEqual(h.shape);
    expect(e.data.length).toBe(h.shape.reduce((a, b) => a * b, 1));
    if (h.dtype === 'F32' || h.dtype === 'I32') {
      const [b, end] = h.data_offsets;
      const raw = bytes.slice(8 + n + b, 8 + n + end);
      expect(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).equals(Buffer.from(raw))).toBe(true);
    }
  }
}

function check(bytes: Uint8Array): 'ok' | 'typed' {
  // One case in 16 goes through the file reader (piecewise reads of a real fd).
  const viaFile = (fileNo++ & 15) === 0;
  let src: string | Uint8Array = bytes;
  if (viaFile) {
    src = path.join(tmp, `case${fileNo & 255}.safetensors`);
    fs.writeFileSync(src, bytes);
  }
  const r = boundedAlloc(bytes.length, () => typedOrValue(() => readSafetensors(src), [DataError]));
  if (!r.ok) return 'typed';
  checkResult(bytes, r.value);
  return 'ok';
}

// Structure-aware inputs: headers built from plausible and nasty fields.
const dim = fc.oneof(fc.nat({ max: 4 }), fc.constantFrom(-1, 0.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e308, NaN as unknown as number), fc.integer());
const entry = fc.record({
  dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'U64', 'I32', 'U32', 'I16', 'U16', 'I8', 'U8', 'BOOL'), fc.constantFrom('F8', 'f32', '', 'X')),
  shape: fc.array(dim, { maxLength: 4 }),
  data_offsets: fc.oneof(fc.tuple(fc.nat({ max: 64 }), fc.nat({ max: 64 })), fc.tuple(fc.nat({ max: 64 }), fc.constantFrom(2 ** 53, 2 ** 64, -1, 1.5))),
});
const structured = fc.record({
  entries: fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', '__metadata__')), entry, { maxKeys: 4 }),
  data: fc.uint8Array({ maxLength: 96 }),
  lenField: fc.option(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(2n ** 64n - 1n, 2n ** 63n, 100_000_000n, 0n)), { freq: 5 }),
}).map(({ entries, data, lenField }) => {
  const header: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(entries)) Object.defineProperty(header, k, { value: v, enumerable: true });
  // Keep entries' offsets inside the data most of the time so conversions run.
  return rawSafetensors(JSON.stringify(header), data, lenField ?? undefined);
});

describe('fuzz: safetensors reader', () => {
  const corpus = loadCorpus('safetensors');
  it('mutated corpus files: DataError or a correct result', () => {
    const seeds = corpus.map((c) => c.bytes);
    const r = runTarget('safetensors', mutated(seeds, 6), check, seeds);
    expect(r.executions).toBeGreaterThan(corpus.length);
  }, TARGET_TIMEOUT);
  it('generated headers (dtypes, shapes, offsets, length field): DataError or a correct result', () => {
    const r = runTarget('safetensors:generated', structured, check);
    expect(r.ok).toBeGreaterThan(0);
  }, TARGET_TIMEOUT);
});
