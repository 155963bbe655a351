/**
 * One member of the mesh, apart from its wires: it beats to the peers
 * watching it and judges those it watches (observer.ts), makes its record
 * again every `recordInterval` and at once (urgent) when a check changes, when
 * what it sees of a watched peer changes, when it finds others think it
 * silent, and when it leaves; spreads records by gossip (gossip.ts); and turns
 * every watcher's reports into states (verdict.ts).
 *
 * Transport, signing, admission, clock and timers are injected: the node runs
 * it on libp2p streams (membership.ts), the protocol simulation
 * (bench/sim.ts) on virtual time with thousands of members in one process.
 */
import type { CheckState } from '../checks/types.js'
import type { MachineInfo } from '../machine/types.js'
import { Gossip, type Admission, type Envelope, type GossipInit, type GossipMessage, type GossipTransport } from './gossip.js'
import { Observer } from './observer.js'
import type { PeerTable } from './peer-table.js'
import { fitRecord, PROTOCOL_VERSION, type Expect, type NodeRecord } from './record.js'
import { realTimer, type SetTimer, type Timer } from './timer.js'
import { Verdict, type PartitionView, type ProbeAnswers } from './verdict.js'

export interface MemberInit {
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
  gossip?: GossipInit
}

export interface MemberTransport extends GossipTransport {
  /** one beat to every peer watching this node */
  beat: (boot: number, seq: number) => void
  /** keep beat streams open to exactly these peers */
  watch: (subjects: string[]) => void
  /** make sure a connection to these peers exists (a node's watchers: they can then open their beat streams over it, even to a node others cannot dial) */
  reach?: (peers: string[]) => void
  /** ask these peers directly whether they answer (verdict.ts): resolves with those reached and those alive, once the reached are `enough` (and the `awaited` had a moment more) or its time bound ended */
  probe?: (peers: string[], enough: (reached: ReadonlySet<string>) => boolean, awaited?: ReadonlySet<string>) => Promise<ProbeAnswers>
  /** the peers this node holds a connection to, as the probe decides whether to dial @default the gossip peers */
  connected?: () => ReadonlySet<string>
}

export type { Timer } from './timer.js'

export interface MemberComponents {
  selfId: string
  table: PeerTable
  transport: MemberTransport
  /** this node's signature of a record's JSON */
  sign: (json: string) => string
  /** judge and apply a peer's envelope newer than held */
  admit: (env: Envelope) => Admission
  onRefused?: (from: string, reason: string, detail: string) => void
  machine: () => MachineInfo | null
  checks: () => CheckState[]
  addrs: () => string[]
  /** this node found itself cut off or on the small side of the mesh, or back */
  onPartition?: (view: PartitionView) => void
  /** a peer its watchers find silent answers this node: kept suspect, not down */
  onAnswering?: (peerId: string) => void
  /** this process ran its timers this late (ms, over OWN_STALL_MS): its watchers may have found it silent meanwhile */
  onStall?: (lagMs: number) => void
  /** a watcher reports this node, running, silent since its count `heardSeq` (this node is at `seq` now): once per such report */
  onReportedSilent?: (watcher: string, heardSeq: number, seq: number) => void
  monotonic?: () => number
  wall?: () => number
  setTimer?: SetTimer
  random?: () => number
}


/** A stall of this process longer than this was ours, not the peers' */
const OWN_STALL_MS = 500
/**
 * Beats per interval: a watcher finds a peer silent after `downAfter` intervals (2 by default);
 * at two beats an interval that takes four beats lost or late in a row, not one.
 */
const BEATS_PER_INTERVAL = 2

export class Member {
  readonly observer: Observer
  readonly verdict: Verdict
  readonly gossip: Gossip
  readonly #c: MemberComponents
  readonly #init: MemberInit
  readonly #monotonic: () => number
  readonly #wall: () => number
  readonly #setTimer: SetTimer
  #seq = 0
  #beatTimer?: Timer
  #recordTimer?: Timer
  /**
   * One timer per watched peer, due when what this node says of it could change. A beat restarts
   * it (refresh: no new timer), so a peer that beats in time never wakes this process.
   */
  readonly #judges = new Map<string, { timer: Timer, due: number, setAt: number, late: boolean }>()
  #urgentTimer?: Timer
  #laterTimer?: Timer
  #lastRefute = -Infinity
  /** watchers whose report of this node as silent was told (onReportedSilent), and the count they said it of */
  readonly #saidSilent = new Map<string, number>()
  #heardFromMeshAt: number
  #running = false
  #leaving = false

  constructor (c: MemberComponents, init: MemberInit) {
    this.#c = c
    this.#init = init
    this.#monotonic = c.monotonic ?? (() => performance.now())
    this.#wall = c.wall ?? Date.now
    this.#setTimer = c.setTimer ?? realTimer
    this.#heardFromMeshAt = this.#monotonic()
    this.observer = new Observer({ suspectAfter: init.suspectAfter, downAfter: init.downAfter, monotonic: this.#monotonic })
    this.verdict = new Verdict({
      table: c.table,
      observer: this.observer,
      heardFromMeshAt: () => this.#heardFromMeshAt,
      silentAfterMs: () => (init.downAfter ?? 2) * init.intervalMs,
      // the others hold their shared alert on this node's word (record.ts): it is news at once
      onPartition: view => { c.onPartition?.(view); this.publishSoon() },
      // the others still count this node's old silence of it: say at once that it is over
      onReleased: () => { this.publishSoon() },
      onAnswering: c.onAnswering,
      probe: c.transport.probe?.bind(c.transport),
      connected: c.transport.connected?.bind(c.transport) ?? (() => new Set(c.transport.peers()))
    }, { selfId: c.selfId, watchers: init.watchers, staleAfterMs: 3 * this.#recordIntervalMs, forgetAfterMs: init.forgetAfterMs, monotonic: this.#monotonic, wall: this.#wall })
    this.gossip = new Gossip({
      transport: c.transport,
      admit: env => c.admit(env),
      onRefused: c.onRefused,
      monotonic: this.#monotonic,
      setTimer: this.#setTimer,
      random: c.random
    }, init.gossip)
  }

  get #recordIntervalMs (): number { return this.#init.recordIntervalMs ?? 10_000 }

  start (): void {
    const { table } = this.#c
    this.#running = true
    table.on('transition', t => { if (t.to === null) { this.gossip.drop(t.peer.peerId); this.#saidSilent.delete(t.peer.peerId) } })
    // someone reports this node silent while it runs: say otherwise at once (at most once an interval)
    table.on('obs', ({ peer, subjects }) => {
      const mine = peer.obs[this.#c.selfId]
      if (!subjects.includes(this.#c.selfId) || mine === undefined || mine[1] !== this.#init.boot) return
      if (mine[0] !== 2) { this.#saidSilent.delete(peer.peerId); return }
      this.#refute()
      if (this.#saidSilent.get(peer.peerId) === mine[2]) return
      this.#saidSilent.set(peer.peerId, mine[2])
      this.#c.onReportedSilent?.(peer.peerId, mine[2], this.#seq)
    })
    // a watched peer found silent, or heard again after that, is news for everyone at once; late
    // (a beat or two missing) rides the next regular record: it only ever makes a peer `suspect`
    this.observer.on('level', ({ peerId, level, from }) => {
      this.verdict.judge(peerId)
      if (level === 2 || from === 2) this.publishSoon()
      // heard for the first time: not urgent, but others count this watcher's vote from then on
      else if (from === 3) this.#publishLater()
    })
    this.verdict.start()
    this.gossip.start()
    this.#publish(true)
    const every = (ms: number, fn: () => void): Timer => {
      let t: Timer
      const loop = (): void => { if (!this.#running) return; fn(); t = this.#setTimer(loop, ms) }
      t = this.#setTimer(loop, ms)
      return { cancel: () => { t.cancel() }, refresh: () => { t.refresh() } }
    }
    // beats and records start at a random phase, so members started together do not beat in step
    const phase = (this.#c.random ?? Math.random)()
    this.#beatTimer = every(this.#init.intervalMs / BEATS_PER_INTERVAL, () => { this.#beat() })
    this.#recordTimer = this.#setTimer(() => { this.#recordTimer = every(this.#recordIntervalMs, () => { this.#publish(false) }) }, phase * this.#recordIntervalMs)
    this.#beat()
  }

  stop (): void {
    this.#running = false
    this.#beatTimer?.cancel()
    this.#recordTimer?.cancel()
    for (const j of this.#judges.values()) j.timer.cancel()
    this.#judges.clear()
    this.#urgentTimer?.cancel()
    this.#laterTimer?.cancel()
    this.gossip.stop()
    this.verdict.stop()
  }

  /** Leave gracefully: a goodbye record, pushed at once; peers mark this node `left`, not `down`. */
  leave (): void {
    this.#leaving = true
    this.#beatTimer?.cancel()
    this.#recordTimer?.cancel()
    this.#urgentTimer?.cancel()
    this.#laterTimer?.cancel()
    this.#publish(true, true)
  }

  /** A check changed (or what this node sees of a watched peer): make the record again now. */
  publishSoon (): void {
    if (this.#urgentTimer !== undefined || this.#leaving || !this.#running) return
    this.#urgentTimer = this.#setTimer(() => { this.#urgentTimer = undefined; this.#publish(true) }, 20)
  }

  /** A record within a second or so, spread by the regular rounds: news, but nobody waits on it. */
  #publishLater (): void {
    if (this.#laterTimer !== undefined || this.#leaving || !this.#running) return
    this.#laterTimer = this.#setTimer(() => { this.#laterTimer = undefined; this.#publish(false) }, 1000)
  }

  partition (): PartitionView { return this.verdict.partition() }

  receiveGossip (from: string, msg: GossipMessage): void {
    this.#heardFromMeshAt = this.#monotonic()
    this.gossip.receive(from, msg)
  }

  receiveBeat (from: string, boot: number, seq: number): void {
    this.#heardFromMeshAt = this.#monotonic()
    this.observer.beat(from, boot, seq)
    this.#c.table.heard(from)
    this.#judgeAt(from)
  }

  connected (peer: string): void { this.gossip.connected(peer) }

  #refute (): void {
    const now = this.#monotonic()
    if (now - this.#lastRefute < this.#init.intervalMs) return
    this.#lastRefute = now
    this.publishSoon()
  }

  #beat (): void {
    this.#c.transport.beat(this.#init.boot, ++this.#seq)
    // who to watch follows the ring, which follows the verdicts
    const subjects = this.verdict.subjects()
    const want = new Set(subjects)
    for (const id of this.observer.watching()) {
      if (want.has(id)) continue
      this.observer.unwatch(id)
      this.#judges.get(id)?.timer.cancel()
      this.#judges.delete(id)
    }
    for (const id of subjects) this.observer.watch(id, this.#c.table.get(id)?.interval ?? this.#init.intervalMs)
    this.#c.transport.watch(subjects)
    this.#c.transport.reach?.(this.verdict.watchers())
    this.verdict.tick()
  }

  /** (Re)arm the timer of a watched peer for its next deadline; a beat in time only refreshes it. */
  #judgeAt (peerId: string): void {
    const due = this.observer.deadlineOf(peerId)
    const j = this.#judges.get(peerId)
    if (due === undefined || !this.#running) { j?.timer.cancel(); this.#judges.delete(peerId); return }
    const late = this.observer.get(peerId)?.[0] === 1
    // in time as before: the same delay from now, the timer refreshed in place
    if (j !== undefined && !j.late && !late && Math.abs(due - this.#monotonic() - (j.due - j.setAt)) < 1) { j.due = due; j.setAt = this.#monotonic(); j.timer.refresh(); return }
    j?.timer.cancel()
    const now = this.#monotonic()
    const entry = { due, setAt: now, late, timer: this.#setTimer(() => { this.#judge(peerId) }, Math.max(0, due - now)) }
    this.#judges.set(peerId, entry)
  }

  /** A watched peer's deadline passed: judge, and note how late this ran (a stall of our own). */
  #judge (peerId: string): void {
    const j = this.#judges.get(peerId)
    this.#judges.delete(peerId)
    const lag = j === undefined ? 0 : this.#monotonic() - j.due
    this.observer.tick(lag)
    // a stall of our own: others may think us silent; say otherwise
    if (lag > OWN_STALL_MS) { this.#refute(); this.#c.onStall?.(lag) }
    for (const id of this.observer.watching()) if (id === peerId || !this.#judges.has(id)) this.#judgeAt(id)
  }

  #publish (urgent: boolean, bye = false): void {
    // after the goodbye, a record made by a timer already set would be newer than it: peers would take
    // the leaving node for alive again, then find it silent and page
    if (this.#leaving && !bye) return
    const r: NodeRecord = fitRecord({
      v: PROTOCOL_VERSION,
      boot: this.#init.boot,
      seq: ++this.#seq,
      ts: this.#wall(),
      name: this.#init.name,
      expect: this.#init.expect,
      iv: this.#init.intervalMs,
      agent: this.#init.agent,
      ...(bye ? { bye: true as const } : {}),
      ...(this.verdict.partition().minority ? { split: true as const } : {}),
      labels: this.#init.labels,
      addrs: this.#c.addrs().slice(0, 32),
      machine: this.#c.machine(),
      checks: this.#c.checks(),
      obs: this.observer.report()
    })
    const json = JSON.stringify(r)
    const env: Envelope = { o: this.#c.selfId, b: r.boot, q: r.seq, r: json, s: this.#c.sign(json), ...(urgent ? { u: 1 as const } : {}) }
    this.#c.table.apply(this.#c.selfId, r, true)
    this.gossip.publish(env)
  }
}
