import { describe, expect, it } from 'vitest'
import { Observer } from '../../src/heartbeat/observer.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import type { Obs } from '../../src/heartbeat/record.js'
import { shares, Verdict, type ProbeAnswers } from '../../src/heartbeat/verdict.js'
import { record } from '../support/record.js'
import { fakePeerId } from '../support/synthetic.js'
import { waitFor } from '../support/wait.js'

/**
 * A node's view of a mesh of `n`, on a virtual clock: its table, its observer, its verdict. A probe stub
 * returns the peers that answered (alive), or the full answer when some were only reached (a refused connection).
 */
function view (n: number, opts: { expect?: 'always-on' | 'intermittent', onAnswering?: (peerId: string) => void, connected?: (ids: string[]) => Set<string>, probe?: (peers: string[], enough: (answered: ReadonlySet<string>) => boolean, awaited?: ReadonlySet<string>) => Promise<Set<string> | ProbeAnswers> } = {}) {
  const clock = { now: 10_000 }
  const monotonic = (): number => clock.now
  const ids = Array.from({ length: n }, (_, i) => fakePeerId(i))
  const self = ids[0]!
  const table = new PeerTable({ monotonic })
  const observer = new Observer({ monotonic })
  let meshAt = clock.now
  const stub = opts.probe
  const connected = opts.connected?.(ids)
  const verdict = new Verdict({ table, observer, heardFromMeshAt: () => meshAt, silentAfterMs: () => 2000, onAnswering: opts.onAnswering, connected: connected === undefined ? undefined : () => connected, probe: stub === undefined ? undefined : async (peers, enough, awaited) => {
    const a = await stub(peers, enough, awaited)
    return a instanceof Set ? { reached: a, alive: a } : a
  } }, { selfId: self, monotonic })
  const seqs = new Map<string, number>()
  const obsOf = new Map<string, Record<string, Obs>>()
  /** a new record of `id` (what it reports of the peers it watches) */
  const publish = (id: string, obs: Record<string, Obs> = obsOf.get(id) ?? {}, over: Parameters<typeof record>[0] = {}): void => {
    obsOf.set(id, obs)
    const seq = (seqs.get(id) ?? 0) + 1
    seqs.set(id, seq)
    table.apply(id, record({ name: `n${ids.indexOf(id)}`, boot: 1, seq, obs, expect: id === self ? 'always-on' : (opts.expect ?? 'always-on'), ...over }), id === self)
  }
  for (const id of ids) publish(id)
  // watchers have heard every peer (a peer only known by its record is the ghost test's case)
  for (const id of ids) if (id !== self) table.heard(id)
  verdict.start()
  const state = (id: string): string | undefined => table.get(id)?.state
  /** the peers that judge `id` in this view: its first k ring successors other than self */
  const watchersOf = (id: string, k = 3): string[] => verdict.ring.successors(id, 2 * k).filter(w => w !== self).slice(0, k)
  const report = (watcher: string, subject: string, level: 0 | 1 | 2 | 3): void => {
    publish(watcher, { ...(obsOf.get(watcher) ?? {}), [subject]: [level, 1, seqs.get(subject) ?? 0] })
  }
  const tick = (ms: number): void => {
    clock.now += ms
    meshAt = clock.now
    verdict.tick()
  }
  return { ids, self, table, observer, verdict, state, watchersOf, report, publish, tick, clock, setMeshAt: (t: number) => { meshAt = t } }
}

describe('the verdict from the watchers\' reports', () => {
  it('down once a majority of its watchers find it silent; one broken link is not enough', () => {
    const v = view(10)
    const x = v.ids.find(id => id !== v.self && !v.watchersOf(id).includes(v.self))!
    const [w1, w2, w3] = v.watchersOf(x)
    for (const w of [w1, w2, w3]) v.report(w!, x, 0)
    v.report(w1!, x, 2)
    expect(v.state(x)).toBe('up')
    v.report(w2!, x, 2)
    expect(v.state(x)).toBe('down')
  })

  it('a watcher that never heard a peer abstains: where only one can reach it, that one decides', () => {
    const v = view(10)
    const x = v.ids.find(id => id !== v.self && !v.watchersOf(id).includes(v.self))!
    const [w1, w2, w3] = v.watchersOf(x)
    v.report(w1!, x, 3)
    v.report(w2!, x, 3)
    v.report(w3!, x, 0)
    expect(v.state(x)).toBe('up')
    v.report(w3!, x, 2)
    expect(v.state(x)).toBe('down')
  })

  it('the next nodes on the ring watch a peer whose nearer watchers cannot reach it', () => {
    const v = view(12)
    // a peer with this node at distance 4..6 on the ring: not among its first three watchers
    const x = v.ids.find(id => id !== v.self && v.verdict.ring.successors(id, 6).indexOf(v.self) === 3)!
    // until its nearer watchers say they hear it, this node watches it too
    expect(v.verdict.subjects()).toContain(x)
    const [w1, w2, w3] = v.verdict.ring.successors(x, 3)
    for (const w of [w1, w2, w3]) v.report(w!, x, 0)
    expect(v.verdict.subjects()).not.toContain(x)
    v.report(w2!, x, 3)
    expect(v.verdict.subjects()).toContain(x)
    v.report(w2!, x, 0)
    expect(v.verdict.subjects()).not.toContain(x)
  })

  it('late from a quorum is suspect, and up again when they hear it', () => {
    const v = view(6)
    const x = v.ids.find(id => id !== v.self && !v.watchersOf(id).includes(v.self))!
    const [w1, w2] = v.watchersOf(x)
    v.report(w1!, x, 1)
    v.report(w2!, x, 1)
    expect(v.state(x)).toBe('suspect')
    v.report(w1!, x, 0)
    expect(v.state(x)).toBe('up')
  })

  it('only the watchers next to a peer on the ring vote: a liar elsewhere cannot kill it', () => {
    const v = view(20)
    const x = v.ids[5]!
    const near = new Set(v.verdict.ring.successors(x, 6))
    const liars = v.ids.filter(id => id !== v.self && id !== x && !near.has(id)).slice(0, 5)
    for (const l of liars) v.report(l, x, 2)
    expect(v.state(x)).toBe('up')
  })

  it('down holds until a record made after the silence; a late copy of an older one revives nobody', () => {
    const v = view(6)
    const x = v.ids[3]!
    const [w1, w2] = v.watchersOf(x)
    v.report(w1!, x, 2)
    v.report(w2!, x, 2)
    expect(v.state(x)).toBe('down')
    // the watchers stop reporting on it (it left the ring): still down
    v.publish(w1!, {})
    v.publish(w2!, {})
    expect(v.state(x)).toBe('down')
    // a record it made before the silence, arriving late (seq below the last beat heard)
    v.table.apply(x, record({ name: 'late', boot: 1, seq: 1, obs: {} }))
    expect(v.state(x)).toBe('down')
    v.publish(x)
    expect(v.state(x)).toBe('up')
  })

  it('an intermittent peer found silent is left, never down', () => {
    const v = view(5, { expect: 'intermittent' })
    const x = v.ids[2]!
    const [w1, w2] = v.watchersOf(x)
    v.report(w1!, x, 2)
    v.report(w2!, x, 2)
    expect(v.state(x)).toBe('left')
  })

  it('a report on an earlier life of a peer says nothing of this one', () => {
    const v = view(6)
    const x = v.ids[4]!
    const [w1, w2] = v.watchersOf(x)
    v.publish(x, {}, { boot: 2 })
    v.publish(w1!, { [x]: [2, 1, 50] })
    v.publish(w2!, { [x]: [2, 1, 50] })
    expect(v.state(x)).toBe('up')
  })

  it('a mesh of two pages for its silent peer (there is nobody else to ask)', () => {
    const v = view(2)
    const x = v.ids[1]!
    v.observer.watch(x, 1000)
    v.observer.beat(x, 1, 1)
    v.clock.now += 2100
    v.observer.tick()
    v.verdict.tick()
    v.verdict.judge(x)
    expect(v.verdict.partition().minority).toBe(false)
    expect(v.state(x)).toBe('down')
  })

  it('on the small side of the mesh, silent peers are suspect, not down; back on the large side, down once the grace is over', () => {
    const v = view(10)
    const x = v.ids.find(id => id !== v.self && !v.watchersOf(id).includes(v.self))!
    const [w1, w2] = v.watchersOf(x)
    // this node hears nothing new for longer than staleAfter (30 s) but from x's two watchers: 3 of 10
    v.clock.now += 31_000
    v.publish(w1!)
    v.publish(w2!)
    v.tick(0)
    expect(v.verdict.partition()).toMatchObject({ reachable: 3, members: 10, minority: true })
    v.report(w1!, x, 2)
    v.report(w2!, x, 2)
    expect(v.state(x)).toBe('suspect')
    // news again from everyone else: the large side. The silences found while split may be the
    // split's own (their reports can be read before the peers are heard again): x stays suspect
    for (const id of v.ids) if (id !== x && id !== v.self) v.publish(id)
    v.tick(0)
    expect(v.verdict.partition().minority).toBe(false)
    expect(v.state(x)).toBe('suspect')
    // still reported silent a silence period after the heal: down
    v.tick(1999)
    expect(v.state(x)).toBe('suspect')
    v.tick(1)
    expect(v.state(x)).toBe('down')
  })

  it('before a down, it asks a few peers: none answering, it is the one cut off (suspect, split); a majority answering, down', async () => {
    let answer = (peers: string[]): string[] => peers.slice(0, 1)
    const asked: string[][] = []
    const v = view(10, { probe: async peers => { asked.push(peers); return new Set(answer(peers)) } })
    const x = v.ids.find(id => id !== v.self && !v.watchersOf(id).includes(v.self))!
    const [w1, w2] = v.watchersOf(x)
    v.report(w1!, x, 2)
    v.report(w2!, x, 2)
    expect(v.state(x)).toBe('suspect')
    await waitFor('the probe to end', () => v.verdict.partition().minority)
    // seven of the others asked, and x (found silent); one of the others answered: this node is on the small side
    expect(asked[0]).toHaveLength(8)
    expect(asked[0]?.at(-1)).toBe(x)
    expect(v.state(x)).toBe('suspect')
    expect(v.verdict.partition()).toMatchObject({ minority: true, members: 10 })
    // healed: the next probe (the tick asks again every 2 s while split) finds a majority; x (dead: it
    // does not answer) is down once a silence period has passed with x still reported silent
    answer = peers => peers.filter(p => p !== x)
    v.tick(2000)
    await waitFor('the probe to find a majority', () => !v.verdict.partition().minority)
    expect(v.state(x)).toBe('suspect')
    v.tick(2000)
    await waitFor('x judged again', () => v.state(x) === 'down')
  })

  it('the connected peers and the others are sampled apart: the connected ones answering make a majority alone, not on a lasting split', async () => {
    // 20 members; this node holds connections to `c` of the 19 others. Only those answer in time (a dial
    // to the others does not end within the probe's bound on a busy host); x is dead and refuses
    const run = async (c: number): Promise<{ state: string | undefined, asked: string[] }> => {
      const asked: string[] = []
      let x = ''
      const v = view(20, {
        connected: ids => new Set(ids.slice(1, 1 + c)),
        probe: async peers => {
          asked.push(...peers)
          const near = new Set(v.ids.slice(1, 1 + c))
          return { reached: new Set(peers.filter(p => near.has(p) || p === x)), alive: new Set(peers.filter(p => near.has(p))) }
        }
      })
      x = v.ids.find((id, i) => i > c && !v.watchersOf(id).includes(v.self))!
      const [w1, w2] = v.watchersOf(x)
      v.report(w1!, x, 2)
      v.report(w2!, x, 2)
      await waitFor('the probe to end', () => v.state(x) !== 'suspect' || v.verdict.partition().minority)
      return { state: v.state(x), asked }
    }
    // connected to 12: whichever 7 are drawn, those of the connected group answer: down, at every draw
    for (let i = 0; i < 20; i++) {
      const { state, asked } = await run(12)
      expect(state).toBe('down')
      // 7 of the 18 others asked, both groups in proportion (5 and 2), and x
      expect(asked).toHaveLength(8)
    }
    // connected to 7 (a lasting split: the connections across it are closed): their answers are no
    // majority, and the others do not answer: suspect, never down
    for (let i = 0; i < 20; i++) expect((await run(7)).state).toBe('suspect')
  })

  it('a probe\'s sample is shared between two groups in proportion, one at least to a group that has any', () => {
    expect(shares(7, 12, 6)).toEqual([5, 2])
    expect(shares(7, 18, 1)).toEqual([6, 1])
    expect(shares(7, 2, 17)).toEqual([1, 6])
    expect(shares(7, 0, 19)).toEqual([0, 7])
    expect(shares(7, 19, 0)).toEqual([7, 0])
    expect(shares(7, 4, 2)).toEqual([4, 2])
    expect(shares(7, 10, 2)).toEqual([6, 1])
  })

  it('watchers that found a peer down keep reporting it silent: a node whose probe was still out finds it down, not up', async () => {
    let answer = (): void => {}
    let x = ''
    // x is dead: everyone else answers
    const v = view(10, { probe: async peers => await new Promise<Set<string>>(resolve => { answer = () => { resolve(new Set(peers.filter(p => p !== x))) } }) })
    x = v.ids.find(id => id !== v.self && !v.watchersOf(id).includes(v.self))!
    const watchers = v.watchersOf(x)
    // each watcher's own observer heard x, then found it silent
    const observers = watchers.map(() => {
      const o = new Observer({ monotonic: () => v.clock.now })
      o.watch(x, 1000)
      o.beat(x, 1, v.table.get(x)!.seq)
      return o
    })
    v.clock.now += 2100
    for (const [i, w] of watchers.entries()) { observers[i]!.tick(); v.publish(w!, observers[i]!.report()) }
    // this node asks whether it reaches a majority before a down; the answer is slow to come
    expect(v.state(x)).toBe('suspect')
    // meanwhile the watchers found x down (their own probes were quicker), and published again
    for (const [i, w] of watchers.entries()) { observers[i]!.retire(x); v.publish(w!, observers[i]!.report()) }
    answer()
    await waitFor('x judged after the probe', () => v.state(x) !== 'suspect')
    expect(v.state(x)).toBe('down')
  })

  it('a peer found silent that answers this node itself is alive: suspect, asked again every 2 s, down once it no longer answers', async () => {
    let alive = true
    let x = ''
    const asked: Array<{ peers: string[], awaited: string[] }> = []
    const said: string[] = []
    const v = view(10, { onAnswering: id => said.push(id), probe: async (peers, _enough, awaited) => { asked.push({ peers, awaited: [...awaited ?? []] }); return new Set(peers.filter(p => alive || p !== x)) } })
    x = v.ids.find(id => id !== v.self && !v.watchersOf(id).includes(v.self))!
    const [w1, w2] = v.watchersOf(x)
    // its watchers found it silent (its loop starved a moment on a busy host), but it answers the probe
    v.report(w1!, x, 2)
    v.report(w2!, x, 2)
    await waitFor('the probe to end', () => asked.length === 1)
    await new Promise(resolve => setImmediate(resolve))
    expect(asked[0]?.awaited).toEqual([x])
    expect(v.state(x)).toBe('suspect')
    expect(v.verdict.partition()).toMatchObject({ minority: false, reachable: 10 })
    // its watchers still say silent: asked again, still answering, still suspect
    v.tick(2000)
    await waitFor('asked again', () => asked.length === 2)
    await new Promise(resolve => setImmediate(resolve))
    expect(asked[1]?.peers).toContain(x)
    expect(v.state(x)).toBe('suspect')
    expect(v.verdict.partition()).toMatchObject({ minority: false, reachable: 10 })
    // said once while it lasts, not at every probe
    expect(said).toEqual([x])
    // it died: the next probe finds it silent too
    alive = false
    v.tick(2000)
    await waitFor('x down', () => v.state(x) === 'down')
    expect(asked).toHaveLength(3)
  })

  it('a peer whose host refuses the connection is reached, not alive: down', async () => {
    let x = ''
    const v = view(10, { probe: async peers => ({ reached: new Set(peers), alive: new Set(peers.filter(p => p !== x)) }) })
    x = v.ids.find(id => id !== v.self && !v.watchersOf(id).includes(v.self))!
    const [w1, w2] = v.watchersOf(x)
    v.report(w1!, x, 2)
    v.report(w2!, x, 2)
    await waitFor('x down', () => v.state(x) === 'down')
  })

  it('a silence found a moment after a probe made for another peer: the peer itself is asked before a down', async () => {
    const asked: string[][] = []
    let dead = ''
    const v = view(10, { probe: async peers => { asked.push(peers); return new Set(peers.filter(p => p !== dead)) } })
    const [y, x] = v.ids.filter(id => id !== v.self && !v.watchersOf(id).includes(v.self))
    dead = y!
    for (const w of v.watchersOf(y!).slice(0, 2)) v.report(w, y!, 2)
    await waitFor('y down', () => v.state(y!) === 'down')
    // within the second after that probe, x is found silent: it is asked (a new probe), and it answers
    for (const w of v.watchersOf(x!).slice(0, 2)) v.report(w, x!, 2)
    expect(v.state(x!)).toBe('suspect')
    await waitFor('the second probe', () => asked.length === 2)
    await new Promise(resolve => setImmediate(resolve))
    expect(asked[1]).toContain(x)
    expect(v.state(x!)).toBe('suspect')
  })

  it('the peers it found silent are asked too: once a split heals, it is back on the large side at the next probe, before their watchers hear them again', async () => {
    let cut = true
    const v = view(6, { probe: async peers => new Set(peers.filter(p => !cut || !far.includes(p))) })
    const far = v.ids.slice(3)
    // the far half: each reported silent by its watchers; this node asks, and hears only the near half
    for (const y of far) for (const w of v.watchersOf(y)) v.report(w, y, 2)
    await waitFor('the probe to end', () => v.verdict.partition().minority)
    expect(far.map(y => v.state(y))).toEqual(['suspect', 'suspect', 'suspect'])
    // healed; their watchers have not heard them yet (their reports still say silent), but they answer
    cut = false
    v.tick(2000)
    await waitFor('the next probe to find a majority', () => !v.verdict.partition().minority)
    expect(v.verdict.partition()).toMatchObject({ members: 6 })
    // not down on the old reports: judged again once the grace after the heal is over, by then heard
    expect(far.map(y => v.state(y))).toEqual(['suspect', 'suspect', 'suspect'])
    for (const y of far) for (const w of v.watchersOf(y)) v.report(w, y, 0)
    expect(far.map(y => v.state(y))).toEqual(['up', 'up', 'up'])
  })

  it('its own watch found silent, outvoted by the others\' (older) news, it still asks: none answering, the rest are suspect', async () => {
    const asked: string[][] = []
    let x = ''
    const v = view(6, { probe: async peers => { asked.push(peers); return new Set(peers.filter(p => p !== x).slice(0, 1)) } })
    x = v.ids[1]!
    v.observer.watch(x, 1000)
    v.observer.beat(x, 1, 1)
    v.clock.now += 2100
    v.observer.tick()
    v.verdict.judge(x)
    await waitFor('the probe to end', () => v.verdict.partition().minority)
    expect(asked[0]).toHaveLength(5)
    // x and the three that did not answer are not shown up; the one that did is; nobody is down
    const answered = asked[0]!.filter(p => p !== x)[0]!
    expect(v.state(answered)).toBe('up')
    expect(v.ids.slice(1).filter(id => id !== answered).map(id => v.state(id))).toEqual(['suspect', 'suspect', 'suspect', 'suspect'])
  })

  it('a node that just joined, heard by nobody it watches yet, in a lull of the gossip, is not cut off', () => {
    const asked: string[][] = []
    const v = view(10, { probe: async peers => { asked.push(peers); return new Set(peers) } })
    // its subjects beat to it once they know it: until then it has heard none of them
    for (const s of v.verdict.subjects()) v.observer.watch(s, 1000)
    v.clock.now += 2500
    v.setMeshAt(v.clock.now - 2500)
    v.observer.tick()
    v.verdict.tick()
    expect(v.verdict.partition()).toMatchObject({ isolated: false, minority: false })
    expect(asked).toEqual([])
  })

  it('every peer it watches silent and no news: it asks before it says it is cut off; the peers answering, it is not', async () => {
    let answer = (peers: string[]): string[] => peers
    const asked: string[][] = []
    const v = view(10, { probe: async peers => { asked.push(peers); return new Set(answer(peers)) } })
    const quiet = (): void => {
      for (const s of v.verdict.subjects()) { v.observer.watch(s, 1000); v.observer.beat(s, 1, 100 + asked.length) }
      const last = v.clock.now
      v.clock.now += 2100
      v.setMeshAt(last)
      v.observer.tick()
      v.verdict.tick()
    }
    // a stall of its own, a lull of the gossip: quiet, but the peers it asks answer
    quiet()
    expect(v.verdict.partition().isolated).toBe(false)
    await waitFor('the probe to end', () => asked.length === 1)
    v.verdict.tick()
    expect(v.verdict.partition()).toMatchObject({ isolated: false, minority: false })
    // heard again, then a cable cut for real: nobody answers
    v.setMeshAt(v.clock.now)
    v.clock.now += 6000
    answer = () => []
    quiet()
    expect(v.verdict.partition().isolated).toBe(false)
    await waitFor('the probe to find it cut off', () => v.verdict.partition().isolated)
    expect(v.verdict.partition()).toMatchObject({ isolated: true, minority: true })
    expect(asked).toHaveLength(2)
  })

  it('a cut cable is not the small side before the probe says so: back within its bound, no incident; none answering, cut off at once', async () => {
    // newsLate: a message arrived a moment before the probe ended (a cable flapping every 3 s), so the quiet
    // is not a silence long yet; nobody answering is cut off all the same, never the small side first
    for (const [back, newsLate] of [[true, false], [false, false], [false, true]]) {
      let answer = (): void => {}
      const v = view(6, { probe: async peers => await new Promise<Set<string>>(resolve => { answer = () => { resolve(new Set(back ? peers : [])) } }) })
      const views: Array<{ minority: boolean, isolated: boolean }> = []
      const seen = (): void => {
        const { minority, isolated } = v.verdict.partition()
        const last = views.at(-1)
        if (last?.minority !== minority || last.isolated !== isolated) views.push({ minority, isolated })
      }
      seen()
      // every peer it watches falls silent, nothing else arrives, and the watchers' reports make all the rest silent
      for (const s of v.verdict.subjects()) { v.observer.watch(s, 1000); v.observer.beat(s, 1, 1) }
      const last = v.clock.now
      v.clock.now += 2100
      v.setMeshAt(last)
      v.observer.tick()
      for (const y of v.ids.slice(1)) for (const w of v.watchersOf(y)) { v.report(w, y, 2); seen() }
      v.setMeshAt(last)
      expect(v.ids.slice(1).map(y => v.state(y))).toEqual(Array(5).fill('suspect'))
      v.clock.now += 500
      v.verdict.tick()
      seen()
      if (newsLate) v.setMeshAt(v.clock.now - 100)
      answer()
      await waitFor('the probe to end', () => { seen(); return views.length > 1 || back })
      await new Promise(resolve => setImmediate(resolve))
      seen()
      // the only views this node ever took: not split at all, or cut off straight away (one alert, never two in turn)
      expect(views).toEqual(back ? [{ minority: false, isolated: false }] : [{ minority: false, isolated: false }, { minority: true, isolated: true }])
    }
  })

  it('a silence report older than the peer\'s latest record is stale (the other side of a healed split) and does not count', () => {
    const v = view(10)
    const x = v.ids.find(id => id !== v.self && !v.watchersOf(id).includes(v.self))!
    const [w1, w2] = v.watchersOf(x)
    // both last heard it at count 1; it has published records up to count 10 since (it beat on)
    v.report(w1!, x, 0)
    v.publish(x, {}, { seq: 10 })
    v.publish(w1!, { [x]: [2, 1, 1] })
    v.publish(w2!, { [x]: [2, 1, 1] })
    expect(v.state(x)).toBe('up')
    // silent since a beat a few counts before its latest record (a record made just before it died): down
    v.publish(w1!, { [x]: [2, 1, 7] })
    v.publish(w2!, { [x]: [2, 1, 7] })
    v.verdict.judge(x)
    expect(v.state(x)).toBe('down')
  })

  it('a peer found down and alive again is watched afresh: the silence found before is not held against its next life', () => {
    const v = view(3)
    const [, b, c] = v.ids
    // this node and c both found b silent: down
    v.observer.watch(b!, 1000)
    v.observer.beat(b!, 1, 1)
    v.clock.now += 2100
    v.observer.tick()
    v.setMeshAt(v.clock.now)
    v.report(c!, b!, 2)
    v.verdict.judge(b!)
    expect(v.state(b!)).toBe('down')
    // b was only stopped: a newer record of it, before this node heard a beat of it on a new stream
    v.publish(b!)
    expect(v.state(b!)).toBe('up')
    expect(v.observer.get(b!)).toBeUndefined()
    // c leaves: this node is b's only watcher, and has not heard it yet: b is not judged down on the old silence
    v.publish(c!, {}, { bye: true })
    v.verdict.judge(b!)
    expect(v.state(c!)).toBe('left')
    expect(v.state(b!)).toBe('up')
  })

  it('a stalled peer found down and alive again is not found down again on its watchers\' reports of that silence, read after its record', () => {
    const v = view(10)
    const x = v.ids.find(id => id !== v.self && !v.watchersOf(id).includes(v.self))!
    const [w1, w2, w3] = v.watchersOf(x)
    // stopped (SIGSTOP, a long GC, a starved host): two watchers find it silent since its last count
    v.report(w1!, x, 2)
    v.report(w2!, x, 2)
    expect(v.state(x)).toBe('down')
    // resumed: its next record is only one count on (a stalled process counts nothing), so the gap rule cannot tell
    v.publish(x)
    expect(v.state(x)).toBe('up')
    // the watchers' records still say what they found before they read its new one
    v.publish(w1!)
    v.publish(w2!)
    v.publish(w3!, { [x]: [2, 1, (v.table.get(x)!.seq) - 1] })
    v.verdict.judge(x)
    expect(v.state(x)).toBe('up')
    // a new silence, after beats of its new life (counts past the one ended): down again
    v.publish(x)
    v.publish(x)
    // the same watchers' silence with a later count moves no level: still judged again
    v.report(w1!, x, 2)
    v.report(w2!, x, 2)
    expect(v.state(x)).toBe('down')
  })

  it('a peer found down is known dead: a second death later is judged among the rest, not taken for a split', () => {
    const v = view(3)
    const [, y, z] = v.ids
    v.report(z!, y!, 2)
    v.observer.watch(y!, 1000)
    v.observer.beat(y!, 1, 1)
    v.clock.now += 2100
    v.observer.tick()
    v.verdict.judge(y!)
    expect(v.state(y!)).toBe('down')
    // now z goes silent too: members are this node and z; a mesh of two pages
    v.observer.watch(z!, 1000)
    // a beat carries the same counter as the records: its last beat is as new as its last record
    v.observer.beat(z!, 1, v.table.get(z!)!.seq)
    v.clock.now += 2100
    v.observer.tick()
    v.verdict.judge(z!)
    expect(v.verdict.partition()).toMatchObject({ members: 2, minority: false })
    expect(v.state(z!)).toBe('down')
  })

  it('a peer whose watchers\' reports came before its own record is confirmed when its record comes', () => {
    const v = view(8)
    const x = fakePeerId(20)
    // every other node reports hearing x before this node has x's record (a node that just joined)
    for (const id of v.ids) if (id !== v.self) v.report(id, x, 0)
    expect(v.table.get(x)).toBeUndefined()
    v.publish(x)
    // no watcher's report changes after this (same level, same boot): confirmed from those already held
    expect(v.table.get(x)?.confirmed).toBe(true)
    expect(v.state(x)).toBe('up')
  })

  it('a peer known only by its record, never heard by a watcher, is forgotten once stale: never down, never paged', () => {
    const v = view(6)
    const ghost = v.ids[5]!
    delete v.table.get(ghost)!.confirmed
    const [w1, w2] = v.watchersOf(ghost)
    v.report(w1!, ghost, 3)
    v.report(w2!, ghost, 3)
    expect(v.state(ghost)).toBe('up')
    // the others keep sending records; the ghost does not
    v.clock.now += 31_000
    for (const id of v.ids) if (id !== ghost && id !== v.self) v.publish(id)
    v.tick(0)
    expect(v.table.get(ghost)).toBeUndefined()
    // a peer a watcher heard is not forgotten for going quiet: it is judged
    const x = v.ids[4]!
    v.report(w1!, x, 0)
    v.clock.now += 31_000
    for (const id of v.ids) if (id !== x && id !== v.self && id !== ghost) v.publish(id)
    v.tick(0)
    expect(v.table.get(x)).toBeDefined()
  })
})
