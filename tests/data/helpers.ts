import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';
import { rand } from '../helpers/rng.js';
import { Rng } from '../../src/data/index.js';

/** Byte-level tokenizer for tests: ids 0..255 are UTF-8 bytes, 256 is EOS. */
export const EOS = 256;
export const byteTokenizer = {
  vocabSize: 257,
  encode: (text: string): number[] => [...Buffer.from(text, 'utf8')],
};
export function encodeDocs(docs: string[]): number[] {
  return docs.flatMap((d) => [...byteTokenizer.encode(d), EOS]);
}

/** A temporary folder removed when the test file ends. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-data-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function write(dir: string, rel: string, content: string | Uint8Array): string {
  const p = path.join(dir, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  return p;
}

/** A data Rng seeded from the per-run test seed (LMT_TEST_SEED replays it). */
export function testRng(): Rng {
  return new Rng(Math.floor(rand() * 2 ** 32));
}

/** Exact Int32Array equality; toEqual is far too slow on long typed arrays. */
export function expectSameInts(actual: Int32Array, expected: Int32Array): void {
  let first = -1;
  if (actual.length === expected.length) {
    for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) { first = i; break; }
  }
  if (actual.length !== expected.length || first >= 0) {
    throw new Error(`Int32Arrays differ: lengths ${actual.length} vs ${expected.length}` +
      (first >= 0 ? `, first at ${first}: ${actual[first]} vs ${expected[first]}` : ''));
  }
}
