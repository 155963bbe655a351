/**
 * GPUs through nvidia-smi, the one tool every NVIDIA driver install ships.
 * Looked up on PATH first (a few stat calls), so a box without it costs no
 * process spawn every collect.
 */
import { execFile } from 'node:child_process'
import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { NVIDIA_SMI_QUERY, parseNvidiaSmi } from './nvidia-smi.js'
import type { Gpu } from './types.js'

export interface GpuQueryInit {
  /** program name (searched on PATH) or path @default 'nvidia-smi' */
  command?: string
  /** a wedged driver can make nvidia-smi hang; it is killed after this @default 2000 */
  timeoutMs?: number
  signal?: AbortSignal
}

/** The executable's path, or null when it is not installed. */
export async function findOnPath (command: string, path = process.env.PATH ?? ''): Promise<string | null> {
  const candidates = command.includes('/') ? [command] : path.split(delimiter).filter(d => d !== '').map(d => join(d, command))
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return null
}

/**
 * GPUs as nvidia-smi reports them; [] when nvidia-smi is not installed.
 * Rejects when it is installed but fails or times out, so the caller can tell
 * "no GPU" from "GPU driver broken".
 */
export async function queryGpus (init: GpuQueryInit = {}): Promise<Gpu[]> {
  const program = await findOnPath(init.command ?? 'nvidia-smi')
  if (program === null) return []
  const args = [`--query-gpu=${NVIDIA_SMI_QUERY.join(',')}`, '--format=csv,noheader,nounits']
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(program, args, {
      timeout: init.timeoutMs ?? 2000,
      killSignal: 'SIGKILL', // a process stuck in the driver ignores SIGTERM
      signal: init.signal,
      maxBuffer: 1024 * 1024,
      encoding: 'utf8'
    }, (err, out) => { if (err === null) resolve(out); else reject(err) })
  })
  return parseNvidiaSmi(stdout)
}
