/**
 * Machine info from /proc, /sys, statfs and node:os: cheap enough for every
 * 10 s on a 2-core box (no `ps`, no shell). Chosen over `systeminformation`
 * after measuring: its fsSize() runs `df` and its processes() runs `ps`, and
 * the numbers must match node_exporter's (MemAvailable, statfs bavail*bsize).
 */
import { cpus, hostname, loadavg, platform, release, uptime } from 'node:os'
import { statfs } from 'node:fs/promises'
import { queryGpus } from './nvidia-smi.js'
import { cpuTimes, meminfo, mounts, netDev, processCount, readText, temperatures } from './procfs.js'
import type { Filesystem, MachineInfo } from './types.js'

/** Pseudo and virtual filesystems: not disks anyone fills (node_exporter's list, plus tmpfs). */
const PSEUDO_FS = /^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|efivarfs|fusectl|fuse\.lxcfs|hugetlbfs|iso9660|mqueue|nsfs|proc|procfs|pstore|ramfs|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tmpfs|tracefs|nfsd|overlay)$/
const PSEUDO_MOUNT = /^\/(dev|proc|sys|run\/credentials\/.+|var\/lib\/docker\/.+|var\/lib\/containers\/storage\/.+)($|\/)/

export interface MachineCollectorInit {
  /** ask nvidia-smi for GPUs @default true */
  gpus?: boolean
}

export interface MachineCollector {
  collect: () => Promise<MachineInfo>
}

export function machineCollector (init: MachineCollectorInit = {}): MachineCollector {
  let previous: { busy: number, total: number } | undefined
  let osName: string | undefined
  return {
    async collect () {
      const [mem, times, fs, net, procs, temps, gpus] = await Promise.all([
        meminfo(), cpuTimes(), filesystems(), netDev(), processCount(), temperatures(), init.gpus === false ? [] : queryGpus()
      ])
      let usageRatio = 0
      if (times !== undefined && previous !== undefined && times.total > previous.total) {
        usageRatio = Math.min(1, Math.max(0, (times.busy - previous.busy) / (times.total - previous.total)))
      } else if (times !== undefined && times.total > 0) {
        usageRatio = times.busy / times.total // first sample: the average since boot
      }
      previous = times ?? previous
      osName ??= await osDescription()
      const cpuList = cpus()
      const [l1 = 0, l5 = 0, l15 = 0] = loadavg()
      return {
        hostname: hostname(),
        os: osName,
        uptimeSeconds: Math.round(uptime()),
        cpu: { model: cpuList[0]?.model.trim() ?? 'unknown', cores: cpuList.length, usageRatio },
        load: [l1, l5, l15],
        memory: {
          totalBytes: mem.MemTotal ?? 0,
          availableBytes: mem.MemAvailable ?? mem.MemFree ?? 0,
          swapTotalBytes: mem.SwapTotal ?? 0,
          swapFreeBytes: mem.SwapFree ?? 0
        },
        filesystems: fs,
        network: net,
        processes: procs,
        temperatures: temps,
        gpus
      }
    }
  }
}

/** Each real filesystem once (bind mounts of a device collapse), `/` always included. */
async function filesystems (): Promise<Filesystem[]> {
  const out: Filesystem[] = []
  const devices = new Set<string>()
  const all = await mounts()
  // `/` first so it wins the device it shares with bind mounts
  all.sort((a, b) => (a.mountpoint === '/' ? -1 : b.mountpoint === '/' ? 1 : 0))
  for (const m of all) {
    const root = m.mountpoint === '/'
    if (!root && (PSEUDO_FS.test(m.type) || PSEUDO_MOUNT.test(m.mountpoint) || devices.has(m.device))) continue
    if (out.some(f => f.mountpoint === m.mountpoint)) continue
    try {
      const s = await statfs(m.mountpoint)
      if (s.blocks === 0 && !root) continue
      // node_exporter on Linux: size = f_blocks * f_bsize, avail = f_bavail * f_bsize
      out.push({ mountpoint: m.mountpoint, device: m.device, type: m.type, sizeBytes: s.blocks * s.bsize, availBytes: s.bavail * s.bsize })
      devices.add(m.device)
    } catch {}
  }
  return out
}

async function osDescription (): Promise<string> {
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(await readText('/etc/os-release'))?.[1]
  return pretty === undefined ? `${platform()} ${release()}` : `${pretty} (${platform()} ${release()})`
}
