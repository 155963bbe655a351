/**
 * Small readers for Linux /proc text files. Each returns an empty result when
 * the file is missing or odd: machine info is best effort, never fatal.
 */
import { readdir, readFile } from 'node:fs/promises'
import type { NetworkInterface } from './types.js'

/** The file's text, or null when it cannot be read (absent on macOS, hidden in a sandbox). */
export async function readText (path: string): Promise<string | null> {
  try { return await readFile(path, 'utf8') } catch { return null }
}

/** /proc/meminfo as field -> bytes (the kernel writes "kB" but means KiB). */
export function parseMeminfo (text: string): Map<string, number> {
  const fields = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^([^:\s]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line)
    if (m?.[1] === undefined || m[2] === undefined) continue
    fields.set(m[1], Number(m[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1))
  }
  return fields
}

/** Per interface byte counters from /proc/net/dev, loopback left out (it is not traffic). */
export function parseNetDev (text: string): NetworkInterface[] {
  const out: NetworkInterface[] = []
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (colon < 0) continue // the two header lines have "|" but no ":"
    const device = line.slice(0, colon).trim()
    const cols = line.slice(colon + 1).trim().split(/\s+/).map(Number)
    // receive has 8 columns, so transmit bytes is the 9th
    const rxBytes = cols[0]
    const txBytes = cols[8]
    if (device === 'lo' || device === '' || rxBytes === undefined || txBytes === undefined) continue
    if (!Number.isFinite(rxBytes) || !Number.isFinite(txBytes)) continue
    out.push({ device, rxBytes, txBytes })
  }
  return out
}

/** Cumulative CPU time over all cores, in whatever unit the source uses (only ratios matter). */
export interface CpuTimes { idle: number, total: number }

/**
 * The aggregate "cpu" line of /proc/stat. iowait counts as idle (the CPU could
 * run something else), as htop does. guest and guest_nice are left out of the
 * total because the kernel already counts them inside user and nice.
 */
export function parseProcStat (text: string): CpuTimes | null {
  const line = text.split('\n').find(l => l.startsWith('cpu '))
  if (line === undefined) return null
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
    line.slice(4).trim().split(/\s+/).map(Number)
  const total = user + nice + system + idle + iowait + irq + softirq + steal
  return Number.isFinite(total) ? { idle: idle + iowait, total } : null
}

/** Number of processes: one numeric directory per pid. Far cheaper than spawning ps. */
export async function countProcesses (procPath: string): Promise<number> {
  try {
    let n = 0
    for (const name of await readdir(procPath)) if (/^\d+$/.test(name)) n++
    return n
  } catch { return 0 }
}

/** PRETTY_NAME (or NAME VERSION_ID) from an os-release file, quotes removed. */
export function parseOsRelease (text: string): string | null {
  const vars = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim())
    if (m?.[1] !== undefined && m[2] !== undefined) vars.set(m[1], m[2].replace(/^(["'])(.*)\1$/, '$2'))
  }
  const pretty = vars.get('PRETTY_NAME')
  if (pretty !== undefined && pretty !== '') return pretty
  const name = [vars.get('NAME'), vars.get('VERSION_ID')].filter(s => s !== undefined && s !== '').join(' ')
  return name === '' ? null : name
}
