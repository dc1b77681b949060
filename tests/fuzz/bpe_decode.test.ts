// Fuzz target: the BPE decoder (Tokenizer.decode / decodeBytes) on arbitrary id arrays,
// including out-of-range, negative, fractional, NaN and non-number ids. Property: an
// IndexError naming the bad position, or exactly the concatenated bytes of the tokens.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IndexError } from '../../src/errors.js';
import { Tokenizer, symbolsToBytes } from '../../src/tokenizer/index.js';
import { CORPUS_ROOT, TARGET_TIMEOUT, fc, loadCorpus, runTarget, typedOrValue } from './common.js';

describe('fuzz: BPE decode', () => {
  const tok = Tokenizer.loadSync(path.join(CORPUS_ROOT, 'tokenizer_json', 'valid_trained.json'));
  const V = tok.vocabSize;
  const json = tok.toJSON() as { added_tokens: { id: number; content: string }[] };
  const added = new Map(json.added_tokens.map((t) => [t.id, t.content]));
  // The oracle: each id's bytes from its token string, independently of decodeBytes' tables.
  const bytesOf = (id: number): Uint8Array => added.has(id) ? new TextEncoder().encode(added.get(id)!) : symbolsToBytes(tok.idToToken(id)!)!;

  const check = (ids: unknown[]): 'ok' | 'typed' => {
    const r = typedOrValue(() => tok.decodeBytes(ids as number[]), [IndexError]);
    const bad = ids.findIndex((id) => !(typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < V));
    if (!r.ok) {
      expect(bad).toBeGreaterThanOrEqual(0);
      expect(r.error.message).toContain(`ids[${bad}]`);
      expect(() => tok.decode(ids as number[])).toThrow(IndexError);
      return 'typed';
    }
    expect(bad).toBe(-1);
    const want = Buffer.concat((ids as number[]).map(bytesOf));
    expect(Buffer.from(r.value).equals(want)).toBe(true);
    expect(tok.decode(ids as number[])).toBe(new TextDecoder().decode(want));
    const noSpecial = tok.decodeBytes(ids as number[], { skipSpecial: true });
    expect(Buffer.from(noSpecial).equals(Buffer.concat((ids as number[]).filter((id) => !tok.isSpecial(id)).map(bytesOf)))).toBe(true);
    return 'ok';
  };

  const seeds = loadCorpus('bpe_decode').flatMap((c) => JSON.parse(new TextDecoder().decode(c.bytes)) as unknown[][]);
  const id = fc.oneof(
    { weight: 8, arbitrary: fc.nat({ max: V - 1 }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(-1, V, V + 1, 2 ** 31, 2 ** 32, 2 ** 53, -0, 0.5, NaN, Infinity, -Infinity, 1e308, '1', null, undefined, {}, 1n) },
    { weight: 1, arbitrary: fc.integer() },
  );
  it('arbitrary id arrays: IndexError or the exact bytes', () => {
    runTarget('bpe_decode', fc.oneof(fc.array(id, { maxLength: 64 }), fc.array(fc.nat({ max: V - 1 }), { maxLength: 512 })), check, seeds);
  }, TARGET_TIMEOUT);
  it('typed arrays of ids and decode(encode(s)) === s', () => {
    const r = runTarget('bpe_decode:roundtrip', fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
      const ids = tok.encode(s);
      expect(tok.decode(ids)).toBe(s);
      expect(check(Array.from(ids))).toBe('ok');
      const asF64 = Float64Array.from(ids);
      if (asF64.length) asF64[asF64.length - 1] = V + 0.5;
      expect(typedOrValue(() => tok.decodeBytes(asF64), [IndexError]).ok).toBe(ids.length === 0);
      return 'ok';
    });
    expect(r.executions).toBeGreaterThan(10);
  }, TARGET_TIMEOUT);
});
