/**
 * The one shared state: every peer this node knows, as its latest record says
 * and as the verdict (verdict.ts) judges it. Others read it (metrics, api,
 * alerts) or subscribe to its typed events (events log). Only the verdict
 * writes `suspect` and `down`; a newer record from a peer brings it back.
 */
import { EventEmitter } from 'node:events'
import type { CheckState } from '../checks/types.js'
import type { MachineInfo } from '../machine/types.js'
import type { Expect, NodeRecord, Obs } from './record.js'

export type { Expect } from './record.js'
export type PeerState = 'up' | 'suspect' | 'down' | 'left'
export const PEER_STATES: readonly PeerState[] = ['up', 'suspect', 'down', 'left']

/** A peer's `down` as an incident (incidents.ts): open until it has been back up for a while. */
export interface Incident {
  /** unix ms the peer went down */
  since: number
  /** the silence it began with, the same on every observer: "boot/seq" of the last beat its watchers heard */
  key: string
  /** unix ms it came back up, while waiting for it to hold */
  recovering?: number
}

export interface Peer {
  peerId: string
  name: string
  state: PeerState
  /** unix ms when the state last changed */
  stateSince: number
  /** unix ms of the last sign of life: a new record, or a beat this node heard itself */
  lastSeen: number
  /** monotonic ms of the same */
  heardAt: number
  addrs: string[]
  labels: Record<string, string>
  expect: Expect
  /** the peer's beat interval, ms */
  interval: number
  agent: string
  machine: MachineInfo | null
  checks: CheckState[]
  /** the record's (boot, seq): it only grows */
  boot: number
  seq: number
  /** what this peer reports of the peers it watches */
  obs: Record<string, Obs>
  self: boolean
  /** (boot, seq) of the last beat anyone heard when the verdict found it silent: only a later record is a sign of life */
  silentAt?: [number, number]
  /**
   * the silentAt that a later record ended: its watchers' reports of that silence, read after the
   * record (they come on their own records), say nothing of the peer now
   */
  endedSilence?: [number, number]
  /** its open down incident (incidents.ts) */
  incident?: Incident
  /** a watcher has heard its beats: it is a live node, not just a record (one that never is can never page) */
  confirmed?: true
  /** its latest record says it reaches no majority of the mesh */
  split?: boolean
}

export type TransitionReason = 'joined' | 'alive' | 'silent' | 'bye' | 'forgotten' | 'reachable'

export interface Transition {
  peer: Peer
  from: PeerState | null
  to: PeerState | null
  reason: TransitionReason
  /** a verdict of silence: the watchers that found the peer silent, of those whose reports counted */
  votes?: Votes
  /** wall ms since which the peer was in `from` */
  fromSince: number
}

export interface Votes { silent: string[], reporting: number }

export interface PeerTableEvents {
  transition: [Transition]
  /** a peer's check changed status (as its record says) */
  check: [{ peer: Peer, check: CheckState, previous: CheckState | undefined }]
  /** a peer announced different listen addresses */
  addrs: [Peer]
  /** a newer record of the peer was applied (machine info, labels, checks, observations) */
  full: [Peer]
  /** what a peer reports of the peers it watches changed: these subjects' verdicts may change */
  obs: [{ peer: Peer, subjects: string[] }]
}

export type Applied = { accepted: true, isNew: boolean } | { accepted: false, reason: 'replay' }

const newer = (boot: number, seq: number, than: [number, number]): boolean => boot > than[0] || (boot === than[0] && seq > than[1])

export class PeerTable extends EventEmitter<PeerTableEvents> {
  readonly #peers = new Map<string, Peer>()
  readonly #monotonic: () => number
  readonly #wall: () => number

  constructor (init: { monotonic?: () => number, wall?: () => number } = {}) {
    super()
    this.#monotonic = init.monotonic ?? (() => performance.now())
    this.#wall = init.wall ?? Date.now
  }

  get (peerId: string): Peer | undefined { return this.#peers.get(peerId) }

  /**
   * Names carried by more than one peer that has not left: status, alerts (`node=`) and
   * `events --peer NAME` would mix them up, so they are flagged wherever names are shown.
   */
  nameConflicts (): Map<string, string[]> {
    const byName = new Map<string, string[]>()
    for (const p of this.#peers.values()) {
      if (p.state === 'left') continue
      const ids = byName.get(p.name)
      if (ids === undefined) byName.set(p.name, [p.peerId])
      else ids.push(p.peerId)
    }
    for (const [name, ids] of byName) if (ids.length < 2) byName.delete(name)
    return byName
  }
  list (): Peer[] { return [...this.#peers.values()] }
  values (): IterableIterator<Peer> { return this.#peers.values() }
  get size (): number { return this.#peers.size }

  /** A valid record of `peerId` (its origin, checked by signature). Older or equal (boot, seq) is refused. */
  apply (peerId: string, r: NodeRecord, self = false): Applied {
    let peer = this.#peers.get(peerId)
    if (peer !== undefined && !newer(r.boot, r.seq, [peer.boot, peer.seq])) return { accepted: false, reason: 'replay' }
    const isNew = peer === undefined
    if (peer === undefined) {
      peer = {
        peerId, name: r.name, state: 'up', stateSince: this.#wall(), lastSeen: 0, heardAt: 0, addrs: [], labels: {},
        expect: r.expect, interval: r.iv, agent: r.agent, machine: null, checks: [], boot: r.boot, seq: r.seq, obs: {}, self
      }
      this.#peers.set(peerId, peer)
    }
    const addrsChanged = peer.addrs.join() !== r.addrs.join()
    const obsChanged = changedKeys(peer.obs, r.obs)
    Object.assign(peer, { name: r.name, expect: r.expect, interval: r.iv, agent: r.agent, boot: r.boot, seq: r.seq, labels: r.labels, addrs: r.addrs, obs: r.obs, split: r.split === true })
    peer.machine = r.machine ?? peer.machine
    peer.lastSeen = this.#wall()
    peer.heardAt = this.#monotonic()
    if (addrsChanged && !self) this.emit('addrs', peer)
    this.#updateChecks(peer, r.checks)
    this.emit('full', peer)
    if (r.bye === true) {
      this.#setState(peer, 'left', 'bye')
    } else if (isNew) {
      this.emit('transition', { peer, from: null, to: 'up', reason: 'joined', fromSince: peer.stateSince })
    } else if ((peer.state === 'down' || peer.state === 'left') && (peer.silentAt === undefined || newer(r.boot, r.seq, peer.silentAt))) {
      peer.endedSilence = peer.silentAt
      peer.silentAt = undefined
      this.#setState(peer, 'up', 'alive')
    }
    if (obsChanged.length > 0) this.emit('obs', { peer, subjects: obsChanged })
    return { accepted: true, isNew }
  }

  /** This node heard a beat of `peerId` itself: a sign of life, but not news for anyone else. */
  heard (peerId: string): void {
    const peer = this.#peers.get(peerId)
    if (peer === undefined) return
    peer.confirmed = true
    peer.lastSeen = this.#wall()
    peer.heardAt = this.#monotonic()
  }

  /** Only the verdict calls this. */
  setState (peer: Peer, to: PeerState, reason: TransitionReason, votes?: Votes): void { this.#setState(peer, to, reason, votes) }

  forget (peer: Peer): void {
    if (!this.#peers.delete(peer.peerId)) return
    this.emit('transition', { peer, from: peer.state, to: null, reason: 'forgotten', fromSince: peer.stateSince })
  }

  #setState (peer: Peer, to: PeerState, reason: TransitionReason, votes?: Votes): void {
    if (peer.state === to) return
    const from = peer.state
    const fromSince = peer.stateSince
    peer.state = to
    peer.stateSince = this.#wall()
    this.emit('transition', votes === undefined ? { peer, from, to, reason, fromSince } : { peer, from, to, reason, votes, fromSince })
  }

  #updateChecks (peer: Peer, checks: CheckState[]): void {
    const before = new Map(peer.checks.map(c => [c.name, c]))
    peer.checks = checks
    for (const check of checks) {
      const previous = before.get(check.name)
      if (previous?.status !== check.status) this.emit('check', { peer, check, previous })
    }
  }
}

/** Keys whose entry differs between two observation maps (added, removed or changed). */
function changedKeys (a: Record<string, Obs>, b: Record<string, Obs>): string[] {
  const out: string[] = []
  // a silence with a later count is a new silence (verdict.ts weighs a silence by its count)
  for (const k in a) { const x = a[k] as Obs; const y = b[k]; if (y === undefined || x[0] !== y[0] || x[1] !== y[1] || (x[0] === 2 && x[2] !== y[2])) out.push(k) }
  for (const k in b) if (a[k] === undefined) out.push(k)
  return out
}
