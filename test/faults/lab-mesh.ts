/**
 * A meshmon mesh in a network lab (test/support/netlab.ts): node n<i> runs in
 * host i's namespace, its mesh on 10.77.0.i:4001, its API on its management
 * address; a real Alertmanager runs in the hub namespace on the management
 * network, so cutting a node's mesh cable leaves Alertmanager reachable from
 * it. The test process reaches both over the management network. What
 * Alertmanager shows is recorded all along (alert-history.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { NetLab } from '../support/netlab.js'
import { Procs } from '../support/procs.js'
import { waitFor } from '../support/wait.js'
import { startAlertmanager } from '../alerts/helpers.js'
import { AlertHistory } from './alert-history.js'

const P2P_PORT = 4001
const API_PORT = 9521
const AM_PORT = 9093

export interface LabMeshInit {
  /** nodes per side (switch), e.g. [4, 2] */
  sides: number[]
  /** more YAML for node i's config file (checks, heartbeat settings) */
  config?: (index: number) => string
}

/** An exec check that is CRITICAL while `marker` exists, checked every second. */
export const markerCheck = (name: string, marker: string): string =>
  `  - { name: ${name}, type: exec, interval: 1s, command: [sh, -c, 'if [ -e ${marker} ]; then echo "${name} CRITICAL: marker present"; exit 2; fi; echo "${name} OK"'] }\n`

export class LabMesh {
  readonly lab: NetLab
  readonly cluster = new Cluster()
  readonly procs = new Procs()
  readonly mesh = 'lab'
  am = ''
  history?: AlertHistory

  constructor (readonly init: LabMeshInit) { this.lab = new NetLab(init.sides) }

  get size (): number { return this.lab.hosts.length }
  get dir (): string { return this.cluster.dir }

  async start (): Promise<this> {
    this.lab.create()
    await this.cluster.init()
    const amDir = join(this.dir, 'alertmanager')
    await mkdir(amDir)
    await startAlertmanager(this.procs, amDir, AM_PORT, {}, { ip: this.lab.mgmtHubIp, exec: this.lab.exec(this.lab.hub) })
    this.am = `http://${this.lab.mgmtHubIp}:${AM_PORT}`
    this.history = new AlertHistory(this.am, this.mesh)
    this.history.start()
    await this.startNode(1)
    await Promise.all(this.lab.hosts.slice(1).map(async h => await this.startNode(h.index)))
    await this.cluster.waitAll(this.size, 'up', this.cluster.live(), 60_000)
    return this
  }

  /** Start (or start again, same data dir) node n<i> in host i's namespace, bootstrapped from n1. */
  async startNode (index: number): Promise<NodeProc> {
    const host = this.lab.host(index)
    const file = join(this.dir, `n${index}.yml`)
    await writeFile(file, `mesh: ${this.mesh}\nalertmanager: { urls: [${this.am}], resendInterval: 2s }\n${this.init.config?.(index) ?? ''}`)
    return await this.cluster.start(`n${index}`, ['--config', file], {
      bootstrap: index === 1 ? [] : [`/ip4/${this.lab.host(1).meshIp}/tcp/${P2P_PORT}`],
      dataDir: join(this.dir, `n${index}`),
      ports: { p2p: P2P_PORT, api: API_PORT },
      net: { exec: this.lab.exec(host.ns), ip: host.meshIp, apiIp: host.mgmtIp },
      healthTimeoutMs: 60_000
    })
  }

  /** The running process of node n<i> (the latest, after a restart). */
  node (index: number): NodeProc {
    const n = this.cluster.nodes.filter(p => p.name === `n${index}`).at(-1)
    if (n === undefined) throw new Error(`node n${index} was never started`)
    return n
  }

  nodes (indexes: number[]): NodeProc[] { return indexes.map(i => this.node(i)) }

  /** name -> state, as `observer` sees the mesh (itself included) */
  async view (observer: NodeProc): Promise<Record<string, string>> {
    return Object.fromEntries((await this.cluster.peers(observer)).map(p => [p.name, p.state]))
  }

  /** Wait until each observer sees each named node in the given state. */
  async waitView (observers: NodeProc[], expected: Record<string, string>, timeoutMs: number): Promise<void> {
    await Promise.all(observers.map(async o => await waitFor(`${o.name} to see ${JSON.stringify(expected)}`, async () => {
      const view = await this.view(o)
      return Object.entries(expected).every(([name, state]) => view[name] === state)
    }, timeoutMs, 200)))
  }

  /** The events node `n` serves (newest first). */
  async events (n: NodeProc, query: Record<string, string> = {}): Promise<any[]> {
    const q = new URLSearchParams({ limit: '1000', ...query })
    return await (await fetch(`${n.api}/api/v1/events?${q}`)).json() as any[]
  }

  async metrics (n: NodeProc): Promise<string> { return await (await fetch(`${n.api}/metrics`)).text() }

  async stop (): Promise<void> {
    await this.history?.stop()
    await this.procs.stopAll()
    await this.cluster.stopAll()
    await this.lab.destroy()
  }
}
