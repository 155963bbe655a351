/**
 * Parser for `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.total,memory.used
 * --format=csv,noheader,nounits`. Pure, so it is tested on recorded output.
 */
import type { Gpu } from './types.js'

/** The fields asked of nvidia-smi, in the order parseNvidiaSmi expects them. */
export const NVIDIA_SMI_QUERY = ['index', 'name', 'utilization.gpu', 'memory.total', 'memory.used'] as const

const MIB = 1024 * 1024

/**
 * A number, or 0 for the placeholders nvidia-smi prints when it has no value:
 * "[N/A]" (utilization under MIG), "[Not Supported]" (some GeForce boards),
 * "[Unknown Error]". 0 rather than NaN because a heartbeat only carries finite numbers.
 */
function num (field: string | undefined): number {
  const n = Number(field?.trim())
  return field === undefined || field.trim() === '' || !Number.isFinite(n) || n < 0 ? 0 : n
}

/** One Gpu per data line. Blank lines and lines without all five fields are skipped. */
export function parseNvidiaSmi (csv: string): Gpu[] {
  const gpus: Gpu[] = []
  for (const line of csv.split(/\r?\n/)) {
    const fields = line.split(',').map(f => f.trim())
    if (fields.length < NVIDIA_SMI_QUERY.length) continue
    // only the name is free text: take index from the front and the numbers from the back
    const index = fields[0] ?? ''
    const [util, total, used] = fields.slice(-3)
    const name = fields.slice(1, -3).join(', ')
    if (index === '' || !/^\d+$/.test(index)) continue // an error message, not a GPU line
    gpus.push({
      index,
      name,
      utilizationRatio: Math.min(1, num(util) / 100),
      memoryTotalBytes: num(total) * MIB,
      memoryUsedBytes: num(used) * MIB
    })
  }
  return gpus
}
