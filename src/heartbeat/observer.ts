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
 * A peer this node found silent and the mesh then found down stays in the
 * report as silent (retire()) until it lives again or is forgotten: dropping
 * it would take this watcher's vote away from nodes still judging it (one
 * waiting on its probe would find no watcher left and call the dead peer up).
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
/** silences of dead peers kept in the report, the latest ones: a record holds 64 observations at most */
const MAX_RETIRED = 16

export class Observer extends EventEmitter<ObserverEvents> {
  readonly #watches = new Map<string, Watch>()
  /** dead peers this node found silent: still reported, no longer watched (oldest first) */
  readonly #retired = new Map<string, Obs>()
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
    this.#retired.delete(peerId)
    this.#watches.set(peerId, { boot: 0, seq: 0, iv, heardAt: this.#monotonic(), level: 3 })
  }

  /** What this node says of one peer (watched, or retired silent), if anything. */
  get (peerId: string): Obs | undefined {
    const w = this.#watches.get(peerId)
    return w === undefined ? this.#retired.get(peerId) : [w.level, w.boot, w.seq]
  }

  /** Stop watching `peerId` (no longer one of this node's subjects); a retired silence stays. */
  unwatch (peerId: string): boolean { return this.#watches.delete(peerId) }

  /**
   * The mesh found `peerId` down or gone: stop watching it. If this node found it silent, that
   * silence stays in the report (a vote others may still be counting), its beats ignored.
   */
  retire (peerId: string): void {
    const w = this.#watches.get(peerId)
    if (w === undefined) return
    this.#watches.delete(peerId)
    if (w.level !== 2) return
    this.#retired.set(peerId, [2, w.boot, w.seq])
    for (const id of this.#retired.keys()) {
      if (this.#retired.size <= MAX_RETIRED) break
      this.#retired.delete(id)
    }
  }

  /**
   * `peerId` lives again (a newer record) or was forgotten: its old silence is dropped, and it is
   * watched afresh if it is a subject. True if there was one (the report changed).
   */
  release (peerId: string): boolean {
    const had = this.#retired.delete(peerId)
    this.#watches.delete(peerId)
    return had
  }

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

  /** What this node reports of every peer it watches, and of the dead ones it found silent, for its record. */
  report (): Record<string, Obs> {
    const out: Record<string, Obs> = {}
    for (const [id, o] of this.#retired) out[id] = o
    for (const [id, w] of this.#watches) out[id] = [w.level, w.boot, w.seq]
    return out
  }

  /** The levels of the peers it watches (not the retired). */
  levels (): ObsLevel[] { return [...this.#watches.values()].map(w => w.level) }

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
    for (const id of this.#watches.keys()) {
      const due = this.deadlineOf(id)
      if (due !== undefined && (next === undefined || due < next)) next = due
    }
    return next
  }

  /** Monotonic time when what this node says of `peerId` could change next; undefined while only a beat can change it (silent, not heard yet). */
  deadlineOf (peerId: string): number | undefined {
    const w = this.#watches.get(peerId)
    const due = w === undefined ? undefined : w.level === 0 ? w.heardAt + this.#suspectAfter * w.iv : w.level === 1 ? w.heardAt + this.#downAfter * w.iv : undefined
    return due === undefined ? undefined : Math.max(due, this.#graceUntil)
  }

  #set (peerId: string, w: Watch, level: ObsLevel): void {
    if (w.level === level) return
    const from = w.level
    w.level = level
    this.emit('level', { peerId, level, from })
  }
}
