/**
 * The global random stream. Every random op (randn, uniform, dropout) draws a (seed, offset)
 * pair and advances the offset by the number of values it used; the native Philox RNG maps
 * (seed, offset + i) to value i. The whole state is two integers, so checkpoints can save it
 * and resume exactly.
 */
import { ArgumentError } from '../errors.js';

export interface RngState { seed: number; offset: number }

let state: RngState = { seed: 0x5eed, offset: 0 };

export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new ArgumentError(`manualSeed: seed must be a non-negative safe integer, got ${seed}`);
  state = { seed, offset: 0 };
}
export function getRngState(): RngState {
  return { ...state };
}
export function setRngState(s: RngState): void {
  if (!Number.isSafeInteger(s.seed) || s.seed < 0 || !Number.isSafeInteger(s.offset) || s.offset < 0)
    throw new ArgumentError('setRngState: seed and offset must be non-negative safe integers');
  state = { ...s };
}
/** Reserves n counters; returns where they start. */
export function draw(n: number): RngState {
  const at = { ...state };
  state.offset += Math.max(1, n);
  if (state.offset > Number.MAX_SAFE_INTEGER / 2) state = { seed: state.seed + 1, offset: 0 };
  return at;
}
