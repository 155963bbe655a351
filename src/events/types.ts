/** The event entry, as the API serves it. */
export const EVENT_TYPES = ['peer.joined', 'peer.left', 'peer.down', 'peer.up', 'check.failed', 'check.warning', 'check.recovered'] as const
export type EventType = typeof EVENT_TYPES[number]
export type Severity = 'info' | 'warning' | 'critical'

export interface MeshEvent {
  /** incident id: the same incident seen by several observers has one id */
  id: string
  /** ISO 8601, UTC, when the incident happened */
  ts: string
  type: EventType
  severity: Severity
  /** peer id of the node that wrote it: the key that signed it */
  source: string
  subject: { peer: string, name: string, check?: string }
  message: string
  labels: Record<string, string>
}

/** As stored and replicated: signed by its source's libp2p key (trust/signature.ts). */
export interface SignedEvent extends MeshEvent {
  /** ed25519 signature, base64 */
  sig: string
}

/** What a caller appends: id and ts are filled in when missing; the source is always the writing node. */
export type EventInput = Omit<MeshEvent, 'id' | 'ts' | 'source'> & Partial<Pick<MeshEvent, 'id' | 'ts'>>

export interface EventQuery {
  /** unix ms: only events at or after this time */
  since?: number
  /** any of these types */
  type?: EventType[]
  /** subject peer id, its suffix (as `meshmon status` shows it), or node name */
  peer?: string
  /** @default 100 */
  limit?: number
}

export const isEventType = (t: string): t is EventType => (EVENT_TYPES as readonly string[]).includes(t)

/** An event as the index stored it (checked when it arrived; older data may lack fields): the API's shape, no signature. */
export function asMeshEvent (v: unknown): MeshEvent | undefined {
  if (typeof v !== 'object' || v === null) return undefined
  const e = v as Record<string, any>
  if (typeof e.id !== 'string' || e.id === '' || typeof e.ts !== 'string' || typeof e.type !== 'string' || !isEventType(e.type)) return undefined
  const t = Date.parse(e.ts)
  if (Number.isNaN(t)) return undefined
  const s = e.subject
  if (typeof s !== 'object' || s === null || typeof s.peer !== 'string' || typeof s.name !== 'string') return undefined
  const labels: Record<string, string> = {}
  if (typeof e.labels === 'object' && e.labels !== null) {
    for (const [k, val] of Object.entries(e.labels)) if (typeof val === 'string') labels[k] = val
  }
  return {
    id: e.id,
    ts: new Date(t).toISOString(),
    type: e.type,
    severity: e.severity === 'critical' || e.severity === 'warning' ? e.severity : 'info',
    source: typeof e.source === 'string' ? e.source : '',
    subject: typeof s.check === 'string' ? { peer: s.peer, name: s.name, check: s.check } : { peer: s.peer, name: s.name },
    message: typeof e.message === 'string' ? e.message : '',
    labels
  }
}
