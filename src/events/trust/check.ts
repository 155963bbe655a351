/**
 * Whether an event from elsewhere (a peer's index, a replicated log entry) is
 * taken: the right shape, within the bounds, signed by its `source`, dated
 * neither ahead of the clock nor past the retention. Cheap tests first, the
 * signature last.
 */
import { isEventType, type SignedEvent } from '../types.js'
import { EVENT_BOUNDS, sizeProblem } from './bounds.js'
import { verifyEvent } from './signature.js'

/**
 * Why an event was refused. `expired` and `replaces` are no offence (clocks
 * differ at the retention's edge; two writers of one incident), the others are.
 */
export const REFUSAL_REASONS = ['invalid', 'oversized', 'unsigned', 'forged', 'future', 'expired', 'replaces', 'quota'] as const
export type RefusalReason = typeof REFUSAL_REASONS[number]
export const isOffence = (r: RefusalReason): boolean => r !== 'expired' && r !== 'replaces'

/** An event refused: at write (this node's own) or from a peer. */
export class EventRefusedError extends Error {
  override name = 'EventRefusedError'
  constructor (readonly reason: RefusalReason, message: string) { super(message) }
}

export type CheckResult = { ok: true, event: SignedEvent } | { ok: false, reason: RefusalReason, detail: string }

export interface CheckContext {
  /** unix ms now */
  now: number
  /** unix ms: older events are past the retention */
  notBefore: number
}

const str = (v: unknown): v is string => typeof v === 'string'

/** The event in its stored shape (fields in a fixed order), or why it is not one. */
function shape (v: unknown): SignedEvent | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not an object'
  const e = v as Record<string, any>
  if (!str(e.id) || !str(e.ts) || !str(e.type) || !isEventType(e.type)) return 'no id, ts or known type'
  const t = Date.parse(e.ts)
  if (Number.isNaN(t) || new Date(t).toISOString() !== e.ts) return `ts ${JSON.stringify(e.ts).slice(0, 40)} is not an ISO time in UTC`
  if (e.severity !== 'info' && e.severity !== 'warning' && e.severity !== 'critical') return 'no known severity'
  const s = e.subject
  if (!str(e.source) || typeof s !== 'object' || s === null || !str(s.peer) || !str(s.name) || (s.check !== undefined && !str(s.check))) return 'no source or subject'
  if (!str(e.message) || typeof e.labels !== 'object' || e.labels === null || Array.isArray(e.labels)) return 'no message or labels'
  if (!Object.values(e.labels).every(str)) return 'a label is not text'
  if (e.sig !== undefined && !str(e.sig)) return 'sig is not text'
  return {
    id: e.id,
    ts: e.ts,
    type: e.type,
    severity: e.severity,
    source: e.source,
    subject: s.check === undefined ? { peer: s.peer, name: s.name } : { peer: s.peer, name: s.name, check: s.check },
    message: e.message,
    labels: { ...e.labels },
    sig: e.sig
  }
}

export function checkEvent (raw: unknown, ctx: CheckContext): CheckResult {
  const e = shape(raw)
  if (typeof e === 'string') return { ok: false, reason: 'invalid', detail: e }
  const what = `event ${e.id.slice(0, 40)}`
  const tooBig = sizeProblem(e)
  if (tooBig !== undefined) return { ok: false, reason: 'oversized', detail: `${what}: ${tooBig}` }
  if (e.sig === undefined || e.sig === '') return { ok: false, reason: 'unsigned', detail: `${what} carries no signature` }
  const ts = Date.parse(e.ts)
  if (ts > ctx.now + EVENT_BOUNDS.futureMs) return { ok: false, reason: 'future', detail: `${what} is dated ${e.ts}, ahead of this node's clock by more than ${EVENT_BOUNDS.futureMs / 60_000} min` }
  if (ts < ctx.notBefore) return { ok: false, reason: 'expired', detail: `${what} at ${e.ts} is older than the retention` }
  if (!verifyEvent(e)) return { ok: false, reason: 'forged', detail: `${what} is not signed by its source ${e.source.slice(0, 60)}` }
  return { ok: true, event: e }
}
