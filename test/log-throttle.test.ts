import pino from 'pino'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { LogThrottle } from '../src/log-throttle.js'
import { waitFor } from './support/wait.js'

describe('log throttle', () => {
  it('one line per kind an interval, held-back ones counted into the next; one twice as large as any of the interval still goes through', async () => {
    const lines: Array<Record<string, any>> = []
    const sink = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } })
    const throttle = new LogThrottle(pino({ level: 'warn' }, sink), 200)
    const stall = (ms: number): void => { throttle.warn('stall', { lagMs: ms }, 'stalled', ms) }
    const started = performance.now()
    stall(1200)
    stall(1500)
    stall(2000)
    // twice the largest of the interval (2000, held back): said at once
    stall(4000)
    stall(5000)
    throttle.warn('other', {}, 'another kind')
    await waitFor('the interval to end', () => performance.now() - started > 250)
    stall(1100)
    await waitFor('every line written', () => lines.length === 4)
    expect(lines.map(l => [l.msg, l.lagMs, l.heldBack])).toEqual([
      ['stalled', 1200, 0],
      ['stalled', 4000, 2],
      ['another kind', undefined, 0],
      ['stalled', 1100, 1]
    ])
  })
})
