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
 * majority side pages for it. Before any `down` it asks a few members
 * directly (`probe`) whether it reaches a majority: the news that would say
 * it is the one cut off comes last, or never. A node hears of every peer at least every
 * record refresh, so a peer with no news for `staleAfter` is not counted as
 * reachable. A mesh of two has no majority to ask: there a silent peer is
 * `down`. The clock is injected and tick() is public.
 */
import type { Observer } from './observer.js'
import type { Peer, PeerTable, Transition } from './peer-table.js'
import type { Obs } from './record.js'
import { shuffled } from '../random.js'
import { Ring } from './ring.js'

/** counts (beats and records) a peer's latest record may be past the last beat a watcher heard, for its silence to count */
const STALE_SILENCE_GAP = 4

/** how often a node asks again while its last probe found no majority, or a peer found silent answers it, ms */
export const PROBE_EVERY_MS = 2000

export interface VerdictInit {
  selfId: string
  /** watchers per peer @default 3 */
  watchers?: number
  /** a peer with no news for this long is not counted as reachable when judging the partition, ms @default 30000 */
  staleAfterMs?: number
  /** a down or left peer with no news for this long is forgotten, ms @default 3_600_000 */
  forgetAfterMs?: number
  /** peers asked at once when this node must know whether it reaches a majority @default 7 */
  probeSample?: number
  /** while the last probe found no majority, ask again this often, ms @default PROBE_EVERY_MS */
  probeEveryMs?: number
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
  /** a peer this node still reported silent lives again: its report should say so soon */
  onReleased?: (peerId: string) => void
  /** this node found itself cut off or on the small side, or back */
  onPartition?: (view: PartitionView) => void
  /** a peer its watchers find silent answered this node's probe: kept suspect (said once while it lasts) */
  onAnswering?: (peerId: string) => void
  /**
   * Ask these peers directly whether they answer; resolves at the latest when its time bound ends,
   * or once those reached are `enough` (and the `awaited` still out had a moment more). Without it
   * (the protocol simulation), a node knows its reach only from the news it gets.
   */
  probe?: (peers: string[], enough: (reached: ReadonlySet<string>) => boolean, awaited?: ReadonlySet<string>) => Promise<ProbeAnswers>
  /** the peers this node holds a connection to: they answer a probe in a round trip, the others only after a dial */
  connected?: () => ReadonlySet<string>
}

export interface ProbeAnswers {
  /** the network reaches them: they answered, or their host refused the connection */
  reached: ReadonlySet<string>
  /** their meshmon answered: they live */
  alive: ReadonlySet<string>
}

export interface PartitionView {
  /** live peers this node reaches, itself included */
  reachable: number
  /** the peers up or suspect, itself included (one found down is known dead, not unreachable) */
  members: number
  /** this node hears nobody: every peer it watches fell silent, nothing else arrives, and no peer answers it */
  isolated: boolean
  /** reachable is no majority of members, or isolated: peers found silent are `suspect`, not `down` */
  minority: boolean
  /** unix ms when `minority` last changed */
  since: number
}

/**
 * How many of a probe's `sample` go to each of two groups of `a` and `b` peers: in proportion to
 * their sizes, at least one to a group that has any, and the sample filled where one group is short.
 */
export function shares (sample: number, a: number, b: number): [number, number] {
  if (a + b <= sample) return [a, b]
  let sa = Math.min(a, Math.max(a > 0 ? 1 : 0, Math.round(sample * a / (a + b))))
  if (b > 0 && sa === sample) sa--
  const sb = Math.min(b, sample - sa)
  return [Math.min(a, sample - sb), sb]
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
  readonly #probeSample: number
  readonly #probeEveryMs: number
  /** peers found silent by a quorum, waiting for a probe to say whether this node reaches a majority */
  readonly #waiting = new Set<string>()
  #probing = false
  /** the last probe: when it ended, and what it found */
  #probe?: { at: number, share: number, asked: number, answered: number, minority: boolean, askedWaiting: ReadonlySet<string>, alive: ReadonlySet<string> }
  /** found silent by a quorum, yet they answered this node's probe: suspect, asked again every probeEveryMs */
  readonly #answering = new Set<string>()
  #stopped = false
  /** monotonic ms this node last came back from the small side; undefined once its grace is over */
  #rejoinedAt?: number
  /** peers shown suspect only because this node is cut off: counted reachable again once heard */
  readonly #unheard = new Set<string>()
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
    this.#probeSample = init.probeSample ?? 7
    this.#probeEveryMs = init.probeEveryMs ?? PROBE_EVERY_MS
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
    this.#stopped = true
    this.#waiting.clear()
    this.#answering.clear()
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
    const silentBy: string[] = []
    let late = 0
    let lastSeq = peer.seq
    for (const w of this.ring.successors(peerId, 2 * this.#k)) {
      const obs = this.#obsOf(w, peerId)
      // a watcher that never heard it abstains; a report on an earlier life of the peer (it restarted since) says nothing of this one
      if (obs === undefined || obs[0] === 3 || obs[1] < peer.boot) continue
      // silent since a beat well older than a record this node holds of the peer: a silence that ended
      // (across a healed split, the other side's reports arrive before their new beats are heard).
      // Beats and records share one counter: a dead peer's last record is at most a few counts past the
      // last beat heard (records made between two beats), a live one's dozens past a silence that ended
      if (obs[0] === 2 && obs[1] === peer.boot && peer.seq - obs[2] > STALE_SILENCE_GAP) continue
      // the silence this node found it down for, and a later record ended. A stopped or starved process
      // makes no counts while it is stalled, so the gap above does not tell; and its watchers say it lives
      // again only in their next records, after this node has read the peer's own
      const ended = peer.endedSilence
      if (obs[0] >= 1 && ended !== undefined && obs[1] === ended[0] && obs[2] <= ended[1]) continue
      reporting++
      if (obs[0] === 2) silentBy.push(w)
      if (obs[0] >= 1) late++
      if (obs[1] === peer.boot) lastSeq = Math.max(lastSeq, obs[2])
    }
    if (reporting > 0) peer.confirmed = true
    // this node itself finds a peer it watches silent: its own cable may be the cut one, and the
    // others' news of the rest would be the last to say so. It asks, even if the others outvote it.
    const own = this.#c.observer.get(peerId)
    if (own !== undefined && own[0] === 2 && this.#c.probe !== undefined && !this.#probedMajority() &&
      !this.#probedMinorityLately()) this.#probeNow()
    const quorum = Math.floor(reporting / 2) + 1
    if (reporting > 0 && silentBy.length >= quorum) {
      // a cut cable silences many peers at once, and the news that would tell this node it is the
      // one cut off may never come: before a down, it asks a few peers whether they answer, and the
      // peer itself (a probe that ended a moment ago without it, made for another silence, does not do)
      if (!this.#probedMajority() || (this.#c.probe !== undefined && this.#probe?.askedWaiting.has(peerId) !== true)) {
        this.#waiting.add(peerId)
        this.#c.table.setState(peer, 'suspect', 'silent')
        // one that found no majority is asked again by tick(), not at every silence
        if (!this.#probedMinorityLately()) this.#probeNow()
        return
      }
      if (this.#refreshPartition().minority) { this.#c.table.setState(peer, 'suspect', 'silent'); return }
      // just back from the small side: the silences its watchers found were the split's, and their
      // reports may be read before the peers are heard again; judged once the grace is over (tick)
      if (this.#rejoinedAt !== undefined) { this.#c.table.setState(peer, 'suspect', 'silent'); return }
      // it answered this node just now, after its watchers found it silent: alive, whatever kept its
      // beats from them (its loop starved for a moment on a busy host, a stalled connection). Suspect,
      // asked again by tick(); down once it no longer answers
      if (this.#probe?.alive.has(peerId) === true) {
        if (!this.#answering.has(peerId)) this.#c.onAnswering?.(peerId)
        this.#answering.add(peerId)
        this.#c.table.setState(peer, 'suspect', 'silent')
        return
      }
      peer.silentAt = [peer.boot, lastSeq]
      this.#c.table.setState(peer, peer.expect === 'intermittent' ? 'left' : 'down', 'silent', { silent: silentBy, reporting })
    } else if (reporting > 0 && late >= quorum) {
      this.#c.table.setState(peer, 'suspect', 'silent')
    } else if (peer.state === 'suspect' && !this.#partition.isolated) {
      this.#c.table.setState(peer, 'up', 'reachable')
    }
  }

  /** the last probe found no majority, less than probeEveryMs ago: tick() asks again, not each silence */
  #probedMinorityLately (): boolean {
    return this.#probe?.minority === true && this.#monotonic() - this.#probe.at < this.#probeEveryMs
  }

  /** a probe that ended within the last second found a majority (no probe: nothing to ask, so yes) */
  #probedMajority (): boolean {
    if (this.#c.probe === undefined) return true
    const p = this.#probe
    return p !== undefined && !p.minority && this.#monotonic() - p.at <= 1000
  }

  /**
   * Ask a random few of the members, and a few of those waiting for a verdict (the members this
   * node does not hear). The reach is estimated as this node, plus each group in the proportion
   * that answered; a majority of the members is what makes a down. The waiting ones are asked
   * too: after a heal their watchers' reports say silent for a while yet, and estimated from the
   * others alone, this node on the small side of a split that has healed would stay there.
   *
   * The members are two groups, each sampled in proportion to its size: those this node holds a
   * connection to answer in a round trip, the others only after a dial, which on a busy host may
   * not end within the probe's bound. Drawn from all at once, a sample short of connected peers
   * read as the small side (20 nodes on two cores: 3 of 7 answered in time, and a survivor held a
   * dead peer suspect for 10 s). Counted apart, the connected group can make a majority alone,
   * while a group that did not answer counts for nothing: on the small side of a lasting split,
   * where the connections across it are closed, the connected group is that side alone, and
   * no majority.
   */
  #probeNow (): void {
    const probe = this.#c.probe
    if (probe === undefined || this.#probing || this.#stopped) return
    const connected = this.#c.connected?.()
    const near: string[] = []
    const far: string[] = []
    const waiting: string[] = []
    let members = 1
    for (const p of this.#c.table.values()) {
      // only peers a watcher has heard: a member's made-up identities answer nothing and would make this node doubt itself
      if (p.self || p.confirmed !== true || (p.state !== 'up' && p.state !== 'suspect')) continue
      members++
      ;(this.#waiting.has(p.peerId) ? waiting : connected === undefined || connected.has(p.peerId) ? near : far).push(p.peerId)
    }
    const [nearShare, farShare] = shares(this.#probeSample, near.length, far.length)
    const groups = [
      { size: near.length, asked: new Set(shuffled(near).slice(0, nearShare)) },
      { size: far.length, asked: new Set(shuffled(far).slice(0, farShare)) },
      { size: waiting.length, asked: new Set(shuffled(waiting).slice(0, this.#probeSample)) }
    ]
    const asked = [...groups[0]!.asked, ...groups[1]!.asked]
    const fromWaiting = groups[2]!.asked
    const reachOf = (answered: ReadonlySet<string>): number => {
      let reach = 1
      for (const g of groups) {
        if (g.asked.size === 0) continue
        let a = 0
        for (const id of g.asked) if (answered.has(id)) a++
        reach += g.size * a / g.asked.size
      }
      return reach
    }
    // answers enough for a majority: the probe need not wait for the rest
    const enough = (answered: ReadonlySet<string>): boolean => reachOf(answered) * 2 > members
    this.#probing = true
    const done = ({ reached: answered, alive }: ProbeAnswers): void => {
      this.#probing = false
      if (this.#stopped) return
      const reach = reachOf(answered)
      // a mesh of two (nobody else to ask) pages for its silent peer
      const minority = members > 2 && reach * 2 <= members
      this.#probe = { at: this.#monotonic(), share: reach / members, asked: asked.length + fromWaiting.size, answered: answered.size, minority, askedWaiting: fromWaiting, alive }
      // on the small side, the peers that did not answer are not shown up
      if (minority) for (const id of asked) if (!answered.has(id)) this.#unreached(id)
      this.#afterReach()
      const waiting = [...this.#waiting]
      this.#waiting.clear()
      for (const id of waiting) this.judge(id)
    }
    const none: ProbeAnswers = { reached: new Set(), alive: new Set() }
    if (asked.length + fromWaiting.size === 0) { done(none); return }
    probe([...asked, ...fromWaiting], enough, fromWaiting).then(done, () => { done(none) })
  }

  /** shown suspect because this node cannot reach it (cut off, or on the small side); reachable again once heard */
  #unreached (peerId: string): void {
    const p = this.#c.table.get(peerId)
    if (p === undefined || p.self || p.state !== 'up') return
    this.#unheard.add(peerId)
    this.#c.table.setState(p, 'suspect', 'silent')
  }

  /** After the reach changed: back on the large side, peers found silent meanwhile are judged again (and are down now). */
  #afterReach (): void {
    const was = this.#partition
    const { minority } = this.#refreshPartition()
    if (was.minority && !minority) for (const p of this.#c.table.values()) if (p.state === 'suspect') this.judge(p.peerId)
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
    // while the last probe found no majority, ask again: a healed cable shows here first
    if (this.#probe?.minority === true && !this.#probedMinorityLately()) this.#probeNow()
    // found silent yet answering: asked again (a probe each probeEveryMs while it lasts), down once it no longer answers
    // (it stays in the set meanwhile: a transition out of suspect takes it out, #ringFollows)
    if (this.#answering.size > 0 && !this.#probing && (this.#probe === undefined || now - this.#probe.at >= this.#probeEveryMs)) {
      for (const id of [...this.#answering]) this.judge(id)
    }
    // a silence period since this node rejoined the large side: a peer still reported silent is down now
    if (this.#rejoinedAt !== undefined && now - this.#rejoinedAt >= this.#c.silentAfterMs()) {
      this.#rejoinedAt = undefined
      for (const p of this.#c.table.values()) if (p.state === 'suspect') this.judge(p.peerId)
    }
    this.#afterReach()
    // cut off, or on the small side: a peer with no news this node can see is not shown up
    if (this.#partition.minority) {
      for (const p of this.#c.table.values()) if (this.#partition.isolated || now - p.heardAt > this.#staleAfterMs) this.#unreached(p.peerId)
    }
  }

  /**
   * Who this node reaches of the members. Members are itself and the peers up
   * or suspect that a watcher heard: one found down (by a quorum, while this node was on the large
   * side) is known dead, and is no reason to doubt the rest. Reachable are those
   * up with news within `staleAfter`. A suspect peer is a member not reached:
   * many at once (a cut cable, a split) leave this node on the small side.
   */
  #refreshPartition (): PartitionView {
    const now = this.#monotonic()
    let members = 1
    let reachable = 1
    for (const p of this.#c.table.values()) {
      // a peer no watcher has heard (just joined, or made up) is not counted until one has
      if (p.self || p.confirmed !== true || (p.state !== 'up' && p.state !== 'suspect')) continue
      members++
      if (p.state === 'up' && now - p.heardAt <= this.#staleAfterMs) reachable++
      else if (p.state === 'suspect' && this.#unheard.has(p.peerId) && now - p.heardAt <= this.#c.silentAfterMs()) reachable++
      // found silent, and the probe that decides between its death and this node's own cut is still out:
      // not counted against the reach yet. Else a cut cable says "small side" before the probe can say
      // "cut off", and a cable back within the probe's bound makes an incident of a blip
      else if (p.state === 'suspect' && this.#probing && this.#waiting.has(p.peerId)) reachable++
      // found silent, yet it answered this node's probe: reached, whatever its watchers say
      else if (p.state === 'suspect' && this.#answering.has(p.peerId)) reachable++
    }
    const levels = this.#c.observer.levels()
    // what a probe found is newer than the news: for a while the reach is its estimate
    const probe = this.#probe
    const probed = probe !== undefined && now - probe.at <= 3 * this.#probeEveryMs ? probe : undefined
    if (probed !== undefined) {
      const estimate = Math.max(1, Math.round(probed.share * members))
      reachable = probed.minority ? Math.min(reachable, estimate) : Math.max(reachable, estimate)
    }
    // hears none of its peers: it heard the peers it watches and they are all silent now, and nothing else
    // arrives. A node that just joined has heard none of them yet (they beat to it once they know it), and
    // the gossip may pause for longer than a silence: that is no cut cable. So it asks first: cut off is
    // when nobody answered a probe made since the quiet began (without a way to ask, the quiet says it)
    const quietSince = this.#c.heardFromMeshAt()
    const quiet = members > 1 && levels.includes(2) && levels.every(l => l >= 2) && now - quietSince > this.#c.silentAfterMs()
    const askedSince = probed !== undefined && probed.at >= quietSince ? probed : undefined
    // or a probe that nobody answered, with no beat in time since: cut off, though news came a moment
    // before the probe ended (a cable flapping every 3 s). Read as the small side first, one cut made
    // two alerts, a MeshPartitioned and then the MeshNodeIsolated
    const unanswered = members > 2 && probed !== undefined && probed.asked > 0 && probed.answered === 0 && !levels.includes(0)
    const isolated = (quiet && (this.#c.probe === undefined || askedSince?.answered === 0)) || unanswered
    // a mesh of two cannot tell a dead peer from a cut cable: it pages rather than stay silent
    const minority = members > 2 && (isolated || reachable * 2 <= members)
    const was = this.#partition
    this.#partition = { reachable, members, isolated, minority, since: was.minority === minority && was.isolated === isolated ? was.since : this.#wall() }
    if (was.minority && !minority) this.#rejoinedAt = now
    if (was.minority !== minority || was.isolated !== isolated) this.#c.onPartition?.(this.#partition)
    if (quiet && askedSince === undefined) this.#probeNow()
    return this.#partition
  }

  /** Live peers (up, suspect) are on the ring; a change there changes who watches the peers next to it. */
  #ringFollows ({ peer, from, to }: Transition): void {
    if (peer.self) return
    if (to !== 'suspect') { this.#unheard.delete(peer.peerId); this.#answering.delete(peer.peerId) }
    const live = to === 'up' || to === 'suspect'
    // a peer found down or gone is not watched; its silence stays in this node's report, a vote for
    // nodes still judging it. Back (or forgotten), that silence goes: it is not news of its next life,
    // which is watched as one never heard (its beats come on a new stream)
    if (to === null) this.#c.observer.release(peer.peerId)
    else if (!live) this.#c.observer.retire(peer.peerId)
    else if (from !== 'up' && from !== 'suspect' && this.#c.observer.release(peer.peerId)) this.#c.onReleased?.(peer.peerId)
    const changed = live ? this.ring.add(peer.peerId) : this.ring.remove(peer.peerId)
    if (!changed) return
    // the peers whose 2k watchers now include or lack this one
    for (const p of this.ring.predecessors(peer.peerId, 2 * this.#k)) if (p !== this.#self) this.judge(p)
    // and a peer new to this node: its watchers' reports may have come first (a node that just joined hears
    // the others' records in any order), and they are judged again only when a level changes, maybe never.
    // Not one back from down: its watchers' silence is from before, and ends when they hear it again
    if (from === null) this.judge(peer.peerId)
  }
}

export type { Peer }
