/**
 * `npm run bench -- --only sim`: the membership protocol at sizes this machine
 * cannot run as processes. The real member code (member.ts: observer,
 * verdict, ring, gossip, peer table) for every node, in one process, on
 * virtual time, over a simulated network: each node keeps `degree` random
 * links for gossip, messages take 1-10 ms, `loss` of them are lost. After
 * `settleS` seconds of warm-up and a 30 s steady window, `killed` of the
 * nodes stop at once; the simulation runs `afterS` more seconds. Records carry realistic machine info (bytes matter).
 *
 * Reports, per node and second of the steady part: messages and bytes sent
 * and received; detection time of the killed nodes (when each survivor marked
 * each down: p50, max); false `down`s; the memory each (node, peer) pair costs.
 */
import { PeerTable } from '../src/heartbeat/peer-table.js'
import type { Admission, Envelope, GossipMessage } from '../src/heartbeat/gossip.js'
import { Member, type MemberTransport } from '../src/heartbeat/member.js'
import type { NodeRecord } from '../src/heartbeat/record.js'
import { fakePeerId, syntheticMachine } from '../test/support/synthetic.js'

export interface SimInit {
  nodes: number
  /** random gossip links per node (each node opens half of them) @default 8 */
  degree?: number
  /** share of messages lost @default 0.01 */
  loss?: number
  /** share of nodes killed at once @default 0.01 */
  killed?: number
  /** virtual seconds before the kill @default 60 */
  settleS?: number
  /** virtual seconds after it @default 30 */
  afterS?: number
  seed?: number
}

export interface SimResult {
  nodes: number
  degree: number
  loss: number
  killedNodes: number
  /** steady state (the 30 s window before the kill), per node per second */
  msgsSentPerNodePerS: number
  msgsReceivedPerNodePerS: number
  bytesSentPerNodePerS: number
  beatsPerNodePerS: number
  /** how long until every node held every node's record after the start, s */
  fullViewS: number | null
  detectP50S: number
  detectMaxS: number
  /** survivors that had not marked every killed node down by the end */
  undetected: number
  falseDowns: number
  /** heap per (node, peer) pair at the end, bytes */
  heapBytesPerPair: number
  /** wall-clock time the simulation took, s */
  wallS: number
}

/** A min-heap of timed callbacks: virtual time. */
class Clock {
  now = 0
  #heap: Array<{ at: number, seq: number, fn: () => void, cancelled: boolean }> = []
  #seq = 0
  at (ms: number, fn: () => void): { cancel: () => void, refresh: () => void } {
    const ev = { at: this.now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false }
    const h = this.#heap
    h.push(ev)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (this.#less(h[p]!, ev)) break
      h[i] = h[p]!
      i = p
    }
    h[i] = ev
    const handle = {
      cancel: () => { ev.cancelled = true },
      // a fresh event for the same delay from now (what Node's timeout.refresh() does)
      refresh: () => { ev.cancelled = true; const next = this.at(ms, fn); handle.cancel = next.cancel; handle.refresh = next.refresh }
    }
    return handle
  }

  runUntil (t: number): void {
    const h = this.#heap
    while (h.length > 0 && h[0]!.at <= t) {
      const top = h[0]!
      const last = h.pop()!
      if (h.length > 0) {
        let i = 0
        for (;;) {
          const l = 2 * i + 1
          if (l >= h.length) break
          const r = l + 1
          const c = r < h.length && this.#less(h[r]!, h[l]!) ? r : l
          if (this.#less(last, h[c]!)) break
          h[i] = h[c]!
          i = c
        }
        h[i] = last
      }
      this.now = top.at
      if (!top.cancelled) top.fn()
    }
    this.now = t
  }

  #less (a: { at: number, seq: number }, b: { at: number, seq: number }): boolean { return a.at < b.at || (a.at === b.at && a.seq < b.seq) }
}

/** mulberry32: a seeded random source, so a run can be repeated */
export function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const EPOCH = Date.parse('2026-01-01T00:00:00Z')

export async function benchSim (init: SimInit, log: (s: string) => void = () => {}): Promise<SimResult> {
  const started = performance.now()
  const n = init.nodes
  const degree = init.degree ?? 8
  const loss = init.loss ?? 0.01
  const settleS = init.settleS ?? 60
  const afterS = init.afterS ?? 30
  const random = seeded(init.seed ?? 1)
  const clock = new Clock()
  const ids = Array.from({ length: n }, (_, i) => fakePeerId(i))
  const index = new Map(ids.map((id, i) => [id, i]))
  const alive = new Array<boolean>(n).fill(true)
  const links: Array<Set<number>> = ids.map(() => new Set())
  for (let i = 0; i < n; i++) {
    while (links[i]!.size < Math.min(n - 1, degree / 2)) {
      const j = Math.floor(random() * n)
      if (j !== i) { links[i]!.add(j); links[j]!.add(i) }
    }
  }
  const watchersOf: Array<Set<number>> = ids.map(() => new Set())
  /** records parsed once for all nodes (the real admission parses and checks each copy it did not hold) */
  const parsed = new Map<string, NodeRecord>()
  const counts = { sent: 0, received: 0, bytes: 0, beats: 0 }
  const latency = (): number => 1 + random() * 9
  const deliver = (to: number, fn: () => void): void => {
    if (random() < loss) return
    clock.at(latency(), () => { if (alive[to] === true) fn() })
  }
  const sizeOf = (msg: GossipMessage): number => msg.k === 'push'
    ? msg.items.reduce((s, e) => s + e.r.length + e.s.length + e.o.length + 40, 16)
    : Object.keys(msg.have).length * 72 + 24

  const members: Member[] = []
  const tables: PeerTable[] = []
  const downAt: Array<Map<number, number>> = ids.map(() => new Map())
  let falseDowns = 0
  let killAt = Infinity
  const killedSet = new Set<number>()
  for (let i = 0; i < n; i++) {
    const self = ids[i]!
    const table = new PeerTable({ monotonic: () => clock.now, wall: () => EPOCH + clock.now })
    table.on('transition', t => {
      if (t.to !== 'down') return
      const j = index.get(t.peer.peerId)!
      if (killedSet.has(j) && clock.now >= killAt) downAt[i]!.set(j, clock.now - killAt)
      else falseDowns++
    })
    const transport: MemberTransport = {
      peers: () => [...links[i]!].filter(j => alive[j]).map(j => ids[j]!),
      send: (peer, msg) => {
        const j = index.get(peer)!
        counts.sent++
        counts.bytes += sizeOf(msg)
        deliver(j, () => { counts.received++; members[j]!.receiveGossip(self, msg) })
      },
      beat: (boot, seq) => {
        for (const w of watchersOf[i]!) {
          counts.beats++
          deliver(w, () => { members[w]!.receiveBeat(self, boot, seq) })
        }
      },
      watch: subjects => {
        for (const s of watchersOf) s.delete(i)
        for (const s of subjects) watchersOf[index.get(s)!]!.add(i)
      }
    }
    const admit = (env: Envelope): Admission => {
      const key = `${env.o}/${env.q}`
      let r = parsed.get(key)
      if (r === undefined) { r = JSON.parse(env.r) as NodeRecord; parsed.set(key, r) }
      const applied = table.apply(env.o, r)
      return applied.accepted ? { ok: true } : { ok: false, reason: 'replay', detail: '' }
    }
    const machine = syntheticMachine(i)
    members.push(new Member({
      selfId: self, table, transport, sign: () => 'sim', admit, machine: () => machine, checks: () => [], addrs: () => [`/ip4/10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/tcp/4001`],
      monotonic: () => clock.now, wall: () => EPOCH + clock.now, setTimer: (fn, ms) => clock.at(ms, fn), random
    }, { name: `sim-${i}`, expect: 'always-on', labels: {}, agent: 'meshmon/sim', intervalMs: 1000, boot: EPOCH + i }))
    tables.push(table)
  }
  // start in a spread over the first 5 s, each knowing one random peer (its bootstrap) through its links
  for (let i = 0; i < n; i++) {
    clock.at(random() * 5000, () => {
      members[i]!.start()
      for (const j of links[i]!) if (members[j] !== undefined) { members[i]!.connected(ids[j]!); members[j]!.connected(ids[i]!) }
    })
  }
  // the parsed-record cache drops versions long superseded
  const prune = (): void => { if (parsed.size > 4 * n) parsed.clear(); clock.at(10_000, prune) }
  clock.at(10_000, prune)

  let fullViewS: number | null = null
  for (let t = 1; t <= settleS; t++) {
    clock.runUntil(t * 1000)
    if (fullViewS === null && tables.every(tb => tb.size === n)) fullViewS = t
    if (t % 10 === 0) log(`  sim ${n}: ${t} s (wall ${Math.round((performance.now() - started) / 1000)} s)`)
  }
  // the steady window: 30 virtual seconds after the warm-up, before anything is killed
  const windowS = 30
  const steady0 = { ...counts }
  clock.runUntil((settleS + windowS) * 1000)
  const steady = { sent: counts.sent - steady0.sent, received: counts.received - steady0.received, bytes: counts.bytes - steady0.bytes, beats: counts.beats - steady0.beats }
  const k = Math.max(1, Math.round(n * (init.killed ?? 0.01)))
  const victims = new Set<number>()
  while (victims.size < k) victims.add(Math.floor(random() * n))
  killAt = clock.now
  for (const v of victims) {
    alive[v] = false
    killedSet.add(v)
    members[v]!.stop()
  }
  for (let t = 1; t <= afterS; t++) clock.runUntil(killAt + t * 1000)
  const times: number[] = []
  let undetected = 0
  for (let i = 0; i < n; i++) {
    if (!alive[i]) continue
    for (const v of victims) {
      const d = downAt[i]!.get(v)
      if (d === undefined) undetected++
      else times.push(d / 1000)
    }
  }
  times.sort((a, b) => a - b)
  ;(globalThis as any).gc?.()
  const heap = process.memoryUsage().heapUsed
  const result: SimResult = {
    nodes: n,
    degree,
    loss,
    killedNodes: k,
    msgsSentPerNodePerS: steady.sent / n / windowS,
    msgsReceivedPerNodePerS: steady.received / n / windowS,
    bytesSentPerNodePerS: steady.bytes / n / windowS,
    beatsPerNodePerS: steady.beats / n / windowS,
    fullViewS,
    detectP50S: times[Math.floor(times.length / 2)] ?? NaN,
    detectMaxS: times.at(-1) ?? NaN,
    undetected,
    falseDowns,
    heapBytesPerPair: heap / (n * n),
    wallS: (performance.now() - started) / 1000
  }
  for (const m of members) m.stop()
  return result
}
