/** GPUs through `nvidia-smi`, where it exists (SPEC 3). */
import { execFile } from 'node:child_process'
import type { Gpu } from './types.js'

export const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,utilization.gpu,memory.total,memory.used', '--format=csv,noheader,nounits']
const MiB = 1024 * 1024

/** Parse `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.total,memory.used --format=csv,noheader,nounits`. */
export function parseNvidiaSmi (csv: string): Gpu[] {
  const num = (s: string | undefined): number => {
    const n = Number(s?.trim())
    return Number.isFinite(n) && s?.trim() !== '' ? n : 0 // "[N/A]" and "[Not Supported]" read as 0
  }
  const gpus: Gpu[] = []
  for (const line of csv.split(/\r?\n/)) {
    if (line.trim() === '') continue
    const f = line.split(',').map(s => s.trim())
    if (f.length < 5) continue
    // a name may itself hold commas: index first, the three numbers last
    const [index = '', ...rest] = f
    const used = rest.pop(); const total = rest.pop(); const util = rest.pop()
    gpus.push({ index, name: rest.join(', '), utilizationRatio: num(util) / 100, memoryTotalBytes: num(total) * MiB, memoryUsedBytes: num(used) * MiB })
  }
  return gpus
}

/** [] when nvidia-smi is missing, fails, or takes longer than `timeoutMs`. */
export async function queryGpus (timeoutMs = 2000, bin = 'nvidia-smi'): Promise<Gpu[]> {
  return await new Promise(resolve => {
    execFile(bin, NVIDIA_SMI_ARGS, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout) => {
      resolve(err == null ? parseNvidiaSmi(stdout) : [])
    })
  })
}
