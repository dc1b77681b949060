/**
 * Shared machinery of the property-based fuzz targets (tests/fuzz/*.test.ts, fast-check).
 *
 * Budget: in the normal suite each target runs for FUZZ_MS (default 1500 ms) or until
 * 1e6 cases, whichever comes first; `npm run fuzz` sets FUZZ_RUNS (cases per target) and a
 * long time limit. FUZZ_SEED replays a failing run (fast-check prints the seed and path).
 *
 * Inputs: every seed of tests/fuzz/corpus/<target>/ is run as is, then mutated (bit flips,
 * byte sets, truncation, insertion, deletion, duplication, splicing of two seeds, and
 * "interesting" tokens such as 1e999, 2^64-1, lone surrogates, "__proto__").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { LmtError } from '../../src/errors.js';

export { fc };

const here = path.dirname(fileURLToPath(import.meta.url));
export const CORPUS_ROOT = path.join(here, 'corpus');

const envRuns = Number(process.env.FUZZ_RUNS ?? '');
export const FUZZ_RUNS = Number.isSafeInteger(envRuns) && envRuns > 0 ? envRuns : undefined;
export const FUZZ_MS = FUZZ_RUNS ? Number(process.env.FUZZ_MS ?? 20 * 60_000) : Number(process.env.FUZZ_MS ?? 1500);
/** vitest's per-test timeout for a target: the budget plus slack for the seeds and setup. */
export const TARGET_TIMEOUT = FUZZ_MS + 30_000;

/** The seed files of one target: name -> bytes, sorted by name. */
export function loadCorpus(target: string): { name: string; bytes: Uint8Array }[] {
  const dir = path.join(CORPUS_ROOT, target);
  const out: { name: string; bytes: Uint8Array }[] = [];
  const walk = (d: string, prefix: string) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (ent.isDirectory()) walk(path.join(d, ent.name), `${prefix}${ent.name}/`);
      else out.push({ name: prefix + ent.name, bytes: new Uint8Array(fs.readFileSync(path.join(d, ent.name))) });
    }
  };
  walk(dir, '');
  if (out.length === 0) throw new Error(`fuzz corpus ${dir} is empty`);
  return out;
}

export function corpusStats(target: string): { files: number; bytes: number } {
  const c = loadCorpus(target);
  return { files: c.length, bytes: c.reduce((s, f) => s + f.bytes.length, 0) };
}

/**
 * Runs `fn` and classifies the outcome: a value, or a typed LmtError (of one of `allowed`
 * when given). Anything else (TypeError, RangeError, a plain Error) fails the property.
 */
export function typedOrValue<T>(fn: () => T, allowed?: (new (...a: never[]) => LmtError)[]): { ok: true; value: T } | { ok: false; error: LmtError } {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (!(e instanceof LmtError)) throw new Error(`untyped error: ${(e as Error)?.stack ?? String(e)}`);
    if (allowed && !allowed.some((c) => e instanceof c)) throw new Error(`unexpected error class ${e.name}: ${e.message}`);
    if (typeof e.message !== 'string' || e.message.length === 0) throw new Error('typed error with an empty message');
    return { ok: false, error: e };
  }
}

/**
 * Runs fn and checks that the ArrayBuffer memory it allocated (measured before any GC can
 * reclaim it, so an over-estimate of what stayed live) is bounded by `factor` times the
 * input size plus `slackBytes`: no allocation is sized by an unchecked header field.
 */
export function boundedAlloc<T>(inputBytes: number, fn: () => T, factor = 8, slackBytes = 4 << 20): T {
  const before = process.memoryUsage().arrayBuffers;
  try {
    return fn();
  } finally {
    const grew = process.memoryUsage().arrayBuffers - before;
    if (grew > factor * inputBytes + slackBytes)
      throw new Error(`allocated ${grew} bytes of ArrayBuffers for an input of ${inputBytes} bytes`);
  }
}

// ---- byte mutations -----------------------------------------------------------------------

const TOKENS = [
  '"', '{', '}', '[', ']', ',', ':', '\\', '\\u', '\\ud800', '\\udc00', 'null', 'true', '-', '-1', '0', '1e999', '-1e999',
  '1.5', '18446744073709551615', '18446744073709551616', '9007199254740993', '4294967296', '2147483648', 'NaN',
  '"__proto__"', '"constructor"', '"F32"', '"BF16"', '"I64"', '"U64"', '"BOOL"', '"X9"', '[[[[[[[[', ']]]]]]]]',
  '\u0000', '\r', '\n', '\r\n', '\ufeff', '\u2028', 'Ġ', 'Ã', '€', '😀',
].map((s) => new TextEncoder().encode(s));
const BAD_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80]].map((b) => Uint8Array.from(b));
const INTERESTING_U64: bigint[] = [0n, 1n, 7n, 8n, 0x7fn, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 2n ** 53n - 1n, 2n ** 53n + 1n,
  2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n - 8n, 100_000_000n, 99_999_999n];

type Op =
  | { k: 'flip'; pos: number; bit: number }
  | { k: 'set'; pos: number; v: number }
  | { k: 'trunc'; pos: number }
  | { k: 'insert'; pos: number; bytes: Uint8Array }
  | { k: 'token'; pos: number; t: number; replace: boolean }
  | { k: 'badutf8'; pos: number; t: number }
  | { k: 'del'; pos: number; len: number }
  | { k: 'dup'; pos: number; len: number; at: number }
  | { k: 'splice'; pos: number; other: number; from: number }
  | { k: 'u64'; pos: number; v: bigint };

const pos = fc.nat({ max: 1 << 30 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), pos, bit: fc.nat({ max: 7 }) }),
  fc.record({ k: fc.constant('set' as const), pos, v: fc.oneof(fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x0a), fc.nat({ max: 255 })) }),
  fc.record({ k: fc.constant('trunc' as const), pos }),
  fc.record({ k: fc.constant('insert' as const), pos, bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ k: fc.constant('token' as const), pos, t: fc.nat({ max: TOKENS.length - 1 }), replace: fc.boolean() }),
  fc.record({ k: fc.constant('badutf8' as const), pos, t: fc.nat({ max: BAD_UTF8.length - 1 }) }),
  fc.record({ k: fc.constant('del' as const), pos, len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ k: fc.constant('dup' as const), pos, len: fc.integer({ min: 1, max: 64 }), at: pos }),
  fc.record({ k: fc.constant('splice' as const), pos, other: fc.nat(), from: pos }),
  fc.record({ k: fc.constant('u64' as const), pos, v: fc.oneof(fc.constantFrom(...INTERESTING_U64), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })) }),
);

function applyOp(b: Uint8Array, op: Op, seeds: Uint8Array[]): Uint8Array {
  const at = (p: number, n = b.length) => (n === 0 ? 0 : p % (n + 1));
  const cat = (...xs: Uint8Array[]) => {
    const out = new Uint8Array(xs.reduce((s, x) => s + x.length, 0));
    let o = 0;
    for (const x of xs) { out.set(x, o); o += x.length; }
    return out;
  };
  switch (op.k) {
    case 'flip': { if (!b.length) return b; const c = b.slice(); c[op.pos % b.length] ^= 1 << op.bit; return c; }
    case 'set': { if (!b.length) return b; const c = b.slice(); c[op.pos % b.length] = op.v; return c; }
    case 'trunc': return b.slice(0, at(op.pos));
    case 'insert': { const p = at(op.pos); return cat(b.subarray(0, p), op.bytes, b.subarray(p)); }
    case 'token': {
      const p = at(op.pos), t = TOKENS[op.t];
      return cat(b.subarray(0, p), t, b.subarray(Math.min(b.length, op.replace ? p + t.length : p)));
    }
    case 'badutf8': { const p = at(op.pos); return cat(b.subarray(0, p), BAD_UTF8[op.t], b.subarray(p)); }
    case 'del': { const p = at(op.pos); return cat(b.subarray(0, p), b.subarray(Math.min(b.length, p + op.len))); }
    case 'dup': {
      const p = at(op.pos), q = at(op.at);
      return cat(b.subarray(0, q), b.subarray(p, Math.min(b.length, p + op.len)), b.subarray(q));
    }
    case 'splice': {
      const o = seeds[op.other % seeds.length];
      return cat(b.subarray(0, at(op.pos)), o.subarray(at(op.from, o.length)));
    }
    case 'u64': {
      if (b.length < 8) return b;
      const c = b.slice(), p = op.pos % (b.length - 7);
      new DataView(c.buffer).setBigUint64(p === 0 || op.pos % 2 === 0 ? 0 : p, op.v, true);
      return c;
    }
  }
}

/** A seed (as is, or after 1..maxOps mutations). */
export function mutated(seeds: Uint8Array[], maxOps = 6): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(opArb, { minLength: 0, maxLength: maxOps }))
    .map(([i, ops]) => ops.reduce((b, op) => applyOp(b, op, seeds), seeds[i]));
}

// ---- structure-aware JSON mutations -------------------------------------------------------

/** Values that break naive loaders. */
export const nastyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, '', '__proto__', -1, 0, 0.5, -0, 1e308, 2 ** 53 + 2, 2 ** 64, -(2 ** 63), 2 ** 31, 2 ** 32 - 1,
    [], {}, [[[[[[]]]]]], '\ud800', 'Ġ', 'a'.repeat(5000), JSON.parse('{"__proto__": null}'), [0, 0], [-1, 5], [5, 1]),
  fc.jsonValue({ maxDepth: 3 }),
);

type Path = (string | number)[];
function paths(v: unknown, prefix: Path, out: Path[], budget: { n: number }): void {
  if (budget.n-- <= 0) return;
  out.push(prefix);
  if (Array.isArray(v)) {
    // Long arrays: a handful of positions is enough.
    const idx = v.length <= 8 ? v.map((_, i) => i) : [0, 1, v.length >> 1, v.length - 2, v.length - 1];
    for (const i of idx) paths(v[i], [...prefix, i], out, budget);
  } else if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v);
    const pick = keys.length <= 24 ? keys : [...keys.slice(0, 12), ...keys.slice(-12)];
    for (const k of pick) paths((v as Record<string, unknown>)[k], [...prefix, k], out, budget);
  }
}

type JsonOp = { kind: 'replace' | 'delete' | 'wrap' | 'dupkey'; at: number; value: unknown };
const jsonOpArb: fc.Arbitrary<JsonOp> = fc.record({
  kind: fc.constantFrom('replace' as const, 'replace' as const, 'delete' as const, 'wrap' as const, 'dupkey' as const),
  at: fc.nat(), value: nastyJson,
});

function setAt(root: unknown, p: Path, op: JsonOp): unknown {
  if (p.length === 0) return op.kind === 'wrap' ? [root] : op.kind === 'delete' ? {} : op.value;
  // Plain objects, as JSON.parse makes them; keys (even "__proto__") copied as own properties.
  const clone = (v: unknown): unknown => {
    if (Array.isArray(v)) return [...v];
    const o: Record<string, unknown> = {};
    if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) Object.defineProperty(o, k, { value: x, enumerable: true, writable: true, configurable: true });
    return o;
  };
  const top = clone(root) as Record<string | number, unknown>;
  let cur = top;
  for (let i = 0; i < p.length - 1; i++) {
    const next = clone(cur[p[i]]) as Record<string | number, unknown>;
    Object.defineProperty(cur, p[i], { value: next, enumerable: true, writable: true, configurable: true });
    cur = next;
  }
  const last = p[p.length - 1];
  const put = (k: string | number, v: unknown) => Object.defineProperty(cur, k, { value: v, enumerable: true, writable: true, configurable: true });
  if (op.kind === 'delete') {
    if (Array.isArray(cur)) cur.splice(last as number, 1);
    else delete cur[last];
  } else if (op.kind === 'wrap') put(last, [cur[last]]);
  else if (op.kind === 'dupkey' && !Array.isArray(cur)) put(`${String(last)}_`, op.value);
  else put(last, op.value);
  return top;
}

/** A JSON seed with 1..maxOps structure-aware edits (replace/delete/wrap a value at a random path). */
export function mutatedJson(seeds: unknown[], maxOps = 3): fc.Arbitrary<unknown> {
  const allPaths = seeds.map((s) => { const out: Path[] = []; paths(s, [], out, { n: 4000 }); return out; });
  return fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(jsonOpArb, { minLength: 1, maxLength: maxOps }))
    .map(([i, ops]) => ops.reduce((v, op) => setAt(v, allPaths[i][op.at % allPaths[i].length], op), seeds[i]));
}

/** JSON text of a (possibly mutated) value. */
export const jsonText = (v: unknown): string => JSON.stringify(v);

export interface FuzzReport { target: string; executions: number; ok: number; typed: number; corpusFiles: number; corpusBytes: number; ms: number }
const reports: FuzzReport[] = [];

/**
 * Runs one fuzz property: the seeds first, then fast-check for the budget. `check` returns
 * 'ok' or 'typed' (the outcome class), or throws to fail the property.
 */
export function runTarget<T>(target: string, arb: fc.Arbitrary<T>, check: (x: T) => 'ok' | 'typed', seeds: T[] = []): FuzzReport {
  const t0 = Date.now();
  let executions = 0, ok = 0, typed = 0;
  const count = (r: 'ok' | 'typed') => { executions++; if (r === 'ok') ok++; else typed++; };
  for (const s of seeds) count(check(s));
  const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;
  fc.assert(fc.property(arb, (x) => { count(check(x)); }), {
    numRuns: FUZZ_RUNS ?? 1_000_000, interruptAfterTimeLimit: FUZZ_MS, markInterruptAsFailure: false, seed,
  });
  const { files, bytes } = corpusStats(target.split(':')[0]);
  const r = { target, executions, ok, typed, corpusFiles: files, corpusBytes: bytes, ms: Date.now() - t0 };
  reports.push(r);
  console.log(`fuzz ${target}: ${executions} executions (${ok} ok, ${typed} typed errors) in ${r.ms} ms; corpus ${files} files, ${bytes} bytes`);
  if (process.env.FUZZ_REPORT) fs.appendFileSync(process.env.FUZZ_REPORT, JSON.stringify(r) + '\n');
  return r;
}
