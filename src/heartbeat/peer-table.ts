/**
 * The one shared state: every peer this node knows, as heartbeats describe it.
 * Others read it (metrics, api, alerts) or subscribe to its typed events
 * (events log). The failure detector is the only writer of down/suspect.
 */
import { EventEmitter } from 'node:events'
import type { CheckState } from '../checks/types.js'
import type { MachineInfo } from '../machine/types.js'
import { digestKey, type Heartbeat } from './wire.js'

export type PeerState = 'up' | 'suspect' | 'down' | 'left'
export const PEER_STATES: readonly PeerState[] = ['up', 'suspect', 'down', 'left']
export type Expect = 'always-on' | 'intermittent'

export interface Peer {
  peerId: string
  name: string
  state: PeerState
  /** unix ms when the state last changed */
  stateSince: number
  /** unix ms of the last heartbeat from it (wall clock, for people) */
  lastSeen: number
  /** monotonic ms of the last heartbeat heard directly (for the detector) */
  heardAt: number
  /** monotonic ms of the latest time any live peer says it heard it (digests) */
  heardIndirectAt: number
  addrs: string[]
  labels: Record<string, string>
  expect: Expect
  /** the peer's heartbeat interval, ms */
  interval: number
  agent: string
  machine: MachineInfo | null
  checks: CheckState[]
  boot: number
  seq: number
  self: boolean
}

export type TransitionReason = 'joined' | 'heartbeat' | 'silent' | 'bye' | 'forgotten'

export interface Transition {
  peer: Peer
  from: PeerState | null
  to: PeerState | null
  reason: TransitionReason
}

export interface PeerTableEvents {
  transition: [Transition]
  /** a peer's check changed status (as carried by its heartbeats) */
  check: [{ peer: Peer, check: CheckState, previous: CheckState | undefined }]
  /** a peer announced different listen addresses */
  addrs: [Peer]
  /** a full heartbeat (machine info, labels, checks) was applied */
  full: [Peer]
}

export type Observation = { accepted: true, isNew: boolean } | { accepted: false, reason: 'replay' }

export class PeerTable extends EventEmitter<PeerTableEvents> {
  readonly #peers = new Map<string, Peer>()
  readonly #byDigestKey = new Map<string, Peer>()
  readonly #monotonic: () => number
  readonly #wall: () => number

  constructor (init: { monotonic?: () => number, wall?: () => number } = {}) {
    super()
    this.#monotonic = init.monotonic ?? (() => performance.now())
    this.#wall = init.wall ?? Date.now
  }

  get (peerId: string): Peer | undefined { return this.#peers.get(peerId) }
  byDigestKey (key: string): Peer | undefined { return this.#byDigestKey.get(key) }
  list (): Peer[] { return [...this.#peers.values()] }
  get size (): number { return this.#peers.size }

  /** A valid heartbeat arrived from `peerId` (the signer). Rejects replays. */
  observe (peerId: string, beat: Heartbeat, self = false): Observation {
    const now = this.#monotonic()
    let peer = this.#peers.get(peerId)
    if (peer !== undefined && (beat.boot < peer.boot || (beat.boot === peer.boot && beat.seq <= peer.seq))) {
      return { accepted: false, reason: 'replay' }
    }
    const isNew = peer === undefined
    if (peer === undefined) {
      peer = {
        peerId, name: beat.name, state: 'up', stateSince: this.#wall(), lastSeen: 0, heardAt: now, heardIndirectAt: 0,
        addrs: [], labels: {}, expect: beat.expect, interval: beat.iv, agent: beat.agent, machine: null, checks: [], boot: beat.boot, seq: beat.seq, self
      }
      this.#peers.set(peerId, peer)
      this.#byDigestKey.set(digestKey(peerId), peer)
    }
    Object.assign(peer, { name: beat.name, expect: beat.expect, interval: beat.iv, agent: beat.agent, boot: beat.boot, seq: beat.seq, lastSeen: this.#wall(), heardAt: now })
    if (beat.full !== undefined) {
      peer.labels = beat.full.labels
      const addrsChanged = peer.addrs.join() !== beat.full.addrs.join()
      peer.addrs = beat.full.addrs
      if (addrsChanged && !self) this.emit('addrs', peer)
      peer.machine = beat.full.machine ?? peer.machine
      this.#updateChecks(peer, beat.full.checks)
      this.emit('full', peer)
    }
    if (beat.k === 'bye') {
      this.#setState(peer, 'left', 'bye')
    } else if (isNew) {
      this.emit('transition', { peer, from: null, to: 'up', reason: 'joined' })
    } else if (peer.state !== 'up') {
      this.#setState(peer, 'up', 'heartbeat')
    }
    if (!self) this.#applyDigest(beat.seen, now)
    return { accepted: true, isNew }
  }

  /** Only the failure detector calls this for silence-driven states. */
  setState (peer: Peer, to: PeerState, reason: TransitionReason): void { this.#setState(peer, to, reason) }

  forget (peer: Peer): void {
    this.#peers.delete(peer.peerId)
    this.#byDigestKey.delete(digestKey(peer.peerId))
    this.emit('transition', { peer, from: peer.state, to: null, reason: 'forgotten' })
  }

  /** This node's digest for its own heartbeat: peers heard within `windowMs`. */
  digest (windowMs: number): Record<string, number> {
    const now = this.#monotonic()
    const out: Record<string, number> = {}
    for (const p of this.#peers.values()) {
      const age = now - p.heardAt
      if (!p.self && age <= windowMs && p.state !== 'left') out[digestKey(p.peerId)] = Math.round(age)
    }
    return out
  }

  #applyDigest (seen: Record<string, number>, now: number): void {
    for (const [key, age] of Object.entries(seen)) {
      const p = this.#byDigestKey.get(key)
      if (p !== undefined) p.heardIndirectAt = Math.max(p.heardIndirectAt, now - age)
    }
  }

  #setState (peer: Peer, to: PeerState, reason: TransitionReason): void {
    if (peer.state === to) return
    const from = peer.state
    peer.state = to
    peer.stateSince = this.#wall()
    this.emit('transition', { peer, from, to, reason })
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
