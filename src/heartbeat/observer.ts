/**
 * The watcher's side of liveness: for each peer this node watches (its ring
 * subjects), when a beat was last heard and what that says: 0 in time,
 * 1 late (`suspectAfter` intervals of silence), 2 silent past `downAfter`
 * intervals, 3 not heard yet. A change of level is reported in this node's
 * record, where the verdict (verdict.ts) of every node counts it as one vote.
 * A watcher that never heard a peer abstains (3): where some nodes cannot reach
 * others at all (TCP-only and WebSockets-only nodes, a firewall), it says
 * nothing of the peer, and the next nodes on the ring watch it instead.
 *
 * A hung host closes no socket, so only the silence of beats says anything
 * (libp2p noticed a SIGSTOPped peer after 5-15 s here). The clock is injected
 * and tick() is public, so every timing case runs deterministically.
 */
import { EventEmitter } from 'node:events'
import type { Obs, ObsLevel } from './record.js'

export interface ObserverInit {
  /** intervals of silence before a watched peer is late @default 1.5 */
  suspectAfter?: number
  /** intervals of silence before a watched peer is silent @default 2 */
  downAfter?: number
  monotonic?: () => number
}

interface Watch { boot: number, seq: number, iv: number, heardAt: number, level: ObsLevel }

export interface ObserverEvents {
  /** what this node reports of a watched peer changed */
  level: [{ peerId: string, level: ObsLevel, from: ObsLevel }]
}

/** A stall of this process longer than this was ours, not the peers' (GC, swap, SIGSTOP, a starved host). */
const OWN_STALL_MS = 500

export class Observer extends EventEmitter<ObserverEvents> {
  readonly #watches = new Map<string, Watch>()
  readonly #suspectAfter: number
  readonly #downAfter: number
  readonly #monotonic: () => number
  #graceUntil = 0
  #graceStarted = -Infinity

  constructor (init: ObserverInit = {}) {
    super()
    this.#suspectAfter = init.suspectAfter ?? 1.5
    this.#downAfter = init.downAfter ?? 2
    this.#monotonic = init.monotonic ?? (() => performance.now())
  }

  /** Start watching `peerId` (beating every `iv` ms): nothing is said of it until its first beat. */
  watch (peerId: string, iv: number): void {
    const w = this.#watches.get(peerId)
    if (w !== undefined) { w.iv = iv; return }
    this.#watches.set(peerId, { boot: 0, seq: 0, iv, heardAt: this.#monotonic(), level: 3 })
  }

  /** What this node says of one watched peer, if it watches it. */
  get (peerId: string): Obs | undefined {
    const w = this.#watches.get(peerId)
    return w === undefined ? undefined : [w.level, w.boot, w.seq]
  }

  unwatch (peerId: string): boolean { return this.#watches.delete(peerId) }

  watching (): string[] { return [...this.#watches.keys()] }

  /** A beat of `peerId` was heard (its boot and sequence number). Stale or replayed beats are ignored. */
  beat (peerId: string, boot: number, seq: number): void {
    const w = this.#watches.get(peerId)
    if (w === undefined || boot < w.boot || (boot === w.boot && seq <= w.seq)) return
    w.boot = boot
    w.seq = seq
    w.heardAt = this.#monotonic()
    this.#set(peerId, w, 0)
  }

  /** What this node reports of every peer it watches, for its record. */
  report (): Record<string, Obs> {
    const out: Record<string, Obs> = {}
    for (const [id, w] of this.#watches) out[id] = [w.level, w.boot, w.seq]
    return out
  }

  /**
   * Judge every watched peer. `lagMs` is how late this call runs against when
   * it was due: a late tick means this process stalled, and the beats queued
   * meanwhile get a moment to be read before anyone is blamed (at most one
   * grace per 10 s: on a host so loaded that every tick is late, a re-armed
   * grace would never judge anyone).
   */
  tick (lagMs = 0): void {
    const now = this.#monotonic()
    if (lagMs > OWN_STALL_MS && now - this.#graceStarted > 10_000) {
      this.#graceStarted = now
      this.#graceUntil = now + 1000
    }
    if (now < this.#graceUntil) return
    for (const [id, w] of this.#watches) {
      if (w.level === 3) continue
      const silent = now - w.heardAt
      this.#set(id, w, silent >= this.#downAfter * w.iv ? 2 : silent >= this.#suspectAfter * w.iv ? 1 : 0)
    }
  }

  /** Monotonic time when the next level could change (for the caller's timer); undefined when watching nobody. */
  nextDeadline (): number | undefined {
    let next: number | undefined
    for (const w of this.#watches.values()) {
      const due = w.level === 0 ? w.heardAt + this.#suspectAfter * w.iv : w.level === 1 ? w.heardAt + this.#downAfter * w.iv : undefined // silent or not heard yet: a beat changes it
      if (due !== undefined && (next === undefined || due < next)) next = due
    }
    return next === undefined ? undefined : Math.max(next, this.#graceUntil)
  }

  #set (peerId: string, w: Watch, level: ObsLevel): void {
    if (w.level === level) return
    const from = w.level
    w.level = level
    this.emit('level', { peerId, level, from })
  }
}
