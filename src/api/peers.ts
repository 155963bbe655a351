/** The JSON shape of a peer in /api/v1/peers: times as ISO 8601. */
import { statusName } from '../checks/types.js'
import type { Peer } from '../heartbeat/peer-table.js'

export interface PeerView {
  peerId: string
  name: string
  state: Peer['state']
  stateSince: string
  lastSeen: string | null
  self: boolean
  addrs: string[]
  labels: Record<string, string>
  expect: Peer['expect']
  interval: number
  agent: string
  machine: Peer['machine']
  checks: Array<Omit<Peer['checks'][number], 'lastRun' | 'since'> & { statusName: string, lastRun: string | null, since: string | null }>
}

const iso = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null)

export function peerView (p: Peer): PeerView {
  return {
    peerId: p.peerId,
    name: p.name,
    state: p.state,
    stateSince: new Date(p.stateSince).toISOString(),
    lastSeen: iso(p.lastSeen),
    self: p.self,
    addrs: p.addrs,
    labels: p.labels,
    expect: p.expect,
    interval: p.interval,
    agent: p.agent,
    machine: p.machine,
    checks: p.checks.map(c => ({ ...c, statusName: statusName(c.status), lastRun: iso(c.lastRun), since: iso(c.since) }))
  }
}

export function sortPeers (peers: Peer[]): Peer[] {
  return [...peers].sort((a, b) => a.name.localeCompare(b.name) || a.peerId.localeCompare(b.peerId))
}
