/**
 * Fault -> alert visible in Alertmanager's API: a mesh of N processes pushing
 * to the real Alertmanager (Debian's, on 127.0.0.1, gossip off); one node is
 * killed; time until its MeshPeerDown is listed active, against the detection
 * time the survivors record.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, type NodeProc } from '../test/support/cluster.js'
import { freePort } from '../test/support/ports.js'
import { waitFor } from '../test/support/wait.js'

export interface AlertBenchResult { nodes: number, detectMs: number, alertVisibleMs: number, alertAfterDetectMs: number }

export async function benchAlerts (n = 3, alertmanager = '/usr/bin/prometheus-alertmanager'): Promise<AlertBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'meshmon-bench-am-'))
  const port = await freePort()
  const am = `http://127.0.0.1:${port}`
  await writeFile(join(dir, 'am.yml'), 'route: { receiver: "null", group_wait: 1s }\nreceivers: [{ name: "null" }]\n')
  const child = spawn(alertmanager, [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' })
  const cluster = await new Cluster().init()
  try {
    await waitFor('alertmanager ready', async () => (await fetch(`${am}/-/ready`)).ok, 20_000)
    for (let i = 0; i < n; i++) await cluster.start(`node-${i}`, ['--alertmanager', am])
    await cluster.waitAll(n)
    const victim = cluster.nodes[n - 1] as NodeProc
    const at = Date.now()
    victim.child.kill('SIGKILL')
    const query = `${am}/api/v2/alerts?active=true&filter=${encodeURIComponent('alertname="MeshPeerDown"')}`
    await waitFor('MeshPeerDown in Alertmanager', async () => ((await (await fetch(query)).json()) as unknown[]).length === 1, 30_000, 20)
    const visible = Date.now() - at
    const observer = cluster.nodes[0] as NodeProc
    const peer = (await cluster.peers(observer)).find(p => p.peerId === victim.peerId)
    const detect = Date.parse(peer.stateSince) - at
    return { nodes: n, detectMs: detect, alertVisibleMs: visible, alertAfterDetectMs: visible - detect }
  } finally {
    await cluster.stopAll()
    child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
}
