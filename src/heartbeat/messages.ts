/**
 * Decoding of what arrives on the gossip and beat streams, checked by hand
 * (they are small and frequent; the records inside are checked by
 * record.ts's schema only when new). Never throws: bad input is a reason and
 * a detail, counted and logged by the caller, and the stream is closed.
 */
import type { Envelope, GossipMessage } from './gossip.js'
import { RECORD_LIMITS } from './record.js'

export type InvalidReason = 'decode' | 'schema' | 'too_large' | 'clock' | 'signature' | 'replay' | 'refused'
export const INVALID_REASONS: readonly InvalidReason[] = ['decode', 'schema', 'too_large', 'clock', 'signature', 'replay', 'refused']

type Decoded<T> = ({ ok: true } & T) | { ok: false, reason: InvalidReason, detail: string }

const decoder = new TextDecoder('utf-8', { fatal: true })
/** records in one push, digest entries in one sync: far above any real mesh, a bound on a liar */
const MAX_ITEMS = 20_000
const MAX_SIGNATURE = 128
const MAX_ORIGIN = 64

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= Number.MAX_SAFE_INTEGER
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)

function parse (data: Uint8Array): Decoded<{ json: unknown }> {
  try {
    return { ok: true, json: JSON.parse(decoder.decode(data)) }
  } catch (err: any) {
    return { ok: false, reason: 'decode', detail: String(err?.message) }
  }
}

function envelope (x: unknown): x is Envelope {
  if (!isObject(x)) return false
  return typeof x.o === 'string' && x.o.length <= MAX_ORIGIN && isCount(x.b) && isCount(x.q) &&
    typeof x.r === 'string' && x.r.length <= RECORD_LIMITS.bytes && typeof x.s === 'string' && x.s.length <= MAX_SIGNATURE &&
    (x.u === undefined || x.u === 1)
}

export function decodeGossip (data: Uint8Array): Decoded<{ message: GossipMessage }> {
  const p = parse(data)
  if (!p.ok) return p
  const m = p.json
  if (!isObject(m)) return { ok: false, reason: 'schema', detail: 'not an object' }
  if (m.k === 'push') {
    if (!Array.isArray(m.items) || m.items.length > MAX_ITEMS) return { ok: false, reason: 'schema', detail: 'push: items must be an array of at most 20000' }
    const bad = m.items.findIndex(i => !envelope(i))
    if (bad >= 0) return { ok: false, reason: 'schema', detail: `push: item ${bad} is not a record envelope {o, b, q, r, s}` }
    return { ok: true, message: { k: 'push', items: m.items as Envelope[] } }
  }
  if (m.k === 'sync') {
    if (!isObject(m.have)) return { ok: false, reason: 'schema', detail: 'sync: have must be an object' }
    let n = 0
    for (const key in m.have) {
      const v = m.have[key]
      if (++n > MAX_ITEMS || key.length > MAX_ORIGIN || !Array.isArray(v) || v.length !== 2 || !isCount(v[0]) || !isCount(v[1])) {
        return { ok: false, reason: 'schema', detail: `sync: bad digest entry ${key.slice(0, MAX_ORIGIN)}` }
      }
    }
    if (m.reply !== undefined && m.reply !== 1) return { ok: false, reason: 'schema', detail: 'sync: reply must be 1 or absent' }
    return { ok: true, message: m.reply === 1 ? { k: 'sync', have: m.have as Record<string, [number, number]>, reply: 1 } : { k: 'sync', have: m.have as Record<string, [number, number]> } }
  }
  return { ok: false, reason: 'schema', detail: 'k must be push or sync' }
}

export function decodeBeat (data: Uint8Array): Decoded<{ boot: number, seq: number }> {
  const p = parse(data)
  if (!p.ok) return p
  const b = p.json
  if (!Array.isArray(b) || b.length !== 2 || !isCount(b[0]) || !isCount(b[1])) return { ok: false, reason: 'schema', detail: 'a beat is [boot, seq]' }
  return { ok: true, boot: b[0], seq: b[1] }
}
