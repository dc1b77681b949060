import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Forks, not vm pools: errors created by the addon must pass `instanceof`.
    pool: 'forks',
    // gc() lets the leak-report test collect a tensor deterministically.
    execArgv: ['--expose-gc'],
    testTimeout: 60_000,
    // The suite's figures are CPU figures: a command given no --device would pick a usable GPU
    // (src/ops/default_device.ts). A caller's LMT_DEVICE still wins.
    env: { LMT_DEVICE: process.env.LMT_DEVICE || 'cpu' },
  },
});
