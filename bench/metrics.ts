/**
 * /metrics latency and size over a synthetic peer table of 100 and 500 peers,
 * both as the handler renders it and as a scraper sees it: a keep-alive HTTP
 * GET to the real API on 127.0.0.1, timed until the whole body is read. The
 * in-process client counts its own reading too; `curl`, a separate process like
 * Prometheus, times the scrape as a scraper sees it while full heartbeats keep
 * arriving at the rate a real mesh sends them (every peer every 10 s).
 */
import { execFile } from 'node:child_process'
import { request, Agent } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApi } from '../src/api/app.js'
import { closeServer, listenApi } from '../src/api/server.js'
import { PeerTable } from '../src/heartbeat/peer-table.js'
import { metricsEndpoint } from '../src/metrics/index.js'
import { syntheticPeers } from '../test/support/synthetic.js'

export interface MetricsBenchResult {
  peers: number
  series: number
  bytes: number
  /** handler only, no peer changed since the last scrape */
  p50Ms: number
  p99Ms: number
  /** handler only, every peer sent a full heartbeat since the last scrape */
  allChangedP50Ms: number
  allChangedP99Ms: number
  /** HTTP GET over loopback, every peer sent a full heartbeat since the last scrape */
  httpP50Ms: number
  httpP99Ms: number
  /** HTTP GET by curl (another process, keep-alive), full heartbeats arriving meanwhile; null without curl */
  curlP50Ms: number | null
  curlP99Ms: number | null
  /** receive side: table update plus building that peer's lines, mean per full heartbeat */
  receiveFullUs: number
}

/** `runs` keep-alive GETs by one curl process; total time of each in ms, or null when curl is missing */
async function curlTimes (url: string, runs: number): Promise<number[] | null> {
  const args = ['-s', '-w', '%{http_code} %{time_total}\n']
  for (let i = 0; i < runs; i++) args.push('-o', '/dev/null', url)
  return await new Promise((resolve, reject) => {
    execFile('curl', args, { timeout: 120_000 }, (err, stdout) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') { resolve(null); return }
      if (err !== null) { reject(err); return }
      const lines = stdout.trim().split('\n').map(l => l.split(' '))
      const bad = lines.find(([code]) => code !== '200')
      if (bad !== undefined || lines.length !== runs) { reject(new Error(`curl: ${lines.length} answers, one was ${bad?.[0] ?? '?'}`)); return }
      resolve(lines.map(([, t]) => Number(t) * 1000))
    })
  })
}

export async function benchMetrics (peers: number, runs = 200): Promise<MetricsBenchResult> {
  const table = new PeerTable()
  const synthetic = syntheticPeers(peers)
  for (const p of synthetic) table.apply(p.peerId, p.record)
  const m = metricsEndpoint(table, { peerId: 'bench', name: 'bench', gossip: () => ({ received: 0, invalid: {} }), connectedPeers: () => 0 })
  const server = await listenApi(createApi({ table, metrics: m.handler, running: () => true }), '127.0.0.1:0')
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const { port } = server.address() as AddressInfo
  const scrape = async (): Promise<Buffer> => await new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics', agent }, res => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => { res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`HTTP ${String(res.statusCode)}`)) })
      res.on('error', reject)
    }).on('error', reject).end()
  })
  try {
    let body = ''
    for (let i = 0; i < 20; i++) body = (await m.handler()).body.toString() // warm up
    let seq = 1
    let receiveMs = 0
    let received = 0
    /** every peer sends a new record (new machine info and checks), received as the node receives it */
    const allChange = (): void => {
      seq++
      const records = synthetic.map(({ peerId, record }) => ({
        peerId,
        record: { ...record, seq, machine: record.machine === null ? null : { ...record.machine }, checks: [...record.checks] }
      }))
      const t = performance.now()
      for (const { peerId, record } of records) table.apply(peerId, record)
      receiveMs += performance.now() - t
      received += records.length
    }
    /** p50/p99 of `runs` calls of `fn`; `change` runs untimed before each */
    const time = async (fn: () => Promise<unknown>, change?: () => void): Promise<[number, number]> => {
      const times: number[] = []
      for (let i = 0; i < runs; i++) {
        change?.()
        const t = performance.now()
        await fn()
        times.push(performance.now() - t)
      }
      times.sort((a, b) => a - b)
      return [times[Math.floor(runs * 0.5)] ?? NaN, times[Math.floor(runs * 0.99)] ?? NaN]
    }
    const [p50Ms, p99Ms] = await time(m.handler)
    const [allChangedP50Ms, allChangedP99Ms] = await time(m.handler, allChange)
    for (let i = 0; i < 5; i++) await scrape()
    let last: Buffer = Buffer.alloc(0)
    const [httpP50Ms, httpP99Ms] = await time(async () => { last = await scrape() }, allChange)
    body = last.toString()
    // records as a mesh of this size sends them: every peer every 10 s, in 100 ms slices
    let next = 0
    const trickle = setInterval(() => {
      seq++
      for (let i = 0; i < Math.ceil(peers / 100); i++) {
        const { peerId, record } = synthetic[next++ % peers] as (typeof synthetic)[number]
        table.apply(peerId, { ...record, seq, checks: [...record.checks] })
      }
    }, 100)
    let curl: number[] | null
    try { curl = await curlTimes(`http://127.0.0.1:${port}/metrics`, runs) } finally { clearInterval(trickle) }
    curl?.sort((a, b) => a - b)
    const curlP50Ms = curl === null ? null : curl[Math.floor(runs * 0.5)] ?? NaN
    const curlP99Ms = curl === null ? null : curl[Math.floor(runs * 0.99)] ?? NaN
    const receiveFullUs = Math.round(receiveMs / received * 1000 * 10) / 10
    return { peers, series: body.split('\n').filter(l => l !== '' && !l.startsWith('#')).length, bytes: Buffer.byteLength(body), p50Ms, p99Ms, allChangedP50Ms, allChangedP99Ms, httpP50Ms, httpP99Ms, curlP50Ms, curlP99Ms, receiveFullUs }
  } finally {
    agent.destroy()
    await closeServer(server)
  }
}
