/**
 * Size and free space of each real filesystem, from statfs(2), computed the way
 * node_exporter does (blocks and bavail times f_bsize), so the numbers in a
 * heartbeat match node_filesystem_size_bytes / node_filesystem_avail_bytes.
 */
import { statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { parseMountinfo, realMounts, type Mount } from './mounts.js'
import { readText } from './proc.js'
import type { Filesystem } from './types.js'

export interface FilesystemReaderInit {
  /** where /proc is mounted @default '/proc' */
  procPath?: string
  /** give up on a mount whose statfs takes longer (a dead NFS server) @default 1000 */
  statfsTimeoutMs?: number
  /** told about each mount that failed or timed out; the mount is then left out @default none */
  onError?: (mountpoint: string, err: unknown) => void
}

export interface FilesystemReader {
  read: () => Promise<Filesystem[]>
}

export function filesystemReader (init: FilesystemReaderInit = {}): FilesystemReader {
  const procPath = init.procPath ?? '/proc'
  const timeoutMs = init.statfsTimeoutMs ?? 1000
  // statfs on a hung mount blocks a libuv pool thread until the server answers; asking again
  // every collect would use up the pool (4 threads) and stall all file I/O of the node
  const pending = new Set<string>()

  const measure = async (m: Mount): Promise<Filesystem | null> => {
    if (pending.has(m.mountpoint)) return null
    pending.add(m.mountpoint)
    const call = statfs(m.mountpoint).finally(() => pending.delete(m.mountpoint))
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`statfs timed out after ${timeoutMs} ms`)) }, timeoutMs)
    })
    try {
      const s = await Promise.race([call, timeout])
      // size 0: a pseudo filesystem that is not in the skip list
      if (s.blocks === 0 && m.mountpoint !== '/') return null
      return { mountpoint: m.mountpoint, device: m.device, type: m.type, sizeBytes: s.blocks * s.bsize, availBytes: s.bavail * s.bsize }
    } catch (err) {
      call.catch(() => {}) // the late outcome of a timed out call is of no interest
      init.onError?.(m.mountpoint, err)
      return null
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    async read () {
      const text = await readText(join(procPath, 'self', 'mountinfo'))
      // without mountinfo (not Linux) `/` is still worth reporting
      const mounts = text === null ? [{ deviceId: '', root: '/', mountpoint: '/', type: '', device: '' }] : realMounts(parseMountinfo(text))
      const measured = await Promise.all(mounts.map(measure))
      return measured.filter((f): f is Filesystem => f !== null)
    }
  }
}
