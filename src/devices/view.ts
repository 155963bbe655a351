/** `GET /api/v1/devices[?state=down,unknown]`: every device of the mesh as this peer sees it, times as ISO 8601. */
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

/** The devices a query asks for, sorted by id; a bad parameter is a 400 that names it. */
export function listDevices (devices: Device[], params: URLSearchParams): DeviceView[] {
  for (const key of params.keys()) {
    if (key !== 'state') throw new HTTPException(400, { message: `unknown parameter '${key}'; use state` })
  }
  let states: Set<string> | undefined
  const state = params.get('state')
  if (state !== null) {
    states = new Set(state.split(',').map(s => s.trim()))
    const wrong = [...states].find(s => !(DEVICE_STATES as readonly string[]).includes(s))
    if (wrong !== undefined) throw new HTTPException(400, { message: `state must be one of ${DEVICE_STATES.join(', ')} (comma-separated for several), not '${wrong}'` })
  }
  return devices
    .filter(d => states === undefined || states.has(d.state))
    .sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    .map(deviceView)
}
