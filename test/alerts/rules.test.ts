import { describe, expect, it } from 'vitest'
import { deriveAlerts, fingerprint } from '../../src/alerts/rules.js'
import type { CheckState, StatusCode } from '../../src/checks/types.js'
import type { Peer } from '../../src/heartbeat/peer-table.js'

const init = { mesh: 'prod', generatorURL: 'http://sender-host:9521/api/v1/peers' }
const T0 = Date.parse('2025-01-02T03:04:05.000Z')

const peer = (over: Partial<Peer> = {}): Peer => ({
  peerId: '12D3KooWTarget', name: 'gpu-01', state: 'up', stateSince: T0, lastSeen: T0 - 5_000, heardAt: 0,
  addrs: [], labels: { role: 'gpu-worker' }, expect: 'always-on', interval: 1000, agent: 'meshmon/test', machine: null,
  checks: [], boot: 1, seq: 1, obs: {}, self: false, ...over
})

const check = (status: StatusCode, over: Partial<CheckState> = {}): CheckState => ({
  name: 'web', type: 'http', status, output: 'HTTP CRITICAL: 503 Service Unavailable', perfdata: '', durationSeconds: 0.01,
  lastRun: T0 + 60_000, since: T0 + 30_000, ...over
})

describe('deriveAlerts', () => {
  it('raises MeshPeerDown for a down always-on peer, starting when it went down', () => {
    const alerts = deriveAlerts([peer({ state: 'down' })], init)
    expect(alerts).toEqual([{
      labels: { alertname: 'MeshPeerDown', peer: '12D3KooWTarget', node: 'gpu-01', severity: 'critical', mesh: 'prod' },
      annotations: {
        summary: 'gpu-01 is down',
        description: expect.stringContaining(`found down ${new Date(T0).toISOString()}`),
        generatorURL: init.generatorURL
      },
      startsAt: new Date(T0).toISOString(),
      generatorURL: init.generatorURL
    }])
  })

  it('raises nothing for a down intermittent peer, a suspect one, an up one or one that left', () => {
    expect(deriveAlerts([
      peer({ state: 'down', expect: 'intermittent' }),
      peer({ peerId: 'b', state: 'suspect' }),
      peer({ peerId: 'c', state: 'up' }),
      peer({ peerId: 'd', state: 'left' })
    ], init)).toEqual([])
  })

  it('raises MeshCheckFailed for WARNING and CRITICAL checks with the output as description', () => {
    const alerts = deriveAlerts([peer({
      checks: [check(2), check(1, { name: 'disk', type: 'exec', output: 'DISK WARNING - free space: / 15%' }), check(0, { name: 'db' }), check(3, { name: 'odd' })]
    })], init)
    expect(alerts.map(a => a.labels)).toEqual([
      { alertname: 'MeshCheckFailed', peer: '12D3KooWTarget', node: 'gpu-01', check: 'web', severity: 'critical', mesh: 'prod' },
      { alertname: 'MeshCheckFailed', peer: '12D3KooWTarget', node: 'gpu-01', check: 'disk', severity: 'warning', mesh: 'prod' }
    ])
    expect(alerts[0]?.annotations).toEqual({
      summary: 'check web on gpu-01 is CRITICAL', description: 'HTTP CRITICAL: 503 Service Unavailable', generatorURL: init.generatorURL
    })
    expect(alerts[1]?.annotations.description).toBe('DISK WARNING - free space: / 15%')
    expect(alerts[1]?.annotations.summary).toBe('check disk on gpu-01 is WARNING')
    // starts when the check's status changed, not when it last ran or was derived
    expect(alerts[0]?.startsAt).toBe(new Date(T0 + 30_000).toISOString())
  })

  it('counts the node\'s own checks too', () => {
    const alerts = deriveAlerts([peer({ self: true, checks: [check(2)] })], init)
    expect(alerts).toHaveLength(1)
    expect(alerts[0]?.labels.alertname).toBe('MeshCheckFailed')
  })

  it('ignores the stale checks of a peer that is down or left; the down one still gets MeshPeerDown', () => {
    const alerts = deriveAlerts([peer({ state: 'down', checks: [check(2)] }), peer({ peerId: 'x', state: 'left', checks: [check(2)] })], init)
    expect(alerts.map(a => a.labels.alertname)).toEqual(['MeshPeerDown'])
  })

  it('still reports checks of a suspect peer (not yet judged down)', () => {
    expect(deriveAlerts([peer({ state: 'suspect', checks: [check(1)] })], init).map(a => a.labels.severity)).toEqual(['warning'])
  })

  it('never names the sender in labels: two senders derive alerts with the same identity', () => {
    const peers = [peer({ state: 'down' }), peer({ peerId: 'p2', name: 'gpu-02', checks: [check(2)] })]
    const fromA = deriveAlerts(peers, { mesh: 'prod', generatorURL: 'http://node-a:9521/api/v1/peers' })
    const fromB = deriveAlerts(peers, { mesh: 'prod', generatorURL: 'http://node-b:9521/api/v1/peers' })
    expect(fromA.map(a => fingerprint(a.labels))).toEqual(fromB.map(a => fingerprint(a.labels)))
    for (const a of fromA) {
      expect(Object.keys(a.labels).sort()).toEqual(a.labels.alertname === 'MeshPeerDown'
        ? ['alertname', 'mesh', 'node', 'peer', 'severity']
        : ['alertname', 'check', 'mesh', 'node', 'peer', 'severity'])
      expect(Object.values(a.labels).join(' ')).not.toMatch(/node-a|sender/)
    }
  })

  it('derives the same alerts on every evaluation while nothing changes', () => {
    const peers = [peer({ state: 'down' }), peer({ peerId: 'p2', checks: [check(2)] })]
    expect(deriveAlerts(peers, init)).toEqual(deriveAlerts(peers, init))
  })

  it('fingerprint ignores label order', () => {
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }))
    expect(fingerprint({ a: '1', b: '2' })).not.toBe(fingerprint({ a: '1', b: '3' }))
  })

  it('a peer back up within its incident keeps its one MeshPeerDown, dated from when it went down', () => {
    const alerts = deriveAlerts([peer({ state: 'up', stateSince: T0 + 9000, incident: { since: T0, key: '1/9', recovering: T0 + 9000 } })], init)
    expect(alerts.map(a => [a.labels.alertname, a.startsAt])).toEqual([['MeshPeerDown', new Date(T0).toISOString()]])
    // heard again and again while it recovers: the alert does not change (each change is sent at once)
    const later = deriveAlerts([peer({ state: 'up', stateSince: T0 + 9000, lastSeen: T0 + 12_000, incident: { since: T0, key: '1/9', recovering: T0 + 9000 } })], init)
    expect(later).toEqual(alerts)
  })

  it('a node cut off says so about itself; on the small side of a split, one MeshPartitioned for the mesh', () => {
    const self = peer({ peerId: 'self-id', name: 'edge-07', self: true })
    const others = [peer({ peerId: 'p2', state: 'suspect' })]
    const isolated = deriveAlerts([self, ...others], init, undefined, { reachable: 1, members: 6, isolated: true, minority: true, since: T0 })
    expect(isolated.map(a => a.labels)).toEqual([{ alertname: 'MeshNodeIsolated', peer: 'self-id', node: 'edge-07', severity: 'warning', mesh: 'prod' }])
    const small = deriveAlerts([self, ...others], init, undefined, { reachable: 3, members: 6, isolated: false, minority: true, since: T0 })
    expect(small.map(a => a.labels)).toEqual([{ alertname: 'MeshPartitioned', severity: 'critical', mesh: 'prod' }])
    expect(small[0]?.annotations.description).toMatch(/reaches 2 of the 5 other peers/)
    expect(deriveAlerts([self, ...others], init, undefined, { reachable: 6, members: 6, isolated: false, minority: false, since: T0 })).toEqual([])
    // back on the large side, held for recoverAfter: the same alert, ending (not sent again until it resolves)
    const held = deriveAlerts([self, ...others], init, undefined, { reachable: 3, members: 6, isolated: false, minority: true, since: T0, ending: true })
    expect(held).toEqual([{ ...small[0], ending: true }])
  })
})
