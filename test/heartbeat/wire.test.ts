import { describe, expect, it } from 'vitest'
import { decodeHeartbeat, encodeHeartbeat, MAX_MESSAGE_BYTES } from '../../src/heartbeat/wire.js'
import { beat } from '../helpers/beat.js'

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
})
