/**
 * `npm run bench -- --only flags --flags=--single-threaded-gc [--nodes 10] [--windows 3] [--window 60]`:
 * two meshes of N nodes on the host at once, one run as shipped and one with these Node/V8 flags,
 * started interleaved, then CPU and RSS per node of both over the same windows. The host's state
 * moves absolute figures by a third within hours (performance.md); the ratio of two meshes measured
 * in the same seconds is what says whether a runtime flag is worth shipping.
 */
import { Cluster } from '../test/support/cluster.js'
import { measure } from './proc.js'

export interface FlagsWindow { baseMsPerS: number, flagsMsPerS: number, ratio: number, baseRssMb: number, flagsRssMb: number }
export interface FlagsResult { nodes: number, flags: string[], windows: FlagsWindow[], ratioMean: number }

export async function benchFlags (n: number, flags: string[], init: { windows: number, windowMs: number, settleMs: number }, log: (s: string) => void): Promise<FlagsResult> {
  // no flags: both meshes alike, a control of the method (its ratio should be about 1)
  const label = flags.length === 0 ? 'the same again (a control)' : `with ${flags.join(' ')}`
  const base = await new Cluster().init()
  const flagged = await new Cluster().init()
  try {
    for (let i = 0; i < n; i++) {
      await base.start(`base-${i}`)
      await flagged.start(`flags-${i}`, [], { nodeArgs: flags })
    }
    await base.waitAll(n, 'up', base.live(), 300_000)
    await flagged.waitAll(n, 'up', flagged.live(), 300_000)
    log(`  both meshes have the full view; settling ${init.settleMs / 1000} s`)
    await new Promise(resolve => setTimeout(resolve, init.settleMs))
    const pidsOf = (c: Cluster): number[] => c.live().map(p => p.child.pid as number)
    const windows: FlagsWindow[] = []
    for (let k = 0; k < init.windows; k++) {
      // both over the same window
      const [b, f] = await Promise.all([measure(pidsOf(base), init.windowMs), measure(pidsOf(flagged), init.windowMs)])
      const w: FlagsWindow = { baseMsPerS: b.cpuMsPerS, flagsMsPerS: f.cpuMsPerS, ratio: f.cpuMsPerS / b.cpuMsPerS, baseRssMb: b.rssMbAvg, flagsRssMb: f.rssMbAvg }
      log(`  window ${k + 1}: as shipped ${w.baseMsPerS.toFixed(1)} ms/s (${w.baseRssMb.toFixed(0)} MB), ${label} ${w.flagsMsPerS.toFixed(1)} ms/s (${w.flagsRssMb.toFixed(0)} MB): ${w.ratio.toFixed(2)}`)
      windows.push(w)
    }
    return { nodes: n, flags, windows, ratioMean: windows.reduce((s, w) => s + w.ratio, 0) / windows.length }
  } finally {
    await base.stopAll()
    await flagged.stopAll()
  }
}
