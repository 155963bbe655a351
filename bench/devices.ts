/**
 * Devices at fleet size: 3 meshmon processes, and a load generator in its own
 * process (the Go client of the WebSocket protocol, test/devices/client) that
 * opens device connections spread over them, each pinging every 10 s and
 * sending machine info every 60 s. A first 5% warm the peers up (V8's young
 * generation grows to its working size, code compiles: fixed costs, not per
 * device); then the other 95% connect at once. Measured: time until every
 * peer lists every device up; after 100 devices drop at once, when each peer
 * shows each of them down (p50/max, polled every 100 ms); CPU and RSS of each
 * peer at steady state; RSS per device (growth from the warm-up to the full
 * fleet, per device added). CPU and RSS are read from /proc, not /metrics,
 * whose device series would cost the peers more than what is measured.
 *
 * The floor, in the same run and first (nothing else running): one bare `ws`
 * server (ws-floor.ts) takes a peer's share of the same load, a third of the
 * devices, warmed up the same way and measured over the same windows. The
 * ratio of a peer's CPU and RSS growth to the floor's is what meshmon itself
 * adds; the floor is what the socket I/O costs any Node.js server here.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { goClient } from '../test/devices/clients.js'
import { cpuMs, rssMb } from './proc.js'
import { Cluster, type NodeProc } from '../test/support/cluster.js'
import { waitFor } from '../test/support/wait.js'
import { freePort } from '../test/support/ports.js'

export interface DeviceBenchResult {
  devices: number
  /** devices connected first, to warm the peers up */
  warmUpDevices: number
  /** the generator's own time to open the other connections at once */
  connectAllMs: number
  /** their generator's start until every peer lists every device up */
  allListedEverywhereMs: number
  dropDownP50Ms: number
  dropDownMaxMs: number
  cpuMsPerPeerPerSecond: number[]
  rssMbPerPeer: number[]
  rssMbPerPeerWarm: number[]
  /** (RSS at steady state - RSS after the warm-up) / devices added, per peer, averaged */
  rssBytesPerDevice: number
  /** the generator's answer when not all connected */
  failedConnections: number
  /** a bare ws server with a peer's share of the devices, same windows, same run */
  floorCpuMsPerSecond: number
  /** its RSS growth per device of the fleet (its share added / every device added, as rssBytesPerDevice) */
  floorRssBytesPerDevice: number
  /** a peer's CPU / the floor's */
  cpuRatioToFloor: number
  rssRatioToFloor: number
}

const pct = (xs: number[], q: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function listed (n: NodeProc, state: string): Promise<any[]> {
  return await (await fetch(`${n.api}/api/v1/devices?state=${state}`)).json() as any[]
}

type Load = (n: number, prefix: string, urls: string) => Promise<{ child: ReturnType<typeof spawn>, connected: any, next: () => Promise<any> }>

/** A bare ws server with a third of the devices (a peer's share), warmed up and measured as the peers are. */
async function floor (load: Load, count: number, steadyMs: number, log: (s: string) => void): Promise<{ cpu: number, rssBytesPerDevice: number }> {
  const port = await freePort()
  const server = spawn(process.execPath, [fileURLToPath(new URL('./ws-floor.js', import.meta.url)), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const ready = createInterface({ input: server.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
    if ((await ready.next()).value !== 'listening') throw new Error('the floor server did not start')
    const pid = server.pid as number
    const urls = `ws://127.0.0.1:${port}/websocket`
    const share = Math.round(count / 3)
    const warm = Math.round(share / 20)
    const w = await load(warm, 'floor-warm-', urls)
    await sleep(20_000)
    const rssWarm = await rssMb(pid)
    const g = await load(share - warm, 'floor-', urls)
    if (w.connected.failed + g.connected.failed > 0) throw new Error(`the floor server refused ${w.connected.failed + g.connected.failed} connections`)
    await sleep(20_000)
    const cpu0 = await cpuMs(pid)
    const t0 = Date.now()
    await sleep(steadyMs)
    const cpu = (await cpuMs(pid) - cpu0) / ((Date.now() - t0) / 1000)
    const rss = await rssMb(pid)
    for (const c of [w.child, g.child]) c.kill('SIGKILL')
    // its share of the devices added, over every device added: the unit of rssBytesPerDevice
    const rssBytesPerDevice = Math.round((rss - rssWarm) * 2 ** 20 / (count - 3 * warm))
    log(`  floor (a bare ws server, ${share} devices): cpu ${cpu.toFixed(0)} ms/s; rss ${rssWarm.toFixed(0)} -> ${rss.toFixed(0)} MB`)
    return { cpu, rssBytesPerDevice }
  } finally {
    server.kill('SIGKILL')
  }
}

export async function benchDevices (count = 10_000, log: (s: string) => void = () => {}, steadyMs = 30_000): Promise<DeviceBenchResult> {
  const bin = await goClient()
  const gens: Array<ReturnType<typeof spawn>> = []
  const load: Load = async (n, prefix, urls) => {
    const child = spawn(bin, ['-load', String(n), '-prefix', prefix, '-urls', urls, '-ping', '10s', '-info', '60s'], { stdio: ['pipe', 'pipe', 'inherit'] })
    gens.push(child)
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
    const next = async (): Promise<any> => JSON.parse((await lines.next()).value as string)
    return { child, connected: await next(), next }
  }
  let base: { cpu: number, rssBytesPerDevice: number }
  try {
    base = await floor(load, count, steadyMs, log)
  } finally {
    for (const g of gens.splice(0)) g.kill('SIGKILL')
  }
  const dir = await mkdtemp(join(tmpdir(), 'meshmon-bench-devices-'))
  await writeFile(join(dir, 'node.yml'), `ingest: { maxDevices: ${count}, maxConnectionsPerIp: ${count} }\n`)
  const cluster = await new Cluster().init()
  try {
    const peers = await cluster.startAll(['dev-a', 'dev-b', 'dev-c'], ['--config', join(dir, 'node.yml')])
    const pids = peers.map(p => p.child.pid as number)
    const urls = peers.map(p => `ws://127.0.0.1:${p.apiPort}/websocket`).join(',')
    const allUp = async (n: number): Promise<void> => {
      for (const p of peers) await waitFor(`${p.name} lists ${n} devices up`, async () => (await listed(p, 'up')).length >= n, 300_000, 1000)
    }

    const warm = Math.round(count / 20)
    const warmGen = await load(warm, 'warm-', urls)
    await allUp(warm - warmGen.connected.failed)
    await sleep(20_000)
    const rssWarm = await Promise.all(pids.map(rssMb))

    const start = Date.now()
    const gen = await load(count - warm, 'dev-', urls)
    const connected = gen.connected
    const child = gen.child
    const next = gen.next
    log(`  generator: ${connected.connected} connected, ${connected.failed} failed in ${connected.ms} ms`)
    await allUp(count - warmGen.connected.failed - connected.failed)
    const allListed = Date.now() - start
    log(`  every peer lists every device after ${allListed} ms`)

    // steady state: devices ping and report; nobody polls the peers
    await sleep(20_000)
    const cpu0 = await Promise.all(pids.map(cpuMs))
    const t0 = Date.now()
    await sleep(steadyMs)
    const seconds = (Date.now() - t0) / 1000
    const cpu = (await Promise.all(pids.map(cpuMs))).map((ms, i) => (ms - (cpu0[i] as number)) / seconds)
    const rss = await Promise.all(pids.map(rssMb))
    log(`  steady: cpu ms/s ${cpu.map(c => c.toFixed(0)).join(', ')}; rss MB ${rss.map(r => r.toFixed(0)).join(', ')}`)

    child.stdin?.write('drop 100\n')
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
    child.stdin?.write('quit\n')
    const rssBytesPerDevice = Math.round(rss.reduce((acc, r, i) => acc + (r - (rssWarm[i] as number)), 0) / rss.length * 2 ** 20 / (count - warm))
    const cpuAvg = cpu.reduce((a, b) => a + b, 0) / cpu.length
    return {
      devices: count,
      warmUpDevices: warm,
      connectAllMs: connected.ms,
      allListedEverywhereMs: allListed,
      dropDownP50Ms: pct(delays, 0.5),
      dropDownMaxMs: Math.max(...delays),
      cpuMsPerPeerPerSecond: cpu.map(c => Math.round(c)),
      rssMbPerPeer: rss.map(r => Math.round(r)),
      rssMbPerPeerWarm: rssWarm.map(r => Math.round(r)),
      rssBytesPerDevice,
      failedConnections: warmGen.connected.failed + connected.failed,
      floorCpuMsPerSecond: Math.round(base.cpu),
      floorRssBytesPerDevice: base.rssBytesPerDevice,
      cpuRatioToFloor: Math.round(cpuAvg / base.cpu * 100) / 100,
      rssRatioToFloor: Math.round(rssBytesPerDevice / base.rssBytesPerDevice * 100) / 100
    }
  } finally {
    for (const g of gens) g.kill('SIGKILL')
    await cluster.stopAll()
    await rm(dir, { recursive: true, force: true })
  }
}
