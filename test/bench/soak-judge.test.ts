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
