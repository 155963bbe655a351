import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['./src/shim.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // integration tests start real nodes and processes: keep the 2-core machine from thrashing
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    fileParallelism: true
  }
})
