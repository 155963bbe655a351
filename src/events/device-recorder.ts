/**
 * Devices' incidents as events, one entry per incident however many peers
 * watched it: `device.offline` once a device stayed down past the
 * confirmation delay (not when it moved to another peer), `device.online`
 * when such a device came back. The incident id follows from the device and
 * its session (via and connect time, the same on every peer), so racing
 * writers collapse into one indexed event. The writer is the device's via
 * when that peer is up (it saw the connection end), otherwise the live peer
 * with the smallest id; the others write only if, `fallbackMs` later, the
 * event is not in their log.
 */
import type { Logger } from 'pino'
import type { Incident } from '../devices/table.js'
import type { PeerTable } from '../heartbeat/peer-table.js'
import { incidentId } from './recorder.js'
import type { EventInput, MeshEvent } from './types.js'

export interface DeviceRecorderSink {
  append: (e: EventInput) => Promise<MeshEvent>
  has: (id: string) => Promise<boolean>
}

export interface DeviceIncidentSource {
  on: (event: 'incident', listener: (i: Incident) => void) => unknown
  off: (event: 'incident', listener: (i: Incident) => void) => unknown
}

export interface DeviceRecorderInit {
  /** @default 5000 */
  fallbackMs?: number
  /** the confirmation delay, for the message @default 10_000 */
  alertAfterMs?: number
}

const CAUSE: Record<string, string> = {
  closed: 'its connection closed',
  idle: 'it sent neither ping nor message for the idle timeout',
  silent: 'no push within 2 x its interval'
}

export class DeviceIncidentRecorder {
  readonly #devices: DeviceIncidentSource
  readonly #peers: PeerTable
  readonly #self: string
  readonly #log: Logger
  readonly #sink: DeviceRecorderSink
  readonly #init: Required<DeviceRecorderInit>
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #onIncident = (i: Incident): void => { this.#incident(i) }

  constructor (c: { devices: DeviceIncidentSource, peers: PeerTable, peerId: string, log: Logger }, sink: DeviceRecorderSink, init: DeviceRecorderInit = {}) {
    this.#devices = c.devices
    this.#peers = c.peers
    this.#self = c.peerId
    this.#log = c.log
    this.#sink = sink
    this.#init = { fallbackMs: init.fallbackMs ?? 5000, alertAfterMs: init.alertAfterMs ?? 10_000 }
  }

  start (): void { this.#devices.on('incident', this.#onIncident) }

  stop (): void {
    this.#devices.off('incident', this.#onIncident)
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
  }

  /** Who writes an incident about a device last reported through `via`. */
  writerFor (via: string | null): string | undefined {
    if (via !== null && (via === this.#self || this.#peers.get(via)?.state === 'up')) return via
    let writer: string | undefined
    for (const p of this.#peers.list()) if (p.state === 'up' && (writer === undefined || p.peerId < writer)) writer = p.peerId
    return writer
  }

  #incident ({ type, device: d, session, cause }: Incident): void {
    const via = session?.via ?? null
    const viaText = d.viaName !== '' ? ` (via ${d.viaName})` : ''
    const e: EventInput = {
      id: incidentId(`device.${type}`, d.id, via ?? 'never', session?.since ?? 'never'),
      ts: new Date(type === 'offline' ? d.stateSince : Date.now()).toISOString(),
      type: `device.${type}`,
      severity: type === 'offline' ? 'warning' : 'info',
      // a device's events: the device by its id, the peer it reported through (labels say project and via name)
      subject: { peer: via ?? '', name: d.id },
      message: type === 'online' ? `device ${d.id} is up again${viaText}` : this.#offlineText(d.id, viaText, cause),
      labels: { device: d.id, project: d.data.project, via: d.viaName }
    }
    if (this.writerFor(via) === this.#self) { this.#write(e); return }
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#sink.has(e.id as string).then(held => {
        if (held) return
        this.#log.info({ type: e.type, device: d.id }, 'the designated writer did not record this device incident: recording it')
        this.#write(e)
      }, () => {})
    }, this.#init.fallbackMs)
    timer.unref()
    this.#timers.add(timer)
  }

  #offlineText (id: string, viaText: string, cause: Incident['cause']): string {
    if (cause === 'never') return `device ${id} is down: it never reported`
    if (cause === 'via-gone') return `device ${id} is down: the peer it reported to${viaText} died, and it did not reconnect to another one in time`
    const within = Math.round(this.#init.alertAfterMs / 1000)
    return `device ${id} is down: ${CAUSE[cause ?? 'closed'] ?? 'it stopped reporting'}${viaText}; it did not come back on any peer within ${within}s`
  }

  #write (e: EventInput): void {
    this.#sink.append(e).catch((err: Error) => { this.#log.warn({ err: err.message, type: e.type, device: e.subject.name }, 'device event not written') })
  }
}
