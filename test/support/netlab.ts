/**
 * A network lab for the fault tests: Linux network namespaces joined by veth
 * pairs, so a test can cut a node's cable or split the mesh in two, which
 * loopback cannot do. Needs root and a kernel that allows namespaces.
 *
 *   hub namespace:  core bridge <- trunk t<s>/c<s> -> side<s> bridge <- h<i> ... host i (eth0, 10.77.0.i)
 *                   mgmt bridge (10.78.N.253) <- m<i> ... host i (eth1, 10.78.N.i)
 *                   mgmt bridge <- mroot ... root namespace (mmfm<N>, 10.78.N.254)
 *
 * The mesh runs on 10.77.0.0/24 (eth0, through the side and core bridges): taking
 * h<i> down cuts host i off, taking t<s> down cuts side s from the others.
 * Management is a second network that no fault touches: each node's API and the
 * Alertmanager (run in the hub namespace) sit on it, and the test process reaches
 * them from the root namespace through mmfm<N>. Its host ports are isolated from
 * each other (bridge port isolation), so nodes cannot reach each other through it.
 * N is picked per lab: the root namespace's link name mmfm<N> is the lock.
 *
 * Everything the lab starts lives in its namespaces, named mmf<pid>-<counter>-*:
 * destroy() (and an exit handler, and a sweep of labs whose test process died)
 * kills those processes by pid and deletes the namespaces, which takes the links.
 */
import { spawnSync } from 'node:child_process'

/** A command the lab ran failed: what, and what `ip` said. */
export class NetLabError extends Error {
  override name = 'NetLabError'
}

export interface LabHost {
  /** 1-based */
  index: number
  ns: string
  /** which side (switch) its mesh cable goes to, 0-based */
  side: number
  /** its mesh address (eth0) */
  meshIp: string
  /** its management address (eth1): its API */
  mgmtIp: string
}

const PREFIX = 'mmf'
const live = new Set<NetLab>()
let counter = 0

function ip (args: string[], allowFail = false): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' })
  if (r.status !== 0 && !allowFail) throw new NetLabError(`ip ${args.join(' ')}: ${(r.stderr ?? r.error?.message ?? '').trim()}`)
  return r.stdout ?? ''
}

/** Why no lab can be built here (not root, or the kernel refuses a namespace), or undefined when one can. */
export function netlabUnavailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need root'
  const probe = `${PREFIX}probe${process.pid}`
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  if (r.error !== undefined) return `no \`ip\` command (iproute2): ${r.error.message}`
  if (r.status !== 0) return `the kernel refused a network namespace: ${(r.stderr ?? '').trim()}`
  ip(['netns', 'del', probe], true)
  return undefined
}

/** SIGKILL every process in a namespace of ours (SIGCONT first: a stopped one dies only when continued). */
function killInside (ns: string): void {
  const pids = ip(['netns', 'pids', ns], true).split('\n').filter(Boolean).map(Number)
  for (const pid of pids) {
    try { process.kill(pid, 'SIGCONT') } catch {}
    try { process.kill(pid, 'SIGKILL') } catch {}
  }
}

/**
 * For describe.skipIf: true when no lab can be built here, said loudly on stderr.
 * With CI=true never true: the test runs and fails, a missing lab is no skip there.
 */
export function lacksNetlab (): boolean {
  const why = netlabUnavailable()
  if (why === undefined) return false
  process.stderr.write(`\n!!! network-namespace fault tests ${process.env.CI === 'true' ? 'FAIL (CI=true)' : 'SKIPPED'}: ${why}\n`)
  return process.env.CI !== 'true'
}

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch (err: any) { return err.code === 'EPERM' } }

/** Labs left by a test process that died without cleaning up (kill -9): their processes and namespaces. */
export function sweepStaleLabs (): void {
  for (const line of ip(['netns', 'list'], true).split('\n')) {
    const ns = line.split(' ')[0] ?? ''
    const m = new RegExp(`^${PREFIX}(\\d+)-\\d+-`).exec(ns)
    if (m === null || alive(Number(m[1]))) continue
    killInside(ns)
    ip(['netns', 'del', ns], true)
  }
}

function cleanupAtExit (): void { for (const lab of live) lab.destroySync() }
let hooked = false
function hookExit (): void {
  if (hooked) return
  hooked = true
  process.on('exit', cleanupAtExit)
  // a signal skips 'exit' handlers: clean up, then die of the same signal
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => { cleanupAtExit(); process.kill(process.pid, signal) })
  }
}

export class NetLab {
  readonly id: string
  readonly hub: string
  readonly hosts: LabHost[] = []
  /** the management subnet's third octet */
  mgmtNet = -1
  #rootLink = ''

  /** `sides`: how many hosts each side (switch) has, e.g. [4, 2]; [6] is one switch. */
  constructor (readonly sides: number[]) {
    this.id = `${PREFIX}${process.pid}-${++counter}`
    this.hub = `${this.id}-hub`
  }

  /** Where the test process reaches the Alertmanager in the hub namespace (and the hosts too). */
  get mgmtHubIp (): string { return `10.78.${this.mgmtNet}.253` }

  /** The command prefix that runs a program inside a namespace. */
  exec (ns: string): string[] { return ['ip', 'netns', 'exec', ns] }

  create (): this {
    sweepStaleLabs()
    hookExit()
    live.add(this)
    ip(['netns', 'add', this.hub])
    const inHub = (...args: string[]): string => ip(['-n', this.hub, ...args])
    inHub('link', 'set', 'lo', 'up')
    for (const br of ['core', 'mgmt', ...this.sides.map((_, s) => `side${s}`)]) {
      inHub('link', 'add', br, 'type', 'bridge')
      inHub('link', 'set', br, 'up')
    }
    this.sides.forEach((_, s) => {
      inHub('link', 'add', `t${s}`, 'type', 'veth', 'peer', 'name', `c${s}`)
      inHub('link', 'set', `t${s}`, 'master', `side${s}`, 'up')
      inHub('link', 'set', `c${s}`, 'master', 'core', 'up')
    })
    this.#linkRoot()
    let index = 0
    this.sides.forEach((count, side) => {
      for (let k = 0; k < count; k++) this.#addHost(++index, side)
    })
    return this
  }

  /** The root namespace's end of the management network: the first free 10.78.N.0/24 whose link name is free. */
  #linkRoot (): void {
    const used = ip(['-4', 'addr'], true) + ip(['-4', 'route'], true)
    for (let j = 0; j < 256 && this.mgmtNet < 0; j++) {
      const n = (process.pid + counter + j) % 250
      if (used.includes(`10.78.${n}.`)) continue
      // the name is the lock: creating it fails if another lab holds this N
      const r = spawnSync('ip', ['link', 'add', `${PREFIX}m${n}`, 'type', 'veth', 'peer', 'name', 'mroot', 'netns', this.hub], { encoding: 'utf8' })
      if (r.status === 0) { this.mgmtNet = n; this.#rootLink = `${PREFIX}m${n}` }
    }
    if (this.mgmtNet < 0) throw new NetLabError('no free management subnet 10.78.N.0/24')
    ip(['addr', 'add', `10.78.${this.mgmtNet}.254/24`, 'dev', this.#rootLink])
    ip(['link', 'set', this.#rootLink, 'up'])
    ip(['-n', this.hub, 'link', 'set', 'dev', 'mroot', 'master', 'mgmt', 'up'])
    ip(['-n', this.hub, 'addr', 'add', `${this.mgmtHubIp}/24`, 'dev', 'mgmt'])
  }

  #addHost (index: number, side: number): void {
    const ns = `${this.id}-h${index}`
    const host: LabHost = { index, ns, side, meshIp: `10.77.0.${index}`, mgmtIp: `10.78.${this.mgmtNet}.${index}` }
    ip(['netns', 'add', ns])
    // listed at once, so destroy() removes it even if the rest of its set-up fails
    this.hosts.push(host)
    const inHub = (...args: string[]): string => ip(['-n', this.hub, ...args])
    const inHost = (...args: string[]): string => ip(['-n', ns, ...args])
    inHub('link', 'add', `h${index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    inHub('link', 'set', `h${index}`, 'master', `side${side}`, 'up')
    inHub('link', 'add', `m${index}`, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', ns)
    inHub('link', 'set', `m${index}`, 'master', 'mgmt', 'up')
    inHub('link', 'set', `m${index}`, 'type', 'bridge_slave', 'isolated', 'on')
    inHost('link', 'set', 'lo', 'up')
    inHost('addr', 'add', `${host.meshIp}/24`, 'dev', 'eth0')
    inHost('addr', 'add', `${host.mgmtIp}/24`, 'dev', 'eth1')
    inHost('link', 'set', 'eth0', 'up')
    inHost('link', 'set', 'eth1', 'up')
  }

  host (index: number): LabHost {
    const h = this.hosts[index - 1]
    if (h === undefined) throw new NetLabError(`no host ${index} in this lab`)
    return h
  }

  /** Unplug host i's mesh cable at the switch (its management link stays). */
  cutHost (index: number): void { ip(['-n', this.hub, 'link', 'set', `h${this.host(index).index}`, 'down']) }
  healHost (index: number): void { ip(['-n', this.hub, 'link', 'set', `h${this.host(index).index}`, 'up']) }

  /** Cut side s's trunk: its hosts still reach each other, no one else. */
  cutSide (side: number): void { ip(['-n', this.hub, 'link', 'set', `t${side}`, 'down']) }
  healSide (side: number): void { ip(['-n', this.hub, 'link', 'set', `t${side}`, 'up']) }

  /** Kill what runs in the lab's namespaces and delete them (the links go with them). */
  destroySync (): void {
    if (!live.delete(this)) return
    const namespaces = [...this.hosts.map(h => h.ns), this.hub]
    for (const ns of namespaces) killInside(ns)
    for (const ns of namespaces) ip(['netns', 'del', ns], true)
    if (this.#rootLink !== '') ip(['link', 'del', this.#rootLink], true)
  }

  /** destroySync, after waiting (bounded) for the killed processes to be gone, so the namespaces really go. */
  async destroy (): Promise<void> {
    const namespaces = [...this.hosts.map(h => h.ns), this.hub]
    for (const ns of namespaces) killInside(ns)
    const deadline = Date.now() + 5000
    while (Date.now() < deadline && namespaces.some(ns => ip(['netns', 'pids', ns], true).trim() !== '')) {
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    this.destroySync()
  }
}
