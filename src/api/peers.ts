/** The JSON shape of a peer in /api/v1/peers: times as ISO 8601, null when there is none or it cannot be written. */
import { statusName } from '../checks/types.js'
import { isoOrNull as iso } from '../config/duration.js'
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


/**
 * Every peer's view, each built on its own: data one peer sent that cannot
 * be rendered hides (part of) that peer, never the list.
 */
export function peerViews (peers: Peer[]): Array<PeerView | BrokenPeerView> {
  return sortPeers(peers).map(p => {
    try {
      return peerView(p)
    } catch (err: any) {
      return { peerId: p.peerId, name: String(p.name), state: p.state, error: `this peer's data could not be rendered: ${String(err?.message ?? err)}` }
    }
  })
}

/** What stands for a peer whose view could not be built. */
export interface BrokenPeerView { peerId: string, name: string, state: Peer['state'], error: string }

export function peerView (p: Peer): PeerView {
  return {
    peerId: p.peerId,
    name: p.name,
    state: p.state,
    stateSince: iso(p.stateSince) ?? new Date(0).toISOString(),
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
