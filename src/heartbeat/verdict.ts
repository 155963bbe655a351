/**
 * Every node's judgement of every peer, from what the peer's watchers report
 * (their records' `obs`; this node's own from its Observer):
 *
 *  - the watchers that count are the peer's `2k` successors on this node's
 *    ring (ring.ts): a member can only vote on peers next to it, so one liar
 *    cannot keep a dead peer alive or kill a live one anywhere in the mesh;
 *  - `down` when a majority of those reporting on it (watchers that heard it
 *    once; one that never could abstains) found it silent past the down bound:
 *    one broken link (one of three watchers cut off from its subject) pages
 *    nobody, and one liar is outvoted;
 *  - `suspect` when a quorum finds it late; `up` otherwise;
 *  - an `intermittent` peer found silent becomes `left`: shown, never alerted;
 *  - `down` and `left` hold until a record made after the silence arrives
 *    (peer-table.ts), so a late copy of an old record brings nobody back;
 *  - a peer no watcher ever heard (only its record is known) is forgotten once
 *    the record is stale, never `down`: keys made up by a member that holds the
 *    swarm key cannot page anyone.
 *
 * A node that can reach only a minority of the mesh (cut off, or on the small
 * side of a partition) cannot tell a dead peer from an unreachable one: there
 * it marks them `suspect`, never `down`, and says so (`partition()`); the
 * majority side pages for it. A node hears of every peer at least every
 * record refresh, so a peer with no news for `staleAfter` is not counted as
 * reachable. A mesh of two has no majority to ask: there a silent peer is
 * `down`. The clock is injected and tick() is public.
 */
import type { Observer } from './observer.js'
import type { Peer, PeerTable, Transition } from './peer-table.js'
import type { Obs } from './record.js'
import { Ring } from './ring.js'

export interface VerdictInit {
  selfId: string
  /** watchers per peer @default 3 */
  watchers?: number
  /** a peer with no news for this long is not counted as reachable when judging the partition, ms @default 30000 */
  staleAfterMs?: number
  /** a down or left peer with no news for this long is forgotten, ms @default 3_600_000 */
  forgetAfterMs?: number
  monotonic?: () => number
  wall?: () => number
}

export interface VerdictComponents {
  table: PeerTable
  observer: Observer
  /** monotonic ms when anything last arrived from the mesh (a beat or a gossip message) */
  heardFromMeshAt: () => number
  /** the silence after which this node's own watches count as silent, ms (downAfter x interval) */
  silentAfterMs: () => number
  /** this node found itself cut off or on the small side, or back */
  onPartition?: (view: PartitionView) => void
}

export interface PartitionView {
  /** live peers this node reaches, itself included */
  reachable: number
  /** the peers up or suspect, itself included (one found down is known dead, not unreachable) */
  members: number
  /** this node hears nobody: every peer it watches is silent and nothing else arrives */
  isolated: boolean
  /** reachable is no majority of members, or isolated: peers found silent are `suspect`, not `down` */
  minority: boolean
  /** unix ms when `minority` last changed */
  since: number
}

export class Verdict {
  readonly ring = new Ring()
  readonly #c: VerdictComponents
  readonly #self: string
  readonly #k: number
  readonly #staleAfterMs: number
  readonly #forgetAfterMs: number
  readonly #monotonic: () => number
  readonly #wall: () => number
  #partition: PartitionView
  readonly #onTransition = (t: Transition): void => { this.#ringFollows(t) }
  readonly #onObs = ({ subjects }: { subjects: string[] }): void => { for (const s of subjects) this.judge(s) }

  constructor (c: VerdictComponents, init: VerdictInit) {
    this.#c = c
    this.#self = init.selfId
    this.#k = init.watchers ?? 3
    this.#staleAfterMs = init.staleAfterMs ?? 30_000
    this.#forgetAfterMs = init.forgetAfterMs ?? 3_600_000
    this.#monotonic = init.monotonic ?? (() => performance.now())
    this.#wall = init.wall ?? Date.now
    this.#partition = { reachable: 1, members: 1, isolated: false, minority: false, since: this.#wall() }
    this.ring.add(init.selfId)
  }

  start (): void {
    for (const p of this.#c.table.values()) if (p.state === 'up' || p.state === 'suspect') this.ring.add(p.peerId)
    this.#c.table.on('transition', this.#onTransition)
    this.#c.table.on('obs', this.#onObs)
  }

  stop (): void {
    this.#c.table.off('transition', this.#onTransition)
    this.#c.table.off('obs', this.#onObs)
  }

  /**
   * The peers this node should watch: its `k` predecessors on the ring, and
   * further ones (up to 2k back) whose nearer watchers cannot all reach them:
   * each peer is watched by `k` nodes that hear it, where there are such.
   */
  subjects (): string[] {
    const out: string[] = []
    this.ring.predecessors(this.#self, 2 * this.#k).forEach((p, i) => {
      if (i < this.#k) { out.push(p); return }
      let reached = 0
      for (const w of this.ring.successors(p, i)) {
        const obs = this.#obsOf(w, p)
        if (obs !== undefined && obs[0] !== 3) reached++
      }
      if (reached < this.#k) out.push(p)
    })
    return out
  }

  /** The peers that should watch this node: its `k` successors on the ring. */
  watchers (): string[] { return this.ring.successors(this.#self, this.#k) }

  /** What `watcher` reports of `peerId` (this node's own observer for itself). */
  #obsOf (watcher: string, peerId: string): Obs | undefined {
    return watcher === this.#self ? this.#c.observer.get(peerId) : this.#c.table.get(watcher)?.obs[peerId]
  }

  partition (): PartitionView { return this.#partition }

  /** Judge one peer from its watchers' reports. */
  judge (peerId: string): void {
    const peer = this.#c.table.get(peerId)
    if (peer === undefined || peer.self || peer.state === 'down' || peer.state === 'left') return
    let reporting = 0
    let silent = 0
    let late = 0
    let lastSeq = peer.seq
    for (const w of this.ring.successors(peerId, 2 * this.#k)) {
      const obs = this.#obsOf(w, peerId)
      // a watcher that never heard it abstains; a report on an earlier life of the peer (it restarted since) says nothing of this one
      if (obs === undefined || obs[0] === 3 || obs[1] < peer.boot) continue
      reporting++
      if (obs[0] === 2) silent++
      if (obs[0] >= 1) late++
      if (obs[1] === peer.boot) lastSeq = Math.max(lastSeq, obs[2])
    }
    if (reporting > 0) peer.confirmed = true
    const quorum = Math.floor(reporting / 2) + 1
    if (reporting > 0 && silent >= quorum) {
      // judged with what this node reaches now, not at its last tick: a cut cable silences many at once
      if (this.#refreshPartition().minority) { this.#c.table.setState(peer, 'suspect', 'silent'); return }
      peer.silentAt = [peer.boot, lastSeq]
      this.#c.table.setState(peer, peer.expect === 'intermittent' ? 'left' : 'down', 'silent')
    } else if (reporting > 0 && late >= quorum) {
      this.#c.table.setState(peer, 'suspect', 'silent')
    } else if (peer.state === 'suspect') {
      this.#c.table.setState(peer, 'up', 'reachable')
    }
  }

  /**
   * The time-driven part: who is reachable, whether this node is on the small
   * side of the mesh, and forgetting long-gone peers. Run it every second or so.
   */
  tick (): void {
    const now = this.#monotonic()
    for (const p of this.#c.table.values()) {
      if (p.self) continue
      if ((p.state === 'down' || p.state === 'left') && now - p.heardAt > this.#forgetAfterMs) this.#c.table.forget(p)
      // a record whose origin no watcher ever heard beat, and no newer one since: not a node (a key made up
      // by a member holding the swarm key, or a node that died at once). Forgotten, never paged for
      else if (p.confirmed !== true && (p.state === 'up' || p.state === 'suspect') && now - p.heardAt > this.#staleAfterMs) this.#c.table.forget(p)
    }
    const was = this.#partition
    const { minority } = this.#refreshPartition()
    // back on the large side: peers found silent meanwhile are judged again (and are down now)
    if (was.minority && !minority) for (const p of this.#c.table.values()) if (p.state === 'suspect') this.judge(p.peerId)
  }

  /**
   * Who this node reaches of the members. Members are itself and the peers up
   * or suspect: one found down (by a quorum, while this node was on the large
   * side) is known dead, and is no reason to doubt the rest. Reachable are those
   * up with news within `staleAfter`. A suspect peer is a member not reached:
   * many at once (a cut cable, a split) leave this node on the small side.
   */
  #refreshPartition (): PartitionView {
    const now = this.#monotonic()
    let members = 1
    let reachable = 1
    for (const p of this.#c.table.values()) {
      if (p.self || (p.state !== 'up' && p.state !== 'suspect')) continue
      members++
      if (p.state === 'up' && now - p.heardAt <= this.#staleAfterMs) reachable++
    }
    const levels = Object.values(this.#c.observer.report())
    const isolated = members > 1 && levels.length > 0 && levels.every((o: Obs) => o[0] >= 2) &&
      now - this.#c.heardFromMeshAt() > this.#c.silentAfterMs()
    // a mesh of two cannot tell a dead peer from a cut cable: it pages rather than stay silent
    const minority = members > 2 && (isolated || reachable * 2 <= members)
    const was = this.#partition
    this.#partition = { reachable, members, isolated, minority, since: was.minority === minority && was.isolated === isolated ? was.since : this.#wall() }
    if (was.minority !== minority || was.isolated !== isolated) this.#c.onPartition?.(this.#partition)
    return this.#partition
  }

  /** Live peers (up, suspect) are on the ring; a change there changes who watches the peers next to it. */
  #ringFollows ({ peer, to }: Transition): void {
    if (peer.self) return
    const live = to === 'up' || to === 'suspect'
    const changed = live ? this.ring.add(peer.peerId) : this.ring.remove(peer.peerId)
    if (!changed) return
    // the peers whose 2k watchers now include or lack this one
    for (const p of this.ring.predecessors(peer.peerId, 2 * this.#k)) if (p !== this.#self) this.judge(p)
  }
}

export type { Peer }
