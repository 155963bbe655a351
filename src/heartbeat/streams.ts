/**
 * Gossip and beats on direct libp2p streams. Noise already authenticates the
 * peer at the other end of a connection, so a beat needs no signature: a beat
 * stream is opened by the watcher, and whatever arrives on it comes from the
 * subject. Streams are long-lived (one per peer and direction) because opening
 * one costs a protocol negotiation; messages are length-prefixed JSON.
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream, type LengthPrefixedStream } from 'it-length-prefixed-stream'
import type { Logger } from 'pino'
import { decodeGossip, decodeBeat, type InvalidReason } from './messages.js'
import type { GossipMessage, GossipTransport } from './gossip.js'

export const GOSSIP_PROTOCOL = '/meshmon/gossip/2.0.0'
export const BEAT_PROTOCOL = '/meshmon/beat/2.0.0'
/** a gossip message holds at most a few 64 KiB records or one digest of a very large mesh */
export const MAX_GOSSIP_BYTES = 1024 * 1024
const MAX_BEAT_BYTES = 64
/** writes queued to a peer that does not read: beyond this, new messages to it are dropped (sync repairs) */
const MAX_QUEUED = 16

export interface StreamsComponents {
  libp2p: Libp2p
  log: Logger
  onGossip: (from: string, msg: GossipMessage) => void
  onConnect: (peer: string) => void
  onBeat: (from: string, boot: number, seq: number) => void
  onInvalid: (from: string, reason: InvalidReason, detail: string) => void
  /** bytes of every message received (gossip and beats) */
  onBytes?: (n: number) => void
}

interface Out { lp?: Promise<LengthPrefixedStream<Stream>>, queued: number, chain: Promise<void> }

const encoder = new TextEncoder()
const abortOf = (stream: Stream): void => { stream.abort(new Error('closed by meshmon')) }

export class MeshStreams implements GossipTransport {
  readonly #c: StreamsComponents
  readonly #peers = new Set<string>()
  readonly #out = new Map<string, Out>()
  /** beat streams opened by our watchers */
  readonly #watchers = new Set<LengthPrefixedStream<Stream>>()
  /** beat streams we opened to our subjects */
  readonly #watching = new Map<string, Stream>()
  #topology?: string
  #running = false
  readonly #olderSeen = new Set<string>()
  /** a meshmon that speaks no membership protocol 2 (its block exchange says it is one): said once per peer */
  readonly #onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    const { peerId, protocols } = evt.detail
    const id = peerId.toString()
    if (protocols.includes(GOSSIP_PROTOCOL) || !protocols.some(p => p.startsWith('/meshmon/')) || this.#olderSeen.has(id)) return
    if (this.#olderSeen.size > 10_000) this.#olderSeen.clear()
    this.#olderSeen.add(id)
    this.#c.log.warn({ peer: id, protocols: protocols.filter(p => p.startsWith('/meshmon/')) }, `peer ${id} runs an older meshmon (without ${GOSSIP_PROTOCOL}): it cannot take part in this mesh; upgrade it`)
  }

  constructor (c: StreamsComponents) { this.#c = c }

  async start (): Promise<void> {
    this.#running = true
    const { libp2p } = this.#c
    await libp2p.handle(GOSSIP_PROTOCOL, ({ stream, connection }) => { void this.#readGossip(stream, connection.remotePeer.toString()) }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
    await libp2p.handle(BEAT_PROTOCOL, ({ stream }) => { this.#addWatcher(stream) }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
    libp2p.addEventListener('peer:identify', this.#onIdentify as any)
    this.#topology = await libp2p.register(GOSSIP_PROTOCOL, {
      onConnect: (peer: PeerId) => {
        const id = peer.toString()
        if (this.#peers.has(id)) return
        this.#peers.add(id)
        this.#c.onConnect(id)
      },
      onDisconnect: (peer: PeerId) => {
        const id = peer.toString()
        this.#peers.delete(id)
        this.#out.delete(id)
      }
    })
  }

  async stop (): Promise<void> {
    this.#running = false
    if (this.#topology !== undefined) this.#c.libp2p.unregister(this.#topology)
    this.#c.libp2p.removeEventListener('peer:identify', this.#onIdentify as any)
    for (const s of this.#watching.values()) abortOf(s)
    this.#watching.clear()
    for (const lp of this.#watchers) abortOf(lp.unwrap())
    this.#watchers.clear()
    await this.#c.libp2p.unhandle([GOSSIP_PROTOCOL, BEAT_PROTOCOL]).catch(() => {})
  }

  peers (): string[] { return [...this.#peers] }

  send (peer: string, msg: GossipMessage): void {
    if (!this.#running) return
    let out = this.#out.get(peer)
    if (out === undefined) {
      out = { queued: 0, chain: Promise.resolve() }
      this.#out.set(peer, out)
    }
    if (out.queued >= MAX_QUEUED) return
    const o = out
    o.queued++
    const bytes = encoder.encode(JSON.stringify(msg))
    o.chain = o.chain.then(async () => {
      try {
        o.lp ??= this.#c.libp2p.dialProtocol(peerIdFromString(peer), GOSSIP_PROTOCOL, { signal: AbortSignal.timeout(5000) })
          .then(s => lpStream(s, { maxDataLength: MAX_GOSSIP_BYTES }))
        await (await o.lp).write(bytes, { signal: AbortSignal.timeout(5000) })
      } catch (err: any) {
        // the next message opens a new stream; what this one carried comes again (fresh records, sync)
        if (this.#out.get(peer) === o) this.#out.delete(peer)
        o.lp?.then(lp => { abortOf(lp.unwrap()) }, () => {})
        this.#c.log.debug({ peer, err: err?.message }, 'gossip not sent')
      } finally {
        o.queued--
      }
    })
  }

  async #readGossip (stream: Stream, from: string): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_GOSSIP_BYTES })
    try {
      while (this.#running) {
        const data = (await lp.read()).subarray()
        this.#c.onBytes?.(data.byteLength)
        const msg = decodeGossip(data)
        if (!msg.ok) {
          this.#c.onInvalid(from, msg.reason, msg.detail)
          abortOf(stream)
          return
        }
        this.#c.onGossip(from, msg.message)
      }
    } catch (err: any) {
      if (err?.name === 'InvalidDataLengthError') this.#c.onInvalid(from, 'too_large', err.message)
      abortOf(stream)
    }
  }

  // --- beats: subject side -------------------------------------------------

  #addWatcher (stream: Stream): void {
    if (this.#watchers.size >= 64) { abortOf(stream); return }
    const lp = lpStream(stream, { maxDataLength: MAX_BEAT_BYTES })
    this.#watchers.add(lp)
    this.#firstBeat?.(lp)
  }

  /** set by beat(): the current beat, sent at once to a watcher that just came, so it needs not wait an interval */
  #firstBeat?: (lp: LengthPrefixedStream<Stream>) => void

  /** Send one beat to every peer watching this node. */
  beat (boot: number, seq: number): void {
    const bytes = encoder.encode(JSON.stringify([boot, seq]))
    const write = (lp: LengthPrefixedStream<Stream>): void => {
      lp.write(bytes).catch(() => { this.#watchers.delete(lp); abortOf(lp.unwrap()) })
    }
    this.#firstBeat = write
    for (const lp of this.#watchers) write(lp)
  }

  /** Dial these peers if not connected (backing off as for beat streams): this node's watchers open their streams over the connection. */
  reach (peers: string[]): void {
    if (!this.#running) return
    const connected = new Set(this.#c.libp2p.getPeers().map(p => p.toString()))
    for (const peer of peers) {
      if (connected.has(peer) || this.#opening.has(peer)) continue
      const b = this.#backoff.get(peer)
      if (b !== undefined && b.until > Date.now()) continue
      this.#opening.add(peer)
      this.#c.libp2p.dial(peerIdFromString(peer), { signal: AbortSignal.timeout(5000) }).then(() => { this.#backoff.delete(peer) }, () => { this.#failed(peer) })
        .finally(() => { this.#opening.delete(peer) })
    }
  }

  /** a peer this node cannot reach (another transport, a firewall) is not dialled twice a second */
  #failed (peer: string): number {
    const b = this.#backoff.get(peer)
    const waitMs = Math.min(30_000, (b?.waitMs ?? 100) * 2)
    this.#backoff.set(peer, { until: Date.now() + waitMs, waitMs })
    if (this.#backoff.size > 10_000) this.#backoff.delete(this.#backoff.keys().next().value as string)
    return waitMs
  }

  // --- beats: watcher side -------------------------------------------------

  /** Watch exactly these peers: open beat streams to new ones (and to those whose stream ended), close the rest. */
  watch (subjects: string[]): void {
    if (!this.#running) return
    const want = new Set(subjects)
    for (const [peer, stream] of this.#watching) {
      if (!want.has(peer)) { this.#watching.delete(peer); abortOf(stream) }
    }
    for (const peer of want) if (!this.#watching.has(peer) && !this.#opening.has(peer)) void this.#open(peer)
  }

  readonly #opening = new Set<string>()
  /** subjects whose beat stream could not be opened: not before `until`, then with a doubled wait */
  readonly #backoff = new Map<string, { until: number, waitMs: number }>()

  async #open (peer: string): Promise<void> {
    const b = this.#backoff.get(peer)
    if (b !== undefined && b.until > Date.now()) return
    this.#opening.add(peer)
    let stream: Stream
    try {
      stream = await this.#c.libp2p.dialProtocol(peerIdFromString(peer), BEAT_PROTOCOL, { signal: AbortSignal.timeout(5000) })
      this.#backoff.delete(peer)
    } catch (err: any) {
      this.#c.log.debug({ peer, err: err?.message, retryInMs: this.#failed(peer) }, 'cannot open a beat stream')
      return
    } finally {
      this.#opening.delete(peer)
    }
    if (!this.#running) { abortOf(stream); return }
    this.#watching.set(peer, stream)
    const lp = lpStream(stream, { maxDataLength: MAX_BEAT_BYTES })
    try {
      while (this.#watching.get(peer) === stream) {
        const data = (await lp.read()).subarray()
        this.#c.onBytes?.(data.byteLength)
        const beat = decodeBeat(data)
        if (!beat.ok) { this.#c.onInvalid(peer, beat.reason, beat.detail); break }
        this.#c.onBeat(peer, beat.boot, beat.seq)
      }
    } catch {}
    // ended: the next watch() opens it again; meanwhile the silence counts
    if (this.#watching.get(peer) === stream) this.#watching.delete(peer)
    abortOf(stream)
  }
}
