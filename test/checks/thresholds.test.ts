import { statfs, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runDisk, runLoad, runMemory } from '../../src/checks/thresholds.js'
import { Status } from '../../src/checks/types.js'
import { tempDir } from './helpers.js'

describe('runDisk', () => {
  it('grades the used percent of / against thresholds', async () => {
    // / always has something on it and is never 100% full here: 0 and 100 force each state
    expect((await runDisk({ path: '/', warning: 100, critical: 100 })).status).toBe(Status.OK)
    expect((await runDisk({ path: '/', warning: 0, critical: 100 })).status).toBe(Status.WARNING)
    expect((await runDisk({ path: '/', warning: 0, critical: 0 })).status).toBe(Status.CRITICAL)
  })

  it('uses node_exporter\'s definition: 100 * (1 - bavail / blocks)', async () => {
    const s = await statfs('/')
    const expected = (100 * (1 - s.bavail / s.blocks)).toFixed(1)
    const r = await runDisk({ warning: 100, critical: 100 }) // path defaults to /
    expect(r.output).toMatch(new RegExp(`^/ ${expected.replace('.', '\\.')}% used, [\\d.]+ GiB available$`))
    expect(r.perfdata).toBe(`used=${expected}%;100;100;0;100`)
  })

  it('is UNKNOWN for a path that does not exist', async () => {
    const r = await runDisk({ path: '/no/such/mount', warning: 80, critical: 90 })
    expect(r.status).toBe(Status.UNKNOWN)
    expect(r.output).toMatch(/\/no\/such\/mount/)
  })
})

describe('runMemory', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>
  beforeEach(async () => { tmp = await tempDir() })
  afterEach(async () => { await tmp.remove() })

  it('grades the available percent from the real /proc/meminfo', async () => {
    expect((await runMemory({ warning: 0, critical: 0 })).status).toBe(Status.OK)
    expect((await runMemory({ warning: 100, critical: 0 })).status).toBe(Status.WARNING)
    expect((await runMemory({ warning: 100, critical: 100 })).status).toBe(Status.CRITICAL)
  })

  it('computes MemAvailable / MemTotal', async () => {
    const meminfoPath = join(tmp.dir, 'meminfo')
    await writeFile(meminfoPath, 'MemTotal:       2097152 kB\nMemFree:          10000 kB\nMemAvailable:     157286 kB\n')
    const r = await runMemory({ warning: 10, critical: 5, meminfoPath })
    expect(r).toMatchObject({ status: Status.WARNING, output: '7.5% memory available (0.1 of 2.0 GiB)', perfdata: 'available=7.5%;10;5;0;100' })
    expect((await runMemory({ warning: 10, critical: 8, meminfoPath })).status).toBe(Status.CRITICAL)
  })

  it('is UNKNOWN without MemAvailable', async () => {
    const meminfoPath = join(tmp.dir, 'meminfo')
    await writeFile(meminfoPath, 'MemTotal: 1000 kB\n')
    expect((await runMemory({ warning: 10, critical: 5, meminfoPath })).status).toBe(Status.UNKNOWN)
  })
})

describe('runLoad', () => {
  it('is OK under thresholds nothing reaches', async () => {
    const r = await runLoad({ warning: 1e6, critical: 1e6 })
    expect(r.status).toBe(Status.OK)
    expect(r.output).toMatch(/^load average [\d.]+, [\d.]+, [\d.]+$/)
  })

  it('grades the 1-minute load', async () => {
    // the real load may be 0 on an idle machine, so the states above OK use a given load
    const at = (l1: number) => () => [l1, 1, 0.5]
    expect(await runLoad({ warning: 4, critical: 8, loadavg: at(5) }))
      .toMatchObject({ status: Status.WARNING, output: 'load average 5.00, 1.00, 0.50', perfdata: 'load1=5.00;4;8;0 load5=1.00 load15=0.50' })
    expect((await runLoad({ warning: 4, critical: 8, loadavg: at(9) })).status).toBe(Status.CRITICAL)
    expect((await runLoad({ warning: 4, critical: 8, loadavg: at(4) })).status).toBe(Status.OK)
  })
})
