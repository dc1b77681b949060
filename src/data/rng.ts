/**
 * A small seeded PRNG for the data pipeline (shuffles, masking, span noise). xoshiro128**:
 * 128 bits of state, period 2^128 - 1, passes BigCrush, and its whole state is four uint32
 * words, so a data cursor can store it in trainer_state.json and resume exactly.
 * It is independent of the tensor RNG (src/tensor/random.ts), so data order never shifts
 * when a model change draws more or fewer random numbers.
 */
import { ArgumentError } from '../errors.js';

/** Four uint32 words; JSON-safe. */
export type DataRngState = [number, number, number, number];

const TWO_32 = 4294967296;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** splitmix32: spreads a seed over the state so that nearby seeds give unrelated streams. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** `seed` is any safe integer; its high bits are folded in so 2^32 and 0 differ. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new ArgumentError(`Rng: seed must be a safe integer, got ${seed}`);
    const hi = Math.floor(seed / TWO_32) >>> 0;
    const mix = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
    this.s0 = mix(); this.s1 = mix(); this.s2 = mix(); this.s3 = mix();
    // The all-zero state is the one fixed point of xoshiro.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  static fromState(state: readonly number[]): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /** A uniform uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / TWO_32;
  }

  /** A uniform integer in [0, n), without modulo bias (rejection on the top partial block). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_32) {
      throw new ArgumentError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Fisher-Yates in place; returns the same array. */
  shuffle<A extends { length: number; [i: number]: any }>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  state(): DataRngState {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  setState(state: readonly number[]): void {
    if (!Array.isArray(state) || state.length !== 4 ||
        !state.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_32)) {
      throw new ArgumentError(`Rng.setState: expected four uint32 words, got ${JSON.stringify(state)}`);
    }
    if (state.every((w) => w === 0)) throw new ArgumentError('Rng.setState: the all-zero state is invalid');
    [this.s0, this.s1, this.s2, this.s3] = state.map((w) => w | 0);
  }

  clone(): Rng {
    return Rng.fromState(this.state());
  }
}
