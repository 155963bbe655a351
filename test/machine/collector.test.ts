import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { machineCollector } from '../../src/machine/collector.js'
import { readTemperatures } from '../../src/machine/sensors.js'
import type { MachineInfo } from '../../src/machine/types.js'
import { tree, type Tree } from './helpers.js'

const trees: Tree[] = []
afterEach(async () => { for (const t of trees.splice(0)) await t.remove() })
const fake = async (files: Record<string, string>): Promise<string> => {
  const t = await tree(files)
  trees.push(t)
  return t.dir
}

/** `df` counts in f_frsize units; on Linux it equals f_bsize for disk filesystems, so the sizes agree. */
function dfSize (mountpoint: string): number | null {
  try {
    const out = execFileSync('df', ['-B1', '--output=size', mountpoint], { encoding: 'utf8' })
    return Number(out.trim().split('\n')[1])
  } catch { return null }
}

function expectPlausible (m: MachineInfo): void {
  expect(m.cpu.usageRatio).toBeGreaterThanOrEqual(0)
  expect(m.cpu.usageRatio).toBeLessThanOrEqual(1)
  expect(m.load).toHaveLength(3)
  for (const l of m.load) expect(Number.isFinite(l) && l >= 0).toBe(true)
  expect(m.processes).toBeGreaterThan(0)
}

describe('machineCollector on this machine', () => {
  it('reports plausible values that match /proc and statfs', async () => {
    const collector = machineCollector()
    const m = await collector.collect()
    expect(m.hostname).not.toBe('')
    expect(m.os).not.toBe('')
    expect(m.uptimeSeconds).toBeGreaterThan(0)
    expect(m.cpu.cores).toBe(cpus().length)
    expect(m.cpu.model).not.toBe('')
    expectPlausible(m)

    const memTotalKb = Number(/^MemTotal:\s+(\d+) kB$/m.exec(await readFile('/proc/meminfo', 'utf8'))?.[1])
    expect(m.memory.totalBytes).toBe(memTotalKb * 1024)
    expect(m.memory.availableBytes).toBeGreaterThan(0)
    expect(m.memory.availableBytes).toBeLessThanOrEqual(m.memory.totalBytes)
    expect(m.memory.swapFreeBytes).toBeLessThanOrEqual(m.memory.swapTotalBytes)

    const root = m.filesystems.find(f => f.mountpoint === '/')
    expect(root).toBeDefined()
    expect(m.filesystems[0]).toBe(root)
    expect(root!.sizeBytes).toBeGreaterThan(root!.availBytes)
    expect(root!.availBytes).toBeGreaterThan(0)
    const df = dfSize('/')
    if (df !== null) expect(root!.sizeBytes).toBe(df)
    for (const f of m.filesystems) expect(['tmpfs', 'proc', 'sysfs', 'cgroup', 'cgroup2', 'devtmpfs', 'devpts']).not.toContain(f.type)
    expect(new Set(m.filesystems.map(f => f.mountpoint)).size).toBe(m.filesystems.length)

    expect(m.network.map(n => n.device)).not.toContain('lo')
    expect(Array.isArray(m.temperatures)).toBe(true)
    expect(Array.isArray(m.gpus)).toBe(true)

    const again = await collector.collect() // usage since the first collect, whatever short time that was
    expectPlausible(again)
    expect(again.memory.totalBytes).toBe(m.memory.totalBytes)
  })

  it('fails soft when /proc, /sys and nvidia-smi are all missing', async () => {
    const empty = await fake({})
    const errors: string[] = []
    const m = await machineCollector({
      procPath: join(empty, 'proc'),
      sysPath: join(empty, 'sys'),
      osReleasePaths: [join(empty, 'os-release')],
      nvidiaSmi: join(empty, 'nvidia-smi'),
      firstCpuSampleMs: 0,
      onError: part => { errors.push(part) }
    }).collect()
    expect(m.memory.totalBytes).toBeGreaterThan(0) // from node:os
    expect(m.filesystems.map(f => f.mountpoint)).toEqual(['/'])
    expect(m.network).toEqual([])
    expect(m.processes).toBe(0)
    expect(m.temperatures).toEqual([])
    expect(m.gpus).toEqual([])
    expect(m.cpu.usageRatio).toBeGreaterThanOrEqual(0)
    expect(m.cpu.usageRatio).toBeLessThanOrEqual(1)
    expect(errors).toEqual([]) // missing files are normal, not errors
  })

  it('tells onError about an installed nvidia-smi that fails, and still collects', async () => {
    const bin = await fake({ 'nvidia-smi': '#!/bin/sh\nexit 9\n' })
    const errors: string[] = []
    const m = await machineCollector({ nvidiaSmi: join(bin, 'nvidia-smi'), onError: part => { errors.push(part) } }).collect()
    expect(m.gpus).toEqual([])
    expect(errors).toEqual(['gpus'])
  })

  it('rejects when aborted, also during the first CPU sample', async () => {
    await expect(machineCollector().collect({ signal: AbortSignal.abort() })).rejects.toThrow()
    const controller = new AbortController()
    const started = Date.now()
    const collecting = machineCollector({ firstCpuSampleMs: 60_000 }).collect({ signal: controller.signal })
    controller.abort()
    await expect(collecting).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(5000)
  })
})

describe('readTemperatures', () => {
  it('reads thermal zones and hwmon chips, skipping unreadable and absurd values', async () => {
    const sys = await fake({
      'class/thermal/thermal_zone0/temp': '45000\n',
      'class/thermal/thermal_zone1/temp': '', // a read the driver failed
      'class/thermal/cooling_device0/cur_state': '0\n',
      'class/hwmon/hwmon0/name': 'coretemp\n',
      'class/hwmon/hwmon0/temp1_input': '52000\n',
      'class/hwmon/hwmon0/temp1_label': 'Package id 0\n',
      'class/hwmon/hwmon0/temp2_input': '-273150\n',
      'class/hwmon/hwmon1/name': 'coretemp\n',
      'class/hwmon/hwmon1/temp1_input': '49500\n'
    })
    expect(await readTemperatures(sys)).toEqual([
      { sensor: 'thermal_zone0', celsius: 45 },
      { sensor: 'coretemp_temp1', celsius: 52 },
      { sensor: 'coretemp_hwmon1_temp1', celsius: 49.5 }
    ])
  })

  it('gives [] without sysfs', async () => {
    expect(await readTemperatures('/nonexistent')).toEqual([])
  })
})
