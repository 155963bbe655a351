import { afterEach, describe, expect, it } from 'vitest'
import { OwnLag } from '../../src/heartbeat/own-lag.js'
import { waitFor } from '../support/wait.js'

/** hold this process's event loop (what a starved or collecting process does to its timers) */
function stall (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* busy */ }
}

describe('OwnLag: how late this process runs its own timers', () => {
  let lag: OwnLag | undefined
  afterEach(() => { lag?.stop() })

  // (how late an idle loop runs depends on the host's load, so no test asserts it is below the bound)
  it('says 0 and not slow before it starts, and before its first sample', () => {
    lag = new OwnLag({ slowMs: 250 })
    expect(lag.recentMs()).toBe(0)
    expect(lag.slow()).toBe(false)
    lag.start()
    expect(lag.recentMs()).toBe(0)
    expect(lag.slow()).toBe(false)
  })

  it('is slow after the loop was held 500 ms, and forgets it after two windows', async () => {
    lag = new OwnLag({ slowMs: 250, windowMs: 600 })
    lag.start()
    // past its first sample (the first only starts the count)
    await new Promise(resolve => setTimeout(resolve, 150))
    stall(500)
    // the sampling timer runs once the loop is free again, and records how late it was
    await waitFor('the stall seen', async () => lag?.slow() === true, 2000)
    expect(lag.recentMs()).toBeGreaterThanOrEqual(300)
    await waitFor('the stall forgotten', async () => lag?.slow() === false, 5000)
  })

  it('stops: 0 again, and start() after stop() works', async () => {
    lag = new OwnLag({ slowMs: 100 })
    lag.start()
    // the first sample only starts the count: a stall before it is not measured
    await new Promise(resolve => setTimeout(resolve, 150))
    stall(300)
    await waitFor('the stall seen', async () => lag?.slow() === true, 2000)
    lag.stop()
    expect(lag.recentMs()).toBe(0)
    lag.start()
    expect(lag.slow()).toBe(false)
  })
})
