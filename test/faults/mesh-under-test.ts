/**
 * A meshmon mesh under a fault test: nodes n1..nN (real `meshmon run`
 * processes), a real Alertmanager, and what Alertmanager shows recorded from
 * the moment the mesh has settled (alert-history.ts). Where the nodes and
 * Alertmanager run is the subclass's: in a network lab (lab-mesh.ts) or on
 * 127.0.0.1 (loopback-mesh.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { Procs } from '../support/procs.js'
import { waitFor } from '../support/wait.js'
import { startAlertmanager, type AmPlace } from '../alerts/helpers.js'
import { AlertHistory } from './alert-history.js'
import { eventsOf } from './events.js'

export interface MeshUnderTestInit {
  /** the `mesh` label of its alerts */
  mesh: string
  /** more YAML for node i's config file (checks, heartbeat settings) */
  config?: (index: number) => string
  /** alertmanager.resendInterval @default 2s */
  resendInterval?: string
}

/** An exec check that is CRITICAL while `marker` exists, checked every second. */
export const markerCheck = (name: string, marker: string): string =>
  `  - { name: ${name}, type: exec, interval: 1s, command: [sh, -c, 'if [ -e ${marker} ]; then echo "${name} CRITICAL: marker present"; exit 2; fi; echo "${name} OK"'] }\n`

export abstract class MeshUnderTest {
  readonly cluster = new Cluster()
  readonly procs = new Procs()
  am = ''
  amProc?: ChildProcess
  history?: AlertHistory
  /** unix ms when the mesh had settled: what happened before is how it came up, not the fault */
  settledAt = 0

  constructor (readonly init: MeshUnderTestInit) {}

  get mesh (): string { return this.init.mesh }
  get dir (): string { return this.cluster.dir }
  abstract get size (): number
  /** where Alertmanager runs, and the port */
  protected abstract amPlace (): AmPlace & { ip: string, port: number }
  /** start node n<i> (again, after a stop: same data dir and ports) with these run flags */
  protected abstract launch (index: number, flags: string[]): Promise<NodeProc>
  /** made ready for nodes and Alertmanager (after the cluster's dir exists) */
  protected async prepare (): Promise<void> {}

  async start (): Promise<this> {
    await this.cluster.init()
    try {
      await this.prepare()
      await this.startAlertmanager()
      await this.startNode(1)
      // a few at a time: ten node processes loading at once on a busy 2-core host took over a minute each
      const rest = Array.from({ length: this.size - 1 }, (_, k) => k + 2)
      const next = async (): Promise<void> => { for (let i = rest.shift(); i !== undefined; i = rest.shift()) await this.startNode(i) }
      await Promise.all([next(), next(), next()])
      await this.cluster.waitAll(this.size, 'up', this.cluster.live(), 60_000)
      // quiet for longer than a resolved alert is resent (4 rounds of the 2 s resend interval)
      await this.cluster.settle(this.size, 10_000, 120_000)
    } catch (err) {
      await this.report('start')
      throw err
    }
    // recorded from here: what the faults do, not how the mesh came up
    this.settledAt = Date.now()
    this.history = new AlertHistory(this.am, this.mesh)
    this.history.start()
    return this
  }

  /** (Again) on the same port and storage: a restarted Alertmanager holds no alerts until senders send them again. */
  async startAlertmanager (): Promise<void> {
    const place = this.amPlace()
    const amDir = join(this.dir, 'alertmanager')
    await mkdir(amDir, { recursive: true })
    this.amProc = await startAlertmanager(this.procs, amDir, place.port, {}, place)
    this.am = `http://${place.ip}:${place.port}`
  }

  async stopAlertmanager (): Promise<void> { if (this.amProc !== undefined) await this.procs.stop(this.amProc) }

  /** Start (or start again) node n<i>, with its config file. */
  async startNode (index: number): Promise<NodeProc> {
    const file = join(this.dir, `n${index}.yml`)
    await writeFile(file, `mesh: ${this.mesh}\nalertmanager: { urls: [${this.am}], resendInterval: ${this.init.resendInterval ?? '2s'} }\n${this.init.config?.(index) ?? ''}`)
    return await this.launch(index, ['--config', file])
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

  /** The events node `n` serves (newest first) that were written since the mesh settled: the fault's. */
  async events (n: NodeProc, query: Record<string, string> = {}): Promise<any[]> {
    return (await eventsOf(n, query)).filter(e => Date.parse(e.ts) >= this.settledAt)
  }

  async metrics (n: NodeProc): Promise<string> { return await (await fetch(`${n.api}/metrics`)).text() }

  /**
   * For a failed test: the last lines of each node and what Alertmanager showed on stderr,
   * every node's whole log and the events each holds in a file kept for a look after the run (its path is printed).
   */
  async report (title: string): Promise<void> {
    this.cluster.dumpLogs(15)
    const file = join(tmpdir(), `meshmon-faults-${title}-${Date.now()}.log`)
    const events = await Promise.all(this.cluster.live().map(async n => {
      const evs = await eventsOf(n).catch(err => [String(err)])
      return `--- events held by ${n.name} ---\n${evs.map(e => JSON.stringify(e)).join('\n')}\n`
    }))
    await writeFile(file, this.cluster.nodes.map(n => `--- ${n.name} (${n.peerId ?? '?'}) ---\n${n.logs.join('\n')}\n`).join('') + events.join(''))
    process.stderr.write(`alerts seen:\n${this.history?.describe() ?? ''}\nevery node's log: ${file}\n`)
  }

  async stop (): Promise<void> {
    await this.history?.stop()
    await this.procs.stopAll()
    await this.cluster.stopAll()
  }
}
