/**
 * The reader against hostile files: every malformed input must end in a DataError that names
 * the file (and the tensor where there is one), never another error, a crash or a hang.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src/index.js';
import { encodeSafetensors, readSafetensors, MAX_HEADER_BYTES } from '../../src/io/index.js';
import { rand } from '../helpers/rng.js';
import { f32le, rawSafetensors, rawWithHeaderBytes } from './st_raw.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-sth-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** The error readSafetensors throws for src (failing the test if it returns or throws something else). */
function dataErrorOf(src: string | Uint8Array): DataError {
  try {
    readSafetensors(src);
  } catch (e) {
    if (e instanceof DataError) return e;
    throw new Error(`expected a DataError, got ${String(e)}`);
  }
  throw new Error('expected a DataError, but the file was accepted');
}

const entry = (dtype: string, shape: unknown, offs: unknown) => ({ dtype, shape, data_offsets: offs });

/** A small valid file whose last byte belongs to a tensor, so every truncation is detectable. */
const valid = encodeSafetensors(
  { a: { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }, b: { shape: [3], data: Int32Array.of(7, 8, 9) }, e: { shape: [0], data: new Float32Array(0) } },
  { format: 'pt' },
);

describe('hostile safetensors', () => {
  it('the base file is valid', () => {
    expect(readSafetensors(valid).tensors.size).toBe(3);
  });

  it('rejects the file truncated at every position, from a Buffer and from disk', () => {
    const file = path.join(tmpRoot, 'trunc.safetensors');
    for (let n = 0; n < valid.length; n++) {
      dataErrorOf(valid.subarray(0, n));
      fs.writeFileSync(file, valid.subarray(0, n));
      const e = dataErrorOf(file);
      expect(e.file).toBe(file);
      expect(e.message).toContain(file);
    }
  });

  it('rejects header lengths near 2^64, over the limit, or past the end of the file', () => {
    const json = Buffer.from('{}');
    for (const len of [2n ** 64n - 1n, 2n ** 64n - 8n, 2n ** 63n, 2n ** 63n - 1n, 2n ** 53n + 1n, 2n ** 32n, BigInt(MAX_HEADER_BYTES), BigInt(MAX_HEADER_BYTES) - 1n, 3n]) {
      const e = dataErrorOf(rawWithHeaderBytes(json, new Uint8Array(0), len));
      expect(e.message).toMatch(/header length/);
    }
    // Exactly the bytes available is fine: an empty header object.
    expect(readSafetensors(rawWithHeaderBytes(json)).tensors.size).toBe(0);
    dataErrorOf(rawWithHeaderBytes(new Uint8Array(0))); // length 0: empty JSON
  });

  it('rejects headers that are not a JSON object', () => {
    for (const h of ['', ' ', '[]', 'null', '42', '"str"', '{', '{"a":}', '{"a":1,}', "{'a':1}", 'true', '{}x']) dataErrorOf(rawSafetensors(h));
  });

  it('rejects invalid UTF-8 in the header', () => {
    for (const bad of [[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
      const json = Buffer.concat([Buffer.from('{"__metadata__":{"k":"'), Buffer.from(bad), Buffer.from('"}}')]);
      expect(dataErrorOf(rawWithHeaderBytes(json)).message).toMatch(/UTF-8/);
    }
  });

  it('survives deeply nested JSON without a crash or hang', () => {
    for (const depth of [10_000, 1_000_000]) {
      const h = `{"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const e = dataErrorOf(rawSafetensors(h));
      expect(e.message).toMatch(/'x'|JSON/);
      dataErrorOf(rawSafetensors('['.repeat(depth) + ']'.repeat(depth)));
      dataErrorOf(rawSafetensors('{"a":' + '{"a":'.repeat(depth) + '1' + '}'.repeat(depth + 1)));
    }
  });

  it('rejects bad entries, naming the tensor', () => {
    const data = f32le(1, 2, 3, 4);
    const cases: [string, unknown][] = [
      ['not an object', 5],
      ['array entry', [1, 2]],
      ['unknown dtype', entry('F8_E4M3', [1], [0, 1])],
      ['unknown dtype 2', entry('float32', [1], [0, 4])],
      ['dtype not a string', { dtype: 4, shape: [1], data_offsets: [0, 4] }],
      ['dtype from the prototype', entry('toString', [1], [0, 4])],
      ['shape missing', { dtype: 'F32', data_offsets: [0, 4] }],
      ['shape not an array', entry('F32', 4, [0, 16])],
      ['negative dim', entry('F32', [-1], [0, 4])],
      ['fractional dim', entry('F32', [1.5], [0, 4])],
      ['string dim', entry('F32', ['1'], [0, 4])],
      ['unsafe dim', entry('F32', [2 ** 53], [0, 4])],
      ['huge dims', entry('F32', [2 ** 52, 2 ** 52, 4], [0, 16])],
      ['zero then junk', entry('F32', [0, -3], [0, 0])],
      ['zero then unsafe', entry('F32', [0, 1e300], [0, 0])],
      ['offsets missing', { dtype: 'F32', shape: [1] }],
      ['offsets short', entry('F32', [1], [0])],
      ['offsets long', entry('F32', [1], [0, 4, 8])],
      ['offsets negative', entry('F32', [1], [-4, 0])],
      ['offsets fractional', entry('F32', [1], [0.5, 4.5])],
      ['offsets strings', entry('F32', [1], ['0', '4'])],
      ['offsets beyond 2^53', entry('F32', [1], [1e300, 1e300 + 4])],
      ['begin after end', entry('F32', [0], [8, 4])],
      ['end past data', entry('F32', [8], [0, 32])],
      ['begin past data', entry('F32', [0], [17, 17])],
      ['span too short for shape', entry('F32', [4], [0, 12])],
      ['span too long for shape', entry('F32', [2], [0, 12])],
      ['span not a multiple of itemsize', entry('F32', [1], [0, 3])],
      ['F16 shape mismatch', entry('F16', [4], [0, 16])],
      ['I64 shape mismatch', entry('I64', [1], [0, 4])],
    ];
    for (const [why, v] of cases) {
      const e = dataErrorOf(rawSafetensors({ 'layer.w': v }, data));
      expect(e.message, why).toContain("'layer.w'");
    }
  });

  it('rejects overlapping ranges but allows empty tensors anywhere in the data', () => {
    const data = f32le(1, 2, 3, 4);
    const overlap = [
      { a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) },
      { a: entry('F32', [4], [0, 16]), b: entry('F32', [1], [8, 12]) },
      { a: entry('F32', [2], [8, 16]), b: entry('F32', [2], [8, 16]) },
      { a: entry('F32', [1], [0, 4]), b: entry('F32', [3], [4, 16]), c: entry('F32', [2], [0, 8]) },
    ];
    for (const h of overlap) expect(dataErrorOf(rawSafetensors(h, data)).message).toMatch(/overlap/);
    const ok = readSafetensors(rawSafetensors({ a: entry('F32', [4], [0, 16]), z: entry('F32', [0], [8, 8]), y: entry('I64', [3, 0], [16, 16]) }, data));
    expect(ok.tensors.get('z')!.data.length).toBe(0);
    expect(ok.tensors.get('y')!.shape).toEqual([3, 0]);
  });

  it('rejects bad metadata', () => {
    for (const m of ['"x"', '[1]', 'null', '{"k":1}', '{"k":{"n":"v"}}', '{"k":null}']) dataErrorOf(rawSafetensors(`{"__metadata__":${m}}`));
  });

  it('names the file and the tensor in errors from disk', () => {
    const file = path.join(tmpRoot, 'named.safetensors');
    fs.writeFileSync(file, rawSafetensors({ 'h.0.attn.c_attn.weight': entry('F32', [2, 2], [0, 8]) }, f32le(1, 2)));
    const e = dataErrorOf(file);
    expect(e.file).toBe(file);
    expect(e.message).toContain(file);
    expect(e.message).toContain("'h.0.attn.c_attn.weight'");
    expect(dataErrorOf(path.join(tmpRoot, 'missing.safetensors')).message).toMatch(/cannot open/);
    expect(dataErrorOf(tmpRoot).message).toMatch(/regular file|cannot open|EISDIR/);
    const fifo = path.join(tmpRoot, 'fifo.safetensors');
    if (spawnSync('mkfifo', [fifo]).status === 0) expect(dataErrorOf(fifo).message).toMatch(/regular file/);
  });

  it('random corruption of a valid file ends in a value or a DataError', () => {
    let accepted = 0;
    for (let iter = 0; iter < 3000; iter++) {
      const buf = Buffer.from(valid);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
      try {
        readSafetensors(buf);
        accepted++;
      } catch (e) {
        if (!(e instanceof DataError)) throw new Error(`iteration ${iter}: ${String(e)}`);
      }
    }
    expect(accepted).toBeLessThan(3000);
  });
});
