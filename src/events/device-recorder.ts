/**
 * Devices' incidents as events, one entry per incident however many peers
 * watched it: `device.offline` once a device stayed down past the
 * confirmation delay (not when it moved to another peer), `device.online`
 * when such a device came back. The incident id follows from the device and
 * its session (via and connect time, the same on every peer), so racing
 * writers collapse into one indexed event. The writer is the device's via
 * when that peer is live (it saw the connection end), otherwise the live peer
 * with the smallest id; if the event is still missing from the log later, a
 * few others write it, in turn, and the rest only a minute later
 * (writers.ts): a cut that drops thousands of devices must not be written
 * once per peer.
 */
import type { Logger } from 'pino'
import type { Incident } from '../devices/table.js'
import type { PeerTable } from '../heartbeat/peer-table.js'
import { incidentId } from './recorder.js'
import type { EventInput, MeshEvent } from './types.js'
import { writerRank, Writers, type WritersInit } from './writers.js'

export interface DeviceRecorderSink {
  append: (e: EventInput) => Promise<MeshEvent>
  has: (id: string) => Promise<boolean>
}

export interface DeviceIncidentSource {
  on: (event: 'incident', listener: (i: Incident) => void) => unknown
  off: (event: 'incident', listener: (i: Incident) => void) => unknown
}

export interface DeviceRecorderInit extends WritersInit {
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
  readonly #alertAfterMs: number
  readonly #writers: Writers
  readonly #onIncident = (i: Incident): void => { this.#incident(i) }

  constructor (c: { devices: DeviceIncidentSource, peers: PeerTable, peerId: string, log: Logger }, sink: DeviceRecorderSink, init: DeviceRecorderInit = {}) {
    this.#devices = c.devices
    this.#peers = c.peers
    this.#self = c.peerId
    this.#log = c.log
    this.#sink = sink
    this.#alertAfterMs = init.alertAfterMs ?? 10_000
    this.#writers = new Writers(init)
  }

  start (): void { this.#devices.on('incident', this.#onIncident) }

  stop (): void {
    this.#devices.off('incident', this.#onIncident)
    this.#writers.stop()
  }

  /** This node's place in the order of writers of an incident about a device last reported through `via` (0: it writes). */
  rankFor (via: string | null): number | undefined { return writerRank(this.#peers, this.#self, { first: via }) }

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
    this.#writers.record(() => this.rankFor(via), async () => await this.#sink.has(e.id as string), (rank, fallback) => {
      if (fallback) this.#log.info({ type: e.type, device: d.id, rank }, 'the designated writer did not record this device incident: recording it')
      this.#write(e)
    })
  }

  #offlineText (id: string, viaText: string, cause: Incident['cause']): string {
    if (cause === 'never') return `device ${id} is down: it never reported`
    if (cause === 'via-gone') return `device ${id} is down: the peer it reported to${viaText} died, and it did not reconnect to another one in time`
    const within = Math.round(this.#alertAfterMs / 1000)
    return `device ${id} is down: ${CAUSE[cause ?? 'closed'] ?? 'it stopped reporting'}${viaText}; it did not come back on any peer within ${within}s`
  }

  #write (e: EventInput): void {
    this.#sink.append(e).catch((err: Error) => { this.#log.warn({ err: err.message, type: e.type, device: e.subject.name }, 'device event not written') })
  }
}
