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
import { backoffDelay } from '../backoff.js'
import { connectedPeers } from '../connected.js'
import { LogThrottle } from '../log-throttle.js'
import type { Logger } from 'pino'
import { decodeGossip, decodeBeat, type InvalidReason } from './messages.js'
import type { GossipMessage, GossipTransport } from './gossip.js'
import type { ProbeAnswers } from './verdict.js'

export const GOSSIP_PROTOCOL = '/meshmon/gossip/2.0.0'
export const BEAT_PROTOCOL = '/meshmon/beat/2.0.0'
/** a stream that is opened and closed: the answer to "do you hear me?" when this node doubts its reach */
export const PROBE_PROTOCOL = '/meshmon/probe/2.0.0'
/** a peer that has not answered a probe in this long is taken as unreachable, ms */
const PROBE_TIMEOUT_MS = 1500
/** while this node runs late, its probes wait twice its lag longer, up to this much more, ms */
const PROBE_STRETCH_MAX_MS = 3500
/** a probe's bound that ends late (this process stalled) waits again for the answers queued meanwhile, at most this many times */
const PROBE_LATE_RETRIES = 3
/** once enough answered, peers whose answer decides their verdict get as long again as that took, at least this, ms */
const PROBE_GRACE_MIN_MS = 50
/** a dial that makes a new connection (a handshake) gets this long, ms */
const DIAL_TIMEOUT_MS = 5000
/** a gossip write that waits longer is given up: the peer's stream is stuck */
const WRITE_TIMEOUT_MS = 5000
/** a gossip message holds at most a few 64 KiB records or one digest of a very large mesh */
export const MAX_GOSSIP_BYTES = 1024 * 1024
const MAX_BEAT_BYTES = 64
/** beat streams this node serves; a node has k = 3 watchers, more during churn */
const MAX_WATCHERS = 64
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
  /** this node's watchers by the ring: their beat streams are taken even when the watcher slots are full */
  isWatcher?: (peer: string) => boolean
  /** beat streams served at once @default 64 */
  maxWatchers?: number
  /** false while this node runs late itself (own-lag.ts): then a probe's silence says nothing about the connection */
  mayHangUp?: () => boolean
  /** how late this node's own timers ran lately, ms (own-lag.ts): its probes wait longer by twice that */
  ownLagMs?: () => number
}

interface Out { lp?: Promise<LengthPrefixedStream<Stream>>, queued: number, chain: Promise<void> }

const encoder = new TextEncoder()
const reachedAnyway = (err: any): boolean => err?.name === 'UnsupportedProtocolError' ||
  [err, err?.cause, ...(Array.isArray(err?.errors) ? err.errors : [])].some((e: any) => e?.code === 'ECONNREFUSED')
const abortOf = (stream: Stream): void => { stream.abort(new Error('closed by meshmon')) }

/**
 * Calls `fn` once `ms` have passed with this process running. A timer that fires late says the process
 * stalled (a GC pause, a starved host), and the answers that arrived meanwhile wait unread in the sockets:
 * it waits as long again as it was late for them to be read, up to PROBE_LATE_RETRIES times. Returns a cancel.
 */
function patientDeadline (ms: number, fn: () => void): () => void {
  let retries = 0
  let timer: ReturnType<typeof setTimeout>
  const arm = (wait: number): void => {
    const due = performance.now() + wait
    timer = setTimeout(() => {
      const late = performance.now() - due
      if (late > 100 && retries++ < PROBE_LATE_RETRIES) arm(late)
      else fn()
    }, wait)
    timer.unref()
  }
  arm(ms)
  return () => { clearTimeout(timer) }
}

export class MeshStreams implements GossipTransport {
  readonly #c: StreamsComponents
  readonly #peers = new Set<string>()
  readonly #out = new Map<string, Out>()
  /** beat streams opened by our watchers, one per peer */
  readonly #watchers = new Map<string, LengthPrefixedStream<Stream>>()
  /** when each beat stream came, and when its last beat was written and done (monotonic ms): what a node found silent tells of itself */
  readonly #beatTimes = new WeakMap<LengthPrefixedStream<Stream>, { openedAt: number, sentAt?: number, doneAt?: number }>()
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

  /** a probe without a majority is said once a minute at most: a node cut off asks every 2 s */
  readonly #noMajorityLog: LogThrottle

  constructor (c: StreamsComponents) {
    this.#c = c
    this.#noMajorityLog = new LogThrottle(c.log, 60_000)
  }

  async start (): Promise<void> {
    this.#running = true
    const { libp2p } = this.#c
    await libp2p.handle(GOSSIP_PROTOCOL, ({ stream, connection }) => { void this.#readGossip(stream, connection.remotePeer.toString()) }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
    await libp2p.handle(PROBE_PROTOCOL, ({ stream }) => { stream.close().catch(() => { abortOf(stream) }) }, { maxInboundStreams: 2, maxOutboundStreams: 2 })
    await libp2p.handle(BEAT_PROTOCOL, ({ stream, connection }) => { this.#addWatcher(stream, connection.remotePeer.toString()) }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
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
    for (const lp of this.#watchers.values()) abortOf(lp.unwrap())
    this.#watchers.clear()
    await this.#c.libp2p.unhandle([GOSSIP_PROTOCOL, BEAT_PROTOCOL, PROBE_PROTOCOL]).catch(() => {})
  }

  peers (): string[] { return [...this.#peers] }

  /**
   * Every peer with a connection, identified yet or not: what the probe asks over its connection
   * rather than after a dial, so the verdict samples it in that group (verdict.ts)
   */
  connected (): Set<string> { return connectedPeers(this.#c.libp2p) }

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
        o.lp ??= this.#c.libp2p.dialProtocol(peerIdFromString(peer), GOSSIP_PROTOCOL, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
          .then(s => lpStream(s, { maxDataLength: MAX_GOSSIP_BYTES }))
        await (await o.lp).write(bytes, { signal: AbortSignal.timeout(WRITE_TIMEOUT_MS) })
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

  /**
   * A peer that opens a second beat stream replaces its first (a watcher reopening after a
   * break). Slots are bounded; when they are full, one of this node's own watchers takes the
   * slot of a peer that is not one: streams held by others (a member opening many, under many
   * identities) must not lock out the watchers whose silence would make this node `down`.
   */
  #addWatcher (stream: Stream, peer: string): void {
    const old = this.#watchers.get(peer)
    if (old !== undefined) { this.#watchers.delete(peer); abortOf(old.unwrap()) }
    if (this.#watchers.size >= (this.#c.maxWatchers ?? MAX_WATCHERS)) {
      const isWatcher = this.#c.isWatcher ?? (() => false)
      const evict = isWatcher(peer) ? [...this.#watchers.keys()].find(p => !isWatcher(p)) : undefined
      if (evict === undefined) { abortOf(stream); return }
      abortOf((this.#watchers.get(evict) as LengthPrefixedStream<Stream>).unwrap())
      this.#watchers.delete(evict)
    }
    const lp = lpStream(stream, { maxDataLength: MAX_BEAT_BYTES })
    this.#watchers.set(peer, lp)
    this.#beatTimes.set(lp, { openedAt: performance.now() })
    this.#firstBeat?.(lp, peer)
  }

  /** peers holding a beat stream to this node */
  get watcherCount (): number { return this.#watchers.size }

  /** The beat stream `peer` holds to this node, if any: how long ago it came, and its last beat was written and done, ms. */
  beatsTo (peer: string): { openedMsAgo: number, sentMsAgo?: number, doneMsAgo?: number } | undefined {
    const lp = this.#watchers.get(peer)
    const t = lp === undefined ? undefined : this.#beatTimes.get(lp)
    if (t === undefined) return undefined
    const now = performance.now()
    const ago = (at?: number): number | undefined => at === undefined ? undefined : Math.round(now - at)
    return { openedMsAgo: Math.round(now - t.openedAt), sentMsAgo: ago(t.sentAt), doneMsAgo: ago(t.doneAt) }
  }

  /** set by beat(): the current beat, sent at once to a watcher that just came, so it needs not wait an interval */
  #firstBeat?: (lp: LengthPrefixedStream<Stream>, peer: string) => void

  /** Send one beat to every peer watching this node. */
  beat (boot: number, seq: number): void {
    const bytes = encoder.encode(JSON.stringify([boot, seq]))
    const write = (lp: LengthPrefixedStream<Stream>, peer: string): void => {
      const times = this.#beatTimes.get(lp)
      if (times !== undefined) times.sentAt = performance.now()
      lp.write(bytes).then(() => { if (times !== undefined) times.doneAt = performance.now() }, () => {
        if (this.#watchers.get(peer) === lp) this.#watchers.delete(peer)
        abortOf(lp.unwrap())
      })
    }
    this.#firstBeat = write
    for (const [peer, lp] of this.#watchers) write(lp, peer)
  }

  /** Dial these peers if not connected (backing off as for beat streams): this node's watchers open their streams over the connection. */
  reach (peers: string[]): void {
    if (!this.#running) return
    const connected = connectedPeers(this.#c.libp2p)
    for (const peer of peers) {
      if (connected.has(peer) || this.#opening.has(peer)) continue
      const b = this.#backoff.get(peer)
      if (b !== undefined && b.until > Date.now()) continue
      this.#opening.add(peer)
      this.#c.libp2p.dial(peerIdFromString(peer), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).then(() => { this.#backoff.delete(peer) }, () => { this.#failed(peer) })
        .finally(() => { this.#opening.delete(peer) })
    }
  }

  /**
   * Open a probe stream to each peer (the protocol negotiation is a round trip over the
   * connection, or a dial without one). `alive` are those whose meshmon answered within the
   * bound; `reached` adds those whose host refused the connection (the network reaches them,
   * their meshmon is gone). It ends as soon as `reached` is `enough`, but waits a moment more
   * for the `awaited` peers still out: as long again as enough took, from 50 ms up to the
   * 1.5 s bound. A live peer answers about as fast as the others, a dead one never (a killed
   * one's host refuses at once), so this costs a hung peer's detection at most that.
   */
  async probe (peers: string[], enough: (reached: ReadonlySet<string>) => boolean, awaited: ReadonlySet<string> = new Set()): Promise<ProbeAnswers> {
    const alive = new Set<string>()
    const reached = new Set<string>()
    const silent: PeerId[] = []
    /** asked without a connection (a dial first), and why those that failed did */
    const dialled = new Set<string>()
    const dialErrors = new Map<string, number>()
    const ended = new AbortController()
    const { signal } = ended
    let cancel = (): void => {}
    let grace: ReturnType<typeof setTimeout> | undefined
    const started = performance.now()
    await new Promise<void>(resolve => {
      let pending = peers.length
      const out = new Set(peers.filter(p => awaited.has(p)))
      const settle = (): void => {
        if (pending === 0) { resolve(); return }
        if (!enough(reached)) return
        if (out.size === 0) { resolve(); return }
        if (grace !== undefined) return
        grace = setTimeout(resolve, Math.min(PROBE_TIMEOUT_MS, Math.max(PROBE_GRACE_MIN_MS, performance.now() - started)))
        grace.unref()
      }
      if (pending === 0 || enough(reached)) { resolve(); return }
      // the bound ends the negotiations still open; a dial that does not heed its signal (a dead connection
      // mid-negotiation) must not hold the answer either, so the probe ends 250 ms later regardless
      cancel = patientDeadline(this.probeBoundMs(), () => {
        ended.abort(new Error('probe unanswered'))
        cancel = patientDeadline(250, resolve)
      })
      for (const peer of peers) {
        const id = peerIdFromString(peer)
        // a peer without a connection is dialled within the dial's own bound, not the probe's: a handshake cut
        // at 1.5 s on a loaded host is wasted and tried again at the next probe (on two cores, 20 nodes kept
        // each other saturated that way); one that completes late serves the next probe
        const connected = this.#c.libp2p.getConnections(id).length > 0
        if (!connected) dialled.add(peer)
        const opened = connected
          ? this.#c.libp2p.dialProtocol(id, PROBE_PROTOCOL, { signal })
          : this.#c.libp2p.dial(id, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).then(async c => await c.newStream(PROBE_PROTOCOL, { signal }))
        opened
          .then(stream => { alive.add(peer); reached.add(peer); abortOf(stream) }, (err: any) => {
            // the question is whether the network reaches the peer: a host that refuses the connection (its
            // meshmon just died) or a peer that does not speak the probe (an older meshmon) answered
            if (reachedAnyway(err)) { reached.add(peer); return }
            silent.push(id)
            const name = String(err?.name ?? 'Error')
            // one ended by the bound is still dialling, not failed
            if (!connected && !signal.aborted) dialErrors.set(name, (dialErrors.get(name) ?? 0) + 1)
          })
          .finally(() => { pending--; out.delete(peer); settle() })
      }
    })
    cancel()
    clearTimeout(grace)
    // what is still negotiating when enough answered is not needed: ended, not left open
    ended.abort(new Error('probe over'))
    // the connections that carried nothing for the bound are likely dead (a cable out: TCP retries on a
    // timer that grows to minutes, and would stall them long after the cable is back, on either side of
    // a split), so they are closed and the next dial makes fresh ones
    const hungUp = this.closeSilent(silent)
    const tookMs = Math.round(performance.now() - started)
    const answers = { asked: peers.length, answered: reached.size, alive: alive.size, silent: silent.length, hungUp, tookMs }
    if (enough(reached)) this.#c.log.debug(answers, 'probed peers')
    else {
      // what decides whether this node takes itself for cut off: which peers did not answer, and why
      let dialledAnswered = 0
      for (const p of dialled) if (reached.has(p)) dialledAnswered++
      const failed = [...dialErrors.values()].reduce((a, b) => a + b, 0)
      const why = [...dialErrors].map(([name, n]) => `${n} ${name}`).join(', ')
      this.#noMajorityLog.warn('probe', { ...answers, dialled: dialled.size, dialledAnswered, dialErrors: Object.fromEntries(dialErrors) },
        `a probe found no majority: ${reached.size} of the ${peers.length} peers asked answered within ${tookMs} ms; ${dialled.size} of them had no connection (${dialledAnswered} answered, ${failed} failed${why === '' ? '' : `: ${why}`}, ${dialled.size - dialledAnswered - failed} still dialling)`)
    }
    return { reached: new Set(reached), alive: new Set(alive) }
  }

  /**
   * How long a probe waits for answers: PROBE_TIMEOUT_MS, and twice this node's own lag more. A node
   * that runs late reads its answers late, and its peers on the same starved host answer late: on two
   * cores busy with 20 nodes, probes bounded at 1.5 s found no majority on every node at once, and the
   * whole mesh took itself for the small side of a split for minutes, finding no failure down (Lifeguard's
   * local health awareness in memberlist stretches its probe timeouts the same way). A longer bound costs
   * only when answers do not come: a node really cut off says so a few seconds later, and pages nobody meanwhile.
   */
  probeBoundMs (): number {
    return PROBE_TIMEOUT_MS + Math.min(PROBE_STRETCH_MAX_MS, 2 * (this.#c.ownLagMs?.() ?? 0))
  }

  /**
   * Close the connections of peers found silent, unless this node runs late itself (`mayHangUp`):
   * then the silence may be its own, and the redials would cost the CPU it lacks. True if it closed.
   */
  closeSilent (peers: Array<PeerId | string>): boolean {
    if (peers.length === 0 || this.#c.mayHangUp?.() === false) return false
    for (const p of peers) {
      const id = typeof p === 'string' ? peerIdFromString(p) : p
      if (this.#c.libp2p.getConnections(id).length > 0) this.#c.libp2p.hangUp(id).catch(() => {})
    }
    return true
  }

  /** a peer this node cannot reach (another transport, a firewall) is not dialled twice a second */
  #failed (peer: string): number {
    const failures = (this.#backoff.get(peer)?.failures ?? 0) + 1
    const waitMs = backoffDelay(failures - 1, { initialMs: 200, maxMs: 30_000, jitter: 0.2 })
    this.#backoff.set(peer, { until: Date.now() + waitMs, failures })
    if (this.#backoff.size > 10_000) this.#backoff.delete(this.#backoff.keys().next().value as string)
    return waitMs
  }

  // --- beats: watcher side -------------------------------------------------

  /** Watch exactly these peers: open beat streams to new ones (and to those whose stream ended), close the rest. */
  watch (subjects: string[]): void {
    if (!this.#running) return
    const want = new Set(subjects)
    this.#subjects = want
    for (const [peer, stream] of this.#watching) {
      if (!want.has(peer)) { this.#watching.delete(peer); abortOf(stream) }
    }
    for (const peer of want) if (!this.#watching.has(peer) && !this.#opening.has(peer)) void this.#open(peer)
  }

  readonly #opening = new Set<string>()
  /** the subjects of the last watch() */
  #subjects = new Set<string>()

  /**
   * A peer is reachable again (others hear it: a healed split, a cable back): the beat stream that
   * failed meanwhile is opened now, not when its backoff ends. After a split of 20 s that backoff runs
   * to 6-12 s, and the watcher found the peer silent once more, back on the small side for seconds.
   */
  retry (peer: string): void {
    // the failures stay counted: if this open fails too, the next waits as long as it would have
    const b = this.#backoff.get(peer)
    if (b !== undefined) b.until = 0
    if (this.#running && this.#subjects.has(peer) && !this.#watching.has(peer) && !this.#opening.has(peer)) void this.#open(peer)
  }

  /** subjects whose beat stream could not be opened: not before `until`, then with a doubled wait */
  readonly #backoff = new Map<string, { until: number, failures: number }>()

  async #open (peer: string): Promise<void> {
    const b = this.#backoff.get(peer)
    if (b !== undefined && b.until > Date.now()) return
    this.#opening.add(peer)
    let stream: Stream
    try {
      stream = await this.#c.libp2p.dialProtocol(peerIdFromString(peer), BEAT_PROTOCOL, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
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
    } catch (err: any) {
      if (err?.name === 'InvalidDataLengthError' || err?.name === 'InvalidDataLengthLengthError') this.#c.onInvalid(peer, 'too_large', `a beat over ${MAX_BEAT_BYTES} bytes`)
    }
    // ended: the next watch() opens it again; meanwhile the silence counts
    if (this.#watching.get(peer) === stream) this.#watching.delete(peer)
    abortOf(stream)
  }
}
