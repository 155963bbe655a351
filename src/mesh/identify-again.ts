/**
 * libp2p identifies a connection once, when it opens, within 5 s, and never
 * again. Its registrar tells the protocols that keep a topology (meshmon's
 * gossip, gossipsub, the event log's sync) about a peer only once identify
 * succeeded, so a connection whose identify failed carries nothing for its
 * whole life: measured, 3 of 30 nodes starting on two cores stayed alone for
 * minutes, each connected to its bootstrap peer and hearing nothing on it.
 *
 * This identifies such a connection again, with a longer bound (a loaded host
 * is why the first try failed) and a growing wait between tries; one that
 * still fails is closed, so the keeper dials afresh. A sweep over the open
 * connections finds them: a timer per connection held closed connections
 * (and their buffers) for its delay, which the adversarial test of 10 000
 * throwaway identities saw as heap kept.
 */
import type { AbortOptions, Connection, IdentifyResult, Libp2p } from '@libp2p/interface'
import type { Logger } from 'pino'

/** What this needs of the identify service of @libp2p/identify */
export interface IdentifyService { identify: (connection: Connection, options?: AbortOptions) => Promise<unknown> }

export interface IdentifyAgainInit {
  /** after a connection opens, how long its identify has (the library's own bound is 5 s), ms @default 7000 */
  checkAfterMs?: number
  /** each try again's bound, ms @default 20_000 */
  timeoutMs?: number
  /** tries again before the connection is closed @default 3 */
  tries?: number
}

export class IdentifyAgain {
  readonly #libp2p: Libp2p
  readonly #identify: IdentifyService
  readonly #log: Logger
  readonly #init: Required<IdentifyAgainInit>
  /** connections identified (by the library or by a try again): weak, a closed connection is not held */
  readonly #identified = new WeakSet<Connection>()
  /** tries made on a connection, and when the next is due (unix ms, as the connection's timeline) */
  readonly #tries = new WeakMap<Connection, { tried: number, dueAt: number }>()
  readonly #busy = new WeakSet<Connection>()
  /** connections looked at once their identify had its time */
  readonly #seen = new WeakSet<Connection>()
  #timer?: NodeJS.Timeout
  /** connections looked at once their identify had its time; tries again that succeeded, that failed; connections closed after the last try */
  readonly stats = { checked: 0, succeeded: 0, failed: 0, closed: 0 }

  readonly #onIdentify = (evt: CustomEvent<IdentifyResult>): void => { this.#identified.add(evt.detail.connection) }

  constructor (libp2p: Libp2p, identify: IdentifyService, log: Logger, init: IdentifyAgainInit = {}) {
    this.#libp2p = libp2p
    this.#identify = identify
    this.#log = log
    this.#init = { checkAfterMs: 7000, timeoutMs: 20_000, tries: 3, ...init }
  }

  /** One timer for all connections, a sweep over the open ones: nothing holds a connection once it closed. */
  start (): void {
    this.#libp2p.addEventListener('peer:identify', this.#onIdentify)
    this.#timer = setInterval(() => { this.#sweep() }, Math.max(100, this.#init.checkAfterMs / 2))
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#libp2p.removeEventListener('peer:identify', this.#onIdentify)
  }

  #sweep (): void {
    const now = Date.now()
    const identifiedPeers = new Set<string>()
    const waiting: Connection[] = []
    for (const conn of this.#libp2p.getConnections()) {
      const due = conn.status === 'open' && now - conn.timeline.open >= this.#init.checkAfterMs
      if (due && !this.#seen.has(conn)) { this.#seen.add(conn); this.stats.checked++ }
      if (this.#identified.has(conn)) identifiedPeers.add(conn.remotePeer.toString())
      else if (due) waiting.push(conn)
    }
    for (const conn of waiting) {
      // identified on another connection to the peer: its protocols know of it
      if (identifiedPeers.has(conn.remotePeer.toString()) || this.#busy.has(conn)) continue
      let t = this.#tries.get(conn)
      if (t === undefined) this.#tries.set(conn, t = { tried: 0, dueAt: now })
      if (now >= t.dueAt) void this.#again(conn, t)
    }
  }

  async #again (conn: Connection, t: { tried: number, dueAt: number }): Promise<void> {
    const peer = conn.remotePeer.toString()
    this.#busy.add(conn)
    try {
      // on success the library announces the peer (peer:identify), and the registrar tells every topology
      await this.#identify.identify(conn, { signal: AbortSignal.timeout(this.#init.timeoutMs) })
      this.#identified.add(conn)
      this.stats.succeeded++
      this.#log.info({ peer, tries: t.tried + 1 }, 'identified a connection whose first identify had failed')
    } catch (err: any) {
      this.stats.failed++
      t.tried++
      if (this.#timer === undefined || conn.status !== 'open') return
      if (t.tried < this.#init.tries) {
        t.dueAt = Date.now() + this.#init.checkAfterMs * 2 ** t.tried
        this.#log.debug({ peer, err: err?.message, tries: t.tried }, 'identify failed again; trying later')
        return
      }
      this.stats.closed++
      this.#log.warn({ peer, err: err?.message, tries: t.tried }, 'a connection could not be identified: closed (it would carry nothing), the peer is dialled again')
      await conn.close({ signal: AbortSignal.timeout(2000) }).catch(() => { conn.abort(new Error('not identified')) })
    } finally {
      this.#busy.delete(conn)
    }
  }
}
