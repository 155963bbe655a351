/**
 * How records spread: epidemic push of fresh items plus push-pull sync, in the
 * manner of hashicorp/memberlist (Serf). Each round, a node sends one batch of
 * its fresh records to `fanout` random connected peers; a record new to a node
 * becomes fresh there for `transmits` sends (~ln N + 2, so each node receives a
 * record a handful of times, and the mesh converges in O(log N) rounds); an
 * urgent record (a peer found silent, a check change, a goodbye) is flooded at
 * once to every connected peer instead of waiting for the next round. On every new connection, and every `syncMs`
 * with one random peer, two nodes swap a digest of what they hold and send
 * each other what the other lacks: a new node learns the whole mesh at once,
 * and nothing missed stays missed.
 *
 * So a node sends and receives a few messages a second whatever the size of
 * the mesh; what grows with N is their size. Transport, clock, timers and the
 * random source are injected: the same code runs on libp2p streams
 * (streams.ts) and in the protocol simulation (bench/sim.ts).
 */

import { realTimer, type SetTimer, type Timer } from './timer.js'

/** A signed record as it travels: origin, its (boot, seq), the record's JSON, the origin's signature of it. */
export interface Envelope {
  o: string
  b: number
  q: number
  r: string
  s: string
  /** urgent: forward at once (unsigned; a relay that flips it only changes how fast the record spreads) */
  u?: 1
}

export type GossipMessage =
  | { k: 'push', items: Envelope[] }
  | { k: 'sync', have: Record<string, [number, number]>, reply?: 1 }

export interface GossipTransport {
  /** connected peers that speak this protocol */
  peers: () => string[]
  /** fire and forget; a message that cannot be sent is dropped (sync repairs it) */
  send: (peer: string, msg: GossipMessage) => void
}

/** The judgement of an envelope that is newer than what is held: apply it, or refuse it (and why). */
export type Admission = { ok: true } | { ok: false, reason: string, detail: string }

export interface GossipComponents {
  transport: GossipTransport
  /** check an envelope's signature and record and apply it; called only for envelopes newer than held */
  admit: (env: Envelope) => Admission
  /** a peer sent something that was refused */
  onRefused?: (from: string, reason: string, detail: string) => void
  /** time and timers: real ones by default, virtual ones in the simulation */
  monotonic?: () => number
  setTimer?: SetTimer
  random?: () => number
}

export interface GossipInit {
  /** peers a round sends to @default 3 */
  fanout?: number
  /** round period, ms @default 1000 */
  roundMs?: number
  /** push-pull with one random peer every, ms @default 30000 */
  syncMs?: number
  /** wait this long before forwarding urgent records, to batch those arriving together, ms @default 5 */
  urgentDelayMs?: number
  /** most bytes of records in one message @default 262144 */
  maxBatchBytes?: number
  /**
   * syncs answered per peer: a burst of `syncBurst`, then one per `syncRefillMs`. An answer can
   * be the whole table: a member asking in a loop would make a node send it in a loop.
   * An honest peer asks on connect (twice: its request and its reply) and about once a `syncMs`; a
   * link that flaps reconnects every few seconds @default 8
   */
  syncBurst?: number
  /** @default 2000 */
  syncRefillMs?: number
}

/** `knownBy`: peers known to hold this version, while it is fresh (then dropped: it costs memory per record) */
interface Held { env: Envelope, size: number, fresh: number, urgent: boolean, knownBy?: Set<string> }

export interface GossipStats { sent: number, received: number, itemsSent: number, itemsReceived: number, bytesSent: number, bytesReceived: number }


export class Gossip {
  readonly stats: GossipStats = { sent: 0, received: 0, itemsSent: 0, itemsReceived: 0, bytesSent: 0, bytesReceived: 0 }
  readonly #c: Required<Omit<GossipComponents, 'onRefused'>> & Pick<GossipComponents, 'onRefused'>
  readonly #init: Required<GossipInit>
  readonly #held = new Map<string, Held>()
  #round?: Timer
  #urgent?: Timer
  #lastSync = 0
  #running = false
  /** per peer: syncs it may still have answered, as of `at` */
  readonly #syncTokens = new Map<string, { tokens: number, at: number }>()

  constructor (c: GossipComponents, init: GossipInit = {}) {
    this.#c = { ...c, monotonic: c.monotonic ?? (() => performance.now()), setTimer: c.setTimer ?? realTimer, random: c.random ?? Math.random }
    this.#init = { fanout: 3, roundMs: 1000, syncMs: 30_000, urgentDelayMs: 5, maxBatchBytes: 256 * 1024, syncBurst: 8, syncRefillMs: 2000, ...init }
  }

  start (): void {
    this.#running = true
    this.#lastSync = this.#c.monotonic()
    this.#schedule()
  }

  stop (): void {
    this.#running = false
    this.#round?.cancel()
    this.#urgent?.cancel()
  }

  /** (boot, seq) held for `origin` */
  version (origin: string): [number, number] | undefined {
    const h = this.#held.get(origin)
    return h === undefined ? undefined : [h.env.b, h.env.q]
  }

  /** Forget what is held of `origin` (a peer forgotten by the table). */
  drop (origin: string): void { this.#held.delete(origin) }

  /** This node's own new record. */
  publish (env: Envelope): void {
    this.#hold(env, undefined, env.u === 1)
    if (env.u === 1) this.#soon()
  }

  /** A new connection: swap digests so each side gets what it lacks. */
  connected (peer: string): void {
    if (this.#running) this.#sendTo(peer, { k: 'sync', have: this.#digest(), reply: 1 })
  }

  /** A message from `from` (already decoded and bounded by the transport). */
  receive (from: string, msg: GossipMessage): void {
    this.stats.received++
    if (msg.k === 'sync') {
      if (this.#mayAnswer(from)) this.#answerSync(from, msg)
      else this.#c.onRefused?.(from, 'refused', `sync requests faster than one per ${this.#init.syncRefillMs / 1000} s (after a burst of ${this.#init.syncBurst}): not answered`)
      return
    }
    let urgent = false
    for (const env of msg.items) {
      this.stats.itemsReceived++
      const h = this.#held.get(env.o)
      if (h !== undefined && (env.b < h.env.b || (env.b === h.env.b && env.q <= h.env.q))) {
        if (env.b === h.env.b && env.q === h.env.q) h.knownBy?.add(from)
        continue
      }
      const verdict = this.#c.admit(env)
      if (!verdict.ok) { this.#c.onRefused?.(from, verdict.reason, verdict.detail); continue }
      this.#hold(env, from, env.u === 1)
      urgent ||= env.u === 1
    }
    if (urgent) this.#soon()
  }

  #hold (env: Envelope, from: string | undefined, urgent: boolean): void {
    this.#held.set(env.o, { env, size: env.r.length + env.s.length + env.o.length + 40, fresh: this.#transmits(), urgent, knownBy: new Set(from === undefined ? [] : [from]) })
  }

  /** sends of a fresh record per node: ~ln N + 2 reaches every node with high probability (infection-style dissemination) */
  #transmits (): number { return Math.ceil(Math.log(this.#held.size + 1)) + 2 }

  #schedule (): void {
    if (!this.#running) return
    // jitter, so rounds of nodes started together do not stay in step
    this.#round = this.#c.setTimer(() => { this.#roundNow(false) }, this.#init.roundMs * (0.9 + 0.2 * this.#c.random()))
  }

  #soon (): void {
    if (!this.#running || this.#urgent !== undefined) return
    this.#urgent = this.#c.setTimer(() => { this.#urgent = undefined; this.#roundNow(true) }, this.#init.urgentDelayMs)
  }

  /**
   * A round: fresh records to `fanout` random peers. An urgent round (urgentOnly) floods the
   * urgent records to every connected peer not known to hold them: news of a death must reach
   * every node in the few hops of the link graph's diameter, not in the tail of an epidemic.
   */
  #roundNow (urgentOnly: boolean): void {
    if (!this.#running) return
    const peers = this.#c.transport.peers()
    const fresh = [...this.#held.values()].filter(h => urgentOnly ? h.urgent : h.fresh > 0)
    if (fresh.length > 0 && peers.length > 0) {
      fresh.sort((a, b) => Number(b.urgent) - Number(a.urgent))
      for (const peer of urgentOnly ? peers : this.#pick(peers, this.#init.fanout)) {
        const batch: Envelope[] = []
        let bytes = 0
        for (const h of fresh) {
          if ((!urgentOnly && h.fresh <= 0) || h.knownBy?.has(peer) === true || bytes + h.size > this.#init.maxBatchBytes) continue
          batch.push(h.env)
          bytes += h.size
          h.fresh = Math.max(0, h.fresh - 1)
          h.knownBy?.add(peer)
        }
        if (batch.length > 0) this.#sendTo(peer, { k: 'push', items: batch }, bytes)
      }
      for (const h of fresh) {
        if (urgentOnly) h.urgent = false
        if (h.fresh <= 0) h.knownBy = undefined
      }
    }
    if (urgentOnly) return
    const now = this.#c.monotonic()
    if (now - this.#lastSync >= this.#init.syncMs && peers.length > 0) {
      this.#lastSync = now
      const [peer] = this.#pick(peers, 1)
      if (peer !== undefined) this.#sendTo(peer, { k: 'sync', have: this.#digest(), reply: 1 })
    }
    this.#schedule()
  }

  #mayAnswer (from: string): boolean {
    const now = this.#c.monotonic()
    const { syncBurst, syncRefillMs } = this.#init
    const b = this.#syncTokens.get(from) ?? { tokens: syncBurst, at: now }
    b.tokens = Math.min(syncBurst, b.tokens + (now - b.at) / syncRefillMs)
    b.at = now
    if (this.#syncTokens.size > 4096) {
      // a full bucket is the same as none: keep the map to the peers asking lately
      for (const [p, x] of this.#syncTokens) if (x.tokens + (now - x.at) / syncRefillMs >= syncBurst) this.#syncTokens.delete(p)
    }
    this.#syncTokens.set(from, b)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  #answerSync (from: string, msg: Extract<GossipMessage, { k: 'sync' }>): void {
    let batch: Envelope[] = []
    let bytes = 0
    for (const h of this.#held.values()) {
      const theirs = msg.have[h.env.o]
      if (theirs !== undefined && (theirs[0] > h.env.b || (theirs[0] === h.env.b && theirs[1] >= h.env.q))) continue
      if (bytes + h.size > this.#init.maxBatchBytes && batch.length > 0) {
        this.#sendTo(from, { k: 'push', items: batch }, bytes)
        batch = []
        bytes = 0
      }
      batch.push(h.env)
      bytes += h.size
    }
    if (batch.length > 0) this.#sendTo(from, { k: 'push', items: batch }, bytes)
    if (msg.reply === 1) this.#sendTo(from, { k: 'sync', have: this.#digest() })
  }

  #digest (): Record<string, [number, number]> {
    const have: Record<string, [number, number]> = {}
    for (const [o, h] of this.#held) have[o] = [h.env.b, h.env.q]
    return have
  }

  #sendTo (peer: string, msg: GossipMessage, bytes = 0): void {
    this.stats.sent++
    if (msg.k === 'push') { this.stats.itemsSent += msg.items.length; this.stats.bytesSent += bytes }
    this.#c.transport.send(peer, msg)
  }

  /** `n` distinct random entries of `xs` */
  #pick (xs: string[], n: number): string[] {
    if (xs.length <= n) return xs
    const copy = [...xs]
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.#c.random() * (copy.length - i))
      ;[copy[i], copy[j]] = [copy[j] as string, copy[i] as string]
    }
    return copy.slice(0, n)
  }
}
