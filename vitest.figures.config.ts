import { defineConfig } from 'vitest/config';

// Long measurement runs that write the figures in docs/ and BENCHMARKS.md: not part of `npm test`.
export default defineConfig({
  test: {
    include: ['bench/figures/**/*.figures.ts'],
    pool: 'forks',
    testTimeout: 3_600_000,
    // The suite's figures are CPU figures: a command given no --device would pick a usable GPU
    // (src/ops/default_device.ts). A caller's LMT_DEVICE still wins.
    env: { LMT_DEVICE: process.env.LMT_DEVICE || 'cpu' },
  },
});
