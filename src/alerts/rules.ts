/**
 * Alert rules, pure: the mesh as this node sees it -> the alerts it
 * derives. Every node derives the same alerts from the same mesh, and the
 * labels never name the sender, so N senders make ONE alert in Alertmanager
 * (it deduplicates by the label set). Sender-specific text (generatorURL) goes
 * in the non-identifying fields only.
 */
import { statusName, type CheckState } from '../checks/types.js'
import { isoOrNull } from '../config/duration.js'
import type { Device } from '../devices/types.js'
import type { Peer } from '../heartbeat/peer-table.js'
import type { HeldPartition } from '../heartbeat/incidents.js'

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
  /**
   * the condition is ending (a peer back up, its incident not yet over): not resent (ledger.ts). Never
   * sent: it stays on this node
   */
  ending?: true
}

export interface RulesInit {
  /** the mesh's name, the `mesh` label: must be the same on every node of the mesh */
  mesh: string
  /** the sending node's API, e.g. http://gpu-01:9521/api/v1/peers */
  generatorURL: string
}

/**
 * Each peer on its own: what one peer sent can cost that peer's alerts (the
 * caller hears of it through `onPeerError`), never the others'. `partition`:
 * what this node reaches of the mesh; a node cut off or on the small side says
 * so (MeshNodeIsolated, MeshPartitioned) and finds nobody down (verdict.ts).
 */
export function deriveAlerts (peers: Peer[], init: RulesInit, onPeerError?: (peer: Peer, err: unknown) => void, partition?: HeldPartition, devices: Device[] = []): Alert[] {
  const alerts: Alert[] = []
  // a device is alerting once down past the confirmation delay (a move between peers never is); unknown
  // (its peer died: MeshPeerDown says it) and left (intermittent) never are, nor any from a node cut off
  if (partition?.minority !== true) for (const device of devices) if (device.alerting && device.state === 'down') alerts.push(deviceDown(device, init))
  for (const peer of peers) {
    try {
      alerts.push(...peerAlerts(peer, init))
      if (peer.self && partition?.minority === true) alerts.push(partitioned(peer, partition, init))
    } catch (err) {
      onPeerError?.(peer, err)
    }
  }
  return alerts
}

function peerAlerts (peer: Peer, init: RulesInit): Alert[] {
  const alerts: Alert[] = []
  // an open incident fires until the peer has been back up a while (incidents.ts): a flapping peer is one alert
  if ((peer.state === 'down' || peer.incident !== undefined) && peer.expect === 'always-on') alerts.push(peerDown(peer, init))
  // A down or left peer's checks are what its last heartbeat said, possibly long ago:
  // stale, so they raise nothing (MeshPeerDown covers a down peer; a left one is gone on purpose).
  if (peer.state === 'down' || peer.state === 'left') return alerts
  for (const check of peer.checks) {
    if (check.status === 1 || check.status === 2) alerts.push(checkFailed(peer, check, init))
  }
  return alerts
}

function peerDown (peer: Peer, init: RulesInit): Alert {
  // fixed for the incident: a description that followed lastSeen would change at every beat of a
  // peer back up but not yet steady, and each change is sent at once, after others may have resolved it
  const since = isoOrNull(peer.incident?.since ?? peer.stateSince)
  const seen = since !== null ? `found down ${since}` : 'found down'
  return {
    labels: { alertname: 'MeshPeerDown', peer: peer.peerId, node: peer.name, severity: 'critical', mesh: init.mesh },
    annotations: {
      summary: `${peer.name} is down`,
      description: `${peer.name} (${peer.peerId}) is down: ${seen}, its watchers found it silent`,
      generatorURL: init.generatorURL
    },
    startsAt: firstTime(peer.incident?.since ?? peer.stateSince, peer.stateSince),
    generatorURL: init.generatorURL,
    ...(peer.incident?.recovering !== undefined ? { ending: true as const } : {})
  }
}

function deviceDown (d: Device, init: RulesInit): Alert {
  const lastSeen = isoOrNull(d.lastSeen)
  const seen = lastSeen !== null ? `last seen ${lastSeen}${d.viaName !== '' ? ` via ${d.viaName}` : ''}` : 'never heard'
  return {
    labels: { alertname: 'MeshDeviceDown', device: d.id, project: d.data.project, severity: 'warning', mesh: init.mesh },
    annotations: {
      summary: `device ${d.id} is down`,
      description: `device ${d.id}${d.data.project !== '' ? ` (${d.data.project})` : ''} is down: ${seen}, and connected to no peer of the mesh since`,
      generatorURL: init.generatorURL
    },
    startsAt: firstTime(d.stateSince),
    generatorURL: init.generatorURL
  }
}

/**
 * From a node that reaches only part of the mesh. Alone: about itself (the
 * sender is the subject). On the small side of a split: one alert for the
 * whole mesh, the same labels from every node that sees it.
 */
function partitioned (self: Peer, p: HeldPartition, init: RulesInit): Alert {
  const reach = `reaches ${p.reachable - 1} of the ${p.members - 1} other peers`
  if (p.isolated) {
    return {
      labels: { alertname: 'MeshNodeIsolated', peer: self.peerId, node: self.name, severity: 'warning', mesh: init.mesh },
      annotations: {
        summary: `${self.name} is cut off from the mesh`,
        description: `${self.name} hears none of its peers (it ${reach}); it pages nobody about them while cut off`,
        generatorURL: init.generatorURL
      },
      startsAt: firstTime(p.since),
      generatorURL: init.generatorURL,
      ...(p.ending === true ? { ending: true as const } : {})
    }
  }
  return {
    labels: { alertname: 'MeshPartitioned', severity: 'critical', mesh: init.mesh },
    annotations: {
      summary: 'the mesh is split: some nodes reach no majority of it',
      description: `${self.name} ${reach}, no majority: peers it cannot hear are shown suspect, not down, and nobody is paged for them from there`,
      generatorURL: init.generatorURL
    },
    startsAt: firstTime(p.since),
    generatorURL: init.generatorURL,
    ...(p.ending === true ? { ending: true as const } : {})
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
    // `since` is 0 only before a first run, which cannot be failing; a time the peer sent that
    // cannot be written (1e20) falls back too. Never "now": it would change every evaluation
    // and look like a new alert each time
    startsAt: firstTime(check.since, check.lastRun, peer.stateSince),
    generatorURL: init.generatorURL
  }
}

/** Alertmanager's identity of an alert: its label set, order-free. */
export function fingerprint (labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
}

/** the first of these times that can be written (stateSince, this node's own clock, always can) */
function firstTime (...times: number[]): string {
  for (const t of times) {
    const text = isoOrNull(t)
    if (text !== null) return text
  }
  return new Date(0).toISOString()
}
