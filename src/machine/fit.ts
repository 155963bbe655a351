/**
 * Bounds that the heartbeat schema (src/heartbeat/wire.ts) enforces. One list
 * too long or one string too long makes a receiver reject the whole beat, so
 * the collector trims here: a docker host can have well over 64 veth devices.
 */
import type { MachineInfo } from './types.js'

export const MACHINE_LIMITS = { filesystems: 64, network: 64, temperatures: 64, gpus: 32 } as const

const cut = (s: string, max: number): string => s.length > max ? s.slice(0, max) : s

/** `info` trimmed to the wire limits (lists keep their first entries: `/` comes first). */
export function fitToWire (info: MachineInfo): MachineInfo {
  return {
    ...info,
    hostname: cut(info.hostname, 256),
    os: cut(info.os, 256),
    cpu: { ...info.cpu, model: cut(info.cpu.model, 256) },
    filesystems: info.filesystems.slice(0, MACHINE_LIMITS.filesystems)
      .map(f => ({ ...f, mountpoint: cut(f.mountpoint, 512), device: cut(f.device, 512), type: cut(f.type, 64) })),
    network: info.network.slice(0, MACHINE_LIMITS.network).map(n => ({ ...n, device: cut(n.device, 64) })),
    temperatures: info.temperatures.slice(0, MACHINE_LIMITS.temperatures).map(t => ({ ...t, sensor: cut(t.sensor, 128) })),
    gpus: info.gpus.slice(0, MACHINE_LIMITS.gpus).map(g => ({ ...g, index: cut(g.index, 16), name: cut(g.name, 256) }))
  }
}
