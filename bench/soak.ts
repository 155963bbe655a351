/**
 * `npm run soak -- --nodes 20 --minutes 30 [--faults-per-minute 2] [--report-every 5]`:
 * a mesh left running with checks (some flipping) and injected failures (kill -9
 * then a restart, SIGSTOP then SIGCONT), one at a time. Prints a table of RSS,
 * CPU and event-log size per node every few minutes and writes everything as
 * JSON under bench-results/. At the end it judges the targets: RSS growth
 * under 10% after the warm-up, no false `down` (a peer.down of a node that was
 * not faulted), no lost event (every failure has its peer.down and peer.up on
 * every node), CPU flat. Exit 1 when one is missed. Not part of `npm test`.
 */
import '../src/shim.js'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Cluster, killStartedNodes, logLines, running, type NodeProc } from '../test/support/cluster.js'
import { waitFor } from '../test/support/wait.js'
import { judgeSoak, type Fault, type Sample } from './soak-judge.js'

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '20' },
    minutes: { type: 'string', default: '30' },
    'faults-per-minute': { type: 'string', default: '2' },
    'report-every': { type: 'string', default: '5' }
  }
})
const N = Number(values.nodes)
const MINUTES = Number(values.minutes)
const FAULT_EVERY_MS = 60_000 / Number(values['faults-per-minute'])
const REPORT_EVERY_MS = Number(values['report-every']) * 60_000
const SAMPLE_EVERY_MS = 10_000
/** the warm-up after which RSS must stay flat: 5 minutes, or a third of a short run */
const WARMUP_MS = Math.min(5 * 60_000, MINUTES * 60_000 / 3)
/** how long a killed node stays dead, a stopped one stopped: past detection, short of being forgotten */
const FAULT_MS = 8_000

// a soak that fails (a node that never comes up, say) leaves none of its nodes running
process.on('exit', killStartedNodes)
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => { killStartedNodes(); console.error(`\nsoak interrupted (${signal}): its node processes were killed`); process.exit(code) })
}

const dir = await mkdtemp(join(tmpdir(), 'meshmon-soak-'))
// a quarter of the nodes (never n1) are killed and restarted; the others only stopped, so their RSS tells a long life
const killable = (i: number): boolean => i > N - Math.max(1, Math.floor(N / 4))
const config = (i: number): string => {
  const flip = i % 4 === 0
  // flipping: CRITICAL one minute, OK the next (each node at its own phase)
  const cmd = flip ? `[ $(( ($(date +%s) / 60 + ${i}) % 2 )) -eq 0 ] && { echo "FLIP CRITICAL"; exit 2; }; echo "FLIP OK"` : 'echo "STEADY OK"'
  return `checks:\n  - { name: ${flip ? 'flip' : 'steady'}, type: exec, interval: 5s, command: [sh, -c, '${cmd}'] }\n`
}
const cluster = await new Cluster().init()
const files: string[] = []
for (let i = 1; i <= N; i++) {
  files[i] = join(dir, `n${i}.yml`)
  await writeFile(files[i] as string, config(i))
}
const start = async (i: number, again?: NodeProc): Promise<NodeProc> =>
  await cluster.start(`n${i}`, ['--config', files[i] as string], {
    healthTimeoutMs: 60_000,
    bootstrap: i === 1 ? [] : [(cluster.live().find(n => n.name !== `n${i}`) as NodeProc).addr],
    ...(again === undefined ? {} : { dataDir: again.dataDir, ports: { p2p: again.p2pPort, api: again.apiPort } })
  })
const latest = (i: number): NodeProc => cluster.nodes.filter(n => n.name === `n${i}`).at(-1) as NodeProc

console.log(`soak: ${N} nodes, ${MINUTES} min, a failure every ${FAULT_EVERY_MS / 1000} s (kill -9 + restart, or SIGSTOP/SIGCONT, ${FAULT_MS / 1000} s each)`)
const started = Date.now()
for (let i = 1; i <= N; i++) await start(i)
// starting is the costly part on few cores: 20 processes on two took over 2 minutes to settle
await cluster.waitAll(N, 'up', cluster.live(), Math.max(120_000, N * 15_000)).catch(async (err: Error) => {
  // a start that does not settle says where it stands: what each node shows of the others, and every log
  for (const n of cluster.live()) {
    const peers = await cluster.peers(n).catch(() => [])
    const notUp = peers.filter(p => !p.self && p.state !== 'up').map(p => `${String(p.name)} ${String(p.state)}`)
    console.log(`  ${n.name}: ${peers.filter(p => p.state === 'up').length} up${notUp.length > 0 ? `; ${notUp.join(', ')}` : ''}${peers.length < N ? `; ${N - peers.length} not known` : ''}`)
  }
  const file = join(dir, 'logs.jsonl')
  await writeFile(file, cluster.nodes.flatMap(n => logLines(n).map(l => JSON.stringify({ node: n.name, ...l }))).join('\n'))
  console.log(`every node's log: ${file}`)
  throw err
})
console.log(`all ${N} started in ${((Date.now() - started) / 1000).toFixed(0)} s; the soak's clock starts now (false downs count from the first start)`)
const t0 = Date.now()
const faults: Fault[] = []
const samples: Sample[] = []
const lastCpu = new Map<number, { ticks: number, at: number }>()
const TICKS = 100 // USER_HZ on Linux

function sample (): void {
  const at = Date.now() - t0
  for (let i = 1; i <= N; i++) {
    const n = latest(i)
    const pid = n.child.pid as number
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
      const ticks = Number(stat[11]) + Number(stat[12])
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
      const prev = lastCpu.get(pid)
      const cpu = prev === undefined ? null : ((ticks - prev.ticks) / TICKS) / ((Date.now() - prev.at) / 1000)
      lastCpu.set(pid, { ticks, at: Date.now() })
      samples.push({ at, node: n.name, pid, rssMb: rssKb / 1024, cpu })
    } catch {} // dead or being restarted: no sample
  }
}

async function entries (n: NodeProc): Promise<number | null> {
  try {
    const text = await (await fetch(`${n.api}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
    return Number(/^meshmon_eventlog_entries(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN)
  } catch { return null }
}

/** the data dir on disk (event log, blocks, peer store), MB */
const dataMb = (n: NodeProc): number => Number(spawnSync('du', ['-sk', n.dataDir], { encoding: 'utf8' }).stdout.split('\t')[0]) / 1024
const sizes: Array<{ at: number, node: string, entries: number | null, dataMb: number }> = []

async function table (): Promise<void> {
  const minute = ((Date.now() - t0) / 60_000).toFixed(1)
  console.log(`\n-- minute ${minute}: node, pid, RSS MB, CPU % (last ${SAMPLE_EVERY_MS / 1000} s), event log entries, data dir MB`)
  for (let i = 1; i <= N; i++) {
    const n = latest(i)
    const s = samples.filter(x => x.pid === n.child.pid).at(-1)
    const size = { at: Date.now() - t0, node: n.name, entries: await entries(n), dataMb: dataMb(n) }
    sizes.push(size)
    console.log(`  ${n.name.padEnd(5)} ${String(n.child.pid).padEnd(8)} ${s?.rssMb.toFixed(1).padStart(7) ?? '      -'} ${s?.cpu == null ? '     -' : (s.cpu * 100).toFixed(1).padStart(6)} ${String(size.entries).padStart(7)} ${size.dataMb.toFixed(1).padStart(7)}`)
  }
}

/** processes whose exit is accounted for, by pid: those this soak killed, and deaths already noted */
const accounted = new Set<number>()
/** node processes that exited without this soak killing them (a crash: a miss, and its last lines are shown) */
const died: Array<{ node: string, pid: number, at: number, exit: string }> = []
function noteDeaths (): void {
  for (const n of cluster.nodes) {
    const pid = n.child.pid as number
    if (running(n) || accounted.has(pid)) continue
    accounted.add(pid)
    const exit = n.child.signalCode ?? `code ${String(n.child.exitCode)}`
    died.push({ node: n.name, pid, at: Date.now() - t0, exit })
    console.log(`\n${n.name} (pid ${pid}) exited on its own (${exit}) at minute ${((Date.now() - t0) / 60_000).toFixed(1)}; its last lines:\n${n.logs.slice(-20).join('\n')}`)
  }
}

async function inject (k: number): Promise<void> {
  const kill = k % 2 === 0
  const pool = Array.from({ length: N - 1 }, (_, j) => j + 2).filter(i => killable(i) === kill)
  const i = pool[Math.floor(k / 2) % pool.length] as number
  const victim = latest(i)
  // one that died on its own is not faulted again (noteDeaths said so)
  if (!running(victim)) return
  const fault: Fault = { node: victim.name, peerId: victim.peerId as string, kind: kill ? 'kill' : 'stop', at: Date.now(), end: 0 }
  faults.push(fault)
  if (kill) {
    accounted.add(victim.child.pid as number)
    victim.child.kill('SIGKILL')
    await new Promise(resolve => setTimeout(resolve, FAULT_MS))
    await start(i, victim)
  } else {
    process.kill(victim.child.pid as number, 'SIGSTOP')
    await new Promise(resolve => setTimeout(resolve, FAULT_MS))
    process.kill(victim.child.pid as number, 'SIGCONT')
  }
  fault.end = Date.now()
}

const end = t0 + MINUTES * 60_000
let nextFault = t0 + FAULT_EVERY_MS
let nextReport = t0 + Math.min(REPORT_EVERY_MS, MINUTES * 60_000 / 3)
let k = 0
sample()
while (Date.now() < end) {
  noteDeaths()
  if (Date.now() >= nextFault && Date.now() + FAULT_MS + 30_000 < end) { await inject(k++); nextFault += FAULT_EVERY_MS }
  if (Date.now() >= nextReport) { sample(); await table(); nextReport += REPORT_EVERY_MS }
  await new Promise(resolve => setTimeout(resolve, 1000))
  if (samples.length === 0 || Date.now() - t0 - (samples.at(-1) as Sample).at >= SAMPLE_EVERY_MS) sample()
}
await table()

// every node's log: give the last incidents time to reach everyone
const live = cluster.live()
const logs = new Map<string, any[]>()
await waitFor('the last events everywhere', async () => {
  for (const n of live) logs.set(n.name, await (await fetch(`${n.api}/api/v1/events?limit=10000`)).json() as any[])
  const sizes = new Set([...logs.values()].map(l => l.length))
  return sizes.size === 1
}, 120_000, 2000).catch(() => { console.log('(the event logs still differ in size after 2 min)') })

noteDeaths()
const verdict = judgeSoak({ samples, faults, logs, warmupMs: WARMUP_MS, nodes: live.map(n => n.name), died })
console.log('\n-- targets')
for (const [k2, v] of Object.entries(verdict.targets)) console.log(`  ${k2.padEnd(40)} ${v.ok ? 'ok  ' : 'MISS'} ${v.detail}`)
const nameOf = new Map(live.map(n => [n.peerId, n.name]))
for (const e of verdict.falseDowns as any[]) console.log(`  false down: ${e.subject.name} at ${e.ts}, written by ${nameOf.get(e.source) ?? e.source}`)
for (const l of verdict.lost) console.log(`  missing: ${l.missing} of ${l.fault} on ${l.node} (${l.why})`)
await mkdir('bench-results', { recursive: true })
const out = join('bench-results', `soak-${new Date(t0).toISOString().replace(/[:.]/g, '-')}.json`)
// the peer events of every node too, so a run can be judged again (soak-judge.ts)
const peerLogs = Object.fromEntries([...logs].map(([name, log]) => [name, log.filter(e => String(e.type).startsWith('peer.'))]))
// and what each node process logged of its peers' states and its own reach (a fault never detected, or
// found late, is read there: who found the peer silent, who probed and found no majority)
const nodeLogs = cluster.nodes.map(n => ({ name: n.name, pid: n.child.pid, lines: logLines(n).filter(j => (j.peer !== undefined && j.to !== undefined) || j.component === 'membership' || j.level >= 40) }))
await writeFile(out, JSON.stringify({ nodes: N, minutes: MINUTES, faultEveryMs: FAULT_EVERY_MS, t0, warmupMs: WARMUP_MS, faults, died, verdict, sizes, samples, logs: peerLogs, nodeLogs }, null, 1))
console.log(`\nwritten: ${out}`)
await cluster.stopAll()
process.exit(Object.values(verdict.targets).every(v => v.ok) ? 0 : 1)
