/**
 * Event log benchmark (`npm run bench`): real libp2p nodes on 127.0.0.1, real
 * OrbitDB, temp dirs. Measures the append rate, how long a fresh peer takes to
 * hold every event (batched entries, and one-event entries for comparison),
 * opening the log and reading the last 100 at 10k and 100k events, and RSS.
 */
import '../src/shim.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { LevelDatastore } from 'datastore-level'
import pino from 'pino'
import { createMeshLibp2p, type MeshLibp2p } from '../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../src/mesh/swarm-key.js'
import { openEventLog, type EventLog, type EventLogInit } from '../src/events/log.js'
import type { EventInput } from '../src/events/types.js'
import { waitFor } from '../test/support/wait.js'

export interface BenchEventsOptions {
  /** catch-up sizes: a fresh peer must hold this many events @default [1000, 10000] */
  events?: number[]
  /** sizes at which to time open + last 100 after a restart @default [10000, 100000] */
  openAt?: number[]
  /** one-event entries (events written one at a time) a fresh peer catches up on @default 10000 */
  singleEntries?: number
}

interface BenchNode { libp2p: MeshLibp2p, datastore: LevelDatastore, dataDir: string, log: EventLog, reopen: () => Promise<number>, stop: () => Promise<void> }

const quiet = pino({ level: 'silent' })
const event = (i: number): EventInput => ({
  type: 'peer.down', severity: 'critical', subject: { peer: `12D3KooWBench${String(i % 500).padStart(40, '0')}`, name: `node-${i % 500}` },
  message: `node-${i % 500} is down: no heartbeat for 5s and no live peer heard it`, labels: { role: 'gpu-worker', project: 'bench' }
})

async function benchNode (meshKey: Uint8Array, dirs: string[], init: Partial<EventLogInit> = {}): Promise<BenchNode> {
  const dataDir = await mkdtemp(join(tmpdir(), 'meshmon-bench-events-'))
  dirs.push(dataDir)
  const datastore = new LevelDatastore(join(dataDir, 'datastore'))
  await datastore.open()
  const privateKey = await generateKeyPair('Ed25519')
  const libp2p = await createMeshLibp2p({ privateKey, swarmKey: meshKey, listen: ['/ip4/127.0.0.1/tcp/0'], datastore })
  const components = { libp2p, datastore, log: quiet, peerId: libp2p.peerId.toString(), privateKey }
  const full: EventLogInit = { dataDir, meshKey, retentionMs: 7 * 86_400_000, ...init }
  const node: BenchNode = {
    libp2p, datastore, dataDir, log: await ready(await openEventLog(components, full)),
    // stop the log, open it again and read the newest 100: ms
    reopen: async () => {
      await node.log.stop()
      const t0 = performance.now()
      node.log = await openEventLog(components, full)
      const last = await node.log.query({ limit: 100 })
      const ms = performance.now() - t0
      if (last.length !== Math.min(100, node.log.count())) throw new Error(`read ${last.length} of the last 100`)
      // the replicated log opens behind the index: not part of what a reader waits for
      await node.log.ready()
      return ms
    },
    stop: async () => { await node.log.stop(); await libp2p.stop(); await datastore.close() }
  }
  return node
}

async function ready (log: EventLog): Promise<EventLog> {
  await log.ready()
  return log
}

/** Seconds until a fresh peer, dialed to `source`, holds `n` events. */
async function catchUp (source: BenchNode, n: number, meshKey: Uint8Array, dirs: string[], timeoutMs: number, init: Partial<EventLogInit> = {}): Promise<number> {
  const fresh = await benchNode(meshKey, dirs, init)
  try {
    const t0 = performance.now()
    await fresh.libp2p.dial(source.libp2p.getMultiaddrs()[0]!)
    await waitFor(`a fresh peer to hold ${n} events`, () => fresh.log.count() >= n, timeoutMs, 20)
    return (performance.now() - t0) / 1000
  } finally { await fresh.stop() }
}

export async function benchEvents (opts: BenchEventsOptions = {}): Promise<Record<string, number>> {
  const sizes = [...(opts.events ?? [1000, 10_000])].sort((a, b) => a - b)
  const openAt = [...(opts.openAt ?? [10_000, 100_000])].sort((a, b) => a - b)
  const meshKey = normaliseSwarmKey(generateSwarmKey())
  const dirs: string[] = []
  const out: Record<string, number> = {}
  const a = await benchNode(meshKey, dirs)
  // writing and catching up must never hold heartbeats back: event loop delay over appends, catch-ups and reopens
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  try {
    let written = 0
    let appendMs = 0
    const grow = async (to: number): Promise<void> => {
      while (written < to) {
        const n = Math.min(10_000, to - written)
        const t0 = performance.now()
        await a.log.appendMany(Array.from({ length: n }, (_, i) => event(written + i)))
        appendMs += performance.now() - t0
        written += n
      }
    }
    for (const size of [...new Set([...sizes, ...openAt])].sort((x, y) => x - y)) {
      await grow(size)
      if (sizes.includes(size)) out[`events_catchup_${size}_s`] = Number((await catchUp(a, size, meshKey, dirs, 120_000)).toFixed(2))
      if (openAt.includes(size)) out[`events_open_last100_at_${size}_ms`] = Number((await a.reopen()).toFixed(1))
    }
    out.events_append_per_s = Math.round(written / appendMs * 1000)
    out.events_loop_delay_max_ms = Math.round(lag.max / 1e6)
    out.events_loop_delay_p99_ms = Math.round(lag.percentile(99) / 1e6)
    out.events_rss_mb = Math.round(process.memoryUsage().rss / 1e6)

    // the worst case for catch-up: entries of one event each (events written one at a time, far apart)
    const single = opts.singleEntries ?? 10_000
    if (single > 0) {
      const otherMesh = normaliseSwarmKey(generateSwarmKey())
      const s = await benchNode(otherMesh, dirs, { maxEvents: 1 })
      try {
        await s.log.appendMany(Array.from({ length: single }, (_, i) => event(i)))
        out[`events_catchup_${single}_one_event_entries_s`] = Number((await catchUp(s, single, otherMesh, dirs, 120_000)).toFixed(2))
        // OrbitDB's replication alone, without index sync (a fresh log indexes nothing until the walk
        // back from the heads has reached the first entry, so this is the time for all of them)
        out[`events_orbitdb_only_catchup_${single}_one_event_entries_s`] = Number((await catchUp(s, single, otherMesh, dirs, 300_000, { indexSync: false })).toFixed(1))
      } finally { await s.stop() }
    }
  } finally {
    lag.disable()
    await a.stop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  }
  return out
}
