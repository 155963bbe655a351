/**
 * Alert rules (SPEC 7), pure: the mesh as this node sees it -> the alerts it
 * derives. Every node derives the same alerts from the same mesh, and the
 * labels never name the sender, so N senders make ONE alert in Alertmanager
 * (it deduplicates by the label set). Sender-specific text (generatorURL) goes
 * in the non-identifying fields only.
 */
import { statusName, type CheckState } from '../checks/types.js'
import type { Device } from '../devices/types.js'
import type { Peer } from '../heartbeat/peer-table.js'

/** An alert as Alertmanager's API v2 takes it (`POST /api/v2/alerts`). */
export interface Alert {
  labels: Record<string, string>
  annotations: Record<string, string>
  /** ISO time the condition began (not when it was derived or sent) */
  startsAt: string
  /** ISO; set when pushed: a few resends ahead while active, the resolution time once resolved */
  endsAt?: string
  /** the sending node's API, where a person can see the mesh as that node saw it */
  generatorURL: string
}

export interface RulesInit {
  /** the mesh's name, the `mesh` label: must be the same on every node of the mesh */
  mesh: string
  /** the sending node's API, e.g. http://gpu-01:9521/api/v1/peers */
  generatorURL: string
}

export function deriveAlerts (peers: Peer[], init: RulesInit, devices: Device[] = []): Alert[] {
  const alerts: Alert[] = []
  // a device is alerting once down past the confirmation delay (a move between peers never is);
  // unknown (its peer died: MeshPeerDown says it) and left (intermittent) never are
  for (const device of devices) if (device.alerting && device.state === 'down') alerts.push(deviceDown(device, init))
  for (const peer of peers) {
    if (peer.state === 'down' && peer.expect === 'always-on') alerts.push(peerDown(peer, init))
    // A down or left peer's checks are what its last heartbeat said, possibly long ago:
    // stale, so they raise nothing (MeshPeerDown covers a down peer; a left one is gone on purpose).
    if (peer.state === 'down' || peer.state === 'left') continue
    for (const check of peer.checks) {
      if (check.status === 1 || check.status === 2) alerts.push(checkFailed(peer, check, init))
    }
  }
  return alerts
}

function peerDown (peer: Peer, init: RulesInit): Alert {
  const seen = peer.lastSeen > 0 ? `last seen ${iso(peer.lastSeen)}` : 'never heard directly'
  return {
    labels: { alertname: 'MeshPeerDown', peer: peer.peerId, node: peer.name, severity: 'critical', mesh: init.mesh },
    annotations: {
      summary: `${peer.name} is down`,
      description: `${peer.name} (${peer.peerId}) is down: ${seen}, and no live peer has heard it since`,
      generatorURL: init.generatorURL
    },
    startsAt: iso(peer.stateSince),
    generatorURL: init.generatorURL
  }
}

function deviceDown (d: Device, init: RulesInit): Alert {
  const seen = d.lastSeen > 0 ? `last seen ${iso(d.lastSeen)}${d.viaName !== '' ? ` via ${d.viaName}` : ''}` : 'never heard'
  return {
    labels: { alertname: 'MeshDeviceDown', device: d.id, project: d.data.project, severity: 'warning', mesh: init.mesh },
    annotations: {
      summary: `device ${d.id} is down`,
      description: `device ${d.id}${d.data.project !== '' ? ` (${d.data.project})` : ''} is down: ${seen}, and connected to no peer of the mesh since`,
      generatorURL: init.generatorURL
    },
    startsAt: iso(d.stateSince),
    generatorURL: init.generatorURL
  }
}

function checkFailed (peer: Peer, check: CheckState, init: RulesInit): Alert {
  const status = statusName(check.status)
  return {
    labels: {
      alertname: 'MeshCheckFailed', peer: peer.peerId, node: peer.name, check: check.name,
      severity: check.status === 2 ? 'critical' : 'warning', mesh: init.mesh
    },
    annotations: {
      summary: `check ${check.name} on ${peer.name} is ${status}`,
      description: check.output !== '' ? check.output : `${check.type} check ${check.name} is ${status} (no output)`,
      generatorURL: init.generatorURL
    },
    // `since` is 0 only before a first run, which cannot be failing; fall back rather than
    // use "now", which would change every evaluation and look like a new alert each time
    startsAt: iso(check.since > 0 ? check.since : check.lastRun > 0 ? check.lastRun : peer.stateSince),
    generatorURL: init.generatorURL
  }
}

/** Alertmanager's identity of an alert: its label set, order-free. */
export function fingerprint (labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
}

const iso = (ms: number): string => new Date(ms).toISOString()
