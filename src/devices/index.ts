/**
 * Devices (machines that don't run meshmon): any peer takes them on its API
 * port, by WebSocket (`/websocket`) or HTTP push (`/api/v1/push/DEVICE`), and
 * announces them to the mesh, so every peer lists, measures and alerts them.
 */
import type { Server } from 'node:http'
import type { Logger } from 'pino'
import { DeviceAnnouncer, type AnnouncerStats, type DevicePubSub } from './announcer.js'
import { IngestAuth } from './auth.js'
import { pushRoutes } from './push.js'
import { DeviceTable, type DeclaredDevice, type ViaState } from './table.js'
import { LogThrottle } from '../log-throttle.js'
import { ingestCounters, type DeviceState, type IngestCounters } from './types.js'
import { listDevices, type DeviceView } from './view.js'
import { WebSocketEndpoint } from './websocket.js'

export { DeviceTable, type DeclaredDevice, type Incident, type IncidentCause } from './table.js'
export { DEVICE_TOPIC } from './wire.js'
export type { Device, DeviceState } from './types.js'
export type { DeviceView } from './view.js'

export interface DevicesComponents {
  pubsub: DevicePubSub
  /** the peer table's view of a peer (via liveness) */
  peerState: (peerId: string) => ViaState | undefined
  peerId: string
  log: Logger
  /** the API's HTTP server: WebSocket upgrades arrive there */
  server: Server
}

export interface DevicesInit {
  /** this node's name (devices show their via by it) */
  name: string
  /** process start, unix ms */
  boot: number
  /** null: ingestion is open */
  token: string | null
  maxDevices: number
  maxConnectionsPerIp: number
  idleTimeoutMs: number
  alertAfterMs: number
  viaGraceMs: number
  declared: DeclaredDevice[]
  /** how often device deadlines are judged, ms @default 250 */
  tickMs?: number
  /** announcement timing (announcer.ts) */
  batchMs?: number
  fullEveryMs?: number
}

export interface DeviceStats extends IngestCounters {
  /** open device WebSocket connections on this peer */
  connections: number
  /** devices in this peer's view, by state */
  states: Record<DeviceState, number>
  announcements: AnnouncerStats
}

export interface Devices {
  table: DeviceTable
  /** GET /api/v1/devices */
  list: (params: URLSearchParams) => DeviceView[]
  /** GET /api/v1/devices/counts */
  counts: () => Record<DeviceState, number>
  /** the push endpoint (a Hono app's fetch) */
  push: (req: Request, env?: unknown) => Response | Promise<Response>
  stats: () => DeviceStats
  /** stops taking devices and announcing them (connections are closed, their devices not marked down) */
  stop: () => Promise<void>
}

export function startDevices (c: DevicesComponents, init: DevicesInit): Devices {
  const log = c.log
  const throttle = new LogThrottle(log)
  const counters = ingestCounters()
  const auth = new IngestAuth(init.token)
  const table = new DeviceTable({
    self: c.peerId,
    selfName: init.name,
    peerState: c.peerState,
    maxDevices: init.maxDevices,
    alertAfterMs: init.alertAfterMs,
    viaGraceMs: init.viaGraceMs,
    declared: init.declared
  })
  const ws = new WebSocketEndpoint({ table, auth, log, throttle, counters }, { idleTimeoutMs: init.idleTimeoutMs, maxConnectionsPerIp: init.maxConnectionsPerIp })
  const announcer = new DeviceAnnouncer({ pubsub: c.pubsub, table, log, throttle, peerId: c.peerId }, { name: init.name, boot: init.boot, batchMs: init.batchMs, fullEveryMs: init.fullEveryMs })
  const push = pushRoutes({ table, auth, throttle, counters })
  // a peer with no device (most of them) has nothing to judge: the ticker runs only while the table holds something
  let ticker: NodeJS.Timeout | undefined
  const tick = (): void => {
    try { table.tick() } catch (err: any) { log.error({ err: err.message }, 'device table tick failed') }
    if (table.idle) { clearInterval(ticker); ticker = undefined }
  }
  const wake = (): void => {
    if (ticker !== undefined) return
    ticker = setInterval(tick, init.tickMs ?? 250)
    ticker.unref()
  }
  table.on('occupied', wake)
  wake()
  announcer.start()
  ws.start(c.server)
  if (auth.open) log.info('device ingestion is open (no ingest.token): any client that reaches the API port can report devices')
  return {
    table,
    list: params => listDevices(table.list(), params),
    counts: () => table.counts(),
    push: async (req, env) => await push.fetch(req, env),
    stats: () => ({ ...counters, connections: ws.connections, states: table.counts(), announcements: announcer.stats }),
    stop: async () => {
      // nothing is announced once stopping: closing the connections must not tell the mesh the devices are down
      announcer.stop()
      table.off('occupied', wake)
      clearInterval(ticker)
      await ws.stop()
    }
  }
}
