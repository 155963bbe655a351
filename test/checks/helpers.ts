/** Shared test helpers for checks: process liveness, temp dirs, local servers. */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const PLUGINS = '/usr/lib/nagios/plugins'

/**
 * Is `pid` a live process? A zombie counts as gone: it has exited and only
 * waits for its reaper (PID 1 for orphans), which is not us.
 */
export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** A fresh temp dir and its remover. */
export async function tempDir (): Promise<{ dir: string, remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'meshmon-checks-'))
  return { dir, remove: async () => { await rm(dir, { recursive: true, force: true }) } }
}

/** Listen on 127.0.0.1 at a random port; returns the port. */
export async function listen (server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no port')
  return addr.port
}

export async function close (server: Server): Promise<void> {
  if (!server.listening) return
  const s = server as Server & { closeAllConnections?: () => void }
  s.closeAllConnections?.() // http servers: don't wait for idle keep-alive sockets
  await new Promise<void>(resolve => server.close(() => resolve()))
}

/** A port on 127.0.0.1 that nothing listens on (was free a moment ago). */
export async function closedPort (): Promise<number> {
  const { createServer } = await import('node:net')
  const server = createServer()
  const port = await listen(server)
  await close(server)
  return port
}
