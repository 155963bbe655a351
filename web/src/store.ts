/**
 * The page's view of the mesh, updated from the stream's messages: a new top
 * object per change (so the view re-renders) that keeps every unchanged peer
 * object as it was (so rows of peers that did not change are skipped). Pure:
 * no DOM, tested under Node.
 */
import type { AlertView, AlertsChange, DeviceView, EventsChange, MeshEvent, PeersChange, PeerState, PeerView, Snapshot } from './wire.js'

/** events the page keeps (the stream's snapshot carries 50) */
const KEEP_EVENTS = 200

export interface MeshView {
  peers: ReadonlyMap<string, PeerView>
  alerts: AlertView[]
  events: MeshEvent[]
  /** null: the node serves no devices (404) */
  devices: DeviceList | null
  /** the node's clock minus the browser's, ms: times are shown as the node counts them */
  skewMs: number
  /** a snapshot has arrived */
  loaded: boolean
}

/** the devices the page shows (trouble first, as many as asked for) and how many there are in each state */
export interface DeviceList { rows: DeviceView[], counts: Record<string, number> }

export const emptyView = (): MeshView => ({ peers: new Map(), alerts: [], events: [], devices: null, skewMs: 0, loaded: false })

export class BadMessageError extends Error {
  override name = 'BadMessageError'
}

/** Apply one stream message (event name + parsed data). Unknown events are ignored: a newer node may send more. */
export function applyMessage (view: MeshView, event: string, data: unknown, browserNow = Date.now()): MeshView {
  const d = data as Record<string, unknown>
  if (typeof d !== 'object' || d === null) throw new BadMessageError(`stream event ${event} carries no object`)
  const skewMs = typeof d.now === 'number' ? d.now - browserNow : view.skewMs
  switch (event) {
    case 'snapshot': {
      const s = data as Snapshot
      return { ...view, loaded: true, skewMs, peers: new Map(s.peers.map(p => [p.peerId, complete(p)])), alerts: s.alerts, events: s.events.slice(0, KEEP_EVENTS) }
    }
    case 'peers': {
      const c = data as PeersChange
      const peers = new Map(view.peers)
      for (const p of c.changed) peers.set(p.peerId, complete(p))
      for (const id of c.removed) peers.delete(id)
      return { ...view, skewMs, peers }
    }
    case 'alerts': return { ...view, skewMs, alerts: (data as AlertsChange).alerts }
    case 'events': return { ...view, skewMs, events: mergeEvents((data as EventsChange).events, view.events) }
    default: return view
  }
}

/** A peer the node could not render comes with its id, name, state and error only: give it the rest, empty. */
const UNRENDERED: Omit<PeerView, 'peerId' | 'name' | 'state'> = { stateSince: '', lastSeen: null, self: false, addrs: [], labels: {}, expect: 'always-on', interval: 0, agent: '', machine: null, checks: [] }
const complete = (p: PeerView): PeerView => p.error === undefined ? p : { ...UNRENDERED, ...p }

/** newest first, one per id */
export function mergeEvents (fresh: MeshEvent[], held: MeshEvent[], keep = KEEP_EVENTS): MeshEvent[] {
  const seen = new Set<string>()
  return [...fresh, ...held]
    .filter(e => !seen.has(e.id) && seen.add(e.id))
    .sort((a, b) => a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0)
    .slice(0, keep)
}

/** the worst status among a peer's checks: 2 CRITICAL > 1 WARNING > 3 UNKNOWN > 0 OK; -1 without checks */
export function worstCheck (p: PeerView): number {
  const order = [0, 2, 3, 1]
  let worst = -1
  for (const c of p.checks) if (worst === -1 || order[c.status]! > order[worst]!) worst = c.status
  return worst
}

/** Trouble first: down, suspect, a critical, a warning, an unknown check, then up, then left. */
export function troubleRank (p: PeerView): number {
  if (p.state === 'down') return 0
  if (p.state === 'suspect') return 1
  if (p.state === 'left') return 6
  const worst = worstCheck(p)
  return worst === 2 ? 2 : worst === 1 ? 3 : worst === 3 ? 4 : 5
}

export const inTrouble = (p: PeerView): boolean => troubleRank(p) < 5

export function sortPeers (peers: Iterable<PeerView>): PeerView[] {
  return [...peers].sort((a, b) => troubleRank(a) - troubleRank(b) || a.name.localeCompare(b.name) || a.peerId.localeCompare(b.peerId))
}

export type StateFilter = 'all' | 'trouble' | PeerState
export const STATE_FILTERS: readonly StateFilter[] = ['all', 'trouble', 'up', 'suspect', 'down', 'left']

/**
 * Every word of `query` must match: `key=value` a label (value as a substring),
 * any other word the name, peer id, state, hostname, a label key or value, or
 * the name of a failing check. Case does not matter.
 */
export function matches (p: PeerView, query: string, state: StateFilter): boolean {
  if (state === 'trouble' ? !inTrouble(p) : state !== 'all' && p.state !== state) return false
  for (const word of query.toLowerCase().split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=')
    if (eq > 0) {
      const value = Object.entries(p.labels).find(([k]) => k.toLowerCase() === word.slice(0, eq))?.[1]
      if (value?.toLowerCase().includes(word.slice(eq + 1)) !== true) return false
      continue
    }
    const hay = [p.name, p.peerId, p.state, p.machine?.hostname ?? '', ...Object.keys(p.labels), ...Object.values(p.labels),
      ...p.checks.filter(c => c.status !== 0).map(c => c.name)]
    if (!hay.some(h => h.toLowerCase().includes(word))) return false
  }
  return true
}

/** The small bars of a row: ratios 0..1, null where the peer has none (no machine info yet, no GPU). */
export function usage (p: PeerView): { cpu: number | null, memory: number | null, disk: { ratio: number, mountpoint: string } | null, gpu: number | null } {
  const m = p.machine
  if (m === null) return { cpu: null, memory: null, disk: null, gpu: null }
  let disk: { ratio: number, mountpoint: string } | null = null
  for (const f of m.filesystems) {
    const ratio = f.sizeBytes > 0 ? 1 - f.availBytes / f.sizeBytes : 0
    if (disk === null || ratio > disk.ratio) disk = { ratio, mountpoint: f.mountpoint }
  }
  return {
    cpu: m.cpu.usageRatio,
    memory: m.memory.totalBytes > 0 ? 1 - m.memory.availableBytes / m.memory.totalBytes : null,
    disk,
    gpu: m.gpus.length > 0 ? m.gpus.reduce((s, g) => s + g.utilizationRatio, 0) / m.gpus.length : null
  }
}
