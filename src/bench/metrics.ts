/** /metrics latency and size over a synthetic peer table of 100 and 500 peers. */
import { PeerTable } from '../heartbeat/peer-table.js'
import { metricsEndpoint } from '../metrics/index.js'
import { syntheticPeers } from './synthetic.js'

export interface MetricsBenchResult { peers: number, series: number, bytes: number, p50Ms: number, p99Ms: number, allChangedP50Ms: number, allChangedP99Ms: number, receiveFullUs: number }

export async function benchMetrics (peers: number, runs = 200): Promise<MetricsBenchResult> {
  const table = new PeerTable()
  const synthetic = syntheticPeers(peers)
  for (const p of synthetic) table.observe(p.peerId, p.beat)
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
  // steady: scrapes between heartbeats; all changed: every peer sent a full heartbeat (new
  // machine info and checks) since the last scrape, received as the node receives it. The
  // receive side (table update plus building that peer's metric lines) is timed apart:
  // receiveFullUs is its mean cost per full heartbeat.
  const [p50Ms, p99Ms] = await time()
  let seq = 1
  let receiveMs = 0
  let received = 0
  const [allChangedP50Ms, allChangedP99Ms] = await time(() => {
    seq++
    const beats = synthetic.map(({ peerId, beat }) => ({
      peerId,
      beat: { ...beat, seq, full: beat.full === undefined ? undefined : { ...beat.full, machine: beat.full.machine === null ? null : { ...beat.full.machine }, checks: [...beat.full.checks] } }
    }))
    const t = performance.now()
    for (const { peerId, beat } of beats) table.observe(peerId, beat)
    receiveMs += performance.now() - t
    received += beats.length
  })
  const receiveFullUs = Math.round(receiveMs / received * 1000 * 10) / 10
  return { peers, series: body.split('\n').filter(l => l !== '' && !l.startsWith('#')).length, bytes: Buffer.byteLength(body), p50Ms, p99Ms, allChangedP50Ms, allChangedP99Ms, receiveFullUs }
}
