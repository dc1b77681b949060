/**
 * Batches of example indices in a seeded order, reshuffled every epoch, with a cursor that
 * resumes exactly (the RNG state at the start of the epoch plus the position in it).
 */
import { ArgumentError } from '../errors.js';
import { Rng, type DataRngState } from './rng.js';

export interface IndexCursor { at: number; rng: DataRngState }

export class IndexSampler {
  private readonly rng: Rng;
  private order: Uint32Array;
  private epochState: DataRngState;
  private at = 0;

  constructor(readonly size: number, readonly batchSize: number, seed: number) {
    if (!Number.isInteger(size) || size < 1) throw new ArgumentError(`IndexSampler: size must be a positive integer, got ${size}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ArgumentError(`IndexSampler: batchSize must be a positive integer, got ${batchSize}`);
    this.rng = new Rng(seed);
    this.epochState = this.rng.state();
    this.order = this.shuffled();
  }

  private shuffled(): Uint32Array {
    const o = Uint32Array.from({ length: this.size }, (_, i) => i);
    this.rng.shuffle(o);
    return o;
  }

  /** The next batchSize indices; an epoch boundary inside a batch continues into the next epoch. */
  next(): number[] {
    const idx: number[] = [];
    while (idx.length < this.batchSize) {
      if (this.at >= this.order.length) {
        this.epochState = this.rng.state();
        this.order = this.shuffled();
        this.at = 0;
      }
      idx.push(this.order[this.at++]);
    }
    return idx;
  }

  cursor(): IndexCursor {
    return { at: this.at, rng: this.epochState };
  }

  restore(c: IndexCursor): void {
    this.rng.setState(c.rng);
    this.epochState = c.rng;
    this.order = this.shuffled();
    this.at = c.at;
  }
}
