/**
 * CPU usage as a ratio of busy time between two readings of the cumulative
 * counters. A meter keeps the previous reading, so each collect reports the
 * usage since the one before it, like a Prometheus rate() would.
 */
import { cpus } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { parseProcStat, readText, type CpuTimes } from './proc.js'

export interface CpuMeterInit {
  /** where /proc is mounted @default '/proc' */
  procPath?: string
  /**
   * length of the sample taken on the first reading, when there is no previous
   * one: the average since boot says little about now @default 100
   */
  firstSampleMs?: number
}

export interface CpuMeter {
  /** busy ratio 0..1 since the previous call (the first call samples `firstSampleMs`) */
  usage: (signal?: AbortSignal) => Promise<number>
}

/** Fallback where /proc/stat is absent: node sums the same counters per core (without iowait). */
function timesFromOs (): CpuTimes | null {
  let idle = 0
  let total = 0
  for (const { times } of cpus()) {
    idle += times.idle
    total += times.user + times.nice + times.sys + times.idle + times.irq
  }
  return total > 0 ? { idle, total } : null
}

/** busy share of the time between two readings; 0 when no time passed or counters went back */
export function busyRatio (before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total
  const idle = after.idle - before.idle
  if (!(total > 0)) return 0
  // iowait may go backwards on some kernels, which can push the ratio out of range
  return Math.min(1, Math.max(0, 1 - idle / total))
}

export function cpuMeter (init: CpuMeterInit = {}): CpuMeter {
  const statPath = join(init.procPath ?? '/proc', 'stat')
  const firstSampleMs = init.firstSampleMs ?? 100
  let previous: CpuTimes | null = null

  const read = async (): Promise<CpuTimes | null> => {
    const text = await readText(statPath)
    return (text === null ? null : parseProcStat(text)) ?? timesFromOs()
  }

  return {
    async usage (signal) {
      let before = previous
      if (before === null) {
        before = await read()
        if (firstSampleMs > 0) await delay(firstSampleMs, undefined, { signal })
      }
      const now = await read()
      if (now !== null) previous = now
      return before === null || now === null ? 0 : busyRatio(before, now)
    }
  }
}
