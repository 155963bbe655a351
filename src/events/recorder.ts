/**
 * Turns the peer table's transitions and check changes into events, one entry
 * per incident rather than one per observer:
 *  - a peer transition is written by one deterministic writer: the live (`up`)
 *    peer with the smallest peer id, self included, the subject excluded. The
 *    other observers write it too only if, `fallbackMs` later, no event of that
 *    type about that peer is in the log (the writer died or was cut off);
 *  - a check change is written by the node that owns the check (the authority);
 *  - every event carries a deterministic incident id (type, subject and the
 *    subject's boot/seq or the check's change time), and the index keeps one
 *    event per id, absorbing races between writers.
 */
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { statusName, type CheckState } from '../checks/types.js'
import type { Peer, PeerTable, Transition } from '../heartbeat/peer-table.js'
import { clip } from '../text.js'
import type { EventInput, EventType, MeshEvent, Severity } from './types.js'

export interface RecorderSink {
  append: (e: EventInput) => Promise<MeshEvent>
  /** an event of this type about this peer within ±windowMs of tsMs is already held */
  hasNear: (type: EventType, peer: string, tsMs: number, windowMs: number) => Promise<boolean>
}

export interface RecorderInit {
  /** how long a non-writer waits before writing an incident nobody wrote @default 5000 */
  fallbackMs?: number
}

export const incidentId = (...parts: Array<string | number>): string =>
  createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 24)


export class IncidentRecorder {
  readonly #table: PeerTable
  readonly #self: string
  readonly #log: Logger
  readonly #sink: RecorderSink
  readonly #fallbackMs: number
  readonly #wasDown = new Set<string>()
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #onTransition = (t: Transition): void => { this.#transition(t) }
  readonly #onCheck = (c: { peer: Peer, check: CheckState, previous: CheckState | undefined }): void => { this.#check(c.peer, c.check, c.previous) }

  constructor (c: { table: PeerTable, peerId: string, log: Logger }, sink: RecorderSink, init: RecorderInit = {}) {
    this.#table = c.table
    this.#self = c.peerId
    this.#log = c.log
    this.#sink = sink
    this.#fallbackMs = init.fallbackMs ?? 5000
  }

  start (): void {
    this.#table.on('transition', this.#onTransition)
    this.#table.on('check', this.#onCheck)
  }

  stop (): void {
    this.#table.off('transition', this.#onTransition)
    this.#table.off('check', this.#onCheck)
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
  }

  /** The peer that writes incidents about `subject`, as this node sees the mesh. */
  writerFor (subject: string): string | undefined {
    let writer: string | undefined
    for (const p of this.#table.list()) {
      if (p.state === 'up' && p.peerId !== subject && (writer === undefined || p.peerId < writer)) writer = p.peerId
    }
    return writer
  }

  #transition ({ peer, from, to, reason }: Transition): void {
    if (peer.self || peer.peerId === this.#self || to === null || to === 'suspect') return
    const name = peer.name
    let e: EventInput | undefined
    if (to === 'down') {
      this.#wasDown.add(peer.peerId)
      const silent = Math.max(0, Math.round((Date.now() - peer.lastSeen) / 1000))
      e = this.#peerEvent(peer, 'peer.down', 'critical', `${name} is down: no heartbeat for ${silent}s and no live peer heard it`, peer.seq)
    } else if (to === 'left') {
      this.#wasDown.delete(peer.peerId)
      e = this.#peerEvent(peer, 'peer.left', 'info', reason === 'bye'
        ? `${name} left the mesh`
        : `${name} went silent (intermittent peer, not an alert)`, peer.seq)
    } else if (to === 'up') {
      const wasDown = from === 'down' || (from === 'suspect' && this.#wasDown.has(peer.peerId))
      this.#wasDown.delete(peer.peerId)
      if (wasDown) {
        e = this.#peerEvent(peer, 'peer.up', 'info', `${name} is up again`, peer.seq)
      } else if (from === 'left') {
        e = this.#peerEvent(peer, 'peer.joined', 'info', `${name} joined the mesh again`, peer.seq)
      } else if (from === null && this.#joinedAfterMe(peer)) {
        e = this.#peerEvent(peer, 'peer.joined', 'info', `${name} joined the mesh`)
      }
    }
    if (e === undefined) return
    const event = e
    const write = (): void => {
      event.labels = { ...peer.labels }
      if (this.writerFor(peer.peerId) === this.#self) this.#write(event)
      else this.#fallback(event)
    }
    // a new peer's first heartbeat is often a light one: give its full beat (labels) a moment
    if (event.type === 'peer.joined' && Object.keys(peer.labels).length === 0) this.#later(write, Math.min(5000, 2 * peer.interval))
    else write()
  }

  #later (fn: () => void, ms: number): void {
    const timer = setTimeout(() => { this.#timers.delete(timer); fn() }, ms)
    timer.unref()
    this.#timers.add(timer)
  }

  /**
   * A peer new to this table is a join only if it started after this node did;
   * otherwise this node is the newcomer, learning of a peer that was already there.
   */
  #joinedAfterMe (peer: Peer): boolean {
    const me = this.#table.get(this.#self)
    return me !== undefined && peer.boot > me.boot
  }

  #peerEvent (peer: Peer, type: EventType, severity: Severity, message: string, seq?: number): EventInput {
    return {
      id: incidentId(type, peer.peerId, peer.boot, seq ?? 'boot'),
      ts: new Date().toISOString(),
      type,
      severity,
      subject: { peer: peer.peerId, name: peer.name },
      message,
      labels: peer.labels
    }
  }

  #check (peer: Peer, check: CheckState, previous: CheckState | undefined): void {
    // the owner is the authority on its checks; a check that has not run yet says nothing
    if (!peer.self || check.lastRun === 0) return
    const first = previous === undefined || previous.lastRun === 0
    if (first && check.status === 0) return
    if (!first && previous?.status === check.status) return
    const type: EventType = check.status === 0 ? 'check.recovered' : check.status === 1 ? 'check.warning' : 'check.failed'
    const severity: Severity = check.status === 0 ? 'info' : check.status === 1 ? 'warning' : 'critical'
    const what = check.status === 0 ? 'recovered' : `is ${statusName(check.status)}`
    this.#write({
      id: incidentId(type, peer.peerId, check.name, check.since),
      ts: new Date(check.since > 0 ? check.since : Date.now()).toISOString(),
      type,
      severity,
      subject: { peer: peer.peerId, name: peer.name, check: check.name },
      message: clip(`${check.name} on ${peer.name} ${what}: ${check.output}`, 1000),
      labels: peer.labels
    })
  }

  #write (e: EventInput): void {
    this.#sink.append(e).catch((err: Error) => { this.#log.warn({ err: err.message, type: e.type, peer: e.subject.peer }, 'event not written') })
  }

  #fallback (e: EventInput): void {
    this.#later(() => {
      this.#sink.hasNear(e.type, e.subject.peer, Date.parse(e.ts as string), 30_000 + this.#fallbackMs).then(held => {
        if (!held) {
          this.#log.info({ type: e.type, peer: e.subject.peer }, 'the designated writer did not record this incident: recording it')
          this.#write(e)
        }
      }, () => {})
    }, this.#fallbackMs)
  }
}
