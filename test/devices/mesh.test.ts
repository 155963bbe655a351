/**
 * A real 3-node mesh and the real Alertmanager: a device reporting to one
 * peer is seen by all of them; its close is one MeshDeviceDown and one
 * device.offline however many peers watched; a move to another peer is no
 * incident; the death of its peer makes it unknown (MeshPeerDown says it),
 * then down once the grace is over.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { ALERTMANAGER, amAlerts, startAlertmanager } from '../alerts/helpers.js'
import { meshmon } from '../support/cli.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { lacks } from '../support/packages.js'
import { freePort } from '../support/ports.js'
import { Procs } from '../support/procs.js'
import { holdsFor, waitFor } from '../support/wait.js'
import { GoDevice, lacksGo, stopClients } from './clients.js'

const INFO = '{"project":"DecentralGPT","models":[{"model":"llama-3-8b"}],"gpu_name":"NVIDIA GeForce RTX 4090","utilization_gpu":30,"memory_total":24564,"memory_used":22128}'

describe.skipIf(lacksGo() || lacks('prometheus-alertmanager', ALERTMANAGER))('devices in a 3-node mesh with Alertmanager', () => {
  const cluster = new Cluster()
  const procs = new Procs()
  let dir: string
  let am: string
  let mesh: string
  let nodes: NodeProc[]
  let a: NodeProc, b: NodeProc, c: NodeProc

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-mesh-devices-'))
    const port = await freePort()
    am = `http://127.0.0.1:${port}`
    await startAlertmanager(procs, dir, port)
    await writeFile(join(dir, 'node.yml'), 'alertmanager: { resendInterval: 2s }\ningest: { viaGrace: 20s }\n')
    await cluster.init()
    mesh = `mesh-${createHash('sha256').update(normaliseSwarmKey(await readFile(cluster.swarmKey, 'utf8'))).digest('hex').slice(0, 8)}`
    nodes = await cluster.startAll(['a', 'b', 'c'], ['--config', join(dir, 'node.yml'), '--alertmanager', am])
    ;[a, b, c] = nodes as [NodeProc, NodeProc, NodeProc]
  })
  afterAll(async () => {
    stopClients()
    await cluster.stopAll()
    await procs.stopAll()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  const ws = (n: NodeProc): string => `ws://127.0.0.1:${n.apiPort}/websocket`
  const device = async (n: NodeProc, id = 'gpu-7'): Promise<any> => ((await (await fetch(`${n.api}/api/v1/devices`)).json()) as any[]).find(d => d.id === id)
  const everywhere = async (among: NodeProc[], what: string, ok: (d: any) => boolean, timeoutMs = 15_000): Promise<void> => {
    for (const n of among) await waitFor(`${n.name}: ${what}`, async () => { const d = await device(n); return d !== undefined && ok(d) }, timeoutMs)
  }
  const events = async (n: NodeProc, type: string): Promise<any[]> => await (await fetch(`${n.api}/api/v1/events?type=${type}&peer=gpu-7`)).json() as any[]
  const deviceAlerts = async (): Promise<any[]> => await amAlerts(am, mesh, 'MeshDeviceDown')
  let device7: GoDevice

  it('a device online on one peer is listed by every peer, with what it sent', async () => {
    device7 = await GoDevice.online(ws(a), 'gpu-7', 'DecentralGPT')
    expect((await device7.cmd(`info ${INFO}`)).response.code).toBe(0)
    await everywhere(nodes, 'gpu-7 up via a with its GPU', d => d.state === 'up' && d.via === a.peerId && d.viaName === 'a' && d.gpus[0]?.name === 'NVIDIA GeForce RTX 4090')
    const metrics = await (await fetch(`${b.api}/metrics`)).text()
    expect(metrics).toContain('meshmon_device_up{device="gpu-7",project="DecentralGPT",via="a"} 1')
    expect(metrics).toContain('meshmon_device_gpu_memory_total_bytes{device="gpu-7",gpu="0",name="NVIDIA GeForce RTX 4090"} 25757220864')
    const r = await meshmon(['status', '--api', c.api])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^gpu-7\s+DecentralGPT\s+a\s+up\s+.*NVIDIA GeForce RTX 4090 30%\s+llama-3-8b$/m)
  })

  it('its connection closes: down everywhere, ONE MeshDeviceDown and ONE device.offline; back on another peer: resolved, device.online', async () => {
    await device7.cmd('close')
    await everywhere(nodes, 'gpu-7 down', d => d.state === 'down')
    await waitFor('MeshDeviceDown in Alertmanager', async () => (await deviceAlerts()).length === 1, 30_000)
    expect((await deviceAlerts())[0]?.labels).toEqual({ alertname: 'MeshDeviceDown', device: 'gpu-7', project: 'DecentralGPT', severity: 'warning', mesh })
    for (const n of nodes) await waitFor(`${n.name} holds the device.offline`, async () => (await events(n, 'device.offline')).length === 1, 30_000)
    expect((await events(b, 'device.offline'))[0]).toMatchObject({ severity: 'warning', subject: { name: 'gpu-7', peer: a.peerId }, labels: { device: 'gpu-7', project: 'DecentralGPT', via: 'a' } })
    expect((await meshmon(['status', '--api', b.api])).code).toBe(1)

    device7 = await GoDevice.online(ws(b), 'gpu-7', 'DecentralGPT')
    await everywhere(nodes, 'gpu-7 up via b', d => d.state === 'up' && d.viaName === 'b')
    await waitFor('MeshDeviceDown resolved', async () => (await deviceAlerts()).length === 0, 30_000)
    for (const n of nodes) await waitFor(`${n.name} holds the device.online`, async () => (await events(n, 'device.online')).length === 1, 30_000)
    for (const n of nodes) expect(await events(n, 'device.offline')).toHaveLength(1)
  })

  it('a device that reconnects to another peer within 10 s was moved: no MeshDeviceDown, no device.offline', async () => {
    await device7.cmd('close')
    device7 = await GoDevice.online(ws(c), 'gpu-7', 'DecentralGPT')
    await everywhere(nodes, 'gpu-7 up via c', d => d.state === 'up' && d.viaName === 'c')
    // past the 10 s confirmation: the close on b (announced after, or before, c's connect) never raises anything
    await holdsFor('no MeshDeviceDown, still up via c everywhere', async () => {
      if ((await deviceAlerts()).length > 0) return false
      for (const n of nodes) if ((await device(n))?.viaName !== 'c') return false
      return true
    }, 13_000, 500)
    for (const n of nodes) expect(await events(n, 'device.offline')).toHaveLength(1)
  })

  it('a peer that joins later lists the devices at once, with their data', async () => {
    const d = await cluster.start('d', ['--config', join(dir, 'node.yml'), '--alertmanager', am])
    await everywhere([d], 'gpu-7 up via c with its GPU', x => x.state === 'up' && x.viaName === 'c' && x.gpus[0]?.name === 'NVIDIA GeForce RTX 4090', 20_000)
  })

  it('its peer is killed: unknown on the others and not alerted (MeshPeerDown says it); down and alerted once the grace is over', async () => {
    c.child.kill('SIGKILL')
    await everywhere([a, b], 'gpu-7 unknown', d => d.state === 'unknown', 20_000)
    await waitFor('MeshPeerDown for c', async () => (await amAlerts(am, mesh, 'MeshPeerDown')).some(al => al.labels.node === 'c'), 30_000)
    // past the 10 s confirmation a closed device would be alerted after; an orphaned one is not
    await holdsFor('gpu-7 unknown, no MeshDeviceDown', async () => (await deviceAlerts()).length === 0 && (await device(a))?.state === 'unknown', 11_000, 500)
    // the grace (20 s here) over: down, alerted, one device.offline saying why
    await everywhere([a, b], 'gpu-7 down', d => d.state === 'down', 30_000)
    await waitFor('MeshDeviceDown after the grace', async () => (await deviceAlerts()).length === 1, 30_000)
    for (const n of [a, b]) {
      await waitFor(`${n.name} holds a second device.offline`, async () => (await events(n, 'device.offline')).length === 2, 30_000)
      expect((await events(n, 'device.offline'))[0].message).toMatch(/the peer it reported to \(via c\) died/)
    }
  })
})
