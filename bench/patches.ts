/**
 * What each library patch is worth (src/patches.ts): the mesh bench at N
 * nodes with every patch on, then once with each one off (--patches-off),
 * CPU per node per second and its ratio to the run with all on. A ratio near
 * 1 means the patch buys nothing measurable at this size and can go. The
 * OrbitDB patches act while event logs replicate, so for them compare
 * startupSettledMs (start-up until every event log agrees) too. Only
 * meaningful on a quiet machine, and runs vary: repeat before deciding.
 */
import { PATCH_NAMES } from '../src/patches.js'
import { benchMesh } from './mesh.js'

export interface PatchBenchRow {
  /** the patch switched off, or 'none' */
  off: string
  cpuMsPerNodePerSecond: number
  /** CPU with this patch off / CPU with all on: above 1, the patch saves that much */
  ratio: number
  cpuMsPerReceivedMessage: number
  /** start until every node's event log agrees (null: not within the bench's limit) */
  startupSettledMs: number | null
  deliveryP99Ms: number
  rssMbAvg: number
}

export async function benchPatches (n: number, windowMs: number, log: (s: string) => void, settleMs: number, heartbeat: string): Promise<PatchBenchRow[]> {
  const rows: PatchBenchRow[] = []
  let base = NaN
  for (const off of ['none', ...PATCH_NAMES]) {
    log(`  ${n} nodes, patches off: ${off}`)
    const r = await benchMesh(n, windowMs, log, settleMs, heartbeat, off === 'none' ? [] : ['--patches-off', off])
    if (off === 'none') base = r.cpuMsPerNodePerSecond
    rows.push({ off, cpuMsPerNodePerSecond: r.cpuMsPerNodePerSecond, ratio: r.cpuMsPerNodePerSecond / base, cpuMsPerReceivedMessage: r.cpuMsPerReceivedMessage, startupSettledMs: r.startupSettledMs, deliveryP99Ms: r.deliveryP99Ms, rssMbAvg: r.rssMbAvg })
  }
  return rows
}
