/**
 * Membership: this node's part in liveness and in spreading records.
 *
 *  - every interval it beats to the few peers watching it (ring.ts) and
 *    judges the few it watches (observer.ts);
 *  - its record (record.ts) is made again every `recordInterval`, and at once
 *    (urgent) when a check changes, when what it sees of a watched peer
 *    changes, when it finds others think it silent, and when it leaves;
 *  - records spread by gossip (gossip.ts) on direct streams (streams.ts); a
 *    new one is admitted only if signed by its origin, valid, on time, and
 *    within the peer caps (admission.ts);
 *  - the verdict (verdict.ts) turns every watcher's reports into states.
 *
 * So a node's work per second does not grow with the mesh: a few beats, a few
 * gossip messages, whatever the number of peers.
 */
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { CheckState } from '../checks/types.js'
import type { MachineInfo } from '../machine/types.js'
import { Admission, type AdmissionInit } from './admission.js'
import { Gossip, type Envelope } from './gossip.js'
import { INVALID_REASONS, type InvalidReason } from './messages.js'
import { Observer } from './observer.js'
import type { PeerTable } from './peer-table.js'
import { fitRecord, PROTOCOL_VERSION, type Expect, type NodeRecord } from './record.js'
import { recordSigner } from './signature.js'
import { MeshStreams } from './streams.js'
import { Verdict, type PartitionView } from './verdict.js'

export interface MembershipInit extends AdmissionInit {
  name: string
  expect: Expect
  labels: Record<string, string>
  agent: string
  /** beat interval, ms */
  intervalMs: number
  /** how often the record (machine info, checks) is made again, ms @default 10000 */
  recordIntervalMs?: number
  /** intervals of silence before a watched peer is late @default 1.5 */
  suspectAfter?: number
  /** intervals of silence before a watched peer is silent @default 2 */
  downAfter?: number
  /** watchers per peer @default 3 */
  watchers?: number
  /** a down or left peer with no news for this long is forgotten, ms @default 3_600_000 */
  forgetAfterMs?: number
  /** (boot, seq) must grow across restarts: boot is persisted by the caller */
  boot: number
}

export interface MembershipComponents {
  libp2p: Libp2p
  privateKey: PrivateKey
  table: PeerTable
  log: Logger
  machine: () => MachineInfo | null
  checks: () => CheckState[]
  addrs: () => string[]
  /** each record admitted from a peer (e.g. to time its delivery) */
  onAccepted?: (r: NodeRecord) => void
}

export interface MembershipStats {
  /** gossip and beat messages received */
  received: number
  /** messages and records refused, by reason */
  invalid: Record<InvalidReason, number>
  bytesReceived: number
}

export class Membership {
  readonly stats: MembershipStats = { received: 0, invalid: Object.fromEntries(INVALID_REASONS.map(r => [r, 0])) as Record<InvalidReason, number>, bytesReceived: 0 }
  readonly observer: Observer
  readonly verdict: Verdict
  readonly gossip: Gossip
  readonly #c: MembershipComponents
  readonly #init: MembershipInit
  readonly #self: string
  readonly #streams: MeshStreams
  readonly #admission: Admission
  readonly #sign: (json: string) => string
  #seq = 0
  #beatTimer?: NodeJS.Timeout
  #recordTimer?: NodeJS.Timeout
  #judgeTimer?: NodeJS.Timeout
  #judgeDue = 0
  #urgentTimer?: NodeJS.Timeout
  #lastRefute = -Infinity
  #heardFromMeshAt = performance.now()
  #leaving = false

  constructor (c: MembershipComponents, init: MembershipInit) {
    this.#c = c
    this.#init = init
    this.#self = c.libp2p.peerId.toString()
    this.#sign = recordSigner(c.privateKey)
    this.observer = new Observer({ suspectAfter: init.suspectAfter, downAfter: init.downAfter })
    this.#admission = new Admission({ table: c.table, log: c.log, onAccepted: c.onAccepted }, init)
    this.verdict = new Verdict({
      table: c.table,
      observer: this.observer,
      heardFromMeshAt: () => this.#heardFromMeshAt,
      silentAfterMs: () => (init.downAfter ?? 2) * init.intervalMs
    }, { selfId: this.#self, watchers: init.watchers, staleAfterMs: 3 * this.#recordIntervalMs, forgetAfterMs: init.forgetAfterMs })
    this.#streams = new MeshStreams({
      libp2p: c.libp2p,
      log: c.log,
      onGossip: (from, msg) => { this.#heard(); this.stats.received++; this.gossip.receive(from, msg) },
      onConnect: peer => { this.gossip.connected(peer) },
      onBeat: (from, boot, seq) => { this.#heard(); this.stats.received++; this.observer.beat(from, boot, seq); c.table.heard(from) },
      onInvalid: (from, reason, detail) => { this.#refused(from, reason, detail) },
      onBytes: n => { this.stats.bytesReceived += n }
    })
    this.gossip = new Gossip({
      transport: this.#streams,
      admit: env => this.#admission.admit(env),
      onRefused: (from, reason, detail) => { this.#refused(from, reason as InvalidReason, detail) }
    })
  }

  get #recordIntervalMs (): number { return this.#init.recordIntervalMs ?? 10_000 }

  async start (): Promise<void> {
    const { table } = this.#c
    table.on('transition', t => {
      if (t.to === null) this.gossip.drop(t.peer.peerId)
    })
    // someone reports this node late or silent while it runs: say otherwise at once (at most once an interval)
    table.on('obs', ({ peer, subjects }) => {
      const mine = peer.obs[this.#self]
      if (subjects.includes(this.#self) && mine !== undefined && mine[0] >= 1 && mine[1] === this.#init.boot) this.#refute()
    })
    this.observer.on('level', ({ peerId }) => { this.verdict.judge(peerId); this.publishSoon() })
    this.verdict.start()
    await this.#streams.start()
    this.gossip.start()
    this.#publish(true)
    this.#beatTimer = setInterval(() => { this.#beat() }, this.#init.intervalMs)
    this.#recordTimer = setInterval(() => { this.#publish(false) }, this.#recordIntervalMs)
    this.#beat()
  }

  async stop (): Promise<void> {
    clearInterval(this.#beatTimer)
    clearInterval(this.#recordTimer)
    clearTimeout(this.#judgeTimer)
    clearTimeout(this.#urgentTimer)
    this.gossip.stop()
    this.verdict.stop()
    await this.#streams.stop()
  }

  /** Leave gracefully: a goodbye record, pushed at once; peers mark this node `left`, not `down`. */
  async leave (): Promise<void> {
    this.#leaving = true
    clearInterval(this.#beatTimer)
    this.#publish(true, true)
    // the goodbye goes out on the next urgent round (ms); give the writes a moment to leave
    await new Promise(resolve => setTimeout(resolve, 200))
  }

  /** A check changed, or what this node sees of a watched peer: make the record again now. */
  publishSoon (): void {
    if (this.#urgentTimer !== undefined || this.#leaving) return
    this.#urgentTimer = setTimeout(() => { this.#urgentTimer = undefined; this.#publish(true) }, 20)
  }

  partition (): PartitionView { return this.verdict.partition() }

  #heard (): void { this.#heardFromMeshAt = performance.now() }

  #refute (): void {
    const now = performance.now()
    if (now - this.#lastRefute < this.#init.intervalMs) return
    this.#lastRefute = now
    this.publishSoon()
  }

  #refused (from: string, reason: InvalidReason, detail: string): void {
    this.stats.invalid[reason]++
    this.#admission.complain(from, reason, detail)
  }

  #beat (): void {
    this.#streams.beat(this.#init.boot, ++this.#seq)
    // who to watch follows the ring, which follows the verdicts
    const subjects = this.verdict.subjects()
    const want = new Set(subjects)
    for (const id of this.observer.watching()) if (!want.has(id)) this.observer.unwatch(id)
    for (const id of subjects) this.observer.watch(id, this.#c.table.get(id)?.interval ?? this.#init.intervalMs)
    this.#streams.watch(subjects)
    this.verdict.tick()
    this.#judgeSoon()
  }

  /** Run the observer at its next deadline (a silence crossing a bound), and note how late that run is. */
  #judgeSoon (): void {
    const next = this.observer.nextDeadline()
    if (next === undefined) return
    const due = Math.max(next, performance.now())
    if (this.#judgeTimer !== undefined && this.#judgeDue <= due) return
    clearTimeout(this.#judgeTimer)
    this.#judgeDue = due
    this.#judgeTimer = setTimeout(() => {
      this.#judgeTimer = undefined
      const lag = performance.now() - this.#judgeDue
      this.observer.tick(lag)
      // a stall of our own: others may think us silent; say otherwise
      if (lag > 500) this.#refute()
      this.#judgeSoon()
    }, due - performance.now())
    this.#judgeTimer.unref()
  }

  #publish (urgent: boolean, bye = false): void {
    const r: NodeRecord = fitRecord({
      v: PROTOCOL_VERSION,
      boot: this.#init.boot,
      seq: ++this.#seq,
      ts: Date.now(),
      name: this.#init.name,
      expect: this.#init.expect,
      iv: this.#init.intervalMs,
      agent: this.#init.agent,
      ...(bye ? { bye: true } : {}),
      labels: this.#init.labels,
      addrs: this.#c.addrs().slice(0, 32),
      machine: this.#c.machine(),
      checks: this.#c.checks(),
      obs: this.observer.report()
    })
    const json = JSON.stringify(r)
    const env: Envelope = { o: this.#self, b: r.boot, q: r.seq, r: json, s: this.#sign(json), ...(urgent ? { u: 1 } : {}) }
    this.#c.table.apply(this.#self, r, true)
    this.gossip.publish(env)
  }
}
