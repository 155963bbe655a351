import { describe, expect, it } from 'vitest'
import { judgeSoak, type Fault, type LogEntry, type SoakRecord } from '../../bench/soak-judge.js'

const T = Date.parse('2026-11-28T12:00:00Z')
const ev = (id: string, type: string, peer: string, at: number): LogEntry => ({ id, ts: new Date(T + at).toISOString(), type, subject: { peer, name: peer } })
const fault = (peer: string, at: number): Fault => ({ node: peer, peerId: peer, kind: 'kill', at: T + at, end: T + at + 8000 })
const record = (faults: Fault[], logs: Record<string, LogEntry[]>): SoakRecord => ({
  samples: [{ at: 0, node: 'a', pid: 1, rssMb: 100, cpu: 0.05 }, { at: 600_000, node: 'a', pid: 1, rssMb: 100, cpu: 0.05 }],
  faults,
  logs: new Map(Object.entries(logs)),
  warmupMs: 60_000,
  nodes: Object.keys(logs)
})

describe('soak judge: why an event is missing', () => {
  it('a fault with its down and up on every node is not missing', () => {
    const log = [ev('d1', 'peer.down', 'x', 2000), ev('u1', 'peer.up', 'x', 10_000)]
    const v = judgeSoak(record([fault('x', 0)], { a: log, b: log }))
    expect(v.lost).toEqual([])
    expect(v.targets['no lost event']?.ok).toBe(true)
  })

  it('an event one node holds and another not is lost in replication', () => {
    const full = [ev('d1', 'peer.down', 'x', 2000), ev('u1', 'peer.up', 'x', 10_000)]
    const v = judgeSoak(record([fault('x', 0)], { a: full, b: [full[1] as LogEntry] }))
    expect(v.lost).toEqual([expect.objectContaining({ node: 'b', missing: 'peer.down', why: 'not replicated here' })])
    expect(v.targets['no lost event']?.detail).toMatch(/1 not replicated here/)
  })

  it('a fault of a node already down (a false down before it, no up between) merged into that incident', () => {
    const log = [ev('d0', 'peer.down', 'x', -60_000)]
    const v = judgeSoak(record([fault('x', 0)], { a: log, b: log }))
    expect(v.lost.map(l => l.why)).toEqual(['merged into an open incident', 'merged into an open incident'])
    expect(v.falseDowns).toHaveLength(1)
  })

  it('a fault no node wrote down, its node up before it, was never detected', () => {
    const log = [ev('d0', 'peer.down', 'x', -60_000), ev('u0', 'peer.up', 'x', -50_000)]
    const v = judgeSoak(record([fault('x', 0)], { a: log }))
    expect(v.lost).toEqual([expect.objectContaining({ node: 'a', missing: 'peer.down', why: 'never detected' })])
  })
})

describe('soak judge: RSS growth', () => {
  /** one process sampled every 10 s from 0 to 30 min, its RSS in MB from `rss(minute)` */
  const run = (rss: (minute: number, i: number) => number): SoakRecord => ({
    samples: Array.from({ length: 181 }, (_, i) => ({ at: i * 10_000, node: 'a', pid: 1, rssMb: rss(i / 6, i), cpu: 0.05 })),
    faults: [],
    logs: new Map(),
    warmupMs: 5 * 60_000,
    nodes: ['a']
  })

  it('a collector sawtooth whose last sample is a peak is no growth', () => {
    // 100-112 MB, a period of 7 samples: the first sample after the warm-up a trough, the last a peak
    const v = judgeSoak(run((_, i) => i === 180 ? 112 : 100 + 2 * ((i + 5) % 7)))
    const t = v.targets['RSS growth after warm-up < 10%']
    expect(t?.ok).toBe(true)
    expect(t?.detail).toMatch(/^worst 0\.0% \(-\), medians of the first and last 5 min; first vs last sample: worst 12\.0% \(a\)$/)
  })

  it('a steady climb is growth, whatever the sawtooth', () => {
    // 1% a minute over 25 min
    const v = judgeSoak(run((m, i) => 100 * (1 + 0.01 * m) + 2 * (i % 7)))
    const t = v.targets['RSS growth after warm-up < 10%']
    expect(t?.ok).toBe(false)
    expect(t?.detail).toMatch(/^worst 1\d\.\d% \(a\)/)
  })
})

describe('soak judge: a node that died on its own', () => {
  it('is a miss, named with when and how', () => {
    const v = judgeSoak({ ...record([], { a: [] }), died: [{ node: 'n6', at: 8.5 * 60_000, exit: 'SIGABRT' }] })
    expect(v.targets['no node exited on its own']).toEqual({ ok: false, detail: 'n6 at minute 8.5 (SIGABRT)' })
    expect(judgeSoak(record([], { a: [] })).targets['no node exited on its own']).toEqual({ ok: true, detail: 'none' })
  })
})
