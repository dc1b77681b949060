import { defineConfig } from 'vitest/config';

// Long measurement runs that write the figures in docs/ and BENCHMARKS.md: not part of `npm test`.
export default defineConfig({
  test: {
    include: ['bench/figures/**/*.figures.ts'],
    pool: 'forks',
    testTimeout: 3_600_000,
  },
});
