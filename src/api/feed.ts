/**
 * The live feed behind `GET /api/v1/stream`: what the web page (or any
 * client) needs to follow the mesh without polling. Each stream gets a
 * snapshot when it opens, then only changes, taken from the peer table's
 * typed events, the alert rules and the event log as they happen, coalesced
 * into at most one message of each kind per `minGapMs`. Every message is
 * built once and written to all streams, so an open tab costs a socket and a
 * bounded queue, never a timer or a query of its own.
 */
import type { Logger } from 'pino'
import type { Alert } from '../alerts/index.js'
import type { MeshEvent } from '../events/types.js'
import type { Peer, PeerTable } from '../heartbeat/peer-table.js'
import { peerViews } from './peers.js'
import { sseComment, sseFrame, SseStream } from './sse.js'

export interface FeedComponents {
  table: PeerTable
  /** the alerts this node derives from the mesh now */
  alerts: () => Alert[]
  /** the newest events, newest first */
  recentEvents: (limit: number) => Promise<MeshEvent[]>
  /** calls back with events new to this node; returns the unsubscribe */
  onEvents: (listener: (events: MeshEvent[]) => void) => () => void
  log: Logger
}

export interface FeedInit {
  /** at most one message of each kind per this many ms; the first change after a quiet spell goes at once @default 250 */
  minGapMs?: number
  /** a comment this often keeps proxies and the page's watchdog from closing an idle stream, ms @default 15_000 */
  keepAliveMs?: number
  /** streams open at once; one more is refused (503) @default 100 */
  maxStreams?: number
  /** bytes queued for a stream that does not read before it is dropped @default 1_048_576 */
  maxBufferBytes?: number
  /** events in the snapshot, and most events in one message @default 50 */
  recentEvents?: number
  monotonic?: () => number
}

export class StreamUnavailableError extends Error {
  override name = 'StreamUnavailableError'
}

interface Client {
  stream: SseStream
  /** set until its snapshot is sent: events that arrived meanwhile, so none falls between the two */
  missed?: MeshEvent[]
}

export class MeshFeed {
  readonly #c: FeedComponents
  readonly #minGapMs: number
  readonly #keepAliveMs: number
  readonly #maxStreams: number
  readonly #maxBufferBytes: number
  readonly #recent: number
  readonly #monotonic: () => number
  readonly #clients = new Set<Client>()
  readonly #changed = new Map<string, Peer>()
  readonly #removed = new Set<string>()
  #newEvents: MeshEvent[] = []
  #meshChanged = false
  #lastAlerts = '[]'
  #lastFlush = -Infinity
  #timer?: NodeJS.Timeout
  #keepAlive?: NodeJS.Timeout
  #unsubscribe: Array<() => void> = []

  constructor (components: FeedComponents, init: FeedInit = {}) {
    this.#c = components
    this.#minGapMs = init.minGapMs ?? 250
    this.#keepAliveMs = init.keepAliveMs ?? 15_000
    this.#maxStreams = init.maxStreams ?? 100
    this.#maxBufferBytes = init.maxBufferBytes ?? 1_048_576
    this.#recent = init.recentEvents ?? 50
    this.#monotonic = init.monotonic ?? (() => performance.now())
  }

  get streams (): number { return this.#clients.size }

  start (): void {
    if (this.#unsubscribe.length > 0) return
    const { table } = this.#c
    const peerChanged = (peer: Peer): void => { this.#removed.delete(peer.peerId); this.#changed.set(peer.peerId, peer); this.#meshChanged = true; this.#schedule() }
    const onTransition = ({ peer, to }: { peer: Peer, to: string | null }): void => {
      if (to !== null) { peerChanged(peer); return }
      this.#changed.delete(peer.peerId)
      this.#removed.add(peer.peerId)
      this.#meshChanged = true
      this.#schedule()
    }
    const onCheck = ({ peer }: { peer: Peer }): void => { peerChanged(peer) }
    table.on('transition', onTransition)
    table.on('check', onCheck)
    table.on('full', peerChanged)
    table.on('addrs', peerChanged)
    const offEvents = this.#c.onEvents(events => { this.#eventsAdded(events) })
    this.#unsubscribe = [
      () => { table.off('transition', onTransition); table.off('check', onCheck); table.off('full', peerChanged); table.off('addrs', peerChanged) },
      offEvents
    ]
    this.#lastAlerts = JSON.stringify(this.#c.alerts())
    this.#keepAlive = setInterval(() => { this.#broadcast(sseComment('keep-alive')) }, this.#keepAliveMs)
    this.#keepAlive.unref()
  }

  /** Ends every stream (their pages reconnect to another node or when this one is back). */
  stop (): void {
    for (const off of this.#unsubscribe) off()
    this.#unsubscribe = []
    clearTimeout(this.#timer)
    clearInterval(this.#keepAlive)
    this.#timer = this.#keepAlive = undefined
    for (const client of [...this.#clients]) client.stream.close()
  }

  /**
   * A new stream: its snapshot follows as soon as the recent events are read.
   * `abort` cuts the connection if it falls too far behind (see SseStream).
   */
  open (abort?: () => void): ReadableStream<Uint8Array> {
    if (this.#unsubscribe.length === 0) throw new StreamUnavailableError('the live stream is not running (the node is starting or stopping)')
    if (this.#clients.size >= this.#maxStreams) {
      throw new StreamUnavailableError(`${this.#maxStreams} live streams are open on this node, the most it serves; close a tab or open the page on another peer`)
    }
    const client: Client = { missed: [], stream: new SseStream({ maxBufferBytes: this.#maxBufferBytes, onClose: () => { this.#clients.delete(client) }, abort }) }
    this.#clients.add(client)
    this.#snapshot(client).catch((err: any) => {
      this.#c.log.error({ err: err?.message }, 'live stream snapshot failed: stream closed')
      client.stream.close()
    })
    return client.stream.readable
  }

  /** Send what changed since the last flush (the coalescing timer calls this; public for tests). */
  flush (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#clients.size === 0) { this.#forgetPending(); return }
    this.#lastFlush = this.#monotonic()
    const now = Date.now()
    if (this.#changed.size > 0 || this.#removed.size > 0) {
      const changed = peerViews([...this.#changed.values()])
      this.#broadcast(sseFrame('peers', { now, changed, removed: [...this.#removed] }))
      this.#changed.clear()
      this.#removed.clear()
    }
    if (this.#meshChanged) {
      this.#meshChanged = false
      const alerts = this.#c.alerts()
      const text = JSON.stringify(alerts)
      if (text !== this.#lastAlerts) {
        this.#lastAlerts = text
        this.#broadcast(sseFrame('alerts', { now, alerts }))
      }
    }
    if (this.#newEvents.length > 0) {
      this.#broadcast(sseFrame('events', { now, events: this.#newEvents }))
      this.#newEvents = []
    }
  }

  #forgetPending (): void {
    this.#changed.clear()
    this.#removed.clear()
    this.#newEvents = []
    this.#meshChanged = false
    // the alerts went unwatched: whatever the next reader's snapshot says, the next change is sent
    this.#lastAlerts = ''
  }

  /** ms until the next flush may go out (0: now) */
  nextFlushIn (): number { return Math.max(0, this.#lastFlush + this.#minGapMs - this.#monotonic()) }

  #schedule (): void {
    // nobody is reading: a page that opens gets a snapshot. Measured 1% of a settled node's CPU (a mesh
    // of 10) in building messages for no one
    if (this.#clients.size === 0) { this.#forgetPending(); return }
    if (this.#timer !== undefined || this.#unsubscribe.length === 0) return
    // even at 0 ms this waits for the current burst of table events to end
    this.#timer = setTimeout(() => {
      try { this.flush() } catch (err: any) { this.#c.log.error({ err: err?.message }, 'live stream update failed') }
    }, this.nextFlushIn())
  }

  #eventsAdded (events: MeshEvent[]): void {
    const newest = [...events].sort((a, b) => a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0)
    this.#newEvents = [...newest, ...this.#newEvents].slice(0, this.#recent)
    for (const client of this.#clients) {
      if (client.missed !== undefined) client.missed = [...newest, ...client.missed].slice(0, this.#recent)
    }
    this.#schedule()
  }

  async #snapshot (client: Client): Promise<void> {
    let events: MeshEvent[] = []
    try {
      events = await this.#c.recentEvents(this.#recent)
    } catch (err: any) {
      this.#c.log.warn({ err: err?.message }, 'live stream snapshot without events: the event log did not answer')
    }
    if (!client.stream.open) return
    const ids = new Set<string>()
    const merged = [...(client.missed ?? []), ...events].filter(e => !ids.has(e.id) && ids.add(e.id))
    merged.sort((a, b) => a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0)
    client.missed = undefined
    const peers = peerViews(this.#c.table.list())
    // one chunk with the reconnect delay first: the first chunk is never held against the stream's bound
    this.#send(client, sseFrame('snapshot', { now: Date.now(), peers, alerts: this.#c.alerts(), events: merged.slice(0, this.#recent) }, 2000))
  }

  #broadcast (chunk: Uint8Array): void {
    for (const client of this.#clients) if (client.missed === undefined) this.#send(client, chunk)
  }

  #send (client: Client, chunk: Uint8Array): void {
    const queued = client.stream.queued
    // false with bytes still queued: dropped now for not reading (false with none: it had closed)
    if (!client.stream.send(chunk) && queued > 0) {
      this.#c.log.info({ queued, streams: this.#clients.size }, 'live stream dropped: its client did not keep up')
    }
  }
}
