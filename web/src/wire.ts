/**
 * The JSON the node serves, as the page reads it: /api/v1/peers, /api/v1/alerts,
 * /api/v1/events, /api/v1/devices and the /api/v1/stream events. Machine info,
 * check and event shapes are the server's own types (type-only imports, no code).
 */
import type { CheckState } from '../../src/checks/types.js'
import type { MeshEvent } from '../../src/events/types.js'
import type { MachineInfo } from '../../src/machine/types.js'

export type { MachineInfo, MeshEvent }
export type PeerState = 'up' | 'suspect' | 'down' | 'left'

export interface CheckView extends Omit<CheckState, 'lastRun' | 'since'> {
  statusName: string
  lastRun: string | null
  since: string | null
}

export interface PeerView {
  peerId: string
  name: string
  state: PeerState
  stateSince: string
  lastSeen: string | null
  self: boolean
  addrs: string[]
  labels: Record<string, string>
  expect: 'always-on' | 'intermittent'
  interval: number
  agent: string
  machine: MachineInfo | null
  checks: CheckView[]
  /** set when the node could not render this peer's data (it then sends only id, name, state and this) */
  error?: string
}

export interface AlertView {
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
}

/** A device (a machine that does not run meshmon) as /api/v1/devices lists it; read defensively. */
export interface DeviceView {
  id: string
  project?: string
  via?: string
  state: string
  stateSince?: string
  lastSeen?: string | null
  gpus?: Array<Record<string, unknown>>
  models?: unknown[]
  memoryTotal?: number
  metrics?: Record<string, number>
  status?: string
  message?: string
}

export interface Snapshot { now: number, peers: PeerView[], alerts: AlertView[], events: MeshEvent[] }
export interface PeersChange { now: number, changed: PeerView[], removed: string[] }
export interface AlertsChange { now: number, alerts: AlertView[] }
export interface EventsChange { now: number, events: MeshEvent[] }
