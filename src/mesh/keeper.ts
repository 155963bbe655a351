/**
 * Connection keeper: libp2p 2 neither auto-dials discovered peers nor retries
 * bootstrap entries, so the mesh keeps its own degree: every tick,
 * while connected to fewer than `targetDegree` peers, dial bootstrap entries
 * (DNS names re-resolved) and peers remembered in the peer store (persisted in
 * the data dir, so a restarted node rejoins through peers it met before), each
 * address with exponential backoff. Failures are logged once per change of
 * cause, and a swarm key mismatch is told apart from an unreachable peer.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { backoffDelay } from '../backoff.js'
import { connectedPeers } from '../connected.js'
import { expandDns } from './dns.js'
import { describeDialError } from './dial-error.js'

export interface ConnectionKeeperInit {
  bootstrap: string[]
  /**
   * connected peers to aim for: enough random links for gossip to spread in a few hops and to
   * survive losing some, few enough that a node's cost does not grow with the mesh. Beat streams
   * add connections to a node's watchers and subjects on top. @default 8
   */
  targetDegree?: number
  /** dials started per scan, so a mesh starting at once is not one storm of handshakes @default 8 */
  maxDialsPerScan?: number
  /** @default 1000 */
  tickMs?: number
  /** @default 1000 */
  minBackoffMs?: number
  /** @default 30000 */
  maxBackoffMs?: number
  /** per dial @default 5000 */
  dialTimeoutMs?: number
}

interface Backoff { failures: number, until: number, lastCause?: string }

export class ConnectionKeeper {
  readonly #libp2p: Libp2p
  readonly #log: Logger
  readonly #init: Required<ConnectionKeeperInit>
  readonly #backoff = new Map<string, Backoff>()
  readonly #dialing = new Set<string>()
  /** bootstrap addresses without /p2p/<id>: the peer found there, so it is not dialed again while connected */
  readonly #learned = new Map<string, string>()
  #lastScan = 0
  #timer?: NodeJS.Timeout
  #shutdown?: AbortController
  #onDisconnect = (): void => { this.#soon() }

  constructor (libp2p: Libp2p, log: Logger, init: ConnectionKeeperInit) {
    this.#libp2p = libp2p
    this.#log = log
    this.#init = { targetDegree: 8, maxDialsPerScan: 8, tickMs: 1000, minBackoffMs: 1000, maxBackoffMs: 30_000, dialTimeoutMs: 5000, ...init }
  }

  start (): void {
    this.#shutdown = new AbortController()
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
    this.#loop()
  }

  /**
   * Every tick while this node has no connection; with some, every 5 ticks (a disconnect or new
   * addresses scan at once): every wake-up of an idle process costs ~0.2 ms on the VMs measured here.
   */
  #loop (): void {
    void this.tick().finally(() => {
      if (this.#shutdown?.signal.aborted !== false) return
      const idle = this.#libp2p.getConnections().length === 0
      this.#timer = setTimeout(() => { this.#loop() }, idle ? this.#init.tickMs : 5 * this.#init.tickMs)
    })
  }

  stop (): void {
    this.#shutdown?.abort()
    clearTimeout(this.#timer)
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect)
  }

  /** New addresses are known (e.g. from a heartbeat): scan now rather than at the next slow tick. */
  nudge (): void {
    this.#lastScan = 0
    this.#soon()
  }

  /**
   * The peer is reachable again (others hear it): its addresses are dialled at the next scan, not when
   * the backoff built up while it was away ends (up to maxBackoff).
   */
  retry (peerId: string): void {
    let due = false
    // the failures stay counted (and the cause, so success says "connected again"): if this dial
    // fails too, the next waits as long as it would have
    for (const [key, b] of this.#backoff) {
      if (b.until > 0 && (key.endsWith(`/p2p/${peerId}`) || this.#learned.get(key) === peerId)) { b.until = 0; due = true }
    }
    if (due) this.nudge()
  }

  #soon (): void {
    if (this.#shutdown?.signal.aborted === false) setTimeout(() => { void this.tick() }, 50).unref()
  }

  /** One round of dials when below the target degree. */
  async tick (): Promise<void> {
    const connected = connectedPeers(this.#libp2p)
    const wanted = Math.min(this.#init.targetDegree - connected.size, this.#init.maxDialsPerScan)
    if (wanted <= 0 || this.#shutdown?.signal.aborted !== false) return
    // a small mesh stays below the target for good: scan every tick only while isolated
    const now = Date.now()
    if (connected.size > 0 && now - this.#lastScan < 4 * this.#init.tickMs) return
    this.#lastScan = now
    const self = this.#libp2p.peerId.toString()
    const known = (ma: Multiaddr): string | undefined => ma.getPeerId() ?? this.#learned.get(ma.toString())
    const own = new Set(this.#libp2p.getMultiaddrs().map(a => a.decapsulateCode(421).toString()))
    const candidates: Multiaddr[] = []
    for (const entry of this.#init.bootstrap) {
      const ma = multiaddr(entry)
      const id = ma.getPeerId()
      if (id !== null && connected.has(id)) continue
      try {
        candidates.push(...(await expandDns(ma)).filter(a => !own.has(a.decapsulateCode(421).toString())))
      } catch (err: any) {
        this.#note(entry, `cannot resolve ${entry}: ${err.code ?? err.message}`)
      }
    }
    for (const peer of await this.#libp2p.peerStore.all()) {
      const id = peer.id.toString()
      if (id === self || connected.has(id)) continue
      for (const a of peer.addresses) candidates.push(a.multiaddr.getPeerId() === null ? a.multiaddr.encapsulate(`/p2p/${id}`) : a.multiaddr)
    }
    let started = 0
    for (const ma of candidates) {
      if (started >= wanted) break
      const key = ma.toString()
      const id = known(ma)
      if ((id !== undefined && (id === self || connected.has(id))) || this.#dialing.has(key)) continue
      if ((this.#backoff.get(key)?.until ?? 0) > Date.now()) continue
      started++
      void this.#dial(ma, key, connected)
    }
  }

  async #dial (ma: Multiaddr, key: string, connected: Set<string>): Promise<void> {
    this.#dialing.add(key)
    this.#log.debug({ addr: key }, 'dialing')
    const signal = AbortSignal.any([AbortSignal.timeout(this.#init.dialTimeoutMs), this.#shutdown?.signal ?? new AbortController().signal])
    try {
      const conn = await this.#libp2p.dial(ma, { signal })
      connected.add(conn.remotePeer.toString())
      if (ma.getPeerId() === null) this.#learned.set(key, conn.remotePeer.toString())
      const b = this.#backoff.get(key)
      if (b?.lastCause !== undefined) this.#log.info({ addr: key, peer: shortId(conn.remotePeer) }, 'connected again')
      this.#backoff.delete(key)
    } catch (err: any) {
      if (this.#shutdown?.signal.aborted === true) return
      // our own address in the bootstrap list (every node may share one list): never dial it again.
      // libp2p says so with InvalidPeerIdError, or from its dial queue with a plain DialError whose
      // message alone tells ("Tried to dial self")
      if (err?.name === 'InvalidPeerIdError' || /dial (ourselves|self)/i.test(String(err?.message))) {
        this.#learned.set(key, this.#libp2p.peerId.toString())
        return
      }
      const b = this.#backoff.get(key) ?? { failures: 0, until: 0 }
      b.failures++
      b.until = Date.now() + backoffDelay(b.failures - 1, { initialMs: this.#init.minBackoffMs, maxMs: this.#init.maxBackoffMs, jitter: 0.2 })
      this.#backoff.set(key, b)
      this.#log.debug({ addr: key, err: err?.message, retryInMs: Math.round(b.until - Date.now()) }, 'dial failed')
      this.#note(key, describeDialError(err, ma))
    } finally {
      this.#dialing.delete(key)
    }
  }

  /** Log a failure cause once, and again only when it changes. */
  #note (key: string, cause: string): void {
    const b = this.#backoff.get(key) ?? { failures: 1, until: 0 }
    if (b.lastCause !== cause) this.#log.warn({ addr: key }, cause)
    b.lastCause = cause
    this.#backoff.set(key, b)
  }
}

const shortId = (id: PeerId): string => id.toString().slice(-8)
