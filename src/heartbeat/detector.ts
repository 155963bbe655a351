/**
 * Failure detector: heartbeat timeouts confirmed by the other peers' view.
 * A hung host closes no socket, so connection events can't be trusted for this
 * (STACK-NOTES: libp2p noticed a SIGSTOPped peer after 5-15 s).
 *
 *  - suspect: no heartbeat heard for suspectAfter x (the peer's) interval
 *  - down:    none for downAfter x interval, no live peer's digest says it
 *             heard a later beat of the peer within that time (indirect
 *             confirmation, so one broken link does not page anyone; a digest
 *             time within half an interval of our own is the same beat, read
 *             later), and at least half of
 *             the other live peers were heard an interval or more after the
 *             silent one's last beat (witnesses: the rest of the mesh went on
 *             beating, and this node went on reading it). Without witnesses,
 *             an overloaded node that reads its input seconds late sees every
 *             peer silent and nobody vouching: 20 nodes starting together on
 *             2 cores logged 44-140 false `down` transitions in their first
 *             minute, most by a few observers that each blamed 10-15 peers at
 *             once. With no other live peer to witness (a mesh of two, or all
 *             others silent too), a peer is called down after twice the window.
 *  - an `intermittent` peer that goes silent becomes `left`: shown, never alerted
 */
import type { Peer, PeerTable } from './peer-table.js'

export interface FailureDetectorInit {
  /** intervals of silence before `suspect` @default 1.5 */
  suspectAfter?: number
  /** intervals of silence, seen by nobody, before `down` @default 2 */
  downAfter?: number
  /** how often to judge, ms @default 100 */
  tickMs?: number
  /** a down/left peer unheard this long is forgotten, ms @default 3_600_000 */
  forgetAfterMs?: number
  monotonic?: () => number
}

export class FailureDetector {
  readonly #table: PeerTable
  readonly #suspectAfter: number
  readonly #downAfter: number
  readonly #tickMs: number
  readonly #forgetAfterMs: number
  readonly #monotonic: () => number
  #timer?: NodeJS.Timeout
  #lastTick = 0
  #graceUntil = 0
  #graceStarted = -Infinity

  constructor (table: PeerTable, init: FailureDetectorInit = {}) {
    this.#table = table
    this.#suspectAfter = init.suspectAfter ?? 1.5
    this.#downAfter = init.downAfter ?? 2
    this.#tickMs = init.tickMs ?? 100
    this.#forgetAfterMs = init.forgetAfterMs ?? 3_600_000
    this.#monotonic = init.monotonic ?? (() => performance.now())
  }

  start (): void {
    this.#lastTick = this.#monotonic()
    this.#timer = setInterval(() => { this.tick() }, this.#tickMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /**
   * At least half of the other live peers were heard an interval or more after
   * `peer`'s last beat (true when there are none to ask).
   */
  #witnessed (peer: Peer): boolean {
    let others = 0
    let witnesses = 0
    for (const w of this.#table.list()) {
      if (w.self || w === peer || (w.state !== 'up' && w.state !== 'suspect')) continue
      others++
      if (w.heardAt - peer.heardAt >= peer.interval) witnesses++
    }
    return witnesses * 2 >= others
  }

  /** One judgement over the table (public for tests that drive time). */
  tick (): void {
    const now = this.#monotonic()
    // If this process itself stalled (GC, swap, SIGSTOP), the silence was ours:
    // give the heartbeats queued meanwhile a moment to be read before judging.
    // At most one grace per 10 s: on a host so loaded that every tick is late, a
    // re-armed grace would never judge anyone (measured: 20 nodes on 2 cores).
    const lag = now - this.#lastTick - this.#tickMs
    this.#lastTick = now
    if (lag > 500 && now - this.#graceStarted > 10_000) {
      this.#graceStarted = now
      this.#graceUntil = now + Math.max(1000, this.#tickMs * 10)
    }
    for (const peer of this.#table.list()) {
      if (peer.self) continue
      const silent = now - peer.heardAt
      if (peer.state === 'down' || peer.state === 'left') {
        if (silent > this.#forgetAfterMs) this.#table.forget(peer)
        continue
      }
      if (now < this.#graceUntil) continue
      const downMs = this.#downAfter * peer.interval
      // A digest time within half an interval of our own is the beat we heard too, read later
      // by that peer or reaching us later (delivery lag): counted, the slowest of all the
      // peers' reports would delay every detection. Only a later time says the peer beat again.
      const heardByOthers = peer.heardIndirectAt - peer.heardAt >= peer.interval / 2 ? peer.heardIndirectAt : peer.heardAt
      if (silent > downMs && now - heardByOthers > downMs && (silent > 2 * downMs || this.#witnessed(peer))) {
        this.#table.setState(peer, peer.expect === 'intermittent' ? 'left' : 'down', 'silent')
      } else if (silent > this.#suspectAfter * peer.interval && peer.state === 'up') {
        this.#table.setState(peer, 'suspect', 'silent')
      }
    }
  }
}
