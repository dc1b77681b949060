// Fuzz target: the JSONL readers (src/data/readers.ts): readLines (at random chunk sizes),
// readJsonl with a validator, and the pretraining {"text"} reader readJsonlDocuments.
// Property: the records equal an independent oracle (split on \n, strip \r, strict UTF-8,
// skip blank lines, JSON.parse) or the reader throws a DataError naming the file and the
// exact line where the oracle fails first.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { readJsonl, readJsonlDocuments, readLines, expectObject, expectString } from '../../src/data/readers.js';
import { TARGET_TIMEOUT, boundedAlloc, fc, loadCorpus, mutated, runTarget, typedOrValue } from './common.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-fuzz-jsonl-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Oracle = { lines: string[]; records: { line: number; value: unknown }[]; failLine?: number; utf8Fail?: number };

function oracle(bytes: Uint8Array): Oracle {
  const lines: string[] = [];
  const out: Oracle = { lines, records: [] };
  let start = 0, no = 0;
  const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const pieces: Uint8Array[] = [];
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length && start === bytes.length) break;
    if (i < bytes.length && bytes[i] !== 10) continue;
    pieces.push(bytes.subarray(start, i));
    start = i + 1;
  }
  for (let p of pieces) {
    no++;
    if (p.length && p[p.length - 1] === 13) p = p.subarray(0, p.length - 1);
    let t: string;
    try { t = dec.decode(p); } catch { out.failLine = out.utf8Fail = no; break; }
    if (no === 1 && t.charCodeAt(0) === 0xfeff) t = t.slice(1);
    lines.push(t);
  }
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    try { out.records.push({ line: i + 1, value: JSON.parse(lines[i]) }); } catch { if (out.failLine === undefined || i + 1 < out.failLine) out.failLine = i + 1; break; }
  }
  return out;
}

/** toEqual, except that values nested too deeply to compare recursively are compared by count. */
function same(a: unknown[], b: unknown[]): void {
  try {
    expect(a).toEqual(b);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    expect(a.length).toBe(b.length);
  }
}

let n = 0;
function check(bytes: Uint8Array): 'ok' | 'typed' {
  const f = path.join(tmp, `c${n++ & 63}.jsonl`);
  fs.writeFileSync(f, bytes);
  const o = oracle(bytes);
  // 1. readLines at a random chunk size equals the oracle's lines (up to its UTF-8 failure).
  const chunk = bytes.length < 4096 ? 1 + (n * 7919) % 97 : 1000 + (n * 7919) % 9000;
  const lr = typedOrValue(() => Array.from(readLines(f, chunk), (l) => l.text), [DataError]);
  if (o.utf8Fail !== undefined) {
    expect(lr.ok).toBe(false);
    if (!lr.ok) expect((lr.error as DataError).line).toBe(o.utf8Fail);
  } else {
    if (!lr.ok) throw lr.error;
    expect(lr.value).toEqual(o.lines);
  }
  // 2. readJsonl (any JSON value) equals the oracle's records, or fails on its first bad line.
  const jr = boundedAlloc(bytes.length, () => typedOrValue(() => Array.from(readJsonl(f, (v) => v)), [DataError]), 16);
  const firstBad = o.failLine;
  if (firstBad !== undefined) {
    expect(jr.ok).toBe(false);
    if (!jr.ok) { expect((jr.error as DataError).line).toBe(firstBad); expect((jr.error as DataError).file).toBe(f); }
  } else {
    if (!jr.ok) throw jr.error;
    same(jr.value, o.records.map((r) => r.value));
  }
  // 3. the {"text"} documents reader: records must be objects with a string "text".
  const dr = typedOrValue(() => Array.from(readJsonlDocuments(f, { skipEmpty: false }), (d) => [d.line, d.text] as const), [DataError]);
  const badText = o.records.find((r) => typeof r.value !== 'object' || r.value === null || Array.isArray(r.value) || typeof (r.value as { text?: unknown }).text !== 'string');
  const failAt = Math.min(firstBad ?? Infinity, badText?.line ?? Infinity);
  if (failAt !== Infinity) {
    expect(dr.ok).toBe(false);
    if (!dr.ok) expect((dr.error as DataError).line).toBe(failAt);
    return 'typed';
  }
  if (!dr.ok) throw dr.error;
  same(dr.value as unknown[], o.records.map((r) => [r.line, (r.value as { text: string }).text]));
  return 'ok';
}

describe('fuzz: JSONL readers', () => {
  const corpus = loadCorpus('jsonl');
  it('mutated corpus files: exact records or a DataError at the right line', () => {
    const seeds = corpus.map((c) => c.bytes);
    runTarget('jsonl', mutated(seeds, 6), check, seeds);
  }, TARGET_TIMEOUT);
  it('generated lines of {"text"} records, junk and blank lines', () => {
    const line = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 20 }).map((t) => JSON.stringify({ text: t })),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      fc.constantFrom('', '  ', '\r', '{', '{"text":"\\ud800"}', '{"text":"a"}\r', '\ufeff{"text":"b"}'),
    );
    const file = fc.tuple(fc.array(line, { maxLength: 12 }), fc.boolean()).map(([ls, eol]) => new TextEncoder().encode(ls.join('\n') + (eol ? '\n' : '')));
    const r = runTarget('jsonl:generated', file, check);
    expect(r.ok).toBeGreaterThan(0);
  }, TARGET_TIMEOUT);
});
