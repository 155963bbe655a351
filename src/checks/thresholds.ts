/**
 * Built-in threshold checks that need no plugin: disk used %, memory
 * available %, 1-minute load. Numbers are defined as node_exporter defines
 * them so a check and the Prometheus graphs next to it agree.
 */
import { readFile, statfs } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { Status, type CheckResult, type StatusCode } from './types.js'

export interface DiskInit {
  /** @default '/' */
  path?: string
  /** used % above this is WARNING */
  warning: number
  /** used % above this is CRITICAL */
  critical: number
}

export interface MemoryInit {
  /** available % below this is WARNING */
  warning: number
  /** available % below this is CRITICAL */
  critical: number
  /** @default '/proc/meminfo' */
  meminfoPath?: string
}

export interface LoadInit {
  warning: number
  critical: number
  /** where the load averages come from @default os.loadavg */
  loadavg?: () => number[]
}

const timed = (started: number, status: StatusCode, output: string, perfdata = ''): CheckResult =>
  ({ status, output, perfdata, durationSeconds: (performance.now() - started) / 1000 })

/** Worse of the two thresholds crossed, when higher is worse. */
const above = (value: number, warning: number, critical: number): StatusCode =>
  value > critical ? Status.CRITICAL : value > warning ? Status.WARNING : Status.OK

const pct = (n: number): string => n.toFixed(1)

/** Percent of `path`'s filesystem used, as node_exporter sees it: 100 * (1 - avail / size). */
export async function runDisk (init: DiskInit): Promise<CheckResult> {
  const started = performance.now()
  const path = init.path ?? '/'
  try {
    const s = await statfs(path)
    // node_exporter on Linux multiplies by Bsize too; Node exposes no frsize, and they are equal on common filesystems.
    // bavail (not bfree) counts what an unprivileged writer can use: root-reserved blocks are "used" here
    const size = s.blocks * s.bsize
    const avail = s.bavail * s.bsize
    if (size <= 0) return timed(started, Status.UNKNOWN, `${path} reports size 0`)
    const used = 100 * (1 - avail / size)
    const status = above(used, init.warning, init.critical)
    return timed(started, status, `${path} ${pct(used)}% used, ${(avail / 2 ** 30).toFixed(1)} GiB available`,
      `used=${pct(used)}%;${init.warning};${init.critical};0;100`)
  } catch (error) {
    return timed(started, Status.UNKNOWN, `cannot stat filesystem of ${path}: ${(error as Error).message}`)
  }
}

/** Percent of memory available (MemAvailable / MemTotal): free plus what the kernel can reclaim. */
export async function runMemory (init: MemoryInit): Promise<CheckResult> {
  const started = performance.now()
  const file = init.meminfoPath ?? '/proc/meminfo'
  try {
    const text = await readFile(file, 'utf8')
    const field = (name: string): number | undefined => {
      const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)
      return m?.[1] === undefined ? undefined : Number(m[1])
    }
    const total = field('MemTotal')
    const available = field('MemAvailable')
    if (total === undefined || available === undefined || total <= 0) {
      return timed(started, Status.UNKNOWN, `${file} has no MemTotal/MemAvailable (kernel older than 3.14?)`)
    }
    const ratio = 100 * available / total
    const status = ratio < init.critical ? Status.CRITICAL : ratio < init.warning ? Status.WARNING : Status.OK
    return timed(started, status, `${pct(ratio)}% memory available (${(available / 2 ** 20).toFixed(1)} of ${(total / 2 ** 20).toFixed(1)} GiB)`,
      `available=${pct(ratio)}%;${init.warning};${init.critical};0;100`)
  } catch (error) {
    return timed(started, Status.UNKNOWN, `cannot read ${file}: ${(error as Error).message}`)
  }
}

/** 1-minute load average above the thresholds. */
export async function runLoad (init: LoadInit): Promise<CheckResult> {
  const started = performance.now()
  const [l1 = 0, l5 = 0, l15 = 0] = (init.loadavg ?? loadavg)()
  return timed(started, above(l1, init.warning, init.critical), `load average ${l1.toFixed(2)}, ${l5.toFixed(2)}, ${l15.toFixed(2)}`,
    `load1=${l1.toFixed(2)};${init.warning};${init.critical};0 load5=${l5.toFixed(2)} load15=${l15.toFixed(2)}`)
}
