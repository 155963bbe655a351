/**
 * Turns the peer table's transitions, down incidents and check changes into
 * events, one entry per incident rather than one per observer:
 *  - a down is `peer.down` when its incident opens and `peer.up` when it ends
 *    (the peer held up for a while: a flapping peer is one pair, incidents.ts);
 *    joins and leaves come from the table's transitions;
 *  - a peer event is written by one deterministic writer: the live peer with
 *    the smallest peer id, self included, the subject excluded; if it is still
 *    missing later, by a few others in turn (writers.ts);
 *  - a check change is written by the node that owns the check (the authority);
 *  - every event carries a deterministic incident id (type, subject and the
 *    subject's boot/seq or the check's change time), and the index keeps one
 *    event per id, absorbing races between writers.
 */
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { statusName, type CheckState } from '../checks/types.js'
import type { Incident, PeerIncidents } from '../heartbeat/incidents.js'
import type { Peer, PeerTable, Transition } from '../heartbeat/peer-table.js'
import { clip } from '../text.js'
import type { EventInput, EventType, MeshEvent, Severity } from './types.js'
import { writerRank, Writers, type WritersInit } from './writers.js'

export interface RecorderSink {
  append: (e: EventInput) => Promise<MeshEvent>
  /** an event of this type about this peer within ±windowMs of tsMs is already held */
  hasNear: (type: EventType, peer: string, tsMs: number, windowMs: number) => Promise<boolean>
}

export type RecorderInit = WritersInit

export const incidentId = (...parts: Array<string | number>): string =>
  createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 24)


export class IncidentRecorder {
  readonly #table: PeerTable
  readonly #incidents: PeerIncidents
  readonly #self: string
  readonly #log: Logger
  readonly #sink: RecorderSink
  readonly #writers: Writers
  readonly #onTransition = (t: Transition): void => { this.#transition(t) }
  readonly #onOpen = ({ peer, incident }: { peer: Peer, incident: Incident }): void => {
    const silent = Math.max(0, Math.round((Date.now() - peer.lastSeen) / 1000))
    this.#record(peer, this.#peerEvent(peer, 'peer.down', 'critical', `${peer.name} is down: its watchers have not heard it for ${silent}s`, incident.key))
  }
  readonly #onClose = ({ peer, incident, recovered }: { peer: Peer, incident: Incident, recovered: boolean }): void => {
    if (recovered) this.#record(peer, this.#peerEvent(peer, 'peer.up', 'info', `${peer.name} is up again`, incident.key))
  }
  readonly #onCheck = (c: { peer: Peer, check: CheckState, previous: CheckState | undefined }): void => { this.#check(c.peer, c.check, c.previous) }

  constructor (c: { table: PeerTable, incidents: PeerIncidents, peerId: string, log: Logger }, sink: RecorderSink, init: RecorderInit = {}) {
    this.#table = c.table
    this.#incidents = c.incidents
    this.#self = c.peerId
    this.#log = c.log
    this.#sink = sink
    this.#writers = new Writers(init)
  }

  start (): void {
    this.#table.on('transition', this.#onTransition)
    this.#table.on('check', this.#onCheck)
    this.#incidents.on('open', this.#onOpen)
    this.#incidents.on('close', this.#onClose)
  }

  stop (): void {
    this.#table.off('transition', this.#onTransition)
    this.#table.off('check', this.#onCheck)
    this.#incidents.off('open', this.#onOpen)
    this.#incidents.off('close', this.#onClose)
    this.#writers.stop()
  }

  /** This node's place in the writers' order for events about `subject` (0: it writes them). */
  rankFor (subject: string): number | undefined { return writerRank(this.#table, this.#self, { exclude: subject }) }

  /** joins and leaves; downs and their ends come from incidents */
  #transition ({ peer, from, to, reason }: Transition): void {
    if (peer.self || peer.peerId === this.#self || to === null || to === 'suspect') return
    const name = peer.name
    let e: EventInput | undefined
    if (to === 'left') {
      e = this.#peerEvent(peer, 'peer.left', 'info', reason === 'bye'
        ? `${name} left the mesh`
        : `${name} went silent (intermittent peer, not an alert)`, `${peer.boot}/${peer.seq}`)
    } else if (to === 'up' && from === 'left') {
      e = this.#peerEvent(peer, 'peer.joined', 'info', `${name} joined the mesh again`, `${peer.boot}/${peer.seq}`)
    } else if (to === 'up' && from === null && this.#joinedAfterMe(peer)) {
      e = this.#peerEvent(peer, 'peer.joined', 'info', `${name} joined the mesh`)
    }
    if (e !== undefined) this.#record(peer, e)
  }

  /** written by the designated writer, or later by a backup if nobody did (writers.ts) */
  #record (peer: Peer, event: EventInput): void {
    const subject = peer.peerId
    const held = async (): Promise<boolean> => await this.#sink.hasNear(event.type, subject, Date.parse(event.ts as string), 30_000 + this.#writers.fallbackMs)
    this.#writers.record(() => this.rankFor(subject), held, (rank, fallback) => {
      event.labels = { ...peer.labels }
      if (fallback) this.#log.info({ type: event.type, peer: subject, rank }, 'the designated writer did not record this incident: recording it')
      this.#write(event)
    })
  }

  /**
   * A peer new to this table is a join only if it started after this node did;
   * otherwise this node is the newcomer, learning of a peer that was already there.
   */
  #joinedAfterMe (peer: Peer): boolean {
    const me = this.#table.get(this.#self)
    return me !== undefined && peer.boot > me.boot
  }

  /** `key`: what tells this incident apart, the same on every observer (a down's silence, a leave's record) */
  #peerEvent (peer: Peer, type: EventType, severity: Severity, message: string, key?: string): EventInput {
    return {
      id: incidentId(type, peer.peerId, key ?? `${peer.boot}/boot`),
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
}
