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
 * still fails is closed, so the keeper dials afresh.
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
  /** connections identified (by the library or by a try again) */
  readonly #identified = new WeakSet<Connection>()
  readonly #timers = new Set<NodeJS.Timeout>()
  #running = false
  /** connections looked at once their identify had its time; tries again that succeeded, that failed; connections closed after the last try */
  readonly stats = { checked: 0, succeeded: 0, failed: 0, closed: 0 }

  readonly #onIdentify = (evt: CustomEvent<IdentifyResult>): void => { this.#identified.add(evt.detail.connection) }
  readonly #onOpen = (evt: CustomEvent<Connection>): void => { this.#later(evt.detail, 0, this.#init.checkAfterMs) }

  constructor (libp2p: Libp2p, identify: IdentifyService, log: Logger, init: IdentifyAgainInit = {}) {
    this.#libp2p = libp2p
    this.#identify = identify
    this.#log = log
    this.#init = { checkAfterMs: 7000, timeoutMs: 20_000, tries: 3, ...init }
  }

  start (): void {
    this.#running = true
    this.#libp2p.addEventListener('peer:identify', this.#onIdentify)
    this.#libp2p.addEventListener('connection:open', this.#onOpen)
  }

  stop (): void {
    this.#running = false
    this.#libp2p.removeEventListener('peer:identify', this.#onIdentify)
    this.#libp2p.removeEventListener('connection:open', this.#onOpen)
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
  }

  #later (conn: Connection, tried: number, ms: number): void {
    if (!this.#running) return
    const t = setTimeout(() => { this.#timers.delete(t); void this.#check(conn, tried) }, ms)
    t.unref()
    this.#timers.add(t)
  }

  /** identified already (on this or another open connection to the peer), or closed: nothing to do */
  #settled (conn: Connection): boolean {
    return conn.status !== 'open' || this.#libp2p.getConnections(conn.remotePeer).some(c => this.#identified.has(c))
  }

  async #check (conn: Connection, tried: number): Promise<void> {
    if (!this.#running) return
    if (tried === 0) this.stats.checked++
    if (this.#settled(conn)) return
    const peer = conn.remotePeer.toString()
    try {
      // on success the library announces the peer (peer:identify), and the registrar tells every topology
      await this.#identify.identify(conn, { signal: AbortSignal.timeout(this.#init.timeoutMs) })
      this.#identified.add(conn)
      this.stats.succeeded++
      this.#log.info({ peer, tries: tried + 1 }, 'identified a connection whose first identify had failed')
      return
    } catch (err: any) {
      this.stats.failed++
      if (!this.#running || this.#settled(conn)) return
      if (tried + 1 < this.#init.tries) {
        this.#log.debug({ peer, err: err?.message, tries: tried + 1 }, 'identify failed again; trying later')
        this.#later(conn, tried + 1, this.#init.checkAfterMs * 2 ** (tried + 1))
        return
      }
      this.stats.closed++
      this.#log.warn({ peer, err: err?.message, tries: tried + 1 }, 'a connection could not be identified: closed (it would carry nothing), the peer is dialled again')
      await conn.close({ signal: AbortSignal.timeout(2000) }).catch(() => { conn.abort(new Error('not identified')) })
    }
  }
}
