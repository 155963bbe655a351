import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { findOnPath, queryGpus } from '../../src/machine/gpus.js'
import { parseNvidiaSmi } from '../../src/machine/nvidia-smi.js'
import { tree, type Tree } from './helpers.js'

const MIB = 1024 * 1024
const fixture = join(import.meta.dirname, 'fixtures', 'nvidia-smi-a100x4.csv')

describe('parseNvidiaSmi', () => {
  it('parses recorded output of four GPUs, [N/A] utilization as 0', async () => {
    const gpus = parseNvidiaSmi(await readFile(fixture, 'utf8'))
    expect(gpus).toHaveLength(4)
    expect(gpus[0]).toEqual({ index: '0', name: 'NVIDIA A100-SXM4-80GB', utilizationRatio: 0.87, memoryTotalBytes: 81920 * MIB, memoryUsedBytes: 65231 * MIB })
    expect(gpus[2]).toMatchObject({ index: '2', utilizationRatio: 0, memoryUsedBytes: 40123 * MIB })
    expect(gpus[3]?.utilizationRatio).toBe(1)
    expect(gpus.map(g => g.index)).toEqual(['0', '1', '2', '3'])
  })

  it('tolerates blank lines, CRLF, placeholders and an error message', () => {
    const csv = '\r\n0, NVIDIA GeForce RTX 3090, [Not Supported], 24576, [N/A]\r\n\n' +
      'Unable to determine the device handle for GPU 0000:3B:00.0: Unknown Error\n' +
      '1, Weird, Name, With Commas, 5, 1024, 512\n'
    expect(parseNvidiaSmi(csv)).toEqual([
      { index: '0', name: 'NVIDIA GeForce RTX 3090', utilizationRatio: 0, memoryTotalBytes: 24576 * MIB, memoryUsedBytes: 0 },
      { index: '1', name: 'Weird, Name, With Commas', utilizationRatio: 0.05, memoryTotalBytes: 1024 * MIB, memoryUsedBytes: 512 * MIB }
    ])
    expect(parseNvidiaSmi('')).toEqual([])
    expect(parseNvidiaSmi('NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.\n')).toEqual([])
  })
})

describe('queryGpus', () => {
  let bin: Tree
  beforeEach(async () => {
    const csv = await readFile(fixture, 'utf8')
    bin = await tree({
      'ok/nvidia-smi': `#!/bin/sh\n[ "$1" = "--query-gpu=index,name,utilization.gpu,memory.total,memory.used" ] || exit 2\ncat <<'CSV'\n${csv}CSV\n`,
      'broken/nvidia-smi': '#!/bin/sh\necho "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver."\nexit 9\n',
      // exec: the shell must not keep the pipe open through a child after the kill
      'hung/nvidia-smi': '#!/bin/sh\nexec sleep 30\n'
    })
  })
  afterEach(async () => { await bin.remove() })

  it('finds the program on PATH, or null', async () => {
    expect(await findOnPath('nvidia-smi', `/nonexistent:${join(bin.dir, 'ok')}`)).toBe(join(bin.dir, 'ok', 'nvidia-smi'))
    expect(await findOnPath('nvidia-smi', '/nonexistent')).toBeNull()
  })

  it('runs nvidia-smi with the query and parses its output', async () => {
    const gpus = await queryGpus({ command: join(bin.dir, 'ok', 'nvidia-smi') })
    expect(gpus.map(g => g.utilizationRatio)).toEqual([0.87, 0, 0, 1])
  })

  it('gives [] when nvidia-smi is not installed', async () => {
    expect(await queryGpus({ command: join(bin.dir, 'missing', 'nvidia-smi') })).toEqual([])
  })

  it('rejects when nvidia-smi fails or hangs past the timeout', async () => {
    await expect(queryGpus({ command: join(bin.dir, 'broken', 'nvidia-smi') })).rejects.toThrow()
    const started = Date.now()
    await expect(queryGpus({ command: join(bin.dir, 'hung', 'nvidia-smi'), timeoutMs: 200 })).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
