import { describe, expect, it } from 'vitest'
import { FailureDetector } from '../../src/heartbeat/detector.js'
import { PeerTable, type Transition } from '../../src/heartbeat/peer-table.js'
import { digestKey } from '../../src/heartbeat/wire.js'
import { beat } from '../support/beat.js'

const A = '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const B = '12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
const C = '12D3KooWCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC'

/** A table and detector on a clock the test moves. */
function rig (init: { suspectAfter?: number, downAfter?: number } = {}) {
  let now = 0
  const monotonic = (): number => now
  const table = new PeerTable({ monotonic })
  const detector = new FailureDetector(table, { ...init, tickMs: 100, monotonic })
  const seq = new Map<string, number>()
  const transitions: Transition[] = []
  table.on('transition', t => transitions.push({ ...t, peer: { ...t.peer } }))
  const hear = (id: string, over = {}) => {
    const n = (seq.get(id) ?? 0) + 1
    seq.set(id, n)
    return table.observe(id, beat({ seq: n, name: id.slice(8, 9), ...over }))
  }
  /** advance time in detector ticks */
  const advance = (ms: number, each?: () => void) => {
    for (let t = 0; t < ms; t += 100) { now += 100; each?.(); detector.tick() }
  }
  return { table, detector, hear, advance, transitions, state: (id: string) => table.get(id)?.state }
}

describe('failure detector', () => {
  it('marks a silent peer suspect, then down, and up again when it speaks', () => {
    const r = rig()
    r.hear(A)
    r.advance(1500)
    expect(r.state(A)).toBe('up')
    r.advance(100)
    expect(r.state(A)).toBe('suspect')
    r.advance(400)
    expect(r.state(A)).toBe('suspect')
    r.advance(100)
    expect(r.state(A)).toBe('down')
    r.hear(A)
    expect(r.state(A)).toBe('up')
    expect(r.transitions.map(t => `${t.from}->${t.to}:${t.reason}`)).toEqual(['null->up:joined', 'up->suspect:silent', 'suspect->down:silent', 'down->up:heartbeat'])
  })

  it('does not call a peer down while another live peer still hears it (indirect confirmation)', () => {
    const r = rig()
    r.hear(A); r.hear(B)
    // B keeps beating and says it heard A 100 ms ago each time
    r.advance(5000, () => { r.hear(B, { seen: { [digestKey(A)]: 100 } }) })
    expect(r.state(B)).toBe('up')
    expect(r.state(A)).toBe('suspect')
    // B stops hearing A too: now A is down
    r.advance(3000, () => { r.hear(B, { seen: {} }) })
    expect(r.state(A)).toBe('down')
  })

  it('a digest reporting the same last beat, heard later by another peer, does not delay down', () => {
    const r = rig()
    r.hear(A); r.hear(B)
    // B heard A's last beat 400 ms after this node did (delivery lag) and goes on beating, reporting it
    let bHeardA = 0
    r.advance(300, () => { r.hear(B) })
    r.advance(1700, () => { r.hear(B, { seen: { [digestKey(A)]: bHeardA } }); bHeardA += 100 })
    expect(r.state(A)).toBe('suspect')
    // 2 intervals after this node's last beat from A, not 2 after B's
    r.advance(100, () => { r.hear(B, { seen: { [digestKey(A)]: bHeardA } }); bHeardA += 100 })
    expect(r.state(A)).toBe('down')
  })

  it('a digest reporting a later beat (half an interval or more after ours) still holds down off', () => {
    const r = rig()
    r.hear(A); r.hear(B)
    // B heard A again 500 ms after this node last did; A's beats to this node are lost
    let bHeardA = 0
    r.advance(400, () => { r.hear(B) })
    r.advance(2100, () => { r.hear(B, { seen: { [digestKey(A)]: bHeardA } }); bHeardA += 100 })
    // 2 intervals after B heard it: not yet
    expect(r.state(A)).toBe('suspect')
    r.advance(100, () => { r.hear(B, { seen: { [digestKey(A)]: bHeardA } }); bHeardA += 100 })
    expect(r.state(A)).toBe('down')
  })

  it('a node that reads its input late does not call the peers it has not read yet down', () => {
    const r = rig()
    r.hear(A); r.hear(B); r.hear(C)
    // its ticks run on time, but no heartbeat is read for 3 s (a loaded host: sockets read late)
    r.advance(3000)
    expect([r.state(A), r.state(B), r.state(C)]).toEqual(['suspect', 'suspect', 'suspect'])
    // then the queued heartbeats are read: nobody was ever down
    r.hear(A); r.hear(B); r.hear(C)
    expect([r.state(A), r.state(B), r.state(C)]).toEqual(['up', 'up', 'up'])
    expect(r.transitions.some(t => t.to === 'down')).toBe(false)
  })

  it('a peer that stops while the others go on beating is down after the window', () => {
    const r = rig()
    r.hear(A); r.hear(B); r.hear(C)
    let t = 0
    // B and C beat every second (their digests no longer list A); A is silent
    r.advance(2100, () => { t += 100; if (t % 1000 === 0) { r.hear(B, { seen: {} }); r.hear(C, { seen: {} }) } })
    expect(r.state(A)).toBe('down')
    expect([r.state(B), r.state(C)]).toEqual(['up', 'up'])
  })

  it('when half the mesh stops at once, the half still beating are the witnesses', () => {
    const D = '12D3KooWDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD'
    const r = rig()
    r.hear(A); r.hear(B); r.hear(C); r.hear(D)
    let t = 0
    r.advance(2100, () => { t += 100; if (t % 1000 === 0) { r.hear(C, { seen: {} }); r.hear(D, { seen: {} }) } })
    expect([r.state(A), r.state(B), r.state(C), r.state(D)]).toEqual(['down', 'down', 'up', 'up'])
  })

  it('with every other peer silent too, a peer is down after twice the window', () => {
    const r = rig()
    r.hear(A); r.hear(B)
    r.advance(3900)
    expect([r.state(A), r.state(B)]).toEqual(['suspect', 'suspect'])
    r.advance(200)
    expect([r.state(A), r.state(B)]).toEqual(['down', 'down'])
  })

  it('an intermittent peer that goes silent is left, never down', () => {
    const r = rig()
    r.hear(C, { expect: 'intermittent' })
    r.advance(10_000)
    expect(r.state(C)).toBe('left')
    expect(r.transitions.some(t => t.to === 'down')).toBe(false)
  })

  it('a goodbye makes the peer left at once', () => {
    const r = rig()
    r.hear(A)
    r.hear(A, { k: 'bye' })
    expect(r.state(A)).toBe('left')
    r.advance(10_000)
    expect(r.state(A)).toBe('left')
  })

  it('rejects replayed and older-boot heartbeats', () => {
    const r = rig()
    expect(r.table.observe(A, beat({ seq: 5 }))).toMatchObject({ accepted: true })
    expect(r.table.observe(A, beat({ seq: 5 }))).toEqual({ accepted: false, reason: 'replay' })
    expect(r.table.observe(A, beat({ seq: 4 }))).toEqual({ accepted: false, reason: 'replay' })
    expect(r.table.observe(A, beat({ seq: 99, boot: 1 }))).toEqual({ accepted: false, reason: 'replay' })
    // a restart has a newer boot and starts its seq again
    expect(r.table.observe(A, beat({ seq: 1, boot: Date.now() + 10 }))).toMatchObject({ accepted: true })
  })

  it('after its own stall the detector waits before judging, so it does not blame others', () => {
    let now = 0
    const table = new PeerTable({ monotonic: () => now })
    const detector = new FailureDetector(table, { tickMs: 100, monotonic: () => now })
    table.observe(A, beat())
    detector.tick()
    now += 5000 // this process was stopped for 5 s
    detector.tick()
    expect(table.get(A)?.state).toBe('up')
    table.observe(A, beat({ seq: 2 })) // the queued heartbeat is read
    now += 100
    detector.tick()
    expect(table.get(A)?.state).toBe('up')
  })

  it('on a host so loaded that every tick is late, peers are still judged', () => {
    let now = 0
    const table = new PeerTable({ monotonic: () => now })
    const detector = new FailureDetector(table, { tickMs: 100, monotonic: () => now })
    table.observe(A, beat())
    detector.tick()
    for (let i = 0; i < 10 && table.get(A)?.state !== 'down'; i++) { now += 700; detector.tick() } // every tick 600 ms late
    expect(table.get(A)?.state).toBe('down')
  })

  it('forgets down peers after forgetAfter', () => {
    let now = 0
    const table = new PeerTable({ monotonic: () => now })
    const detector = new FailureDetector(table, { tickMs: 100, forgetAfterMs: 60_000, monotonic: () => now })
    table.observe(A, beat())
    for (let t = 0; t < 70_000; t += 100) { now += 100; detector.tick() }
    expect(table.get(A)).toBeUndefined()
  })
})
