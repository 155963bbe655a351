/**
 * `GET /api/v1/events?since=&type=&peer=&limit=`: validated at the edge, every
 * mistake a 400 that names the parameter and what it accepts.
 */
import { HTTPException } from 'hono/http-exception'
import { parseSince } from '../config/duration.js'
import type { EventLog } from './log.js'
import { EVENT_TYPES, isEventType, type EventQuery, type EventType, type MeshEvent } from './types.js'

export const MAX_LIMIT = 10_000
const PARAMS = ['since', 'type', 'peer', 'limit']

const bad = (message: string): HTTPException => new HTTPException(400, { message })

export function parseEventsQuery (params: URLSearchParams, now = Date.now()): EventQuery {
  for (const key of params.keys()) {
    if (!PARAMS.includes(key)) throw bad(`unknown parameter '${key}'; use ${PARAMS.join(', ')}`)
  }
  const q: EventQuery = { limit: 100 }
  const since = params.get('since')
  if (since !== null) {
    const t = parseSince(since, now)
    if (t === undefined) throw bad(`since must be a duration like 30s, 15m, 1h, 7d or an ISO time like 2025-01-31T12:00:00Z, not '${since}'`)
    q.since = t
  }
  const type = params.get('type')
  if (type !== null) {
    const types = type.split(',').map(t => t.trim())
    const wrong = types.find(t => !isEventType(t))
    if (wrong !== undefined) throw bad(`type must be one of ${EVENT_TYPES.join(', ')} (comma-separated for several), not '${wrong}'`)
    q.type = types as EventType[]
  }
  const peer = params.get('peer')
  if (peer !== null) {
    if (peer.trim() === '') throw bad('peer must be a peer id, its last characters, or a node name')
    q.peer = peer.trim()
  }
  const limit = params.get('limit')
  if (limit !== null) {
    const n = Number(limit)
    if (!/^\d+$/.test(limit.trim()) || n < 1 || n > MAX_LIMIT) throw bad(`limit must be a whole number from 1 to ${MAX_LIMIT}, not '${limit}'`)
    q.limit = n
  }
  return q
}

/** The API's events source: `(searchParams) => events`, newest first. */
export function eventsQuery (log: Pick<EventLog, 'query'>): (params: URLSearchParams) => Promise<MeshEvent[]> {
  return async params => await log.query(parseEventsQuery(params))
}
