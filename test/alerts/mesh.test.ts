/**
 * A real 3-node mesh (`meshmon run` processes) pushing to the real
 * Alertmanager: what an operator sees. One alert per problem however many
 * nodes report it; a node's failing check, then the node itself going down.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { lacks } from '../support/packages.js'
import { freePort } from '../support/ports.js'
import { Procs } from '../support/procs.js'
import { waitFor } from '../support/wait.js'
import { ALERTMANAGER, amAlerts, startAlertmanager } from './helpers.js'

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER))('a 3-node mesh pushing to Alertmanager', () => {
  const cluster = new Cluster()
  const procs = new Procs()
  let dir: string
  let am: string
  let a: NodeProc, b: NodeProc, c: NodeProc
  let marker: string
  let mesh: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-mesh-alerts-'))
    const port = await freePort()
    am = `http://127.0.0.1:${port}`
    await startAlertmanager(procs, dir, port)
    marker = join(dir, 'web-broken')
    await writeFile(marker, '')
    await writeFile(join(dir, 'common.yml'), 'alertmanager: { resendInterval: 2s }\n')
    // c runs a check that fails while the marker file exists
    await writeFile(join(dir, 'c.yml'), `alertmanager: { resendInterval: 2s }
checks:
  - { name: web, type: exec, interval: 1s, command: [sh, -c, 'if [ -e ${marker} ]; then echo "WEB CRITICAL: 503 from /health"; exit 2; fi; echo "WEB OK"'] }
`)
    await cluster.init()
    // no `mesh` configured: every node derives the same label from the swarm key
    mesh = `mesh-${createHash('sha256').update(normaliseSwarmKey(await readFile(cluster.swarmKey, 'utf8'))).digest('hex').slice(0, 8)}`
    const flags = (file: string): string[] => ['--config', join(dir, file), '--alertmanager', am]
    a = await cluster.start('a', flags('common.yml'))
    b = await cluster.start('b', flags('common.yml'))
    c = await cluster.start('c', flags('c.yml'))
    await cluster.waitAll(3)
  })
  afterAll(async () => {
    await cluster.stopAll()
    await procs.stopAll()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('a failing check on one node is ONE MeshCheckFailed, shown by every node\'s /api/v1/alerts', async () => {
    await waitFor('MeshCheckFailed in Alertmanager', async () => (await amAlerts(am, mesh, 'MeshCheckFailed')).length === 1, 20_000)
    const [alert] = await amAlerts(am, mesh, 'MeshCheckFailed')
    expect(alert?.labels).toEqual({ alertname: 'MeshCheckFailed', peer: c.peerId, node: 'c', check: 'web', severity: 'critical', mesh })
    expect(alert?.annotations.description).toBe('WEB CRITICAL: 503 from /health')
    for (const n of [a, b, c]) {
      await waitFor(`${n.name} derives it`, async () => {
        const mine = await (await fetch(`${n.api}/api/v1/alerts`)).json() as any[]
        return mine.length === 1 && mine[0].labels.check === 'web'
      })
      await waitFor(`${n.name} counted a successful send`, async () => /meshmon_alertmanager_sends_total\{[^}]*result="success"[^}]*\} [1-9]/.test(await (await fetch(`${n.api}/metrics`)).text()))
    }
    await unlink(marker)
    await waitFor('MeshCheckFailed resolved', async () => (await amAlerts(am, mesh, 'MeshCheckFailed')).length === 0, 20_000)
  })

  it('a node that dies is ONE MeshPeerDown, resolved when it comes back', async () => {
    await writeFile(marker, '')
    await waitFor('c\'s check failing again', async () => (await amAlerts(am, mesh, 'MeshCheckFailed')).length === 1, 20_000)
    c.child.kill('SIGKILL')
    await waitFor('MeshPeerDown in Alertmanager', async () => (await amAlerts(am, mesh, 'MeshPeerDown')).length === 1, 20_000)
    const [down] = await amAlerts(am, mesh, 'MeshPeerDown')
    expect(down?.labels).toEqual({ alertname: 'MeshPeerDown', peer: c.peerId, node: 'c', severity: 'critical', mesh })
    // its check state is stale now: a and b resolve MeshCheckFailed (c, which raised it too, is dead:
    // Alertmanager keeps the latest word, the resolution)
    await waitFor('stale check alert resolved', async () => (await amAlerts(am, mesh, 'MeshCheckFailed')).length === 0, 20_000)

    await unlink(marker)
    c = await cluster.start('c', ['--config', join(dir, 'c.yml'), '--alertmanager', am], { dataDir: c.dataDir, ports: { p2p: c.p2pPort, api: c.apiPort } })
    await waitFor('MeshPeerDown resolved', async () => (await amAlerts(am, mesh)).length === 0, 30_000)
  })
})
