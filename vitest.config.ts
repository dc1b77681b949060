import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Forks, not vm pools: errors created by the addon must pass `instanceof`.
    pool: 'forks',
    // gc() lets the leak-report test collect a tensor deterministically.
    execArgv: ['--expose-gc'],
    testTimeout: 60_000,
  },
});
