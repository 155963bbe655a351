/** The JSON shape of a peer in /api/v1/peers: times as ISO 8601, null when there is none or it cannot be written. */
import { statusName } from '../checks/types.js'
import { isoOrNull as iso } from '../config/duration.js'
import type { Peer } from '../heartbeat/peer-table.js'
import type { PartitionView } from '../heartbeat/verdict.js'

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
  /** on this node's own entry: how much of the mesh it reaches (cut off, or on the small side of a split) */
  partition?: Omit<PartitionView, 'since'> & { since: string | null }
  /** an open down incident: it went down then, and is not yet back up for long enough to end it */
  downSince?: string | null
  /** another peer that has not left carries the same name: tell them apart by peerId */
  nameConflict?: true
  /** a watcher has heard its beats; until then it is known only by its record (one that never is, is forgotten, never paged) */
  confirmed: boolean
}


/**
 * Every peer's view, each built on its own: data one peer sent that cannot
 * be rendered hides (part of) that peer, never the list.
 */
export function peerViews (peers: Peer[], partition?: PartitionView, conflicts?: Map<string, string[]>): Array<PeerView | BrokenPeerView> {
  return sortPeers(peers).map(p => {
    try {
      const view = peerView(p)
      if (p.state !== 'left' && conflicts?.has(p.name) === true) view.nameConflict = true
      if (p.self && partition !== undefined) view.partition = { ...partition, since: iso(partition.since) }
      return view
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
    checks: p.checks.map(c => ({ ...c, statusName: statusName(c.status), lastRun: iso(c.lastRun), since: iso(c.since) })),
    confirmed: p.self || p.confirmed === true,
    ...(p.incident !== undefined ? { downSince: iso(p.incident.since) } : {})
  }
}

export function sortPeers (peers: Peer[]): Peer[] {
  return [...peers].sort((a, b) => a.name.localeCompare(b.name) || a.peerId.localeCompare(b.peerId))
}
