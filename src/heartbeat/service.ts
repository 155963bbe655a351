/**
 * Sends this node's heartbeat every interval and feeds valid heartbeats of
 * others into the peer table. Validation runs as the gossipsub topic validator,
 * so invalid messages are neither delivered nor forwarded, and are counted.
 */
import { TopicValidatorResult, type Message, type PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { CheckState } from '../checks/types.js'
import type { MachineInfo } from '../machine/types.js'
import type { Expect, PeerTable } from './peer-table.js'
import { decodeHeartbeat, digestKey, encodeHeartbeat, PROTOCOL_VERSION, TOPIC, type Heartbeat, type InvalidReason } from './wire.js'

export interface HeartbeatInit {
  name: string
  expect: Expect
  labels: Record<string, string>
  agent: string
  intervalMs: number
  /** full beats (machine info etc.) at least this often @default 10000 */
  machineIntervalMs?: number
  /** digest covers peers heard within this window, ms */
  digestWindowMs: number
  /** (boot, seq) must grow across restarts: boot is persisted by the caller */
  boot: number
}

export interface PubSubLike {
  subscribe: (topic: string) => void
  unsubscribe: (topic: string) => void
  publish: (topic: string, data: Uint8Array) => Promise<unknown>
  /** the peers a publish floods to (gossipsub floodPublish: every subscribed peer) */
  getSubscribers: (topic: string) => PeerId[]
  topicValidators: Map<string, (peer: PeerId, msg: Message) => TopicValidatorResult | Promise<TopicValidatorResult>>
}

export interface HeartbeatComponents {
  pubsub: PubSubLike
  peerId: string
  table: PeerTable
  log: Logger
  machine: () => MachineInfo | null
  checks: () => CheckState[]
  addrs: () => string[]
  /** each accepted heartbeat: receive time minus the sender's timestamp, ms */
  onDelay?: (ms: number) => void
}

export interface HeartbeatStats { received: number, sent: number, invalid: Record<InvalidReason, number> }

export class HeartbeatService {
  readonly stats: HeartbeatStats = { received: 0, sent: 0, invalid: { too_large: 0, decode: 0, schema: 0, replay: 0 } }
  readonly #c: HeartbeatComponents
  readonly #init: Required<HeartbeatInit>
  #seq = 0
  #lastFull = -Infinity
  #fullWanted = true
  #timer?: NodeJS.Timeout
  /** what each accepted beat says of who had it from its sender, by the message's bytes (see hadFromSender) */
  readonly #direct = new WeakMap<Uint8Array, { sender: string, seen: Record<string, number>, relay: Set<string> }>()

  constructor (components: HeartbeatComponents, init: HeartbeatInit) {
    this.#c = components
    this.#init = { machineIntervalMs: 10_000, ...init }
  }

  start (): void {
    this.#c.pubsub.topicValidators.set(TOPIC, (peer, msg) => this.#validate(msg))
    this.#c.pubsub.subscribe(TOPIC)
    this.#timer = setInterval(() => { void this.beat() }, this.#init.intervalMs)
    void this.beat()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#c.pubsub.topicValidators.delete(TOPIC)
    // no unsubscribe: it would PRUNE peers with a 10 s backoff that delays our return after a restart;
    // stopping libp2p closes the connections anyway
  }

  /** Ask for machine info, labels and checks in the next beat (new peer, check change). */
  wantFull (): void { this.#fullWanted = true }

  /** Publish one heartbeat now. */
  async beat (kind: 'hb' | 'bye' = 'hb'): Promise<void> {
    const now = performance.now()
    const full = kind === 'bye' || this.#fullWanted || now - this.#lastFull >= this.#init.machineIntervalMs
    const beat: Heartbeat = {
      v: PROTOCOL_VERSION,
      k: kind,
      boot: this.#init.boot,
      seq: ++this.#seq,
      ts: Date.now(),
      name: this.#init.name,
      expect: this.#init.expect,
      iv: this.#init.intervalMs,
      agent: this.#init.agent,
      seen: this.#c.table.digest(this.#init.digestWindowMs)
    }
    // publish floods the beat to every subscribed peer; relays need forward it only to the others
    const direct = new Set(this.#c.pubsub.getSubscribers(TOPIC).map(p => digestKey(p.toString())))
    beat.relay = Object.keys(beat.seen).filter(k => !direct.has(k))
    if (full) {
      beat.full = { labels: this.#init.labels, addrs: this.#c.addrs().slice(0, 32), machine: this.#c.machine(), checks: this.#c.checks() }
      this.#lastFull = now
      this.#fullWanted = false
    }
    this.#c.table.observe(this.#c.peerId, beat, true)
    try {
      await this.#c.pubsub.publish(TOPIC, encodeHeartbeat(beat))
      this.stats.sent++
    } catch (err: any) {
      this.#c.log.debug({ err: err.message }, 'heartbeat not published')
    }
  }

  /**
   * Whether `peer` had this accepted heartbeat (its bytes) straight from its sender, as the beat
   * itself says: then a relay need not forward it there. False when unsure (a beat without
   * `relay`, a peer its sender had not heard): relaying a copy too many costs less than a gap.
   */
  hadFromSender (data: Uint8Array, peer: string): boolean {
    const d = this.#direct.get(data)
    if (d === undefined) return false
    if (peer === d.sender) return true
    const key = digestKey(peer)
    return Object.hasOwn(d.seen, key) && !d.relay.has(key)
  }

  /** Graceful leave: peers mark this node `left`, not `down`. */
  async leave (): Promise<void> {
    clearInterval(this.#timer)
    await this.beat('bye')
  }

  #validate (msg: Message): TopicValidatorResult {
    this.stats.received++
    if (msg.type !== 'signed') return this.#invalid('schema', 'unsigned message')
    const decoded = decodeHeartbeat(msg.data)
    if (!decoded.ok) return this.#invalid(decoded.reason, decoded.detail, msg.from.toString())
    const seen = this.#c.table.observe(msg.from.toString(), decoded.beat)
    if (!seen.accepted) {
      this.stats.invalid.replay++
      return TopicValidatorResult.Ignore
    }
    if (seen.isNew) this.wantFull()
    if (decoded.beat.relay !== undefined) this.#direct.set(msg.data, { sender: msg.from.toString(), seen: decoded.beat.seen, relay: new Set(decoded.beat.relay) })
    this.#c.onDelay?.(Date.now() - decoded.beat.ts)
    return TopicValidatorResult.Accept
  }

  #invalid (reason: InvalidReason, detail: string, from?: string): TopicValidatorResult {
    this.stats.invalid[reason]++
    this.#c.log.debug({ reason, detail, from }, 'invalid heartbeat dropped')
    return TopicValidatorResult.Reject
  }
}
