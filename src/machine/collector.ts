/**
 * What this machine is and how busy it is, for the heartbeat's machine info.
 * Read straight from /proc, /sys and node:os: cheap enough for every 10 s on a
 * small box. (systeminformation was the named choice, but on Linux its fsSize
 * and osInfo spawn shells, some synchronously, and processes() runs ps.)
 * Every part fails soft: what cannot be read is empty or zero, never a throw.
 */
import { cpus, freemem, hostname, loadavg, platform, release, totalmem, type, uptime } from 'node:os'
import { join } from 'node:path'
import { cpuMeter } from './cpu.js'
import { filesystemReader } from './filesystems.js'
import { fitToWire } from './fit.js'
import { queryGpus } from './gpus.js'
import { countProcesses, parseMeminfo, parseNetDev, parseOsRelease, readText } from './proc.js'
import { readTemperatures } from './sensors.js'
import type { MachineInfo } from './types.js'

export interface MachineCollectorInit {
  /** where procfs is mounted (a fixture directory in tests) @default '/proc' */
  procPath?: string
  /** where sysfs is mounted @default '/sys' */
  sysPath?: string
  /** os-release files, first readable one wins @default ['/etc/os-release', '/usr/lib/os-release'] */
  osReleasePaths?: string[]
  /** nvidia-smi program name or path @default 'nvidia-smi' */
  nvidiaSmi?: string
  /** nvidia-smi is killed after this @default 2000 */
  gpuTimeoutMs?: number
  /** CPU sample length of the first collect, which has no previous reading @default 100 */
  firstCpuSampleMs?: number
  /** a mount whose statfs takes longer is left out @default 1000 */
  statfsTimeoutMs?: number
  /**
   * told about failures worth a look (nvidia-smi installed but failing, a mount
   * that cannot be measured); collect still succeeds without that part. Missing
   * files and a missing nvidia-smi are normal and not reported. @default none
   */
  onError?: (part: string, err: unknown) => void
}

export interface MachineCollector {
  /** One reading. Rejects only when `signal` aborts. */
  collect: (options?: { signal?: AbortSignal }) => Promise<MachineInfo>
}

/** "Debian GNU/Linux 12 (bookworm) (linux 6.1.0-18-amd64)", or "darwin 23.1.0" without os-release. */
async function osName (paths: string[]): Promise<string> {
  const kernel = `${type().toLowerCase()} ${release()}`
  for (const path of paths) {
    const text = await readText(path)
    const name = text === null ? null : parseOsRelease(text)
    if (name !== null) return `${name} (${kernel})`
  }
  return `${platform()} ${release()}`
}

export function machineCollector (init: MachineCollectorInit = {}): MachineCollector {
  const procPath = init.procPath ?? '/proc'
  const sysPath = init.sysPath ?? '/sys'
  const cpu = cpuMeter({ procPath, firstSampleMs: init.firstCpuSampleMs })
  const filesystems = filesystemReader({
    procPath,
    statfsTimeoutMs: init.statfsTimeoutMs,
    onError: (mountpoint, err) => init.onError?.(`filesystem ${mountpoint}`, err)
  })
  let osText: Promise<string> | undefined // the distribution does not change while we run

  return {
    async collect ({ signal } = {}) {
      signal?.throwIfAborted()
      const soft = async <T>(part: string, work: Promise<T>, fallback: T): Promise<T> => {
        try { return await work } catch (err) {
          if (signal?.aborted !== true) init.onError?.(part, err)
          return fallback
        }
      }
      osText ??= osName(init.osReleasePaths ?? ['/etc/os-release', '/usr/lib/os-release'])
      const [os, usageRatio, meminfo, fss, netDev, processes, temperatures, gpus] = await Promise.all([
        osText,
        soft('cpu', cpu.usage(signal), 0),
        readText(join(procPath, 'meminfo')),
        soft('filesystems', filesystems.read(), []),
        readText(join(procPath, 'net', 'dev')),
        countProcesses(procPath),
        soft('temperatures', readTemperatures(sysPath), []),
        soft('gpus', queryGpus({ command: init.nvidiaSmi, timeoutMs: init.gpuTimeoutMs, signal }), [])
      ])
      signal?.throwIfAborted()

      const mem = meminfo === null ? new Map<string, number>() : parseMeminfo(meminfo)
      const cores = cpus()
      const [l1 = 0, l5 = 0, l15 = 0] = loadavg()
      return fitToWire({
        hostname: hostname(),
        os,
        uptimeSeconds: uptime(),
        cpu: { model: cores[0]?.model.trim() ?? '', cores: cores.length, usageRatio },
        load: [l1, l5, l15],
        memory: {
          // MemAvailable, as node_memory_MemAvailable_bytes; os.freemem() is the fallback off Linux
          totalBytes: mem.get('MemTotal') ?? totalmem(),
          availableBytes: mem.get('MemAvailable') ?? freemem(),
          swapTotalBytes: mem.get('SwapTotal') ?? 0,
          swapFreeBytes: mem.get('SwapFree') ?? 0
        },
        filesystems: fss,
        network: netDev === null ? [] : parseNetDev(netDev),
        processes,
        temperatures,
        gpus
      })
    }
  }
}
