/**
 * Devices: machines that don't run meshmon and report to any peer, over the
 * WebSocket protocol of the detection service meshmon replaces, or by HTTP
 * push. The bounds below are the one definition every edge checks against
 * (WebSocket bodies, pushes, announcements from peers, the config).
 */
export type DeviceState = 'up' | 'down' | 'unknown' | 'left'
export const DEVICE_STATES: readonly DeviceState[] = ['up', 'down', 'unknown', 'left']
/** how the device reports: a WebSocket connection, HTTP pushes, or not yet (declared in the config) */
export type DeviceKind = 'websocket' | 'push' | 'declared'
export type DeviceExpect = 'always-on' | 'intermittent'
export type DeviceStatus = 'ok' | 'warning' | 'critical'
/** why a via peer calls its device down: connection closed, no ping/message past the idle timeout, no push within 2 x interval */
export type DownReason = 'closed' | 'idle' | 'silent'

export interface DeviceGpu {
  index: string
  name: string
  /** 0..1; null when the device did not say */
  utilizationRatio: number | null
  memoryUsedBytes: number | null
  memoryTotalBytes: number | null
}

/** What a device says about itself. Replaced, never mutated, when it says something new. */
export interface DeviceData {
  project: string
  gpus: DeviceGpu[]
  models: string[]
  /** bytes (the protocol's memory_total, MiB, is GPU memory) */
  memoryTotal: number | null
  /** pushed metrics (and values the protocol sends that fit no other field) */
  metrics: Record<string, number>
  status: DeviceStatus | null
  message: string
  /** extra identifiers later clients send: machine_id, container_id, staking_type, cpu_type */
  info: Record<string, string>
}

export const LIMITS = {
  /** a device id, a metric name: label values and URL path segments */
  idLength: 128,
  /** project, model and GPU names, info values */
  textLength: 256,
  messageLength: 1024,
  gpus: 16,
  models: 64,
  metrics: 64,
  info: 8,
  /** largest WebSocket frame or push body handled; larger ones get a "too large" answer */
  frameBytes: 64 * 1024,
  /** bytes / MiB values above this are not believed */
  maxBytes: 2 ** 60,
  /** a device's data as JSON (escapes can grow text 6-fold): keeps every announcement entry far under 64 KiB */
  dataBytes: 16 * 1024,
  /** push deadline interval bounds, ms */
  minIntervalMs: 1000,
  maxIntervalMs: 86_400_000
} as const

/** Device ids: letters, digits and . _ : @ + = ~ - (safe in URLs, labels and logs). */
export const DEVICE_ID = /^[A-Za-z0-9._:@+=~-]{1,128}$/
export const DEVICE_ID_RULE = '1-128 letters, digits or . _ : @ + = ~ -'
/** Metric names in a push: Prometheus-friendly characters. */
export const METRIC_NAME = /^[A-Za-z0-9_.:-]{1,128}$/
export const METRIC_NAME_RULE = '1-128 letters, digits or _ . : -'


/** A device as this peer sees the mesh (the device table's record, read-only for others). */
export interface Device {
  readonly id: string
  readonly state: DeviceState
  /** unix ms when the state last changed (this peer's clock) */
  readonly stateSince: number
  /** unix ms the via peer last heard it (0: never); as of the via's latest announcement */
  readonly lastSeen: number
  /** peer id of the peer it reports to; null while never heard */
  readonly via: string | null
  readonly viaName: string
  readonly kind: DeviceKind
  readonly expect: DeviceExpect
  /** push deadline interval, ms (null for WebSocket devices) */
  readonly interval: number | null
  readonly data: DeviceData
  readonly declared: boolean
  /** down past the confirmation delay: MeshDeviceDown holds */
  readonly alerting: boolean
}

/** Requests turned away before they reach a device (meshmon_device_ingest_refused_total). */
export type RefusedReason = 'unauthorized' | 'too_many_connections' | 'too_many_devices'
/** Frames and pushes answered with an error (meshmon_device_ingest_errors_total). */
export type ErrorReason = 'bad_request' | 'not_online' | 'too_large'
export interface IngestCounters { refused: Record<RefusedReason, number>, errors: Record<ErrorReason, number> }
export const ingestCounters = (): IngestCounters => ({
  refused: { unauthorized: 0, too_many_connections: 0, too_many_devices: 0 },
  errors: { bad_request: 0, not_online: 0, too_large: 0 }
})
