/**
 * An event this node writes: in the stored shape, cut to the bounds, dated
 * within them, its source this node, signed with this node's key. What cannot
 * be made acceptable is refused here, with the reason a peer would give.
 */
import { randomBytes } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import type { EventInput, SignedEvent } from '../types.js'
import { EVENT_BOUNDS, fitEvent, sizeProblem } from './bounds.js'
import { EventRefusedError } from './check.js'
import { signEvent } from './signature.js'

export interface Writer {
  peerId: string
  privateKey: PrivateKey
  retentionMs: number
}

export async function writeEvent (input: EventInput, w: Writer, now = Date.now()): Promise<SignedEvent> {
  const ts = input.ts === undefined ? now : Date.parse(input.ts)
  if (Number.isNaN(ts)) throw new EventRefusedError('invalid', `ts ${JSON.stringify(input.ts)} is not a time`)
  const { peer, name, check } = input.subject
  const e = fitEvent({
    id: input.id ?? randomBytes(12).toString('hex'),
    ts: new Date(ts).toISOString(),
    type: input.type,
    severity: input.severity,
    source: w.peerId,
    subject: check === undefined ? { peer, name } : { peer, name, check },
    message: input.message,
    labels: { ...input.labels }
  })
  const problem = sizeProblem(e)
  if (problem !== undefined) throw new EventRefusedError('oversized', `event ${e.id.slice(0, 40)}: ${problem}`)
  if (ts < now - w.retentionMs) throw new EventRefusedError('expired', `event ${e.id} at ${e.ts} is older than the retention`)
  if (ts > now + EVENT_BOUNDS.futureMs) throw new EventRefusedError('future', `event ${e.id} at ${e.ts} is more than ${EVENT_BOUNDS.futureMs / 60_000} min ahead`)
  return await signEvent(e, w.privateKey)
}
