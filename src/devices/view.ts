/** `GET /api/v1/devices[?state=down,unknown&order=trouble&limit=50]`: the devices of the mesh as this peer sees them, times as ISO 8601. */
import { HTTPException } from 'hono/http-exception'
import { DEVICE_STATES, type Device, type DeviceState } from './types.js'

export interface DeviceView {
  id: string
  project: string
  /** peer id of the peer it reports to (null: never heard) and that peer's name */
  via: string | null
  viaName: string
  state: DeviceState
  stateSince: string
  lastSeen: string | null
  gpus: Device['data']['gpus']
  models: string[]
  memoryTotal: number | null
  metrics: Record<string, number>
  status: Device['data']['status']
  message: string
  kind: Device['kind']
  expect: Device['expect']
  /** push interval, ms */
  interval: number | null
  info: Record<string, string>
}

const iso = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null)

export function deviceView (d: Device): DeviceView {
  const { data } = d
  return {
    id: d.id,
    project: data.project,
    via: d.via,
    viaName: d.viaName,
    state: d.state,
    stateSince: new Date(d.stateSince).toISOString(),
    lastSeen: iso(d.lastSeen),
    gpus: data.gpus,
    models: data.models,
    memoryTotal: data.memoryTotal,
    metrics: data.metrics,
    status: data.status,
    message: data.message,
    kind: d.kind,
    expect: d.expect,
    interval: d.interval,
    info: data.info
  }
}

/** `order=trouble`: down first, then unknown, up, left (each by id): what needs a look, first */
const TROUBLE: Record<DeviceState, number> = { down: 0, unknown: 1, up: 2, left: 3 }
const PARAMS = ['state', 'order', 'limit']
const MAX_LIMIT = 1_000_000

/**
 * The devices a query asks for: `state` (one or a comma list), `order` (`id`, the default, or
 * `trouble`), `limit` (the first N in that order). A bad parameter is a 400 that names it.
 */
export function queryDevices<T extends { id: string, state: string }> (devices: T[], params: URLSearchParams): T[] {
  for (const key of params.keys()) {
    if (!PARAMS.includes(key)) throw new HTTPException(400, { message: `unknown parameter '${key}'; use ${PARAMS.join(', ')}` })
  }
  let states: Set<string> | undefined
  const state = params.get('state')
  if (state !== null) {
    states = new Set(state.split(',').map(s => s.trim()))
    const wrong = [...states].find(s => !(DEVICE_STATES as readonly string[]).includes(s))
    if (wrong !== undefined) throw new HTTPException(400, { message: `state must be one of ${DEVICE_STATES.join(', ')} (comma-separated for several), not '${wrong}'` })
  }
  const order = params.get('order') ?? 'id'
  if (order !== 'id' && order !== 'trouble') throw new HTTPException(400, { message: `order must be id or trouble (down, unknown, up, left), not '${order.slice(0, 64)}'` })
  const limitText = params.get('limit')
  const limit = limitText === null ? Infinity : Number(limitText)
  if (limitText !== null && !(/^[0-9]+$/.test(limitText) && limit >= 1 && limit <= MAX_LIMIT)) {
    throw new HTTPException(400, { message: `limit must be a whole number from 1 to ${MAX_LIMIT}, not '${limitText.slice(0, 64)}'` })
  }
  const byId = (a: T, b: T): number => a.id < b.id ? -1 : a.id > b.id ? 1 : 0
  const rank = (d: T): number => TROUBLE[d.state as DeviceState] ?? 1
  return devices
    .filter(d => states === undefined || states.has(d.state))
    .sort(order === 'trouble' ? (a, b) => rank(a) - rank(b) || byId(a, b) : byId)
    .slice(0, limit)
}

/** The devices a query asks for, as the API lists them. */
export function listDevices (devices: Device[], params: URLSearchParams): DeviceView[] {
  return queryDevices(devices, params).map(deviceView)
}

/** `GET /api/v1/devices/counts`: how many devices are in each state (every state named, 0 included). */
export function countStates (devices: Iterable<{ state: string }>): Record<DeviceState, number> {
  const out: Record<DeviceState, number> = { down: 0, unknown: 0, up: 0, left: 0 }
  for (const d of devices) if (d.state in out) out[d.state as DeviceState]++
  return out
}
