import { defineConfig } from 'vitest/config';

// Tests import packages from source (their package.json exports point at src/).
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time: most of a file's time is waiting (servers, Chromium,
    // ffmpeg children), so two cores carry two; vitest's default (cores − 1) ran one.
    maxWorkers: 2,
    globalSetup: ['scripts/test-setup.ts'],
  },
});
