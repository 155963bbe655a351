/**
 * Who writes an event that many nodes saw (a peer gone down, a device gone
 * offline): one writer, chosen the same way on every node from its own peer
 * table, writes at once. If the event is still missing from the log later (the
 * writer died or was cut off), the next `backups` nodes in the same order
 * write it, the r-th once it has held its place for r x `fallbackMs`. The
 * order is worked out again at every check, so when writers die the next
 * nodes take their places, one at a time. An event still missing after
 * `fallbackForMs` (the nodes before this one may not have seen it: their view
 * of the subject differs) is written by the rest, one more every
 * `fallbackMs`, as a last resort: late, but not lost.
 *
 * Why so few: on a loaded host replication takes longer than the wait, so each
 * waiting node finds the event missing. A 30-node start on two cores wrote a
 * join 398 extra times when every observer fell back, and fetching those
 * entries kept every node busy for minutes.
 */
import type { Peer, PeerTable } from '../heartbeat/peer-table.js'

export interface WritersInit {
  /** how long the first backup waits before writing an event nobody wrote, ms @default 5000 */
  fallbackMs?: number
  /** nodes after the writer that write it in turn, one more every `fallbackMs` @default 3 */
  backups?: number
  /** when the nodes after the backups write an event still missing, one more every `fallbackMs`, ms @default 60000 */
  fallbackForMs?: number
}

/** may write: a suspect peer is slow (its host loaded), not known dead, and likely writes it itself */
const mayWrite = (p: Peer): boolean => p.state === 'up' || p.state === 'suspect'

/**
 * `self`'s place in the writers' order (0: the writer): `first` leads when it may write, then
 * every peer that may write, by peer id; `exclude` (the event's subject) never writes.
 * Undefined while `self` may not write itself.
 */
export function writerRank (table: PeerTable, self: string, o: { first?: string | null, exclude?: string } = {}): number | undefined {
  const me = table.get(self)
  if (me === undefined || !mayWrite(me) || self === o.exclude) return undefined
  const first = o.first != null && o.first !== o.exclude ? table.get(o.first) : undefined
  if (first !== undefined && mayWrite(first)) {
    if (first.peerId === self) return 0
    return 1 + before(table, self, o.exclude, first.peerId)
  }
  return before(table, self, o.exclude)
}

const before = (table: PeerTable, self: string, exclude?: string, skip?: string): number => {
  let n = 0
  for (const p of table.values()) if (mayWrite(p) && p.peerId < self && p.peerId !== exclude && p.peerId !== skip) n++
  return n
}

export class Writers {
  /** the first backup's wait, ms */
  readonly fallbackMs: number
  readonly #backups: number
  readonly #fallbackForMs: number
  readonly #timers = new Set<NodeJS.Timeout>()
  #stopped = false

  constructor (init: WritersInit = {}) {
    this.fallbackMs = init.fallbackMs ?? 5000
    this.#backups = init.backups ?? 3
    this.#fallbackForMs = init.fallbackForMs ?? 60_000
  }

  /**
   * An event this node saw: written at once if `rank()` is 0, else watched: every `fallbackMs`,
   * `held()` says whether the log has it; if not and this node's turn has come, `write(rank, true)`.
   * A node that is not live itself (not in its own table) stops watching after `fallbackForMs`.
   */
  record (rank: () => number | undefined, held: () => Promise<boolean>, write: (rank: number, fallback: boolean) => void): void {
    let r = rank()
    if (r === 0) { write(0, false); return }
    let heldMs = 0
    let watchedMs = 0
    const check = (): void => {
      watchedMs += this.fallbackMs
      held().then(has => {
        if (has || this.#stopped) return
        const now = rank()
        if (now === r) heldMs += this.fallbackMs
        else { r = now; heldMs = 0 }
        if (r !== undefined && ((r <= this.#backups && r * this.fallbackMs <= heldMs) || watchedMs >= this.#lastResort(r))) write(r, true)
        else if (r !== undefined || watchedMs < this.#fallbackForMs) this.#later(check)
      }, () => {})
    }
    this.#later(check)
  }

  /** when the r-th node writes an event still missing, whatever its turn */
  #lastResort (r: number): number { return this.#fallbackForMs + Math.max(0, r - this.#backups - 1) * this.fallbackMs }

  stop (): void {
    this.#stopped = true
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
  }

  #later (fn: () => void): void {
    const timer = setTimeout(() => { this.#timers.delete(timer); fn() }, this.fallbackMs)
    timer.unref()
    this.#timers.add(timer)
  }
}
