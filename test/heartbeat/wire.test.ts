import { describe, expect, it } from 'vitest'
import { decodeHeartbeat, encodeHeartbeat, heartbeatSchema, lightBeat, MAX_MESSAGE_BYTES } from '../../src/heartbeat/wire.js'
import { beat } from '../support/beat.js'

describe('heartbeat wire format', () => {
  it('round-trips a light beat in a few hundred bytes', () => {
    const b = beat({ seen: { abcdefghij: 120, bcdefghijk: 40 }, relay: ['bcdefghijk'] })
    const bytes = encodeHeartbeat(b)
    expect(bytes.byteLength).toBeLessThan(300)
    expect(decodeHeartbeat(bytes)).toEqual({ ok: true, beat: b })
  })

  it.each([
    ['decode', new Uint8Array([0xff, 0xfe, 0x00])],
    ['decode', new TextEncoder().encode('{"v":1,')],
    ['schema', new TextEncoder().encode('[]')],
    ['schema', encodeHeartbeat({ ...beat(), v: 2 } as any)],
    ['schema', encodeHeartbeat({ ...beat(), from: 'someone-else' } as any)],
    ['schema', encodeHeartbeat({ ...beat(), seq: -1 })],
    ['schema', encodeHeartbeat({ ...beat(), iv: 'fast' } as any)],
    ['schema', encodeHeartbeat({ ...beat(), relay: ['not-a-digest-key'] })],
    ['schema', encodeHeartbeat({ ...beat(), relay: 'everyone' } as any)],
    ['too_large', new Uint8Array(MAX_MESSAGE_BYTES + 1)]
  ])('drops garbage by reason %s', (reason, bytes) => {
    const d = decodeHeartbeat(bytes)
    expect(d.ok).toBe(false)
    if (!d.ok) expect(d.reason).toBe(reason)
  })

  it('checks light beats by hand exactly as the schema does (valid and mutated beats)', () => {
    const base = beat({ seen: { abcdefghij: 120, bcdefghijk: 0 }, relay: ['bcdefghijk'] }) as Record<string, unknown>
    const values: unknown[] = [undefined, null, true, 0, -1, 0.5, 1, 2, 49, 50, 1000, 3_600_000, 3_600_001, 1e308, -0,
      '', 'a', 'hb', 'bye', 'always-on', 'intermittent', 'x'.repeat(10), 'x'.repeat(11), 'x'.repeat(64), 'x'.repeat(65),
      'x'.repeat(128), 'x'.repeat(129), [], ['abcdefghij'], ['abcdefghijk'], [1], Array(4097).fill('a'), {}, { abcdefghij: 5 },
      { abcdefghij: -5 }, { abcdefghijk: 5 }, { a: 'x' }, { '': 0 }]
    const cases: unknown[] = [base, [], null, 'hb', { ...base, extra: 1 }, { ...base, full: { labels: {}, addrs: [], machine: null, checks: [] } }]
    for (const key of [...Object.keys(base), 'relay']) {
      for (const value of values) cases.push({ ...base, [key]: value })
    }
    // a relay list with a bad entry anywhere, seen with a bad value anywhere
    cases.push({ ...base, relay: ['abcdefghij', 'b', 7] }, { ...base, seen: { a: 1, b: 2, c: -1 } }, { ...base, seen: { a: 1, ['x'.repeat(11)]: 2 } })
    let accepted = 0
    for (const c of cases) {
      // what arrives is JSON: undefined fields vanish, -0 becomes 0
      const json = JSON.parse(JSON.stringify(c) ?? 'null')
      const zod = heartbeatSchema.safeParse(json)
      const hand = lightBeat(json)
      const isLight = typeof json === 'object' && json !== null && !('full' in json)
      expect({ json, hand: hand !== undefined }).toEqual({ json, hand: zod.success && isLight })
      if (hand !== undefined && zod.success) { expect(hand).toEqual(zod.data); accepted++ }
    }
    // both verdicts occur
    expect(accepted).toBeGreaterThan(50)
    expect(cases.length - accepted).toBeGreaterThan(100)
  })
})
