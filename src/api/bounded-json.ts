/**
 * A JSON array response with a size budget: items are added in order until
 * the next would pass it, and the header says how many were left out. The
 * event history has no bound on one event's size, so `?limit=10000` alone
 * could build a response of gigabytes.
 */

/** response header: how many items did not fit (absent when all did) */
export const TRUNCATED_HEADER = 'X-Meshmon-Truncated'

export interface BoundedJson { body: string, omitted: number }

export function jsonArrayWithin (items: unknown[], maxBytes: number): BoundedJson {
  const parts: string[] = []
  let bytes = 2
  for (const item of items) {
    const text = JSON.stringify(item)
    const size = Buffer.byteLength(text) + (parts.length > 0 ? 1 : 0)
    if (bytes + size > maxBytes) break
    parts.push(text)
    bytes += size
  }
  return { body: `[${parts.join(',')}]`, omitted: items.length - parts.length }
}
