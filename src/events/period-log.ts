/**
 * One period's OrbitDB `events` log: opened with the same name and access
 * controller on every node (so the same address), heads and entry index kept
 * in the event index's LevelDB, entry blocks in Helia's blockstore unpinned
 * (pinning cost a DAG walk and datastore writes per replicated entry, and
 * nothing here runs Helia's GC: a dropped period deletes its blocks itself).
 */
import { ComposedStorage, IPFSAccessController, IPFSBlockStorage, LRUStorage, type EventsDatabase, type LogEntry, type OrbitDB, type Storage } from '@orbitdb/core'
import type { Helia } from '@helia/utils'
import type { Libp2p } from '@libp2p/interface'
import type { LevelBlockstore } from 'blockstore-level'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'
import type { EventIndex, IndexedEntry } from './index-store.js'
import { asMeshEvent, type MeshEvent } from './types.js'

/** what one OrbitDB entry holds */
export interface EntryPayload { v: 1, events: MeshEvent[] }

export async function openPeriodDb (orbitdb: OrbitDB, helia: Helia<Libp2p>, index: EventIndex, name: string, tag: string): Promise<EventsDatabase> {
  return await orbitdb.open(name, {
    type: 'events',
    // every swarm member may write; only swarm members can connect at all (pnet)
    AccessController: IPFSAccessController({ write: ['*'] }),
    // a small cache: entries are up to ~32 KB and a node keeps several periods open
    entryStorage: await ComposedStorage(await LRUStorage({ size: 64 }), await unpinnedBlocks(helia)),
    headsStorage: await ComposedStorage(await LRUStorage({ size: 8 }), index.storage(tag, 'h')),
    indexStorage: await ComposedStorage(await LRUStorage({ size: 1000 }), index.storage(tag, 'i'))
  })
}

/**
 * Entry blocks in Helia's blockstore, not pinned. OrbitDB relies on pinning to
 * store the heads it received from peers (they arrive as message bytes and are
 * only "persisted"): without a pin, `persist` must fetch and keep the block
 * itself, or the heads are gone after a restart (seen: open then waited 30 s
 * on bitswap for its own head).
 */
async function unpinnedBlocks (helia: Helia<Libp2p>): Promise<Storage> {
  const blocks = await IPFSBlockStorage({ ipfs: helia, pin: false })
  return {
    ...blocks,
    persist: async (hash: string) => { await helia.blockstore.get(CID.parse(hash, base58btc)) }
  }
}

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

/** Index entries in batches of bounded size, yielding between them. */
export async function indexEntries (index: EventIndex, tag: string, entries: LogEntry[]): Promise<number> {
  let added = 0
  let batch: IndexedEntry[] = []
  let events = 0
  for (const entry of entries) {
    const evs = payloadEvents(entry)
    batch.push({ hash: entry.hash, events: evs })
    events += evs.length
    if (events >= 2000 || batch.length >= 100) {
      added += await index.ingest(tag, batch)
      batch = []
      events = 0
      await new Promise(resolve => setImmediate(resolve))
    }
  }
  if (batch.length > 0) added += await index.ingest(tag, batch)
  return added
}

/** Delete the blocks of a dropped period's entries (they are unpinned and only this log refers to them). */
export async function deleteEntryBlocks (blockstore: LevelBlockstore, hashes: Iterable<string> | AsyncIterable<string>): Promise<number> {
  let n = 0
  for await (const hash of hashes) {
    try {
      await blockstore.delete(CID.parse(hash, base58btc))
      n++
    } catch {}
  }
  return n
}
