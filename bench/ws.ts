/**
 * The same mesh over TCP, then over WebSockets only, in one run: time to full
 * view, dial warnings, and CPU per node per second over the same window after
 * start-up has settled, with the WebSockets / TCP ratio.
 */
import { Cluster, type NodeProc } from '../test/support/cluster.js'
import { sum } from '../test/support/prom-text.js'
import { metricsOf, settleMaxMs, startMesh, startupSettled } from './mesh.js'

export interface WsBenchRun {
  listen: 'tcp' | 'ws'
  fullViewMs: number
  /** from every node answering /healthz to every node seeing all up: the mesh forming, without process start-up */
  fullViewAfterHealthyMs: number
  /** null when the event logs still differed at the deadline (the CPU window then includes start-up work) */
  startupSettledMs: number | null
  /** warnings the keepers logged about an address they could not dial: 0 when every dial succeeded the first time */
  dialWarnings: number
  cpuMsPerNodePerSecond: number
}

export interface WsBenchResult {
  nodes: number
  heartbeat: string
  windowMs: number
  tcp: WsBenchRun
  ws: WsBenchRun
  cpuRatioWsToTcp: number
}

const dialWarnings = (nodes: NodeProc[]): number => nodes.reduce((acc, n) => acc + n.logs.filter(l => /"level":40,.*"addr":/.test(l)).length, 0)

async function runOver (listen: 'tcp' | 'ws', n: number, windowMs: number, settleMs: number, heartbeat: string, log: (s: string) => void): Promise<WsBenchRun> {
  const cluster = await new Cluster().init()
  try {
    log(`- ${listen}`)
    const { t0, healthy, fullView } = await startMesh(cluster, n, ['--heartbeat-interval', heartbeat], log, listen)
    const [settled] = await Promise.all([startupSettled(cluster, t0 + settleMaxMs(n)), new Promise(resolve => setTimeout(resolve, settleMs))])
    log(settled.ok ? `  event logs agree after ${settled.at - t0} ms` : '  EVENT LOGS STILL DIFFER: the CPU below includes start-up replication')
    const before = await Promise.all(cluster.nodes.map(metricsOf))
    await new Promise(resolve => setTimeout(resolve, windowMs))
    const after = await Promise.all(cluster.nodes.map(metricsOf))
    const cpu = after.reduce((acc, text, i) => acc + sum(text, 'process_cpu_seconds_total') - sum(before[i] as string, 'process_cpu_seconds_total'), 0)
    return {
      listen,
      fullViewMs: fullView - t0,
      fullViewAfterHealthyMs: fullView - healthy,
      startupSettledMs: settled.ok ? settled.at - t0 : null,
      dialWarnings: dialWarnings(cluster.nodes),
      cpuMsPerNodePerSecond: (cpu * 1000) / n / (windowMs / 1000)
    }
  } finally {
    await cluster.stopAll()
  }
}

export async function benchWs (n = 10, windowMs = 20_000, settleMs = 30_000, heartbeat = '1s', log: (s: string) => void = () => {}): Promise<WsBenchResult> {
  const tcp = await runOver('tcp', n, windowMs, settleMs, heartbeat, log)
  const ws = await runOver('ws', n, windowMs, settleMs, heartbeat, log)
  return { nodes: n, heartbeat, windowMs, tcp, ws, cpuRatioWsToTcp: ws.cpuMsPerNodePerSecond / tcp.cpuMsPerNodePerSecond }
}
