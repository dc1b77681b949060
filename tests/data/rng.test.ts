import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { Rng } from '../../src/data/index.js';

describe('Rng (xoshiro128**)', () => {
  it('is a pure function of the seed, and nearby seeds give different streams', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43), d = new Rng(42 + 2 ** 32);
    const xs = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.nextUint32())).not.toEqual(xs);
    expect(Array.from({ length: 100 }, () => d.nextUint32())).not.toEqual(xs);
  });
  it('state() / setState() resume the exact stream, through JSON', () => {
    const a = new Rng(7);
    for (let i = 0; i < 10; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.state()));
    const rest = Array.from({ length: 50 }, () => a.int(1000));
    const b = new Rng(999);
    b.setState(saved);
    expect(Array.from({ length: 50 }, () => b.int(1000))).toEqual(rest);
    expect(Rng.fromState(saved).state()).toEqual(saved);
  });
  it('next() in [0, 1) and int(n) uniform within 5 standard deviations', () => {
    const r = new Rng(1);
    const n = 10, draws = 100_000, counts = new Array(n).fill(0);
    let sum = 0, lo = 1, hi = 0;
    for (let i = 0; i < draws; i++) {
      const u = r.next();
      lo = Math.min(lo, u); hi = Math.max(hi, u);
      sum += u;
      counts[r.int(n)]++;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(Math.abs(sum / draws - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / draws));
    const sd = Math.sqrt(draws * 0.1 * 0.9);
    for (const c of counts) expect(Math.abs(c - draws / n)).toBeLessThan(5 * sd);
  });
  it('shuffle is a permutation, in place, on arrays and typed arrays', () => {
    const r = new Rng(3);
    const a = Array.from({ length: 100 }, (_, i) => i);
    expect(r.shuffle(a)).toBe(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    const t = r.shuffle(Uint32Array.from({ length: 50 }, (_, i) => i));
    expect([...t].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
  it('rejects bad seeds, bounds and states by name', () => {
    expect(() => new Rng(1.5)).toThrow(ArgumentError);
    expect(() => new Rng(0).int(0)).toThrow('n must be an integer');
    expect(() => new Rng(0).setState([1, 2, 3])).toThrow('four uint32 words');
    expect(() => new Rng(0).setState([0, 0, 0, 0])).toThrow('all-zero');
  });
});
