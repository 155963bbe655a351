/**
 * Devices at fleet size: 3 meshmon processes, and a load generator in its own
 * process (the Go client of the WebSocket protocol, test/devices/client) that
 * opens N device connections spread over them, each pinging every 10 s and
 * sending machine info every 60 s. Measured: time until every peer lists all
 * N up; after 100 devices drop at once, when each peer shows each of them
 * down (p50/max); CPU and RSS of each peer at steady state; RSS per device.
 * CPU and RSS are read from /proc, not /metrics, whose device series would
 * cost the peers more than what is measured.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { goClient } from '../test/devices/clients.js'
import { Cluster, type NodeProc } from '../test/support/cluster.js'
import { waitFor } from '../test/support/wait.js'

export interface DeviceBenchResult {
  devices: number
  /** the generator's own time to open every connection */
  connectAllMs: number
  /** generator start until every peer lists every device up */
  allListedEverywhereMs: number
  dropDownP50Ms: number
  dropDownMaxMs: number
  cpuMsPerPeerPerSecond: number[]
  rssMbPerPeer: number[]
  rssMbPerPeerBefore: number[]
  /** (RSS at steady state - RSS before devices) / devices, per peer, averaged */
  rssBytesPerDevice: number
  /** the generator's answer when not all connected */
  failedConnections: number
}

const TICK = 100 // USER_HZ: /proc stat times are in 1/100 s on Linux
const cpuMs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / TICK
}
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024
const pct = (xs: number[], q: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function listed (n: NodeProc, state: string): Promise<any[]> {
  return await (await fetch(`${n.api}/api/v1/devices?state=${state}`)).json() as any[]
}

export async function benchDevices (count = 10_000, log: (s: string) => void = () => {}, steadyMs = 30_000): Promise<DeviceBenchResult> {
  const bin = await goClient()
  const dir = await mkdtemp(join(tmpdir(), 'meshmon-bench-devices-'))
  await writeFile(join(dir, 'node.yml'), `ingest: { maxDevices: ${count}, maxConnectionsPerIp: ${count} }\n`)
  const cluster = await new Cluster().init()
  const gen = { child: undefined as ReturnType<typeof spawn> | undefined }
  try {
    const peers = await cluster.startAll(['dev-a', 'dev-b', 'dev-c'], ['--config', join(dir, 'node.yml')])
    const pids = peers.map(p => p.child.pid as number)
    await sleep(10_000)
    const rssBefore = pids.map(rssMb)

    const start = Date.now()
    const urls = peers.map(p => `ws://127.0.0.1:${p.apiPort}/websocket`).join(',')
    const child = gen.child = spawn(bin, ['-load', String(count), '-urls', urls, '-ping', '10s', '-info', '60s'], { stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
    const next = async (): Promise<any> => JSON.parse((await lines.next()).value as string)
    const connected = await next()
    log(`  generator: ${connected.connected} connected, ${connected.failed} failed in ${connected.ms} ms`)
    for (const p of peers) {
      await waitFor(`${p.name} lists ${count} devices up`, async () => (await listed(p, 'up')).length >= count - connected.failed, 300_000, 1000)
    }
    const allListed = Date.now() - start
    log(`  every peer lists every device after ${allListed} ms`)

    // steady state: devices ping and report; nobody polls the peers
    await sleep(20_000)
    const cpu0 = pids.map(cpuMs)
    const t0 = Date.now()
    await sleep(steadyMs)
    const seconds = (Date.now() - t0) / 1000
    const cpu = pids.map((pid, i) => (cpuMs(pid) - (cpu0[i] as number)) / seconds)
    const rss = pids.map(rssMb)
    log(`  steady: cpu ms/s ${cpu.map(c => c.toFixed(0)).join(', ')}; rss MB ${rss.map(r => r.toFixed(0)).join(', ')}`)

    child.stdin.write('drop 100\n')
    const drop = await next()
    const gone = new Set<string>(drop.dropped)
    const seen = peers.map(() => new Map<string, number>())
    await waitFor('every peer shows the dropped devices down', async () => {
      let done = true
      await Promise.all(peers.map(async (p, i) => {
        const now = Date.now()
        for (const d of await listed(p, 'down')) if (gone.has(d.id) && !(seen[i] as Map<string, number>).has(d.id)) (seen[i] as Map<string, number>).set(d.id, now - drop.at)
        if ((seen[i] as Map<string, number>).size < gone.size) done = false
      }))
      return done
    }, 60_000, 100)
    const delays = seen.flatMap(m => [...m.values()])
    child.stdin.write('quit\n')
    return {
      devices: count,
      connectAllMs: connected.ms,
      allListedEverywhereMs: allListed,
      dropDownP50Ms: pct(delays, 0.5),
      dropDownMaxMs: Math.max(...delays),
      cpuMsPerPeerPerSecond: cpu.map(c => Math.round(c)),
      rssMbPerPeer: rss.map(r => Math.round(r)),
      rssMbPerPeerBefore: rssBefore.map(r => Math.round(r)),
      rssBytesPerDevice: Math.round(rss.reduce((acc, r, i) => acc + (r - (rssBefore[i] as number)), 0) / rss.length * 2 ** 20 / count),
      failedConnections: connected.failed
    }
  } finally {
    gen.child?.kill('SIGKILL')
    await cluster.stopAll()
    await rm(dir, { recursive: true, force: true })
  }
}
