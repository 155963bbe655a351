/**
 * One peer sending data the wire lets through but that is hostile to render
 * (a check `since` of 1e20, label names that break the Prometheus text
 * format, quotes and newlines in values) must not cost the rest of the mesh:
 * alerts, /api/v1/peers, /api/v1/alerts, /metrics and `meshmon status`
 * keep working for every other peer, and what can be shown of the bad one is.
 */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { alerting } from '../../src/alerts/index.js'
import { deriveAlerts } from '../../src/alerts/rules.js'
import { createApi } from '../../src/api/app.js'
import type { CheckState } from '../../src/checks/types.js'
import { healthy, renderStatus } from '../../src/cli/status.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { metricsEndpoint } from '../../src/metrics/index.js'
import { record } from '../support/record.js'
import { lacks } from '../support/packages.js'
import { syntheticMachine } from '../support/synthetic.js'
import { recordingLog } from '../alerts/helpers.js'

const GOOD = '12D3KooWGoodPeerAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const BAD = '12D3KooWBadPeerBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
const T = 1_700_000_000_000

const critical = (name: string, over: Partial<CheckState> = {}): CheckState => ({
  name, type: 'exec', status: 2, output: 'CRITICAL', perfdata: '', durationSeconds: 0.01, lastRun: T, since: T, ...over
})

/** a mesh of a good peer and a bad one, fed through the table's real apply() (the wire refuses most of this: the table must still cope) */
function mesh (): PeerTable {
  const table = new PeerTable()
  table.apply(GOOD, record({ name: 'good', labels: { role: 'web' }, machine: syntheticMachine(1), checks: [critical('web')] }))
  const machine = syntheticMachine(2)
  machine.filesystems[0] = { ...machine.filesystems[0] as typeof machine.filesystems[number], mountpoint: '/mnt/"quoted"\\back\nslash' }
  machine.temperatures = [{ sensor: 'x"}\n', celsius: -1e308 }]
  machine.uptimeSeconds = 1e300
  table.apply(BAD, record({
    name: 'bad"}\n\\',
    labels: { 'a"b}': 'x', __meta: 'y', '0digit': 'z', 'white space': 'w', constructor: 'kept', version: 'user', label_version: 'clash', ok: 'v"\n\\' },
    machine,
    checks: [critical('far-future', { since: 1e20, lastRun: 1e20 }), critical('c"}\n', { since: 8.65e15, lastRun: Number.MAX_VALUE })]
  }))
  return table
}

describe('a peer with hostile data', () => {
  it('alert rules: every peer\'s alerts still derive; an unwritable time falls back to when this node saw it', () => {
    const table = mesh()
    const alerts = deriveAlerts(table.list(), { mesh: 'm', generatorURL: 'g' })
    expect(alerts.map(a => a.labels.check).sort()).toEqual(['c"}\n', 'far-future', 'web'])
    const bad = table.get(BAD)
    for (const a of alerts.filter(a => a.labels.peer === BAD)) expect(a.startsAt).toBe(new Date(bad?.stateSince as number).toISOString())
    expect(alerts.find(a => a.labels.peer === GOOD)?.startsAt).toBe(new Date(T).toISOString())
  })

  it('the pusher derives them too (GET /api/v1/alerts), logging nothing', async () => {
    const { log, lines } = recordingLog()
    const p = alerting({ table: mesh(), log }, { urls: [], resendIntervalMs: 1000, mesh: 'm', generatorURL: 'g' })
    const api = createApi({ table: mesh(), running: () => true, alerts: () => p.alerts() })
    const res = await api.request('/api/v1/alerts')
    expect(res.status).toBe(200)
    expect((await res.json() as unknown[]).length).toBe(3)
    expect(lines.filter(l => l.level >= 40)).toEqual([])
  })

  it('GET /api/v1/peers: 200 with both peers; times that cannot be written are null', async () => {
    const res = await createApi({ table: mesh(), running: () => true }).request('/api/v1/peers')
    expect(res.status).toBe(200)
    const peers = await res.json() as any[]
    expect(peers.map(p => p.peerId).sort()).toEqual([BAD, GOOD].sort())
    const bad = peers.find(p => p.peerId === BAD)
    expect(bad.checks.map((c: any) => [c.name, c.since, c.lastRun])).toEqual([['far-future', null, null], ['c"}\n', null, null]])
    expect(bad.lastSeen).toMatch(/^\d{4}-/)
    expect(peers.find(p => p.peerId === GOOD).checks[0].since).toBe(new Date(T).toISOString())
    // what `meshmon status` makes of it
    const text = renderStatus(peers)
    expect(text).toContain('good')
    expect(text).toContain('web(CRITICAL)')
    expect(healthy(peers)).toBe(false)
  })

  it('/metrics: label names Prometheus does not take are dropped and counted, values escaped, the rest intact', async () => {
    const table = mesh()
    const { handler } = metricsEndpoint(table, { peerId: 'self', name: 'self', gossip: () => ({ received: 0, invalid: {} }), connectedPeers: () => 0 })
    const text = (await handler()).body.toString()
    const info = text.split('\n').filter(l => l.startsWith('meshmon_node_info{'))
    expect(info).toHaveLength(2)
    const badInfo = info.find(l => l.includes(`peer="${BAD}"`)) as string
    expect(badInfo).toContain('node="bad\\"}\\n\\\\"')
    expect(badInfo).toContain('ok="v\\"\\n\\\\"')
    expect(badInfo).toContain('constructor="kept"')
    expect(badInfo).toContain('label_version="user"')
    for (const gone of ['a"b', '__meta', '0digit', 'white space', 'clash']) expect(badInfo).not.toContain(gone)
    expect(text).toContain(`meshmon_node_info_labels_dropped{peer="${BAD}",node="bad\\"}\\n\\\\"} 5\n`)
    expect(text).not.toMatch(new RegExp(`meshmon_node_info_labels_dropped\\{peer="${GOOD}"`))
    expect(text).toContain(`meshmon_check_status{peer="${GOOD}",node="good",check="web"} 2`)
    expect(text).toContain('sensor="x\\"}\\n"} -1e+308')
  })

  it.skipIf(lacks('prometheus', '/usr/bin/promtool'))('/metrics passes promtool check metrics with the hostile peer in it', async () => {
    const { handler } = metricsEndpoint(mesh(), { peerId: 'self', name: 'self', gossip: () => ({ received: 0, invalid: {} }), connectedPeers: () => 0 })
    const r = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: (await handler()).body, encoding: 'utf8' })
    expect(r.stdout + r.stderr).toBe('')
    expect(r.status).toBe(0)
  })
})
