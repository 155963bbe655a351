/** CPU and memory of processes by pid, from /proc: the same measure for meshmon and for Serf. */
import { readFile } from 'node:fs/promises'

/** clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux) */
const TICKS = 100

/** CPU time (user + system) of `pid` so far, ms; NaN once it is gone */
export async function cpuMs (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  // the command name (field 2) may hold spaces: count fields after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return (utime + stime) * 1000 / TICKS
}

/** resident set size of `pid`, MB */
export async function rssMb (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024
}

/** CPU per process per second over `windowMs`, ms; and RSS at its end, MB (both averaged over the processes) */
export async function measure (pids: number[], windowMs: number): Promise<{ cpuMsPerS: number, rssMbAvg: number, rssMbMax: number }> {
  const before = await Promise.all(pids.map(cpuMs))
  await new Promise(resolve => setTimeout(resolve, windowMs))
  const after = await Promise.all(pids.map(cpuMs))
  const rss = await Promise.all(pids.map(rssMb))
  const used = after.map((a, i) => a - (before[i] as number)).filter(Number.isFinite)
  return {
    cpuMsPerS: used.reduce((s, x) => s + x, 0) / used.length / (windowMs / 1000),
    rssMbAvg: rss.reduce((s, x) => s + x, 0) / rss.length,
    rssMbMax: Math.max(...rss)
  }
}
