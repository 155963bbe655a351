/**
 * The mesh every adversarial test file attacks: three honest `meshmon run`
 * processes pushing to a real Alertmanager, and a rogue swarm member. After
 * each bad input the file asserts `holds()`: every honest node alive
 * (/healthz), listing every honest node up with its machine info, and serving
 * /metrics that `promtool check metrics` passes. Once per file, after all its
 * inputs: RSS grew by less than 10 MB on each honest node (read once the
 * value is steady, so a pending GC is not counted), and a real death (kill -9)
 * is exactly one MeshPeerDown in Alertmanager, about that node only.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { rssMb } from '../../bench/proc.js'
import { amAlerts, startAlertmanager, type AmAlert } from '../alerts/helpers.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { freePort } from '../support/ports.js'
import { Procs } from '../support/procs.js'
import { Rogue } from '../support/rogue.js'
import { waitFor } from '../support/wait.js'
import { collectGarbage } from './gc.js'

export const PROMTOOL = '/usr/bin/promtool'
const NAMES = ['a', 'b', 'c']
/** what one file of bad inputs may add to an honest node's RSS */
const RSS_BUDGET_MB = 10
/** a byte gauge of the node's /metrics text, in MB */
const metricMb = (text: string, name: string): number => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]) / 1048576
/** growth of the heap after a full GC: what a node holds */
const HEAP_BUDGET_MB = 5
/**
 * How the honest nodes run so that their RSS says what they hold. The DevTools protocol on a
 * loopback port the OS picks (NODE_OPTIONS, below), so each reading follows a full GC (gc.ts).
 * And glibc told to give freed memory back: by default it keeps a heap per thread (V8 compiles
 * and collects on background threads) and, once a large buffer is freed, serves later ones from
 * its heaps instead of fresh mappings. Measured here on an idle 3-node mesh over 130 s, RSS after
 * a full GC crept +5.7 MB by default, +3.7 MB with MALLOC_ARENA_MAX=2, +1.4 MB with both settings,
 * while the V8 heap and external memory stayed flat: the allocator's, not the node's.
 */
const MEASURABLE = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' }

export interface MeshInit {
  /** the mesh label of its alerts (one per file) */
  mesh: string
  /** more config for every honest node, YAML (top-level keys) */
  config?: string
  /** api.token of every honest node */
  token?: string
  /** @default 'info' */
  logLevel?: 'info' | 'debug'
}

export class AdversarialMesh {
  readonly cluster = new Cluster()
  readonly procs = new Procs()
  nodes: NodeProc[] = []
  rogue!: Rogue
  am = ''
  mesh = ''
  #dir = ''
  #token?: string
  #logLevel = 'info'
  readonly #baseline = new Map<string, number>()
  readonly #heapBaseline = new Map<string, number>()

  async start (init: MeshInit): Promise<void> {
    this.mesh = init.mesh
    this.#token = init.token
    this.#logLevel = init.logLevel ?? 'info'
    this.#dir = await mkdtemp(join(tmpdir(), `meshmon-${init.mesh}-`))
    const port = await freePort()
    this.am = `http://127.0.0.1:${port}`
    await startAlertmanager(this.procs, this.#dir, port)
    await writeFile(join(this.#dir, 'honest.yml'), [
      `alertmanager: { urls: ['${this.am}'], resendInterval: 2s }`,
      `mesh: ${init.mesh}`,
      'heartbeat: { recoverAfter: 1s }',
      ...(init.token === undefined ? [] : [`api: { token: '${init.token}' }`]),
      init.config ?? ''
    ].join('\n'))
    await this.cluster.init()
    for (const name of NAMES) this.nodes.push(await this.#start(name))
    await this.settled()
    this.rogue = await Rogue.join(this.cluster.swarmKey)
    for (const n of this.nodes) await this.rogue.connect(this.target(n))
  }

  async #start (name: string, again?: NodeProc): Promise<NodeProc> {
    return await this.cluster.start(name, ['--config', join(this.#dir, 'honest.yml')], {
      token: this.#token,
      env: { ...MEASURABLE, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:0`.trim(), MESHMON_LOG_LEVEL: this.#logLevel },
      ...(again === undefined ? {} : { dataDir: again.dataDir, ports: { p2p: again.p2pPort, api: again.apiPort } })
    })
  }

  /** Every honest node lists every honest node up, with its machine info. */
  async settled (timeoutMs = 30_000): Promise<void> {
    for (const n of this.nodes) {
      await waitFor(`${n.name} to list every honest node up with its machine info`, async () => {
        const peers = await this.cluster.peers(n)
        return this.nodes.every(h => peers.some(p => p.peerId === h.peerId && p.state === 'up' && p.machine?.hostname !== undefined))
      }, timeoutMs)
    }
  }

  /** The /p2p/ multiaddr of an honest node. */
  target (n: NodeProc): string { return `${n.addr}/p2p/${n.peerId as string}` }
  targets (): string[] { return this.nodes.map(n => this.target(n)) }
  honestIds (): string[] { return this.nodes.map(n => n.peerId as string) }

  /**
   * A node's /metrics. Asked again once if the connection closed under the request: a keep-alive
   * connection the node closed as idle while this process was busy (10k keys made in one go) is
   * reused before the client sees it close. A node that is gone refuses the second try as well.
   */
  async metrics (n: NodeProc): Promise<string> {
    const get = async (): Promise<string> => await (await fetch(`${n.api}/metrics`)).text()
    try {
      return await get()
    } catch (err: any) {
      if (err?.cause?.code !== 'UND_ERR_SOCKET') throw err
      return await get()
    }
  }

  /** meshmon_gossip_messages_invalid_total{reason} of a node */
  async invalid (n: NodeProc, reason: string): Promise<number> {
    return Number(new RegExp(`^meshmon_gossip_messages_invalid_total\\{reason="${reason}"[^}]*\\} (\\d+)$`, 'm').exec(await this.metrics(n))?.[1] ?? 0)
  }

  /** Wait until `n` has counted more than `before` invalid messages for `reason`. */
  async counted (n: NodeProc, reason: string, before: number): Promise<void> {
    await waitFor(`${n.name} to count an invalid message (${reason})`, async () => await this.invalid(n, reason) > before, 15_000)
  }

  /** The node logged a line about the rogue (or anyone, without `from`) matching `test`. */
  logged (n: NodeProc, test: (line: Record<string, any>) => boolean): boolean {
    return n.logs.some(l => { try { return test(JSON.parse(l)) } catch { return false } })
  }

  /** What must hold after every bad input, on every honest node. */
  async holds (): Promise<void> {
    for (const n of this.nodes) {
      expect(n.child.exitCode, `${n.name} still running`).toBeNull()
      expect(n.child.signalCode, `${n.name} still running`).toBeNull()
      expect((await fetch(`${n.api}/healthz`)).status).toBe(200)
    }
    await this.settled(15_000)
    // a bad input must not page: no honest node found another down (a stall it caused would), and no alert is active
    const honest = new Set(this.honestIds())
    for (const n of this.nodes) expect(n.logs.filter(l => l.includes('"to":"down"') && honest.has(JSON.parse(l).peer)), `${n.name} found no honest node down`).toEqual([])
    expect(await this.honestAlerts(), 'no alert about an honest node').toEqual([])
    for (const n of this.nodes) {
      const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: await this.metrics(n), encoding: 'utf8' })
      expect(r.stdout + r.stderr, `promtool check metrics on ${n.name}`).toBe('')
      expect(r.status).toBe(0)
    }
  }

  /**
   * RSS of a node once steady, MB: each reading after a full GC, until two readings 2 s apart are
   * within 1 MB. Without the GC, garbage of the last big input (a 1 MiB frame is ~40 MB of heap
   * parsed) stayed for a minute and counted as growth; with it, what is left is what the node holds.
   */
  async steadyRss (n: NodeProc): Promise<number> {
    const pid = n.child.pid as number
    const reading = async (): Promise<number> => { await collectGarbage(n); return await rssMb(pid) }
    let last = await reading()
    return await waitFor(`${n.name}'s RSS to hold still`, async () => {
      await new Promise(resolve => setTimeout(resolve, 2000))
      const now = await reading()
      const steady = Math.abs(now - last) < 1
      last = now
      return steady ? now : false
    }, 40_000, 0)
  }

  async markRss (): Promise<void> {
    for (const n of this.nodes) {
      this.#baseline.set(n.name, await this.steadyRss(n))
      this.#heapBaseline.set(n.name, await this.#heapUsedMb(n))
    }
  }

  /** heap used after a full GC, MB: the least of three readings (what the scrape and the node's own work allocate in between only adds) */
  async #heapUsedMb (n: NodeProc): Promise<number> {
    let least = Infinity
    for (let i = 0; i < 3; i++) {
      await collectGarbage(n)
      least = Math.min(least, metricMb(await this.metrics(n), 'nodejs_heap_size_used_bytes'))
    }
    return least
  }

  /**
   * Each honest node's RSS grew by less than the budget since markRss(), and its heap after a full GC
   * by less than HEAP_BUDGET_MB. A file whose bad input comes in large bursts may grant the allocator
   * more RSS (glibc keeps arenas grown by a burst) while the heap, what the node holds, stays bounded.
   */
  async rssHeld (rssBudgetMb = RSS_BUDGET_MB): Promise<void> {
    for (const n of this.nodes) {
      const before = this.#baseline.get(n.name) as number
      const after = await this.steadyRss(n)
      const m = await this.metrics(n)
      const mb = (name: string): string => metricMb(m, name).toFixed(1)
      const heap = await this.#heapUsedMb(n)
      const heapBefore = this.#heapBaseline.get(n.name) as number
      expect(heap - heapBefore, `${n.name} heap used after a full GC ${heapBefore.toFixed(1)} -> ${heap.toFixed(1)} MB`).toBeLessThan(HEAP_BUDGET_MB)
      const memory = `heap used ${mb('nodejs_heap_size_used_bytes')} of ${mb('nodejs_heap_size_total_bytes')} MB, external ${mb('nodejs_external_memory_bytes')} MB`
      expect(after - before, `${n.name} RSS ${before.toFixed(1)} -> ${after.toFixed(1)} MB (${memory})`).toBeLessThan(rssBudgetMb)
    }
  }

  /** This mesh's alerts in Alertmanager, but those about the rogue's own identities. */
  async honestAlerts (): Promise<AmAlert[]> {
    const rogue = new Set(this.#rogueIds())
    return (await amAlerts(this.am, this.mesh)).filter(a => a.labels.peer === undefined || !rogue.has(a.labels.peer))
  }

  /** ids the rogue speaks as (itself, and throwaway identities a test adds) */
  readonly rogueIds = new Set<string>()
  #rogueIds (): string[] { return [this.rogue.peerId, ...this.rogueIds] }

  /**
   * kill -9 `victim`: exactly one alert, MeshPeerDown about it, and none about
   * any other honest node; then it comes back and the alert resolves.
   */
  async deathPagesOnce (victim: NodeProc): Promise<void> {
    expect(await this.honestAlerts(), 'no alert before the death').toEqual([])
    victim.child.kill('SIGKILL')
    await this.cluster.exited(victim)
    const others = this.nodes.filter(n => n !== victim)
    for (const n of others) await waitFor(`${n.name} to find ${victim.name} down`, async () => await this.cluster.stateOf(n, victim) === 'down', 15_000)
    const alerts = await waitFor('MeshPeerDown in Alertmanager', async () => {
      const all = await this.honestAlerts()
      return all.some(a => a.labels.alertname === 'MeshPeerDown') ? all : false
    }, 20_000)
    expect(alerts.map(a => a.labels)).toEqual([{ alertname: 'MeshPeerDown', peer: victim.peerId, node: victim.name, severity: 'critical', mesh: this.mesh }])
    await this.#again(victim)
    await waitFor('the alert resolved', async () => (await this.honestAlerts()).length === 0, 30_000)
  }

  async #again (n: NodeProc): Promise<void> {
    const back = await this.#start(n.name, n)
    this.nodes = this.nodes.map(m => m === n ? back : m)
    await this.settled()
  }

  async stop (): Promise<void> {
    await this.rogue?.stop().catch(() => {})
    await this.cluster.stopAll()
    await this.procs.stopAll()
    if (this.#dir !== '') await rm(this.#dir, { recursive: true, force: true })
  }
}
