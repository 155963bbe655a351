/**
 * `npm run bench -- --only flags --flags=--single-threaded-gc [--nodes 10] [--windows 3] [--window 60]`:
 * two meshes of N nodes on the host at once, one run as shipped and one with these Node/V8 flags,
 * started interleaved, then CPU and RSS per node of both over the same windows. The host's state
 * moves absolute figures by a third within hours (performance.md); the ratio of two meshes measured
 * in the same seconds is what says whether a runtime flag is worth shipping.
 */
import { Cluster } from '../test/support/cluster.js'
import { cpuMs, rssMb } from './proc.js'

export interface FlagsWindow { baseMsPerS: number, flagsMsPerS: number, ratio: number, baseRssMb: number, flagsRssMb: number }
export interface FlagsResult { nodes: number, flags: string[], windows: FlagsWindow[], ratioMean: number }

const perNode = async (pids: number[], f: (pid: number) => Promise<number>): Promise<number[]> => await Promise.all(pids.map(f))
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

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
    const pids = { base: base.live().map(p => p.child.pid as number), flags: flagged.live().map(p => p.child.pid as number) }
    const windows: FlagsWindow[] = []
    for (let k = 0; k < init.windows; k++) {
      const t0 = performance.now()
      const before = { base: await perNode(pids.base, cpuMs), flags: await perNode(pids.flags, cpuMs) }
      await new Promise(resolve => setTimeout(resolve, init.windowMs))
      const after = { base: await perNode(pids.base, cpuMs), flags: await perNode(pids.flags, cpuMs) }
      const s = (performance.now() - t0) / 1000
      const used = (a: number[], b: number[]): number => mean(a.map((x, i) => x - (b[i] as number))) / s
      const w: FlagsWindow = {
        baseMsPerS: used(after.base, before.base),
        flagsMsPerS: used(after.flags, before.flags),
        ratio: 0,
        baseRssMb: mean(await perNode(pids.base, rssMb)),
        flagsRssMb: mean(await perNode(pids.flags, rssMb))
      }
      w.ratio = w.flagsMsPerS / w.baseMsPerS
      log(`  window ${k + 1}: as shipped ${w.baseMsPerS.toFixed(1)} ms/s (${w.baseRssMb.toFixed(0)} MB), ${label} ${w.flagsMsPerS.toFixed(1)} ms/s (${w.flagsRssMb.toFixed(0)} MB): ${w.ratio.toFixed(2)}`)
      windows.push(w)
    }
    return { nodes: n, flags, windows, ratioMean: mean(windows.map(w => w.ratio)) }
  } finally {
    await base.stopAll()
    await flagged.stopAll()
  }
}
