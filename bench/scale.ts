/**
 * `npm run bench -- --only scale --nodes 10,30,100`: meshmon and Serf side by
 * side, in the same run, at each size. For each: N Serf agents (LAN profile)
 * on 127.0.0.1, their CPU and RSS from /proc over the window, and how long
 * every survivor took to see a kill -9; then N meshmon nodes, the same
 * measures plus the full view after the last start, false `peer.down`s from
 * the first start through the soak, and detection after kill -9 and SIGSTOP.
 * This machine is noisy: the ratio of the two, taken minutes apart, is the
 * number to read.
 *
 * Both start in batches of 10 (a host starts its agents as they come, not a
 * hundred processes in the same second on two cores).
 */
import { Cluster, logLines, type NodeProc } from '../test/support/cluster.js'
import { waitFor } from '../test/support/wait.js'
import { cpuMs, measure } from './proc.js'
import { SerfCluster } from './serf.js'

export interface ScaleRun {
  cpuMsPerNodePerS: number
  rssMbAvg: number
  rssMbMax: number
  killDetectMsP50: number
  killDetectMsMax: number
}

/** the mesh while it forms, sampled every FORMATION_SAMPLE_MS from the first start */
export interface FormationSample {
  /** seconds since the first start */
  s: number
  /** nodes that list all N up (and confirmed) */
  fullView: number
  /** fewest and mean peers listed up by a node (itself included) */
  minUp: number
  meanUp: number
  /** cores the N processes used since the last sample */
  cores: number
}

export interface ScaleResult {
  nodes: number
  serf: ScaleRun | null
  meshmon: Omit<ScaleRun, 'killDetectMsP50' | 'killDetectMsMax'> & {
    /** null, as the SIGSTOP's: no detection is measured in a mesh that has not formed */
    killDetectMsP50: number | null
    killDetectMsMax: number | null
    /** null: some node had not listed all N up when the bench gave up (fullViewTimeoutMs) */
    fullViewAfterLastStartMs: number | null
    falseDowns: number
    soakS: number
    stopDetectMsP50: number | null
    stopDetectMsMax: number | null
    formation: FormationSample[]
  }
  /** meshmon's CPU per node over Serf's, same run */
  cpuRatio: number | null
}

export interface ScaleInit {
  windowMs?: number
  settleMs?: number
  /** how long after the full view false downs are counted (the goal says 10 minutes) @default 60 s */
  soakMs?: number
  batch?: number
  /** how long the mesh is given to reach the full view after the last start; on two cores 30 nodes take about five minutes @default 600 s */
  fullViewTimeoutMs?: number
}

const FORMATION_SAMPLE_MS = 30_000
const FORMATION_POLL_MS = 1_000

const q = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function serfRun (n: number, init: Required<ScaleInit>, log: (s: string) => void): Promise<ScaleRun> {
  const serf = await new SerfCluster().init()
  try {
    await serf.start('s-000')
    for (let i = 1; i < n; i += init.batch) {
      for (let j = i; j < Math.min(n, i + init.batch); j++) await serf.start(`s-${String(j).padStart(3, '0')}`)
      await sleep(500)
    }
    const sample = [serf.agents[0], serf.agents[n - 1], serf.agents[Math.floor(n / 2)]].filter(a => a !== undefined)
    await waitFor(`Serf agents to see ${n} alive`, async () => (await Promise.all(sample.map(async a => await serf.alive(a)))).every(c => c === n), 120_000, 1000)
    log(`  serf ${n}: all alive`)
    await sleep(init.settleMs)
    const m = await measure(serf.agents.map(a => a.child.pid as number), init.windowMs)
    const victim = serf.agents[n - 1]!
    const at = Date.now()
    victim.child.kill('SIGKILL')
    const times = (await serf.failedAt(victim.name, serf.agents.slice(0, n - 1))).map(t => t - at)
    log(`  serf ${n}: ${m.cpuMsPerS.toFixed(1)} ms/s, kill -9 seen by all in ${Math.max(...times)} ms`)
    return { cpuMsPerNodePerS: m.cpuMsPerS, rssMbAvg: m.rssMbAvg, rssMbMax: m.rssMbMax, killDetectMsP50: q(times, 0.5), killDetectMsMax: Math.max(...times) }
  } finally {
    await serf.stop()
  }
}

/** a detection slower than this prints what the survivor logged (the goal is 2.5 s) */
const SLOW_DETECTION_MS = 5000

/** when each survivor marked `victim` down after `fault`, ms after it */
async function detection (cluster: Cluster, victim: NodeProc, fault: () => void, survivors: NodeProc[], log: (s: string) => void): Promise<number[]> {
  const at = Date.now()
  fault()
  const times: number[] = []
  for (const s of survivors) {
    const peer = await waitFor(`${s.name} sees ${victim.name} down`, async () => (await cluster.peers(s)).find(p => p.peerId === victim.peerId && p.state === 'down'), 30_000, 100)
    times.push(Date.parse(peer.stateSince) - at)
  }
  // a slow one is a number to explain: what those survivors logged of the victim and of themselves since the fault
  for (const [i, s] of survivors.entries()) {
    if (times[i]! <= SLOW_DETECTION_MS) continue
    log(`  ${s.name} saw ${victim.name} down after ${times[i]} ms; its log since the fault:`)
    for (const l of logLines(s)) {
      const t = Date.parse(l.time)
      if (t >= at && (l.peer === victim.peerId || l.component === 'membership' || l.lagMs !== undefined)) log(`    +${t - at} ms ${JSON.stringify(l)}`)
    }
  }
  return times
}

/** a false down is a number to explain: who found the peer down, on whose reports, and what the peer itself logged then */
function falseDownStory (cluster: Cluster, d: { ts: string, subject: { peer: string, name: string }, message: string }, log: (s: string) => void): void {
  const at = Date.parse(d.ts)
  log(`  false down: ${d.message} (${d.ts})`)
  const near = (l: any): boolean => Math.abs(Date.parse(l.time) - at) <= 10_000
  for (const x of cluster.nodes) {
    for (const l of logLines(x)) {
      if (!near(l)) continue
      const own = x.peerId === d.subject.peer && (l.lagMs !== undefined || l.component === 'membership')
      if (own || (l.peer === d.subject.peer && (l.to === 'down' || /answers this node/.test(l.msg ?? '')))) log(`    ${x.name} ${l.time} ${JSON.stringify({ ...l, time: undefined, pid: undefined, hostname: undefined })}`)
    }
  }
}

/**
 * Wait until every node has listed all `n` up (Cluster.listed), as `Cluster.waitAll` does (a node seen
 * with the full view is not asked again), or until `deadline`; every FORMATION_SAMPLE_MS (and at the end)
 * sample every node's view and log it: where a mesh that does not form stands is the number to read.
 */
async function formationOf (cluster: Cluster, n: number, firstStart: number, deadline: number, log: (s: string) => void): Promise<{ samples: FormationSample[], fullAt: number | null }> {
  const samples: FormationSample[] = []
  const pids = cluster.nodes.map(x => x.child.pid as number)
  const cpuSum = async (): Promise<number> => (await Promise.all(pids.map(cpuMs))).filter(Number.isFinite).reduce((a, b) => a + b, 0)
  const upOf = async (x: NodeProc): Promise<number> => await cluster.listed(x).catch(() => 0)
  const seenFull = new Set<NodeProc>()
  let cpuBefore = await cpuSum()
  let sampledAt = Date.now()
  const sample = async (): Promise<void> => {
    const ups = await Promise.all(cluster.nodes.map(upOf))
    const cpuNow = await cpuSum()
    const now = Date.now()
    const s = {
      s: Math.round((now - firstStart) / 1000),
      fullView: ups.filter(u => u === n).length,
      minUp: Math.min(...ups),
      meanUp: Math.round(ups.reduce((a, b) => a + b, 0) / ups.length * 10) / 10,
      cores: Math.round((cpuNow - cpuBefore) / (now - sampledAt) * 100) / 100
    }
    samples.push(s)
    cpuBefore = cpuNow
    sampledAt = now
    log(`  meshmon ${n} forming, ${s.s} s: ${s.fullView} of ${n} nodes with the full view; up per node min ${s.minUp}, mean ${s.meanUp}; ${s.cores} cores busy`)
  }
  for (;;) {
    for (const x of cluster.nodes) if (!seenFull.has(x) && await upOf(x) === n) seenFull.add(x)
    const now = Date.now()
    if (seenFull.size === n || now >= deadline) { await sample(); return { samples, fullAt: seenFull.size === n ? now : null } }
    if (now - sampledAt >= FORMATION_SAMPLE_MS) await sample()
    await sleep(Math.min(FORMATION_POLL_MS, Math.max(deadline - now, 0)))
  }
}

async function meshmonRun (n: number, init: Required<ScaleInit>, log: (s: string) => void): Promise<ScaleResult['meshmon']> {
  const cluster = await new Cluster().init()
  try {
    const firstStart = Date.now()
    await cluster.start('node-000')
    let lastStart = Date.now()
    for (let i = 1; i < n; i += init.batch) {
      lastStart = Date.now()
      // a node answers its health check once started; on two saturated cores that can take minutes
      await Promise.all(Array.from({ length: Math.min(init.batch, n - i) }, async (_, k) =>
        await cluster.start(`node-${String(i + k).padStart(3, '0')}`, [], { healthTimeoutMs: 300_000 })))
      if (n > 30) log(`  meshmon ${n}: ${Math.min(i + init.batch, n)} started, ${Math.round((Date.now() - firstStart) / 1000)} s after the first`)
    }
    const { samples: formation, fullAt } = await formationOf(cluster, n, firstStart, lastStart + init.fullViewTimeoutMs, log)
    const formed = fullAt !== null
    const fullViewAfterLastStartMs = formed ? fullAt - lastStart : null
    if (formed) log(`  meshmon ${n}: full view ${fullViewAfterLastStartMs} ms after the last start; soak ${init.soakMs / 1000} s`)
    else log(`  meshmon ${n}: no full view ${init.fullViewTimeoutMs / 1000} s after the last start; measuring the mesh as it is`)
    await sleep(Math.max(init.settleMs, init.soakMs))
    const downs = (await (await fetch(`${cluster.nodes[0]!.api}/api/v1/events?type=peer.down&limit=10000`)).json()) as Array<{ ts: string, subject: { peer: string, name: string }, message: string }>
    const falseDowns = downs.length
    for (const d of downs.slice(0, 5)) falseDownStory(cluster, d, log)
    const m = await measure(cluster.nodes.map(x => x.child.pid as number), init.windowMs)
    log(`  meshmon ${n}: ${m.cpuMsPerS.toFixed(1)} ms/s, RSS ${m.rssMbAvg.toFixed(0)} MB, ${falseDowns} false downs`)
    const common = { cpuMsPerNodePerS: m.cpuMsPerS, rssMbAvg: m.rssMbAvg, rssMbMax: m.rssMbMax, fullViewAfterLastStartMs, falseDowns, soakS: Math.max(init.settleMs, init.soakMs) / 1000, formation }
    // detection means nothing in a mesh that has not formed: a survivor that never saw the victim up cannot see it down
    if (!formed) return { ...common, killDetectMsP50: null, killDetectMsMax: null, stopDetectMsP50: null, stopDetectMsMax: null }
    const killed = cluster.nodes[n - 1]!
    const stopped = cluster.nodes[n - 2]!
    const kill = await detection(cluster, killed, () => { killed.child.kill('SIGKILL') }, cluster.nodes.filter(x => x !== killed), log)
    const stop = await detection(cluster, stopped, () => { process.kill(stopped.child.pid as number, 'SIGSTOP') }, cluster.nodes.filter(x => x !== killed && x !== stopped), log)
    process.kill(stopped.child.pid as number, 'SIGCONT')
    log(`  meshmon ${n}: kill -9 seen by all in ${Math.max(...kill)} ms, SIGSTOP in ${Math.max(...stop)} ms`)
    return {
      ...common,
      killDetectMsP50: q(kill, 0.5),
      killDetectMsMax: Math.max(...kill),
      stopDetectMsP50: q(stop, 0.5),
      stopDetectMsMax: Math.max(...stop)
    }
  } finally {
    await cluster.stopAll()
  }
}

export async function benchScale (n: number, init: ScaleInit = {}, log: (s: string) => void = () => {}): Promise<ScaleResult> {
  const full: Required<ScaleInit> = { windowMs: 30_000, settleMs: 20_000, soakMs: 60_000, batch: 10, fullViewTimeoutMs: 600_000, ...init }
  const serf = SerfCluster.available() ? await serfRun(n, full, log) : null
  if (serf === null) log('  Serf is not installed (Debian package serf): meshmon alone, no ratio')
  const meshmon = await meshmonRun(n, full, log)
  return { nodes: n, serf, meshmon, cpuRatio: serf === null ? null : meshmon.cpuMsPerNodePerS / serf.cpuMsPerNodePerS }
}
