import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../src/backoff.js'

describe('backoffDelay', () => {
  it('doubles from the initial wait and stops at the maximum', () => {
    const init = { initialMs: 250, maxMs: 4000 }
    expect([0, 1, 2, 3, 4, 5, 40].map(a => backoffDelay(a, init))).toEqual([250, 500, 1000, 2000, 4000, 4000, 4000])
  })

  it('spreads each wait by the jitter fraction, never past it', () => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const ms = backoffDelay(attempt % 6, { initialMs: 1000, maxMs: 30_000, jitter: 0.2 })
      const base = Math.min(30_000, 1000 * 2 ** (attempt % 6))
      expect(ms).toBeGreaterThanOrEqual(base * 0.8)
      expect(ms).toBeLessThan(base * 1.2)
    }
  })
})
