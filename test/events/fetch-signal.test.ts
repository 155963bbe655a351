/**
 * A block fetch's signal is handed on by Helia to bitswap, which adds one
 * abort listener per peer that wants the block: with 10+ peers Node printed
 * "Possible EventTarget memory leak detected" on busy nodes. The fetch signal
 * takes as many listeners as the mesh has peers, silently.
 */
import { describe, expect, it } from 'vitest'
import { fetchSignal } from '../../src/events/period-log.js'

async function warningsWhile (fn: () => void): Promise<string[]> {
  const seen: string[] = []
  const onWarning = (w: Error): void => { seen.push(`${w.name}: ${w.message}`) }
  process.on('warning', onWarning)
  try {
    fn()
    // process warnings are emitted on the next tick
    await new Promise(resolve => setImmediate(resolve))
  } finally {
    process.off('warning', onWarning)
  }
  return seen
}

const listen = (signal: AbortSignal, n: number): void => {
  for (let i = 0; i < n; i++) signal.addEventListener('abort', () => {})
}

describe('block fetch signal', () => {
  it('takes one abort listener per wanting peer without a leak warning', async () => {
    // the check can fail: a plain timeout signal warns at 11 listeners
    const plain = await warningsWhile(() => { listen(AbortSignal.timeout(30_000), 30) })
    expect(plain.some(w => w.startsWith('MaxListenersExceededWarning'))).toBe(true)

    const signal = fetchSignal(30_000)
    expect(await warningsWhile(() => { listen(signal, 30) })).toEqual([])
    expect(signal.aborted).toBe(false)
  })

  it('still times out', async () => {
    const signal = fetchSignal(20)
    await new Promise(resolve => signal.addEventListener('abort', resolve, { once: true }))
    expect(signal.reason).toBeInstanceOf(DOMException)
    expect((signal.reason as DOMException).name).toBe('TimeoutError')
  })
})
