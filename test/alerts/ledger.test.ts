import { describe, expect, it } from 'vitest'
import { AlertLedger } from '../../src/alerts/ledger.js'
import { fingerprint, type Alert } from '../../src/alerts/rules.js'

const alert = (peer: string, over: Partial<Alert> = {}): Alert => ({
  labels: { alertname: 'MeshPeerDown', peer, node: peer, severity: 'critical', mesh: 'm' },
  annotations: { summary: `${peer} is down`, description: 'x' },
  startsAt: '2025-01-01T00:00:00.000Z',
  generatorURL: 'http://a/',
  ...over
})
const fp = (peer: string): string => fingerprint(alert(peer).labels)
const ledger = (over: { resolvedResendCount?: number, maxAlerts?: number } = {}): AlertLedger =>
  new AlertLedger({ resolvedResendCount: 2, maxAlerts: 100, ...over })

describe('AlertLedger', () => {
  it('reports new, changed and resolved alerts once each; unchanged ones not at all', () => {
    const l = ledger()
    expect(l.apply([alert('a'), alert('b')], 1_000).changed).toEqual([fp('a'), fp('b')])
    expect(l.apply([alert('a'), alert('b')], 2_000).changed).toEqual([])
    expect(l.apply([alert('a', { annotations: { summary: 'a is down', description: 'y' } }), alert('b')], 3_000).changed).toEqual([fp('a')])
    expect(l.apply([alert('b')], 4_000).changed).toEqual([fp('a')])
    expect(l.apply([alert('b')], 5_000).changed).toEqual([])
  })

  it('an ending alert (its peer back up, the incident not over) is sent once with endsAt past the hold, then not resent; the flag never goes out', () => {
    const l = ledger()
    l.apply([alert('a')], 1_000)
    expect(l.round(() => false)).toEqual([fp('a')])
    // back up: the same alert, ending; sent once more, so that Alertmanager holds it until its resolution
    expect(l.apply([alert('a', { ending: true })], 2_000).changed).toEqual([fp('a')])
    const last = l.postable(fp('a'), 2_000, 4_000, 7_000)?.alert
    expect(last).not.toHaveProperty('ending')
    expect(last?.endsAt).toBe(new Date(2_000 + 4_000 + 7_000).toISOString())
    // still ending: no change, no resend
    expect(l.apply([alert('a', { ending: true })], 3_000).changed).toEqual([])
    expect(l.round(() => false)).toEqual([])
    // down again within the incident: resent as before, endsAt as any active alert's
    expect(l.apply([alert('a')], 4_000).changed).toEqual([])
    expect(l.round(() => false)).toEqual([fp('a')])
    expect(l.postable(fp('a'), 4_000, 4_000, 7_000)?.alert.endsAt).toBe(new Date(8_000).toISOString())
  })

  it('sends an active alert with endsAt ahead, a resolved one with endsAt = when it resolved', () => {
    const l = ledger()
    l.apply([alert('a')], 1_000)
    expect(l.postable(fp('a'), 10_000, 4_000)?.alert.endsAt).toBe(new Date(14_000).toISOString())
    l.apply([], 20_000)
    const resolved = l.postable(fp('a'), 30_000, 4_000)?.alert
    expect(resolved?.endsAt).toBe(new Date(20_000).toISOString())
    expect(resolved?.startsAt).toBe('2025-01-01T00:00:00.000Z')
  })

  it('a resolved alert that fires again is a change, with its new startsAt', () => {
    const l = ledger()
    l.apply([alert('a')], 1_000)
    l.apply([], 2_000)
    expect(l.apply([alert('a', { startsAt: '2025-01-01T00:10:00.000Z' })], 3_000).changed).toEqual([fp('a')])
    expect(l.postable(fp('a'), 4_000, 1_000)?.alert).toMatchObject({ startsAt: '2025-01-01T00:10:00.000Z', endsAt: new Date(5_000).toISOString() })
  })

  it('re-sends resolved alerts for resolvedResendCount rounds, then forgets them unless a target still owes them', () => {
    const l = ledger({ resolvedResendCount: 2 })
    l.apply([alert('a'), alert('b'), alert('c')], 1_000)
    l.apply([alert('a')], 2_000)
    let owed = new Set([fp('c')])
    expect(l.round(f => owed.has(f))).toEqual([fp('a'), fp('b'), fp('c')])
    expect(l.round(f => owed.has(f))).toEqual([fp('a'), fp('b'), fp('c')])
    // past the count: b is forgotten; c is kept for the target that owes it, but not sent to everyone again
    expect(l.round(f => owed.has(f))).toEqual([fp('a')])
    expect(l.size).toBe(2)
    expect(l.postable(fp('b'), 0, 0)).toBeUndefined()
    expect(l.postable(fp('c'), 0, 0)).toBeDefined()
    owed = new Set()
    l.round(f => owed.has(f))
    expect(l.size).toBe(1)
  })

  it('is capped: the oldest resolved alerts make room, then new ones are refused', () => {
    const l = ledger({ maxAlerts: 2 })
    l.apply([alert('a'), alert('b')], 1_000)
    l.apply([alert('b')], 2_000)
    expect(l.apply([alert('b'), alert('c')], 3_000)).toEqual({ changed: [fp('c')], refused: 0 })
    expect(l.postable(fp('a'), 0, 0)).toBeUndefined()
    expect(l.apply([alert('b'), alert('c'), alert('d')], 4_000)).toEqual({ changed: [], refused: 1 })
    expect(l.size).toBe(2)
  })

  it('versions change with every change a target must deliver', () => {
    const l = ledger()
    l.apply([alert('a')], 1_000)
    const v1 = l.version(fp('a'))
    l.apply([alert('a')], 2_000)
    expect(l.version(fp('a'))).toBe(v1)
    l.apply([], 3_000)
    expect(l.version(fp('a'))).toBeGreaterThan(v1 ?? Infinity)
  })
})
