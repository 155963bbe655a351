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
  setTimer?: (fn: () => void, ms: number) => { cancel: () => void }
}

export class PeerIncidents extends EventEmitter<IncidentEvents> {
  readonly #table: PeerTable
  readonly #recoverAfterMs: number
  readonly #wall: () => number
  readonly #setTimer: (fn: () => void, ms: number) => { cancel: () => void }
  readonly #timers = new Map<string, { cancel: () => void }>()
  readonly #onTransition = (t: Transition): void => { this.#transition(t) }

  constructor (table: PeerTable, init: IncidentsInit = {}) {
    super()
    this.#table = table
    this.#recoverAfterMs = init.recoverAfterMs ?? 5000
    this.#wall = init.wall ?? Date.now
    this.#setTimer = init.setTimer ?? ((fn, ms) => { const t = setTimeout(fn, ms); t.unref(); return { cancel: () => { clearTimeout(t) } } })
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
