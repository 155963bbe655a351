/** The /metrics text: what promtool and Prometheus read. */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { renderMesh } from '../../src/metrics/mesh.js'
import { metricsEndpoint } from '../../src/metrics/index.js'
import { record } from '../support/record.js'
import { lacks } from '../support/packages.js'
import { syntheticPeers } from '../support/synthetic.js'

const promtool = (text: string) => spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })

describe('mesh metrics', () => {
  it('label every series with peer and node, and never the serving node', async () => {
    const table = new PeerTable()
    for (const p of syntheticPeers(3)) table.apply(p.peerId, p.record)
    const text = renderMesh(table.list())
    const samples = text.split('\n').filter(l => l !== '' && !l.startsWith('#'))
    expect(samples.length).toBeGreaterThan(60)
    for (const s of samples) expect(s).toMatch(/^meshmon_\w+\{peer="12D3KooW\w+",node="[^"]+"/)
    expect(text).toContain('meshmon_node_gpu_memory_total_bytes{')
    expect(text).toContain('meshmon_node_info{peer=')
  })

  it('a down peer: peer_up 0 and peer_state{state="down"} 1; a forgotten peer: no series', () => {
    const table = new PeerTable()
    const [p] = syntheticPeers(1)
    if (p === undefined) throw new Error('no synthetic peer')
    table.apply(p.peerId, p.record)
    const peer = table.get(p.peerId)
    if (peer === undefined) throw new Error('not observed')
    table.setState(peer, 'down', 'silent')
    const text = renderMesh(table.list())
    expect(text).toContain(`meshmon_peer_up{peer="${p.peerId}",node="${p.record.name}"} 0`)
    expect(text).toContain(`meshmon_peer_state{peer="${p.peerId}",node="${p.record.name}",state="down"} 1`)
    expect(text).toContain(`meshmon_peer_state{peer="${p.peerId}",node="${p.record.name}",state="up"} 0`)
    table.forget(peer)
    expect(renderMesh(table.list())).toBe('')
  })

  it('escapes label values', () => {
    const table = new PeerTable()
    table.apply('12D3KooWEscape', record({ name: 'we"ird\\name\nx', labels: { role: 'a"b' } }))
    const text = renderMesh(table.list())
    expect(text).toContain('node="we\\"ird\\\\name\\nx"')
    expect(text).toContain('role="a\\"b"')
  })

  // promtool comes from Debian's `prometheus` package; `npm test` installs it, or names it as missing
  it.skipIf(lacks('prometheus', '/usr/bin/promtool'))('passes promtool check metrics, self metrics included', async () => {
    const table = new PeerTable()
    for (const p of syntheticPeers(20)) table.apply(p.peerId, p.record)
    const metrics = metricsEndpoint(table, {
      peerId: '12D3KooWSelf', name: 'self', gossip: () => ({ received: 5, invalid: { decode: 1, schema: 0, too_large: 0, replay: 2 } }), connectedPeers: () => 2,
      eventlogEntries: () => 7, alertmanagerSends: () => ({ success: 3, error: 1 })
    })
    metrics.observeHeartbeatDelay(3)
    const { body: bytes, contentType } = await metrics.handler()
    const body = bytes.toString()
    expect(contentType).toMatch(/^text\/plain; version=0.0.4/)
    const r = promtool(body)
    expect(r.stdout + r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(body).toContain('meshmon_gossip_messages_invalid_total{reason="replay",peer="12D3KooWSelf",node="self"} 2')
    expect(body).toContain('meshmon_alertmanager_sends_total{result="success",peer="12D3KooWSelf",node="self"} 3')
    expect(body).toMatch(/^process_resident_memory_bytes\{peer="12D3KooWSelf",node="self"\} \d+/m)
  })
})
