/**
 * A peer's `down` as an incident: it opens when the peer goes down and ends
 * only once the peer has been back up for `recoverAfter`. A peer that goes
 * down again before then (a flapping link, a host that keeps crashing) stays in
 * the same incident: one `peer.down` event, one alert, firing through the
 * flapping, and one `peer.up` once it holds. The state shown flips at once;
 * what pages and what is recorded does not.
 *
 * A peer that leaves on purpose or is forgotten ends its incident at once. The
 * open incident is kept on the peer (`peer.incident`), where the alert rules
 * read it. The clock and the timer are injected, so every case runs
 * deterministically.
 */
import { EventEmitter } from 'node:events'
import type { Incident, Peer, PeerTable, Transition } from './peer-table.js'
import { realTimer, type SetTimer, type Timer } from './timer.js'
import type { PartitionView } from './verdict.js'

export type { Incident } from './peer-table.js'

export interface IncidentEvents {
  open: [{ peer: Peer, incident: Incident }]
  /** `recovered`: it held up for recoverAfter; otherwise it left or was forgotten */
  close: [{ peer: Peer, incident: Incident, recovered: boolean }]
}

export interface IncidentsInit {
  /** up this long before a down incident ends, ms @default 5000 */
  recoverAfterMs?: number
  wall?: () => number
  setTimer?: SetTimer
}

export class PeerIncidents extends EventEmitter<IncidentEvents> {
  readonly #table: PeerTable
  readonly #recoverAfterMs: number
  readonly #wall: () => number
  readonly #setTimer: SetTimer
  readonly #timers = new Map<string, Timer>()
  readonly #onTransition = (t: Transition): void => { this.#transition(t) }

  constructor (table: PeerTable, init: IncidentsInit = {}) {
    super()
    this.#table = table
    this.#recoverAfterMs = init.recoverAfterMs ?? 5000
    this.#wall = init.wall ?? Date.now
    this.#setTimer = init.setTimer ?? realTimer
  }

  start (): void { this.#table.on('transition', this.#onTransition) }

  stop (): void {
    this.#table.off('transition', this.#onTransition)
    for (const t of this.#timers.values()) t.cancel()
    this.#timers.clear()
  }

  #transition ({ peer, to }: Transition): void {
    if (peer.self) return
    const open = peer.incident
    if (to === 'down') {
      if (open === undefined) {
        peer.incident = { since: this.#wall(), key: peer.silentAt === undefined ? `${peer.boot}/${peer.seq}` : peer.silentAt.join('/') }
        this.emit('open', { peer, incident: peer.incident })
      } else {
        // down again before it held: the same incident goes on
        this.#timers.get(peer.peerId)?.cancel()
        this.#timers.delete(peer.peerId)
        delete open.recovering
      }
    } else if (open !== undefined && to === 'up' && open.recovering === undefined) {
      open.recovering = this.#wall()
      this.#timers.set(peer.peerId, this.#setTimer(() => { this.#close(peer, true) }, this.#recoverAfterMs))
    } else if (open !== undefined && (to === 'left' || to === null)) {
      this.#close(peer, false)
    }
  }

  #close (peer: Peer, recovered: boolean): void {
    const incident = peer.incident
    if (incident === undefined) return
    this.#timers.get(peer.peerId)?.cancel()
    this.#timers.delete(peer.peerId)
    peer.incident = undefined
    this.emit('close', { peer, incident, recovered })
  }
}

/**
 * This node's own cut-off or split as an incident, with the same damping: it
 * opens when the node finds itself on the small side (or alone) and ends only
 * once it has reached a majority for `recoverAfter`. A flapping cable is one
 * `MeshNodeIsolated` (or `MeshPartitioned`) and one pair of log lines, not one
 * per flap. `view()` is what pages: the live view, or the held one while the
 * node is back but not yet for long; `onChange` hears the damped transitions.
 *
 * Every node of the small side sends the same `MeshPartitioned`, and a node
 * back from it cannot tell whether the others are: a resolution sent while
 * one of them is still cut off would be undone by that one's next resend. So
 * the hold of a split also lasts while a peer it hears says it is still on
 * the small side (`othersSplit`, from the peers' records), and ends
 * `recoverAfter` after the last did (to a fifth of it).
 */
export type HeldPartition = PartitionView & { ending?: true }

/** the hold after a cut-off or split looks this many times over its recoverAfter */
const HOLD_CHECKS = 5

export class PartitionHold {
  readonly #recoverAfterMs: number
  readonly #setTimer: SetTimer
  readonly #onChange: (view: PartitionView) => void
  readonly #othersSplit: () => boolean
  /** the open incident's last minority view (its `since` is the incident's start) */
  #held?: PartitionView
  #timer?: Timer

  constructor (init: IncidentsInit & { onChange: (view: PartitionView) => void, othersSplit?: () => boolean }) {
    this.#recoverAfterMs = init.recoverAfterMs ?? 5000
    this.#setTimer = init.setTimer ?? realTimer
    this.#onChange = init.onChange
    this.#othersSplit = init.othersSplit ?? (() => false)
  }

  /** The live view changed. */
  update (view: PartitionView): void {
    if (view.minority) {
      this.#timer?.cancel()
      this.#timer = undefined
      const was = this.#held
      // once cut off within an incident, it stays the cut-off alert: a flapping cable is heard between
      // the drops, and must not turn one alert into two that take turns
      this.#held = { ...view, isolated: view.isolated || was?.isolated === true, since: was?.since ?? view.since }
      if (was === undefined || was.isolated !== this.#held.isolated) this.#onChange(this.#held)
      return
    }
    if (this.#held === undefined || this.#timer !== undefined) return
    // over once quiet for recoverAfter: back, and (for a split) no peer heard saying it is still on the small side
    const step = this.#recoverAfterMs / HOLD_CHECKS
    let quiet = 0
    const check = (): void => {
      // others of the small side still cut off: their alert is this one, held on until they are back
      quiet = this.#held?.isolated === false && this.#othersSplit() ? 0 : quiet + 1
      if (quiet < HOLD_CHECKS) { this.#timer = this.#setTimer(check, step); return }
      this.#timer = undefined
      this.#held = undefined
      this.#onChange(view)
    }
    this.#timer = this.#setTimer(check, step)
  }

  /**
   * What pages, given the live view. Back but held, it is `ending`: its alert is not sent again
   * (ledger.ts), so a node of the same side still cut off a moment longer, whose resends come
   * before this one's resolution, cannot reopen the alert they share in Alertmanager.
   */
  view (live: PartitionView): HeldPartition {
    const held = this.#held
    if (held === undefined) return live
    return live.minority ? { ...live, isolated: held.isolated, since: held.since } : { ...held, ending: true }
  }

  stop (): void { this.#timer?.cancel() }
}
