/**
 * How many events one peer may send this node by index sync: `events` per
 * `windowMs`, counted as they arrive, duplicates included (what costs is the
 * checking, not the keeping). A peer over its quota, or one that sent a bad
 * event, is cut off: no exchange with it until its window ends. The clock is
 * injected, so the windows are tested without waiting.
 */
export interface QuotaInit {
  /** @default 200_000: a fresh peer of a busy mesh takes a week of events from one neighbour */
  events?: number
  /** @default 3_600_000 */
  windowMs?: number
  /** @default Date.now */
  now?: () => number
  /** peers remembered at once; the oldest window goes first @default 10_000 */
  maxPeers?: number
}

interface Window { start: number, used: number, cutOff: boolean }

export class PeerQuota {
  readonly events: number
  readonly windowMs: number
  readonly #now: () => number
  readonly #maxPeers: number
  readonly #peers = new Map<string, Window>()

  constructor (init: QuotaInit = {}) {
    this.events = init.events ?? 200_000
    this.windowMs = init.windowMs ?? 3_600_000
    this.#now = init.now ?? Date.now
    this.#maxPeers = init.maxPeers ?? 10_000
  }

  /** Count `n` events from `peer`; false when that passes its quota (it is then cut off). */
  take (peer: string, n: number): boolean {
    const w = this.#window(peer)
    if (w.cutOff) return false
    w.used += n
    if (w.used > this.events) w.cutOff = true
    return !w.cutOff
  }

  /** No exchange with `peer` until its window ends. */
  cutOff (peer: string): void { this.#window(peer).cutOff = true }

  isCutOff (peer: string): boolean { return this.#window(peer).cutOff }

  #window (peer: string): Window {
    const now = this.#now()
    let w = this.#peers.get(peer)
    if (w === undefined || now - w.start >= this.windowMs) {
      this.#peers.delete(peer)
      if (this.#peers.size >= this.#maxPeers) this.#peers.delete(this.#peers.keys().next().value as string)
      w = { start: now, used: 0, cutOff: false }
      this.#peers.set(peer, w)
    }
    return w
  }
}
