/**
 * The wire side of index sync, protocol `/meshmon/events-sync/1.0.0`:
 * length-prefixed JSON messages.
 *   -> {"v":1,"bucketMs":N,"notBefore":ISO,"counts":{"<bucket>":n,...}}
 *   <- {"events":[...]}   (up to 500 events each, oldest first; only buckets
 *                          where the answering peer holds more events)
 *   <- {"done":true,"sent":n}
 */
export const SYNC_PROTOCOL = '/meshmon/events-sync/1.0.0'

/** a request names at most this many buckets (7-21 periods in practice) */
export const MAX_BUCKETS = 10_000
export const MAX_REQUEST_BYTES = 1 << 20
export const MAX_MESSAGE_BYTES = 4 << 20
export const EXCHANGE_TIMEOUT_MS = 120_000

/** a peer's request or answer that breaks the protocol */
export class SyncError extends Error {
  override name = 'SyncError'
}

const dec = new TextDecoder()

export function parseJson (bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown
  try { v = JSON.parse(dec.decode(bytes)) } catch { throw new SyncError(`${what} is not JSON`) }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SyncError(`${what} is not a JSON object`)
  return v as Record<string, unknown>
}

/** `digests`: per bucket, which events the asker holds (absent from an older asker: counts alone decide) */
export interface SyncRequest { bucketMs: number, notBefore: number, counts: Map<number, number>, digests?: Map<number, string> }

/** Read and check a request; throws SyncError naming what is wrong. */
export function parseRequest (bytes: Uint8Array): SyncRequest {
  const r = parseJson(bytes, 'request')
  if (r.v !== 1) throw new SyncError(`request version ${JSON.stringify(r.v)} is not 1`)
  const bucketMs = r.bucketMs
  if (typeof bucketMs !== 'number' || !Number.isInteger(bucketMs) || bucketMs < 1000 || bucketMs > 366 * 86_400_000) throw new SyncError('request bucketMs is not an integer from 1000 to a year')
  const notBefore = typeof r.notBefore === 'string' ? Date.parse(r.notBefore) : NaN
  if (Number.isNaN(notBefore)) throw new SyncError('request notBefore is not a date')
  if (typeof r.counts !== 'object' || r.counts === null || Array.isArray(r.counts)) throw new SyncError('request counts is not an object')
  const entries = Object.entries(r.counts as Record<string, unknown>)
  if (entries.length > MAX_BUCKETS) throw new SyncError(`request names more than ${MAX_BUCKETS} buckets`)
  const counts = new Map<number, number>()
  for (const [k, n] of entries) {
    const bucket = Number(k)
    if (!Number.isSafeInteger(bucket) || typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new SyncError(`request count ${JSON.stringify(k)}: ${JSON.stringify(n)} is not a bucket and a count`)
    counts.set(bucket, n)
  }
  if (r.digests === undefined) return { bucketMs, notBefore, counts }
  if (typeof r.digests !== 'object' || r.digests === null || Array.isArray(r.digests)) throw new SyncError('request digests is not an object')
  const named = Object.entries(r.digests as Record<string, unknown>)
  if (named.length > MAX_BUCKETS) throw new SyncError(`request names more than ${MAX_BUCKETS} buckets`)
  const digests = new Map<number, string>()
  for (const [k, d] of named) {
    const bucket = Number(k)
    if (!Number.isSafeInteger(bucket) || typeof d !== 'string' || !/^[0-9a-f]{16}$/.test(d)) throw new SyncError(`request digest ${JSON.stringify(k)}: ${JSON.stringify(d)} is not a bucket and 16 hex digits`)
    digests.set(bucket, d)
  }
  return { bucketMs, notBefore, counts, digests }
}

