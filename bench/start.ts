/**
 * `npm run bench -- --only start --nodes 20`: N nodes started one after another, each joining
 * through one already running, as an operator brings a mesh up on one host. What each node logs
 * while the others start is what its status and alerts showed: peers found `suspect` or `down`
 * (every one false: nothing failed), and nodes that called themselves cut off or on the small side
 * (each a `MeshNodeIsolated` or `MeshPartitioned` where an Alertmanager is set). Counted from the
 * first start until `--settle` seconds after every node has the full view.
 */
import { Cluster, logLines, type NodeProc } from '../test/support/cluster.js'

export interface StartResult {
  nodes: number
  /** from the first start until every node lists every other up */
  fullViewMs: number
  /** state changes to suspect / down logged by any node about any peer */
  suspect: number
  down: number
  /** nodes that logged themselves cut off, or on the small side of a split */
  cutOff: number
  smallSide: number
}

export async function benchStart (n: number, init: { settleMs: number }, log: (s: string) => void): Promise<StartResult> {
  const cluster = await new Cluster().init()
  try {
    const t0 = Date.now()
    for (let i = 1; i <= n; i++) {
      await cluster.start(`s${i}`, [], { healthTimeoutMs: 60_000, bootstrap: i === 1 ? [] : [(cluster.live()[0] as NodeProc).addr] })
    }
    log(`  ${n} started in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    await cluster.waitAll(n, 'up', cluster.live(), Math.max(120_000, n * 15_000))
    const fullViewMs = Date.now() - t0
    log(`  full view ${(fullViewMs / 1000).toFixed(1)} s after the first start; settling ${init.settleMs / 1000} s`)
    await new Promise(resolve => setTimeout(resolve, init.settleMs))
    const lines = cluster.nodes.map(node => logLines(node))
    const changes = (to: string): number => lines.reduce((sum, l) => sum + l.filter(j => j.peer !== undefined && j.to === to).length, 0)
    // the reach a node logs when it finds itself cut off, on the small side, or back (its fields, not its wording)
    const nodesSaying = (reach: (j: any) => boolean): number => lines.filter(l => l.some(j => j.component === 'membership' && reach(j))).length
    return { nodes: n, fullViewMs, suspect: changes('suspect'), down: changes('down'), cutOff: nodesSaying(j => j.isolated === true), smallSide: nodesSaying(j => j.minority === true && j.isolated === false) }
  } finally {
    await cluster.stopAll()
  }
}
