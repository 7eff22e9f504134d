import { defineConfig } from 'vitest/config';

// Tests import packages from source (their package.json exports point at src/).
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['scripts/test-setup.ts'],
  },
});
