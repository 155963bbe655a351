/**
 * Peers that break the event protocols: an index sync request or answer, or a
 * block request or answer, that is not JSON, of the wrong shape, or over its
 * size bound. Counted by protocol and reason (for /metrics), and logged once a
 * minute per peer and protocol, with how many more came meanwhile: a swarm
 * member sending garbage nonstop made each node write ~1300 warnings a minute
 * when every one was logged.
 */
import type { Logger } from 'pino'

export type EventProtocol = 'sync' | 'blocks'
export type ComplaintReason = 'malformed' | 'too_large'

/** refusals by "protocol reason" */
export type ComplaintCounts = Record<string, number>

const QUIET_MS = 60_000
/** peers whose last complaint is remembered; beyond, the oldest are forgotten (they may log again) */
const MAX_PEERS = 10_000

/** A read that failed because the peer's frame is over the bound (it-length-prefixed-stream's errors). */
export const isTooLarge = (err: unknown): boolean => {
  const name = (err as Error | undefined)?.name
  return name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError'
}

export class ProtocolComplaints {
  readonly counts: ComplaintCounts = {}
  readonly #log: Logger
  readonly #wall: () => number
  readonly #last = new Map<string, { at: number, more: number }>()

  constructor (log: Logger, wall: () => number = Date.now) {
    this.#log = log
    this.#wall = wall
  }

  complain (peer: string, protocol: EventProtocol, reason: ComplaintReason, detail: string, msg: string): void {
    const key = `${protocol} ${reason}`
    this.counts[key] = (this.counts[key] ?? 0) + 1
    const now = this.#wall()
    const last = this.#last.get(`${peer} ${protocol}`)
    if (last !== undefined && now - last.at < QUIET_MS) { last.more++; return }
    if (this.#last.size >= MAX_PEERS) this.#last.delete(this.#last.keys().next().value as string)
    this.#last.set(`${peer} ${protocol}`, { at: now, more: 0 })
    this.#log.warn({ peer, protocol, reason, err: detail, ...(last !== undefined && last.more > 0 ? { moreSinceLastLine: last.more } : {}) }, msg)
  }
}
