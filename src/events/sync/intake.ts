/**
 * What one exchange takes from a peer: every event checked (trust/check.ts),
 * the peer's quota counted. An offence (an event unsigned, forged, oversized,
 * dated ahead, malformed, or the quota passed) ends the exchange with an
 * EventRefusedError and cuts the peer off; events past the retention are
 * skipped and counted, and so are events that would replace a held incident
 * (the index reports those).
 */
import { checkEvent, EventRefusedError, isOffence, type CheckContext, type RefusalReason } from '../trust/check.js'
import type { SignedEvent } from '../types.js'
import type { PeerQuota } from './quota.js'

export type RefusalCounts = Partial<Record<RefusalReason, number>>

export class Intake {
  /** refused in this exchange, by reason */
  readonly refused: RefusalCounts = {}
  readonly #peer: string
  readonly #quota: PeerQuota
  readonly #ctx: CheckContext

  constructor (peer: string, quota: PeerQuota, ctx: CheckContext) {
    this.#peer = peer
    this.#quota = quota
    this.#ctx = ctx
  }

  /** The acceptable events of one answer message; throws at the first offence (the message is then taken whole or not at all). */
  async take (raws: unknown[]): Promise<SignedEvent[]> {
    if (!this.#quota.take(this.#peer, raws.length)) {
      this.count('quota', raws.length)
      throw new EventRefusedError('quota', `more than ${this.#quota.events} events within ${this.#quota.windowMs / 60_000} min`)
    }
    const out: SignedEvent[] = []
    for (const [i, raw] of raws.entries()) {
      // a message holds up to 500 events, ~0.1-0.3 ms of checking each: let heartbeats through
      if (i % 100 === 99) await new Promise(resolve => setImmediate(resolve))
      const r = checkEvent(raw, this.#ctx)
      if (r.ok) {
        out.push(r.event)
        continue
      }
      this.count(r.reason)
      if (isOffence(r.reason)) {
        this.#quota.cutOff(this.#peer)
        throw new EventRefusedError(r.reason, r.detail)
      }
    }
    return out
  }

  count (reason: RefusalReason, n = 1): void {
    if (n > 0) this.refused[reason] = (this.refused[reason] ?? 0) + n
  }
}

/** Add `from` into `into`. */
export function addCounts (into: RefusalCounts, from: RefusalCounts): void {
  for (const [reason, n] of Object.entries(from) as Array<[RefusalReason, number]>) into[reason] = (into[reason] ?? 0) + n
}
