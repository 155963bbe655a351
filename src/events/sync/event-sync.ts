/**
 * Index sync: a peer that lacks events gets them from a neighbour's index in
 * bulk, without waiting for OrbitDB to replicate the entries that carry them.
 *
 * Why: OrbitDB replicates an entry at a time (fetch a block, verify its
 * signature, walk to the next). Events written one at a time, as a quiet mesh
 * writes them, become one entry each: measured here, a fresh peer took in
 * ~150 entries/s over the network and ~450/s even with every block already
 * local, so a 10k-event history took a minute or more. The same events as
 * JSON from a neighbour's index arrive in well under a second.
 *
 * OrbitDB stays the log of record: its replication runs as before and brings
 * the entries; the index keeps one event per id, so events that arrived both
 * ways are held once, and sync never replaces an incident held here. Only
 * swarm members can open this protocol (pnet), but a member is not trusted
 * further: every event must be signed by its source and within the bounds
 * (intake.ts), and a peer sends at most its quota. A bad message or event
 * ends the exchange and cuts the peer off (logged); what it sent before is
 * kept. The messages are in protocol.ts.
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from 'it-length-prefixed-stream'
import type { Logger } from 'pino'
import { isTooLarge, ProtocolComplaints } from '../complaints.js'
import { EVENT_BOUNDS } from '../trust/bounds.js'
import { EventRefusedError } from '../trust/check.js'
import type { SignedEvent } from '../types.js'
import { addCounts, Intake, type RefusalCounts } from './intake.js'
import { EXCHANGE_TIMEOUT_MS, MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES, parseJson, parseRequest, SYNC_PROTOCOL, SyncError } from './protocol.js'
import { PeerQuota, type QuotaInit } from './quota.js'

export { SYNC_PROTOCOL } from './protocol.js'

const enc = new TextEncoder()

export interface SyncStore {
  /** per bucket: events held and a digest of which */
  bucketSummaries: (bucketMs: number, notBefore: number, notAfter: number) => Promise<Map<number, { n: number, digest: string }>>
  eventTexts: (bucketMs: number, buckets: Set<number>, notBefore: number, notAfter: number) => AsyncIterable<string[]>
  /** index events, never replacing a held id; how many were new, and how many would have replaced one */
  ingest: (events: SignedEvent[]) => Promise<{ added: number, replaces: number }>
}

export interface SyncStats {
  /** exchanges this node started that completed */
  exchanges: number
  /** events received from peers' indexes that were new here */
  added: number
  /** events sent to peers */
  served: number
  /** exchanges that failed (peer gone, timeout, bad message, refused event) */
  failed: number
  /** events refused, by reason */
  refused: RefusalCounts
  /** times a peer was cut off (a bad event, or its quota passed) */
  cutOff: number
}

export interface EventSyncComponents {
  libp2p: Libp2p
  store: SyncStore
  log: Logger
  /** where peers that break the protocol are counted and logged @default its own */
  complaints?: ProtocolComplaints
}

export interface EventSyncInit {
  retentionMs: number
  /** bucket length: the log's period */
  bucketMs: number
  /** events one peer may send per window (quota.ts) */
  quota?: QuotaInit
  /**
   * besides each new connection, an exchange with one random connected peer this often: what the
   * log's own announcements missed (a connection closed and made again, a gossip mesh forming)
   * arrives within it @default 30000
   */
  everyMs?: number
}

export class EventSync {
  readonly stats: SyncStats = { exchanges: 0, added: 0, served: 0, failed: 0, refused: {}, cutOff: 0 }
  readonly #c: EventSyncComponents
  readonly #init: EventSyncInit
  readonly #quota: PeerQuota
  readonly #complaints: ProtocolComplaints
  readonly #queue: PeerId[] = []
  readonly #queued = new Set<string>()
  readonly #stop = new AbortController()
  #running?: Promise<void>
  #draining = false
  #started = false
  #every?: NodeJS.Timeout
  readonly #onConnect = (evt: CustomEvent<PeerId>): void => { this.enqueue(evt.detail) }

  constructor (components: EventSyncComponents, init: EventSyncInit) {
    this.#c = components
    this.#init = init
    this.#quota = new PeerQuota(init.quota)
    this.#complaints = components.complaints ?? new ProtocolComplaints(components.log)
  }

  async start (): Promise<void> {
    await this.#c.libp2p.handle(SYNC_PROTOCOL, ({ stream, connection }) => { void this.#serve(stream, connection.remotePeer.toString()) }, { maxInboundStreams: 4, maxOutboundStreams: 2 })
    this.#started = true
    this.#c.libp2p.addEventListener('peer:connect', this.#onConnect)
    for (const peer of this.#c.libp2p.getPeers()) this.enqueue(peer)
    this.#every = setInterval(() => {
      const peers = this.#c.libp2p.getPeers()
      const peer = peers[Math.floor(Math.random() * peers.length)]
      if (peer !== undefined) this.enqueue(peer)
    }, this.#init.everyMs ?? 30_000)
    this.#every.unref()
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    clearInterval(this.#every)
    this.#c.libp2p.removeEventListener('peer:connect', this.#onConnect)
    this.#stop.abort()
    await this.#c.libp2p.unhandle(SYNC_PROTOCOL).catch(() => {})
    await this.#running
  }

  /** Ask this peer for what it holds more of; one peer at a time. */
  enqueue (peer: PeerId): void {
    const id = peer.toString()
    if (!this.#started || this.#queued.has(id)) return
    this.#queued.add(id)
    this.#queue.push(peer)
    if (!this.#draining) {
      this.#draining = true
      this.#running = this.#drain()
    }
  }

  async #drain (): Promise<void> {
    try {
      for (let peer = this.#queue.shift(); peer !== undefined && this.#started; peer = this.#queue.shift()) {
        const id = peer.toString()
        this.#queued.delete(id)
        // gone meanwhile: nothing to ask (its next connection queues it again)
        if (this.#c.libp2p.getConnections(peer).length === 0) continue
        if (this.#quota.isCutOff(id)) this.#c.log.debug({ peer: id }, 'index sync skipped: the peer is cut off until its quota window ends')
        else await this.syncWith(peer).catch(() => {})
      }
    } finally {
      // in the same turn as the last look at the queue: an enqueue after this starts a new drain
      this.#draining = false
    }
  }

  /** One exchange as the asking side; returns the number of new events. */
  async syncWith (peer: PeerId): Promise<number> {
    const signal = this.#exchangeSignal()
    const t0 = performance.now()
    const id = peer.toString()
    let stream: Stream | undefined
    let added = 0
    let received = 0
    const now = Date.now()
    const notBefore = now - this.#init.retentionMs
    const intake = new Intake(id, this.#quota, { now, notBefore })
    try {
      const held = await this.#c.store.bucketSummaries(this.#init.bucketMs, notBefore, now + EVENT_BOUNDS.futureMs)
      stream = await this.#c.libp2p.dialProtocol(peer, SYNC_PROTOCOL, { signal })
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
      const request = {
        v: 1,
        bucketMs: this.#init.bucketMs,
        notBefore: new Date(notBefore).toISOString(),
        counts: Object.fromEntries([...held].map(([b, s]) => [b, s.n])),
        digests: Object.fromEntries([...held].map(([b, s]) => [b, s.digest]))
      }
      await lp.write(enc.encode(JSON.stringify(request)), { signal })
      for (;;) {
        const msg = parseJson((await lp.read({ signal })).subarray(), 'answer')
        if (msg.done === true) break
        if (!Array.isArray(msg.events)) throw new SyncError('answer has neither events nor done')
        received += msg.events.length
        const events = await intake.take(msg.events)
        if (events.length === 0) continue
        const r = await this.#c.store.ingest(events)
        added += r.added
        intake.count('replaces', r.replaces)
      }
      await stream.close({ signal })
      this.stats.exchanges++
      const ms = Math.round(performance.now() - t0)
      if (added > 0) this.#c.log.info({ peer: id, added, received, ms }, 'events caught up from a peer\'s index')
      if (Object.keys(intake.refused).length > 0) this.#c.log.info({ peer: id, refused: intake.refused }, 'events from a peer\'s index refused: past the retention, or another version of an incident held here')
      return added
    } catch (err: any) {
      this.stats.failed++
      stream?.abort(err)
      if (err instanceof EventRefusedError) {
        this.stats.cutOff++
        this.#c.log.warn({ peer: id, reason: err.reason, err: err.message, added }, 'peer cut off from index sync: it sent an event this node refuses (what it sent before is kept)')
      } else {
        this.#ended(err, id, { added }, 'event index sync with a peer ended early')
      }
      throw err
    } finally {
      this.stats.added += added
      addCounts(this.stats.refused, intake.refused)
    }
  }

  async #serve (stream: Stream, peer: string): Promise<void> {
    const signal = this.#exchangeSignal()
    let sent = 0
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES })
      const req = parseRequest((await lp.read({ signal })).subarray())
      const notBefore = Math.max(req.notBefore, Date.now() - this.#init.retentionMs)
      const notAfter = Date.now() + EVENT_BOUNDS.futureMs
      const ours = await this.#c.store.bucketSummaries(req.bucketMs, notBefore, notAfter)
      // a bucket holding more here, or as many but not the same (the two sides of a healed split each
      // wrote their own): the asker keeps one event per id, so what it held already costs only bytes
      const differs = (b: number, s: { n: number, digest: string }): boolean =>
        s.n > (req.counts.get(b) ?? 0) || (req.digests !== undefined && s.digest !== req.digests.get(b))
      const buckets = new Set([...ours].filter(([b, s]) => differs(b, s)).map(([b]) => b))
      if (buckets.size > 0) {
        // up to 500 events a message, and never near the reader's 4 MiB limit
        let chunk: string[] = []
        let bytes = 0
        const flush = async (): Promise<void> => {
          await lp.write(enc.encode(`{"events":[${chunk.join(',')}]}`), { signal })
          sent += chunk.length
          chunk = []
          bytes = 0
        }
        for await (const texts of this.#c.store.eventTexts(req.bucketMs, buckets, notBefore, notAfter)) {
          for (const text of texts) {
            if (bytes + text.length * 3 > MAX_MESSAGE_BYTES / 4 && chunk.length > 0) await flush()
            chunk.push(text)
            bytes += text.length * 3
            if (chunk.length >= 500) await flush()
          }
        }
        if (chunk.length > 0) await flush()
      }
      await lp.write(enc.encode(JSON.stringify({ done: true, sent })), { signal })
      await stream.close({ signal })
      this.stats.served += sent
    } catch (err: any) {
      stream.abort(err)
      this.#ended(err, peer, { sent }, 'event index sync request not answered')
    }
  }

  /** an exchange ends at stop or after EXCHANGE_TIMEOUT_MS */
  #exchangeSignal (): AbortSignal {
    return AbortSignal.any([this.#stop.signal, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)])
  }

  /** a peer's bad message is counted and complained of; a peer gone or slow is only a debug line; nothing at stop */
  #ended (err: Error, peer: string, fields: Record<string, unknown>, msg: string): void {
    if (this.#stop.signal.aborted) return
    if (err instanceof SyncError || isTooLarge(err)) this.#complaints.complain(peer, 'sync', isTooLarge(err) ? 'too_large' : 'malformed', err.message, `${msg}: the peer broke the protocol`)
    else this.#c.log.debug({ peer, ...fields, err: err.message }, msg)
  }
}
