/**
 * From the replicated log to the index: the events each OrbitDB entry holds,
 * each checked as a peer's events are (trust/check.ts: any swarm member may
 * write an entry), indexed ancestors first, in batches that leave the event
 * loop free. A refused event is counted and left out; its entry still counts
 * as indexed, so it is not looked at again.
 */
import type { EventsDatabase, LogEntry } from '@orbitdb/core'
import type { EventIndex, IndexedEntry } from './index/event-index.js'
import type { RefusalCounts } from './sync/intake.js'
import { checkEvent, type CheckContext } from './trust/check.js'
import type { SignedEvent } from './types.js'

/** what one OrbitDB entry holds */
export interface EntryPayload { v: 1, events: SignedEvent[] }

/** The acceptable events of an entry; the others counted in `refused` by reason. */
export function payloadEvents (entry: LogEntry, ctx: CheckContext, refused: RefusalCounts): SignedEvent[] {
  const value = entry.payload?.value as Partial<EntryPayload> | undefined
  if (value === undefined || value === null || !Array.isArray(value.events)) return []
  const out: SignedEvent[] = []
  for (const raw of value.events) {
    const r = checkEvent(raw, ctx)
    if (r.ok) out.push(r.event)
    else refused[r.reason] = (refused[r.reason] ?? 0) + 1
  }
  return out
}

/**
 * Entries reachable from `roots` that the index does not hold yet, ancestors
 * first (by Lamport clock), so a crash part-way never leaves an indexed entry
 * above an unindexed one. Walks back only until indexed entries.
 */
export async function unindexedEntries (db: EventsDatabase, index: EventIndex, tag: string, roots: LogEntry[]): Promise<LogEntry[]> {
  const out: LogEntry[] = []
  const seen = new Set<string>()
  const stack = [...roots]
  while (stack.length > 0) {
    const entry = stack.pop() as LogEntry
    if (seen.has(entry.hash)) continue
    seen.add(entry.hash)
    if (await index.hasEntry(tag, entry.hash)) continue
    out.push(entry)
    for (const hash of entry.next) {
      if (seen.has(hash)) continue
      const next = await db.log.get(hash)
      if (next !== undefined) stack.push(next)
    }
  }
  return out.sort((a, b) => a.clock.time - b.clock.time || (a.hash < b.hash ? -1 : 1))
}

/** Index entries in batches of at most ~100 events (~10-30 ms of work here, signature checks included), yielding between them. */
export async function indexEntries (index: EventIndex, tag: string, entries: LogEntry[], ctx: CheckContext, refused: RefusalCounts): Promise<number> {
  let added = 0
  let batch: IndexedEntry[] = []
  let events = 0
  for (const entry of entries) {
    const evs = payloadEvents(entry, ctx, refused)
    batch.push({ hash: entry.hash, events: evs })
    events += evs.length
    if (events >= 100 || batch.length >= 50) {
      added += await index.ingest(tag, batch)
      batch = []
      events = 0
      await new Promise(resolve => setImmediate(resolve))
    }
  }
  if (batch.length > 0) added += await index.ingest(tag, batch)
  return added
}
