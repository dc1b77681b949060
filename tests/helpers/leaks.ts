import { expect } from 'vitest';
import { memory } from '../../src/index.js';

/** Runs fn and asserts it left no tensors or bytes behind (besides what it returns and disposes). */
export function expectNoLeaks<T>(fn: () => T, cleanup?: (r: T) => void): T {
  const before = memory();
  const r = fn();
  cleanup?.(r);
  const after = memory();
  expect({ tensors: after.numTensors, bytes: after.numBytes }).toEqual({ tensors: before.numTensors, bytes: before.numBytes });
  return r;
}
