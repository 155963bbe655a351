import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    setupFiles: ['./src/shim.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // integration tests start real nodes and processes: keep the 2-core machine from thrashing
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: ['test/faults/**'], sequence: { groupOrder: 0 } } },
      // the fault labs run meshes of 5 to 10 nodes whose timing is the thing tested: one at a time, after the rest
      { extends: true, test: { name: 'faults', include: ['test/faults/**/*.test.ts'], poolOptions: { forks: { singleFork: true } }, sequence: { groupOrder: 1 } } }
    ]
  }
})
