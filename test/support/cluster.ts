/**
 * Real meshmon processes on 127.0.0.1 with random ports and temp data dirs, for
 * the integration tests and `npm run bench`. Every process is started here,
 * tracked by pid, and killed in stopAll().
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateSwarmKey } from '../../src/mesh/swarm-key.js'
import { freePort } from './ports.js'
import { repoRoot } from './root.js'
import { holdsFor, waitFor } from './wait.js'

/** bin/meshmon.js, for the tests (run from source) and the benchmark (compiled into .bench/) */
export const BIN = join(repoRoot(), 'bin', 'meshmon.js')

export interface NodeProc {
  name: string
  dataDir: string
  p2pPort: number
  apiPort: number
  api: string
  /** where peers reach it: TCP, or /ws for a node listening on WebSockets only */
  addr: string
  /** its WebSockets address, when it listens on one */
  wsAddr?: string
  child: ChildProcess
  logs: string[]
  peerId?: string
  args: string[]
  /** the node's api.token, sent by peers() */
  token?: string
}

/** A node's log lines that are JSON (pino's), parsed; other stderr lines are skipped. */
export const logLines = (n: NodeProc): any[] => n.logs.flatMap(l => { try { return [JSON.parse(l)] } catch { return [] } })

/** every cluster not stopped yet, for an interrupted benchmark (killStartedNodes) */
const live = new Set<Cluster>()

/**
 * SIGKILL every node process any cluster started and not stopped, and remove
 * their temp dirs: for a benchmark interrupted by Ctrl-C or SIGTERM, which
 * would otherwise leave its nodes running.
 */
export function killStartedNodes (): void {
  for (const c of live) {
    for (const n of c.nodes) killNode(n)
    if (c.dir !== '') rmSync(c.dir, { recursive: true, force: true })
  }
  live.clear()
}

/** the node's process has not exited (a stopped one is still running) */
export function running (n: NodeProc): boolean { return n.child.exitCode === null && n.child.signalCode === null }

/** SIGKILL a node still running (SIGCONT first: a stopped process dies only when continued); false if it had exited */
function killNode (n: NodeProc): boolean {
  if (!running(n)) return false
  try { process.kill(n.child.pid as number, 'SIGCONT') } catch {}
  n.child.kill('SIGKILL')
  return true
}

export interface StartOptions {
  bootstrap?: string[]
  swarmKey?: string | null
  env?: NodeJS.ProcessEnv
  dataDir?: string
  ports?: { p2p: number, api: number }
  healthTimeoutMs?: number
  listen?: 'tcp' | 'ws' | 'both'
  token?: string
  /** run inside a network namespace (netlab.ts): the command prefix, the mesh address, the API's address @default 127.0.0.1 for both */
  net?: { exec: string[], ip: string, apiIp: string }
  /** options for the node binary itself (V8 and Node flags), before the program */
  nodeArgs?: string[]
}

export class Cluster {
  readonly nodes: NodeProc[] = []
  dir = ''
  swarmKey = ''

  async init (): Promise<this> {
    this.dir = await mkdtemp(join(tmpdir(), 'meshmon-cluster-'))
    this.swarmKey = join(this.dir, 'swarm.key')
    await writeFile(this.swarmKey, generateSwarmKey(), { mode: 0o600 })
    live.add(this)
    return this
  }

  /**
   * Start a node; by default bootstrapped from the first node. `listen`: TCP (the default),
   * WebSockets only, or both (WebSockets on a second port). `token`: the node's api.token, sent by peers() and friends.
   */
  async start (name: string, extra: string[] = [], opts: StartOptions = {}): Promise<NodeProc> {
    const p2pPort = opts.ports?.p2p ?? await freePort()
    const apiPort = opts.ports?.api ?? await freePort()
    const dataDir = opts.dataDir ?? join(this.dir, name)
    const bootstrap = opts.bootstrap ?? (this.nodes[0] !== undefined && this.nodes[0].name !== name ? [this.nodes[0].addr] : [])
    const ip = opts.net?.ip ?? '127.0.0.1'
    const apiIp = opts.net?.apiIp ?? '127.0.0.1'
    const tcpAddr = `/ip4/${ip}/tcp/${p2pPort}`
    const wsAddr = opts.listen === 'ws' ? `${tcpAddr}/ws` : opts.listen === 'both' ? `/ip4/${ip}/tcp/${await freePort()}/ws` : undefined
    const listen = opts.listen === 'ws' ? [wsAddr as string] : [tcpAddr, ...(wsAddr === undefined ? [] : [wsAddr])]
    const args = ['run', '--name', name, '--data-dir', dataDir, ...listen.flatMap(l => ['--listen', l]),
      '--api-listen', `${apiIp}:${apiPort}`, '--heartbeat-interval', '1s', ...bootstrap.flatMap(b => ['--bootstrap', b]), ...extra]
    const swarmKey = opts.swarmKey === undefined ? this.swarmKey : opts.swarmKey
    if (swarmKey !== null) args.push('--swarm-key', swarmKey)
    // `ip netns exec` execs the program, so the child's pid is the node's own
    const [cmd, ...pre] = [...(opts.net?.exec ?? []), process.execPath, ...(opts.nodeArgs ?? []), BIN]
    const child = spawn(cmd as string, [...pre, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MESHMON_LOG_LEVEL: 'info', ...opts.env } })
    const node: NodeProc = { name, dataDir, p2pPort, apiPort, api: `http://${apiIp}:${apiPort}`, addr: opts.listen === 'ws' ? wsAddr as string : tcpAddr, wsAddr, child, logs: [], args, token: opts.token }
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (d: string) => { node.logs.push(...d.split('\n').filter(Boolean)) })
    this.nodes.push(node)
    await waitFor(`${name} /healthz`, async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${node.logs.join('\n')}`)
      return (await fetch(`${node.api}/healthz`)).ok
    }, opts.healthTimeoutMs ?? 20_000)
    node.peerId = (await this.peers(node)).find(p => p.self)?.peerId
    return node
  }

  /** Start nodes one after the other and wait until every one sees them all up. */
  async startAll (names: string[], extra: string[] = []): Promise<NodeProc[]> {
    const started: NodeProc[] = []
    for (const name of names) started.push(await this.start(name, extra))
    await this.waitAll(names.length)
    return started
  }

  async peers (node: NodeProc): Promise<any[]> {
    const headers: Record<string, string> = node.token === undefined ? {} : { authorization: `Bearer ${node.token}` }
    return await (await fetch(`${node.api}/api/v1/peers`, { headers })).json() as any[]
  }

  async stateOf (observer: NodeProc, subject: NodeProc): Promise<string | undefined> {
    return (await this.peers(observer)).find(p => p.peerId === subject.peerId)?.state
  }

  /**
   * Wait until every live node lists `count` peers in `state`; `up` ones heard by their watchers
   * too (until then a peer is known by its record only, and one killed then is not found down).
   */
  async waitAll (count: number, state = 'up', among = this.live(), timeoutMs = 20_000): Promise<void> {
    for (const n of among) {
      await waitFor(`${n.name} to see ${count} peers ${state}`, async () => await this.listed(n, state) === count, timeoutMs)
    }
  }

  /** How many peers `node` lists in `state`; `up` ones only once heard by their watchers too (as waitAll). */
  async listed (node: NodeProc, state = 'up'): Promise<number> {
    return (await this.peers(node)).filter(p => p.state === state && (state !== 'up' || p.confirmed !== false)).length
  }

  /**
   * Wait until every live node has listed `count` peers up (and confirmed), none with an open down
   * incident, for `quietMs` straight: a fault injected while nodes still join tests
   * the join, not the fault (and the alerts of a flap at the start, resolved and
   * resent for a few rounds, would mix with the fault's).
   */
  async settle (count: number, quietMs = 5_000, timeoutMs = 90_000): Promise<void> {
    const allUp = async (): Promise<boolean> => {
      const lists = await Promise.all(this.live().map(async n => await this.peers(n)))
      return lists.every(l => l.filter(p => p.state === 'up' && p.confirmed !== false && p.downSince === undefined).length === count)
    }
    await waitFor(`every node to list ${count} peers up for ${quietMs} ms straight`, async () => {
      try { await holdsFor('all up', allUp, quietMs, 200); return true } catch { return false }
    }, timeoutMs, 0)
  }

  live (): NodeProc[] { return this.nodes.filter(running) }

  async exited (node: NodeProc, timeoutMs = 15_000): Promise<number | null> {
    if (!running(node)) return node.child.exitCode
    return await new Promise((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`${node.name} did not exit`)) }, timeoutMs)
      node.child.once('exit', code => { clearTimeout(t); resolve(code) })
    })
  }

  /** The last log lines of every node, for a failed test. */
  dumpLogs (lines = 25): void {
    for (const n of this.nodes) process.stderr.write(`--- ${n.name} (${n.peerId ?? '?'}) ---\n${n.logs.slice(-lines).join('\n')}\n`)
  }

  async stopAll (): Promise<void> {
    for (const n of this.nodes) {
      if (killNode(n)) await this.exited(n).catch(() => {})
    }
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true })
    live.delete(this)
  }
}
