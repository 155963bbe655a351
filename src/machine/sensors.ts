/**
 * Temperatures from sysfs: thermal zones (ACPI, SoCs) and hwmon chips
 * (coretemp, k10temp, nvme, ...). Values there are millidegrees Celsius.
 * A box without sensors (most VMs) simply has none: an empty list.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { readText } from './proc.js'
import type { Temperature } from './types.js'

async function list (dir: string): Promise<string[]> {
  try { return (await readdir(dir)).sort(byNumber) } catch { return [] }
}

/** hwmon10 after hwmon9, so names stay stable across boots with many chips */
const byNumber = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true })

/** Celsius from a millidegree file; null for unreadable or absurd values (a disconnected probe reads -273 or 255). */
async function celsius (path: string): Promise<number | null> {
  const text = await readText(path) // some drivers fail the read (EIO, ENODATA) when a probe is absent
  if (text === null || text.trim() === '') return null
  const c = Number(text.trim()) / 1000
  return Number.isFinite(c) && c > -100 && c < 250 ? c : null
}

async function thermalZones (sysPath: string): Promise<Temperature[]> {
  const base = join(sysPath, 'class', 'thermal')
  const out: Temperature[] = []
  for (const zone of (await list(base)).filter(n => n.startsWith('thermal_zone'))) {
    const c = await celsius(join(base, zone, 'temp'))
    if (c !== null) out.push({ sensor: zone, celsius: c })
  }
  return out
}

async function hwmon (sysPath: string): Promise<Temperature[]> {
  const base = join(sysPath, 'class', 'hwmon')
  const out: Temperature[] = []
  const names = new Set<string>()
  for (const chip of await list(base)) {
    const dir = join(base, chip)
    const name = (await readText(join(dir, 'name')))?.trim() || chip
    // two sockets give two "coretemp" chips: the second one is told apart by its hwmon directory
    const prefix = names.has(name) ? `${name}_${chip}` : name
    names.add(name)
    for (const input of (await list(dir)).filter(n => /^temp\d+_input$/.test(n))) {
      const c = await celsius(join(dir, input))
      if (c !== null) out.push({ sensor: `${prefix}_${input.replace(/_input$/, '')}`, celsius: c })
    }
  }
  return out
}

/** All readable temperature sensors, thermal zones first. Never throws. */
export async function readTemperatures (sysPath = '/sys'): Promise<Temperature[]> {
  const [zones, chips] = await Promise.all([thermalZones(sysPath), hwmon(sysPath)])
  return [...zones, ...chips]
}
