/**
 * Bounds that a receiver of machine info enforces (src/heartbeat/record.ts). One list
 * too long or one string too long makes a receiver refuse the whole record, so
 * the collector trims here: a docker host can have well over 64 veth devices.
 */
import type { MachineInfo } from './types.js'

/** list lengths and string lengths a receiver accepts (src/heartbeat/record.ts imports them) */
export const MACHINE_LIMITS = { filesystems: 64, network: 64, temperatures: 64, gpus: 32, text: 256, path: 512, short: 64, sensor: 128, gpuIndex: 16 } as const

const cut = (s: string, max: number): string => s.length > max ? s.slice(0, max) : s

/** `info` trimmed to the wire limits (lists keep their first entries: `/` comes first). */
export function fitToWire (info: MachineInfo): MachineInfo {
  const L = MACHINE_LIMITS
  return {
    ...info,
    hostname: cut(info.hostname, L.text),
    os: cut(info.os, L.text),
    cpu: { ...info.cpu, model: cut(info.cpu.model, L.text) },
    filesystems: info.filesystems.slice(0, L.filesystems)
      .map(f => ({ ...f, mountpoint: cut(f.mountpoint, L.path), device: cut(f.device, L.path), type: cut(f.type, L.short) })),
    network: info.network.slice(0, L.network).map(n => ({ ...n, device: cut(n.device, L.short) })),
    temperatures: info.temperatures.slice(0, L.temperatures).map(t => ({ ...t, sensor: cut(t.sensor, L.sensor) })),
    gpus: info.gpus.slice(0, L.gpus).map(g => ({ ...g, index: cut(g.index, L.gpuIndex), name: cut(g.name, L.text) }))
  }
}
