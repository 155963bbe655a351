/**
 * Membership on a libp2p node: the member (member.ts) on direct streams
 * (streams.ts), records signed with the node's key and admitted only if
 * signed by their origin, valid, on time and within the peer caps
 * (admission.ts). Counts what it receives and refuses, for /metrics.
 */
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { CheckState } from '../checks/types.js'
import type { MachineInfo } from '../machine/types.js'
import { Admission, type AdmissionInit } from './admission.js'
import { PartitionHold, type HeldPartition } from './incidents.js'
import { Member, type MemberInit } from './member.js'
import { INVALID_REASONS, type InvalidReason } from './messages.js'
import type { PeerTable } from './peer-table.js'
import type { NodeRecord } from './record.js'
import { recordSigner } from './signature.js'
import { OwnLag } from './own-lag.js'
import { LogThrottle } from '../log-throttle.js'
import { MeshStreams } from './streams.js'
import { PROBE_EVERY_MS, type PartitionView } from './verdict.js'

export interface MembershipInit extends MemberInit, AdmissionInit {
  /** this node's own cut-off or split ends, in what pages and is logged, once it reached a majority this long, ms @default 5000 */
  recoverAfterMs?: number
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

/** The one line an operator needs when this node finds itself cut off, on the small side, or back. */
function logPartition (log: Logger, p: PartitionView): void {
  const reach = `reaches ${p.reachable - 1} of the ${p.members - 1} other peers`
  if (p.isolated) log.warn({ ...p }, `this node is cut off from the mesh: it hears none of its peers (it ${reach}); peers it cannot hear are shown suspect, not down, and it pages nobody about them`)
  else if (p.minority) log.warn({ ...p }, `this node is on the small side of a split mesh: it ${reach}, no majority; peers it cannot hear are shown suspect, not down, and it pages nobody about them`)
  else log.info({ ...p }, `this node reaches the mesh again: it ${reach}`)
}

/** a stall of this process this long (ms) is logged: at a 1 s interval its watchers find it late at 1.5 s, silent at 2 s */
const STALL_WARN_MS = 1000

export interface MembershipStats {
  /** gossip and beat messages received */
  received: number
  /** messages and records refused, by reason */
  invalid: Record<InvalidReason, number>
  bytesReceived: number
}

export class Membership {
  readonly stats: MembershipStats = { received: 0, invalid: Object.fromEntries(INVALID_REASONS.map(r => [r, 0])) as Record<InvalidReason, number>, bytesReceived: 0 }
  readonly member: Member
  /** how late this process runs its own timers: while late, it closes no connection for silence */
  readonly #ownLag = new OwnLag()
  readonly #streams: MeshStreams
  readonly #admission: Admission
  readonly #hold: PartitionHold
  /** stalls are logged once a minute at most; those held back are counted into the next line */
  readonly #stallLog: LogThrottle
  /** a peer reports this node silent while it runs: a line a minute at most */
  readonly #silentLog: LogThrottle
  readonly #table: PeerTable

  constructor (c: MembershipComponents, init: MembershipInit) {
    this.#table = c.table
    this.#stallLog = new LogThrottle(c.log, 60_000)
    this.#silentLog = new LogThrottle(c.log, 60_000)
    this.#hold = new PartitionHold({
      recoverAfterMs: init.recoverAfterMs,
      onChange: p => { logPartition(c.log, p) },
      othersSplit: () => { for (const p of c.table.values()) if (!p.self && p.state === 'up' && p.split === true) return true; return false }
    })
    this.#admission = new Admission({ table: c.table, log: c.log, onAccepted: c.onAccepted }, init)
    const refused = (from: string, reason: InvalidReason, detail: string): void => {
      this.stats.invalid[reason]++
      this.#admission.complain(from, reason, detail)
    }
    this.#streams = new MeshStreams({
      libp2p: c.libp2p,
      log: c.log,
      onGossip: (from, msg) => { this.stats.received++; this.member.receiveGossip(from, msg) },
      onConnect: peer => { this.member.connected(peer) },
      onBeat: (from, boot, seq) => { this.stats.received++; this.member.receiveBeat(from, boot, seq) },
      onInvalid: refused,
      onBytes: n => { this.stats.bytesReceived += n },
      isWatcher: peer => this.member.verdict.watchers().includes(peer),
      mayHangUp: () => !this.#ownLag.slow(),
      ownLagMs: () => this.#ownLag.recentMs()
    })
    this.member = new Member({
      selfId: c.libp2p.peerId.toString(),
      table: c.table,
      transport: this.#streams,
      sign: recordSigner(c.privateKey),
      admit: env => this.#admission.admit(env),
      onRefused: (from, reason, detail) => { refused(from, reason as InvalidReason, detail) },
      machine: c.machine,
      checks: c.checks,
      addrs: c.addrs,
      onPartition: p => { this.#hold.update(p) },
      onAnswering: peerId => {
        const name = this.#nameOf(peerId)
        c.log.info({ peer: peerId, node: name }, `peer ${name} answers this node, though its watchers find it silent: shown suspect, not down, and asked again every ${PROBE_EVERY_MS / 1000} s until they hear it or it stops answering`)
      },
      onStall: lagMs => { this.#stalled(lagMs) },
      onReportedSilent: (watcher, heardSeq, seq) => { this.#reportedSilent(watcher, heardSeq, seq) }
    }, init)
  }

  /** a stall of a second or more: worth a line (one a minute at most, but one twice as long as any of that minute is said too), since peers may have shown this node down for it */
  #stalled (lagMs: number): void {
    if (lagMs < STALL_WARN_MS) return
    this.#stallLog.warn('stall', { lagMs: Math.round(lagMs) }, `this node's timers ran ${(lagMs / 1000).toFixed(1)} s late (a starved host, a long GC pause, a stopped process): its peers may have found it silent meanwhile, and shown it down`, lagMs)
  }

  /**
   * A peer reports this node silent while it runs (if its watchers do, peers may show it down for it).
   * What this node knows of that silence tells where it was: counts made since the last one heard (a
   * stalled process makes none), its own lag, and the beat streams its watchers hold to it (gone, just
   * replaced, or a write that never completed). One line a minute at most: a member could make up
   * reports from many identities.
   */
  #reportedSilent (watcher: string, heardSeq: number, seq: number): void {
    const ago = (ms?: number): string => ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s ago`
    const ids = [...new Set([watcher, ...this.member.verdict.watchers()])]
    const streams = ids.map(id => {
      const b = this.#streams.beatsTo(id)
      return b === undefined ? `${this.#nameOf(id)} none` : `${this.#nameOf(id)} came ${ago(b.openedMsAgo)}, last beat written ${ago(b.sentMsAgo)}, done ${ago(b.doneMsAgo)}`
    })
    const lagMs = Math.round(this.#ownLag.recentMs())
    this.#silentLog.warn('reported-silent', { watcher, node: this.#nameOf(watcher), heardSeq, seq, lagMs, beatStreams: streams },
      `peer ${this.#nameOf(watcher)} reports this node silent after its count ${heardSeq}; it is at ${seq} now (a stalled process counts nothing), its timers ran at most ${lagMs} ms late lately; beat streams: ${streams.join('; ')}`)
  }

  /** a peer's name for a log line, its id while no record of it is known */
  #nameOf (peerId: string): string { return this.#table.get(peerId)?.name ?? peerId }

  async start (): Promise<void> {
    this.#ownLag.start()
    await this.#streams.start()
    this.member.start()
  }

  async stop (): Promise<void> {
    this.member.stop()
    this.#hold.stop()
    await this.#streams.stop()
    this.#ownLag.stop()
  }

  /** Leave gracefully; resolves once the goodbye had a moment to leave. */
  async leave (): Promise<void> {
    this.member.leave()
    await new Promise(resolve => setTimeout(resolve, 200))
  }

  /** Close a peer found silent's connections (whatever is sent on a stalled one waits for TCP's retries), unless this node runs late itself. */
  closeSilent (peerId: string): void { this.#streams.closeSilent([peerId]) }

  /** The peer is reachable again: its beat stream is opened now, not after the backoff of its absence. */
  retry (peerId: string): void { this.#streams.retry(peerId) }

  /** A check changed: make the record again now. */
  publishSoon (): void { this.member.publishSoon() }

  /** this node's reach of the mesh, as it is now */
  partition (): PartitionView { return this.member.partition() }

  /** the same, damped as an incident (incidents.ts): what alerts are made of */
  alertPartition (): HeldPartition { return this.#hold.view(this.member.partition()) }
}
