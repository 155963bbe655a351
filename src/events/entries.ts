/**
 * From the replicated log to the index: the events each OrbitDB entry holds,
 * indexed ancestors first, in batches that leave the event loop free.
 */
import type { EventsDatabase, LogEntry } from '@orbitdb/core'
import type { EventIndex, IndexedEntry } from './index/event-index.js'
import { asMeshEvent, type MeshEvent } from './types.js'

/** what one OrbitDB entry holds */
export interface EntryPayload { v: 1, events: MeshEvent[] }

export function payloadEvents (entry: LogEntry): MeshEvent[] {
  const value = entry.payload?.value as Partial<EntryPayload> | undefined
  if (value === undefined || value === null || !Array.isArray(value.events)) return []
  return value.events.map(asMeshEvent).filter((e): e is MeshEvent => e !== undefined)
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

/** Index entries in batches of at most ~500 events (~10 ms of work), yielding between them. */
export async function indexEntries (index: EventIndex, tag: string, entries: LogEntry[]): Promise<number> {
  let added = 0
  let batch: IndexedEntry[] = []
  let events = 0
  for (const entry of entries) {
    const evs = payloadEvents(entry)
    batch.push({ hash: entry.hash, events: evs })
    events += evs.length
    if (events >= 500 || batch.length >= 50) {
      added += await index.ingest(tag, batch)
      batch = []
      events = 0
      await new Promise(resolve => setImmediate(resolve))
    }
  }
  if (batch.length > 0) added += await index.ingest(tag, batch)
  return added
}
