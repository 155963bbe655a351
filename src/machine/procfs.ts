/** Readers of Linux /proc and /sys. Each fails soft: a missing file gives an empty answer. */
import { readdir, readFile } from 'node:fs/promises'

export const readText = async (file: string): Promise<string> => await readFile(file, 'utf8').catch(() => '')

/** /proc/meminfo in bytes, keyed by field (MemTotal, MemAvailable, SwapTotal, ...). */
export async function meminfo (file = '/proc/meminfo'): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const line of (await readText(file)).split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?/.exec(line)
    if (m != null) out[m[1] as string] = Number(m[2]) * (line.includes('kB') ? 1024 : 1)
  }
  return out
}

/** Aggregate CPU jiffies from /proc/stat: busy and total. */
export async function cpuTimes (file = '/proc/stat'): Promise<{ busy: number, total: number } | undefined> {
  const line = (await readText(file)).split('\n').find(l => l.startsWith('cpu '))
  if (line === undefined) return undefined
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = (v[3] ?? 0) + (v[4] ?? 0) // idle + iowait
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0) // guest time is already in user/nice
  return { busy: total - idle, total }
}

/** rx/tx bytes per device from /proc/net/dev, loopback left out. */
export async function netDev (file = '/proc/net/dev'): Promise<Array<{ device: string, rxBytes: number, txBytes: number }>> {
  const out = []
  for (const line of (await readText(file)).split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line)
    if (m == null || m[1] === 'lo') continue
    const f = (m[2] as string).trim().split(/\s+/).map(Number)
    out.push({ device: m[1] as string, rxBytes: f[0] ?? 0, txBytes: f[8] ?? 0 })
  }
  return out
}

export async function processCount (): Promise<number> {
  return (await readdir('/proc').catch(() => [] as string[])).filter(d => /^\d+$/.test(d)).length
}

/** Mounts from /proc/self/mounts: device, mountpoint, fs type (octal escapes decoded). */
export async function mounts (file = '/proc/self/mounts'): Promise<Array<{ device: string, mountpoint: string, type: string }>> {
  const unescape = (s: string): string => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
  return (await readText(file)).split('\n').filter(Boolean).map(l => {
    const [device = '', mountpoint = '', type = ''] = l.split(' ')
    return { device: unescape(device), mountpoint: unescape(mountpoint), type }
  })
}

/** Temperatures from thermal zones and hwmon, in Celsius. */
export async function temperatures (): Promise<Array<{ sensor: string, celsius: number }>> {
  const out: Array<{ sensor: string, celsius: number }> = []
  for (const zone of await readdir('/sys/class/thermal').catch(() => [] as string[])) {
    if (!zone.startsWith('thermal_zone')) continue
    const milli = Number((await readText(`/sys/class/thermal/${zone}/temp`)).trim())
    const type = (await readText(`/sys/class/thermal/${zone}/type`)).trim()
    if (Number.isFinite(milli) && milli !== 0) out.push({ sensor: type === '' ? zone : `${zone}_${type}`, celsius: milli / 1000 })
  }
  for (const hw of await readdir('/sys/class/hwmon').catch(() => [] as string[])) {
    const dir = `/sys/class/hwmon/${hw}`
    const name = (await readText(`${dir}/name`)).trim() || hw
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      const m = /^(temp\d+)_input$/.exec(f)
      if (m == null) continue
      const milli = Number((await readText(`${dir}/${f}`)).trim())
      if (Number.isFinite(milli) && milli !== 0) out.push({ sensor: `${name}_${m[1] as string}`, celsius: milli / 1000 })
    }
  }
  return out
}
