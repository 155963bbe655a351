/**
 * Who watches whom. The live members sit on a ring ordered by a hash of their
 * peer ids; each member is watched by the next `k` members after it (its
 * watchers) and watches the `k` before it (its subjects). So every node hears
 * `k` beats a second and sends `k`, whatever the size of the mesh, and the
 * hash spreads a host's watchers over the mesh rather than over its neighbours
 * in name or address (the scheme of Akka Cluster's heartbeat ring).
 *
 * Each node builds the ring from its own view of who is live; views agree
 * except during churn, and what a node reports of a peer it does not watch in
 * another's view is simply not counted (verdict.ts).
 */
import { createHash } from 'node:crypto'

const hashes = new Map<string, string>()
/** Position on the ring: 12 hex chars (48 bits) of SHA-256 of the peer id, then the id itself as a tie-break. */
export function ringKey (peerId: string): string {
  let h = hashes.get(peerId)
  if (h === undefined) {
    h = createHash('sha256').update(peerId).digest('hex').slice(0, 12) + peerId
    if (hashes.size > 100_000) hashes.clear()
    hashes.set(peerId, h)
  }
  return h
}

export class Ring {
  /** ring keys, sorted */
  readonly #keys: string[] = []

  get size (): number { return this.#keys.length }

  has (peerId: string): boolean {
    const key = ringKey(peerId)
    return this.#keys[this.#at(key)] === key
  }

  add (peerId: string): boolean {
    const key = ringKey(peerId)
    const i = this.#at(key)
    if (this.#keys[i] === key) return false
    this.#keys.splice(i, 0, key)
    return true
  }

  remove (peerId: string): boolean {
    const key = ringKey(peerId)
    const i = this.#at(key)
    if (this.#keys[i] !== key) return false
    this.#keys.splice(i, 1)
    return true
  }

  /** The `n` members after `peerId`'s place on the ring, nearest first, never `peerId` itself (it need not be a member). */
  successors (peerId: string, n: number): string[] {
    const key = ringKey(peerId)
    let i = this.#at(key)
    if (this.#keys[i] === key) i++
    return this.#walk(i, 1, n, key)
  }

  /** The `n` members before `peerId`'s place on the ring, nearest first. */
  predecessors (peerId: string, n: number): string[] {
    const key = ringKey(peerId)
    return this.#walk(this.#at(key) - 1, -1, n, key)
  }

  #walk (from: number, step: 1 | -1, n: number, exclude: string): string[] {
    const len = this.#keys.length
    const out: string[] = []
    for (let j = 0, i = from; j < len && out.length < n; j++, i += step) {
      const key = this.#keys[((i % len) + len) % len] as string
      if (key !== exclude) out.push(key.slice(12))
    }
    return out
  }

  /** Index of the first key >= `key`. */
  #at (key: string): number {
    let lo = 0
    let hi = this.#keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#keys[mid] as string) < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
