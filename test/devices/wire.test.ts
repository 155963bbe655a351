/** The devices topic's messages: chunked under 64 KiB, decoded only when every field is within its bound. */
import { describe, expect, it } from 'vitest'
import type { DeviceEntry } from '../../src/devices/sessions.js'
import { LIMITS } from '../../src/devices/types.js'
import { dataHash, emptyData, fitsWire } from '../../src/devices/data.js'
import { announcementSchema, decodeAnnouncement, encodeAnnouncements, encodeWants, MAX_MESSAGE_BYTES, MAX_WANT, WIRE_VERSION } from '../../src/devices/wire.js'
import { checkAnnouncement } from '../../src/devices/wire-check.js'

const entry = (i: number, over: Partial<DeviceEntry> = {}): DeviceEntry => ({
  id: `gpu-${i}`, st: 'up', kind: 'websocket', since: 1, at: 2, chg: 3, seen: 4, iv: null, why: null,
  data: { ...emptyData(), project: 'p', models: Array.from({ length: 8 }, (_, k) => `model-${k}`), gpus: [{ index: '0', name: 'RTX 4090', utilizationRatio: 0.3, memoryUsedBytes: 1, memoryTotalBytes: 2 }] },
  ...over
})
const encode = (entries: DeviceEntry[], full = false): Uint8Array[] => {
  let seq = 0
  return encodeAnnouncements({ boot: 5, name: 'a', full }, entries, () => ++seq, () => 1000)
}
const message = (d: unknown[], over: Record<string, unknown> = {}): Uint8Array => Buffer.from(JSON.stringify({ v: 1, boot: 5, seq: 1, ts: 1, name: 'a', full: false, d, ...over }))

describe('device announcements', () => {
  it('splits many devices into messages of at most 64 KiB that decode back to every entry, in order', () => {
    const entries = Array.from({ length: 2000 }, (_, i) => entry(i))
    const messages = encode(entries)
    expect(messages.length).toBeGreaterThan(5)
    const back: unknown[] = []
    messages.forEach((m, i) => {
      expect(m.byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES)
      const d = decodeAnnouncement(m)
      if (!d.ok) throw new Error(d.detail)
      expect(d.msg.seq).toBe(i + 1)
      back.push(...d.msg.d)
    })
    expect(back).toEqual(entries)
  })

  it('the largest device data the edges accept fits one message', () => {
    const text = '"'.repeat(LIMITS.textLength)
    const data = { ...emptyData(), models: Array.from({ length: LIMITS.models }, () => text) }
    expect(fitsWire(data)).toBe(false)
    const biggest = { ...emptyData(), models: Array.from({ length: 20 }, () => 'x'.repeat(LIMITS.textLength)), message: 'm'.repeat(LIMITS.messageLength) }
    expect(fitsWire(biggest)).toBe(true)
    const [m] = encode([entry(0, { data: biggest })])
    expect(decodeAnnouncement(m as Uint8Array).ok).toBe(true)
  })

  it('a light round carries each device\'s data hash instead of its data; wants ask for data by device id', () => {
    const entries = Array.from({ length: 2000 }, (_, i) => entry(i))
    let seq = 0
    const light = encodeAnnouncements({ boot: 5, name: 'a', full: true, light: true }, entries, () => ++seq, () => 1000)
    expect(light.reduce((n, m) => n + m.byteLength, 0) * 2).toBeLessThan(encode(entries).reduce((n, m) => n + m.byteLength, 0))
    const d = decodeAnnouncement(light[0] as Uint8Array)
    if (!d.ok) throw new Error(d.detail)
    expect(d.msg.d[0]).toEqual({ ...entry(0), data: undefined, h: dataHash(entry(0).data) })
    expect(d.msg.d[0]).not.toHaveProperty('data')
    const wants = encodeWants({ boot: 5, name: 'a' }, entries.map(e => e.id), () => ++seq, () => 1000)
    expect(wants).toHaveLength(Math.ceil(2000 / MAX_WANT))
    const w = decodeAnnouncement(wants[0] as Uint8Array)
    expect(w.ok && w.msg.want?.slice(0, 2)).toEqual(['gpu-0', 'gpu-1'])
  })

  it('the data hash does not depend on the order keys were built in', () => {
    const a = { ...emptyData(), metrics: { x: 1, y: 2 }, info: { b: '2', a: '1' }, gpus: [{ index: '0', name: 'g', utilizationRatio: 0.5, memoryUsedBytes: 1, memoryTotalBytes: 2 }] }
    const b = JSON.parse(JSON.stringify({ info: { a: '1', b: '2' }, metrics: { y: 2, x: 1 }, gpus: [{ name: 'g', index: '0', memoryTotalBytes: 2, memoryUsedBytes: 1, utilizationRatio: 0.5 }], message: '', status: null, memoryTotal: null, models: [], project: '' }))
    expect(dataHash(b)).toBe(dataHash(a))
    expect(dataHash({ ...a, models: ['m'] })).not.toBe(dataHash(a))
  })

  it('a full announcement with no devices is still one message (it tells the boot); a batch with none is nothing', () => {
    expect(encode([], true)).toHaveLength(1)
    expect(encode([], false)).toHaveLength(0)
  })

  it.each([
    ['an id that is not a device id', [entry(0, { id: 'a b' })], 'd.0.id'],
    ['a negative time', [entry(0, { at: -1 })], 'd.0.at'],
    ['a state that is not up or down', [{ ...entry(0), st: 'unknown' }], 'd.0.st'],
    ['too many GPUs', [entry(0, { data: { ...emptyData(), gpus: Array.from({ length: 17 }, () => ({ index: '0', name: '', utilizationRatio: null, memoryUsedBytes: null, memoryTotalBytes: null })) } })], 'd.0.data.gpus'],
    ['a ratio over 1', [entry(0, { data: { ...emptyData(), gpus: [{ index: '0', name: '', utilizationRatio: 30, memoryUsedBytes: null, memoryTotalBytes: null }] } })], 'd.0.data.gpus.0.utilizationRatio'],
    ['a metric that is not a number', [entry(0, { data: { ...emptyData(), metrics: { t: '1' as any } } })], 'd.0.data.metrics.t'],
    ['an unknown field', [{ ...entry(0), via: 'someone-else' }], 'd.0'],
    ['both data and its hash', [{ ...entry(0), h: 5 }], 'd.0'],
    ['neither data nor its hash', [{ ...entry(0), data: undefined }], 'd.0']
  ])('drops a message with %s, naming the field', (_what, d, path) => {
    const r = decodeAnnouncement(message(d))
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.reason).toBe('schema')
      expect(r.detail.startsWith(`${path}:`)).toBe(true)
    }
  })

  it('drops what is not JSON, not UTF-8, or over 64 KiB', () => {
    expect(decodeAnnouncement(Buffer.from('{"v":1,'))).toMatchObject({ ok: false, reason: 'decode' })
    expect(decodeAnnouncement(new Uint8Array([0xff, 0xfe]))).toMatchObject({ ok: false, reason: 'decode' })
    expect(decodeAnnouncement(new Uint8Array(MAX_MESSAGE_BYTES + 1))).toMatchObject({ ok: false, reason: 'too_large' })
    expect(decodeAnnouncement(message([], { v: 2 }))).toMatchObject({ ok: false, reason: 'schema' })
  })

  it('the hand check accepts only what the schema accepts (valid and mutated messages)', () => {
    const base = JSON.parse(Buffer.from(message([entry(1, { iv: 60_000, why: 'idle', kind: 'push', data: { ...entry(1).data, metrics: { t: 1 }, info: { cpu_type: 'x' }, status: 'ok', memoryTotal: 5 } })])).toString())
    const light = JSON.parse(Buffer.from(message([{ ...entry(2), data: undefined, h: 77 }], { want: ['gpu-1', 'gpu-2'] })).toString())
    const variants: unknown[] = [base, light]
    for (const key of ['h', 'want']) {
      for (const v of [null, -1, 0.5, 2 ** 32, '', 'a b', [], ['x y'], Array.from({ length: MAX_WANT + 1 }, () => 'a'), {}]) {
        const copy = structuredClone(light)
        if (key === 'h') copy.d[0].h = v
        else copy.want = v
        variants.push(copy)
      }
    }
    const values = [null, -1, 0.5, 1e300, '', 'x'.repeat(300), 'a b', [], {}, true, 70_000, Number.MAX_SAFE_INTEGER + 2]
    // every field of the message, its entry, the entry's data and its GPU, replaced by each odd value or removed
    const paths = [[], ['d', 0], ['d', 0, 'data'], ['d', 0, 'data', 'gpus', 0], ['d', 0, 'data', 'metrics'], ['d', 0, 'data', 'info']]
    for (const path of paths) {
      const at = (o: any): any => path.reduce((x: any, k) => x[k], o)
      for (const key of [...Object.keys(at(base)), 'extra']) {
        for (const v of [...values, undefined]) {
          const copy = structuredClone(base)
          if (v === undefined) delete at(copy)[key]
          else at(copy)[key] = v
          variants.push(copy)
        }
      }
    }
    expect(variants.length).toBeGreaterThan(400)
    for (const v of variants) expect(checkAnnouncement(v, WIRE_VERSION, 655, MAX_WANT), JSON.stringify(v).slice(0, 300)).toBe(announcementSchema.safeParse(v).success)
  })
})
