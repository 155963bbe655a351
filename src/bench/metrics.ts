/** /metrics latency and size over a synthetic peer table of 100 and 500 peers. */
import { PeerTable } from '../heartbeat/peer-table.js'
import { metricsEndpoint } from '../metrics/index.js'
import { syntheticPeers } from './synthetic.js'

export interface MetricsBenchResult { peers: number, series: number, bytes: number, p50Ms: number, p99Ms: number, allChangedP50Ms: number, allChangedP99Ms: number }

export async function benchMetrics (peers: number, runs = 200): Promise<MetricsBenchResult> {
  const table = new PeerTable()
  for (const p of syntheticPeers(peers)) table.observe(p.peerId, p.beat)
  const m = metricsEndpoint(table, { peerId: 'bench', name: 'bench', gossip: () => ({ received: 0, invalid: {} }), connectedPeers: () => 0 })
  let body = ''
  for (let i = 0; i < 20; i++) body = (await m.handler()).body // warm up
  /** p50/p99 of `runs` scrapes; `change` runs untimed before each (new heartbeat payloads) */
  const time = async (change?: () => void): Promise<[number, number]> => {
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      change?.()
      const t = performance.now()
      body = (await m.handler()).body
      times.push(performance.now() - t)
    }
    times.sort((a, b) => a - b)
    return [times[Math.floor(runs * 0.5)] ?? NaN, times[Math.floor(runs * 0.99)] ?? NaN]
  }
  // steady: scrapes between heartbeats; all changed: every peer sent new machine info and checks since the last scrape (worst case)
  const [p50Ms, p99Ms] = await time()
  const [allChangedP50Ms, allChangedP99Ms] = await time(() => {
    for (const p of table.list()) { p.machine = p.machine === null ? null : { ...p.machine }; p.checks = [...p.checks] }
  })
  return { peers, series: body.split('\n').filter(l => l !== '' && !l.startsWith('#')).length, bytes: Buffer.byteLength(body), p50Ms, p99Ms, allChangedP50Ms, allChangedP99Ms }
}
