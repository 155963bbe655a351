/**
 * One period's OrbitDB `events` log: opened with the same name and access
 * controller on every node (so the same address), heads and entry index kept
 * in the event index's LevelDB, entry blocks in Helia's blockstore, unpinned.
 */
import { ComposedStorage, Entry, IPFSAccessController, LRUStorage, type EventsDatabase, type Log, type LogEntry, type OrbitDB, type Storage } from '@orbitdb/core'
import type { Helia } from '@helia/utils'
import type { Libp2p } from '@libp2p/interface'
import type { LevelBlockstore } from 'blockstore-level'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'
import { BoundedSet } from './bounded-set.js'
import type { EventIndex, IndexedEntry } from './index-store.js'
import { asMeshEvent, type MeshEvent } from './types.js'

/** what one OrbitDB entry holds */
export interface EntryPayload { v: 1, events: MeshEvent[] }

export async function openPeriodDb (orbitdb: OrbitDB, helia: Helia<Libp2p>, index: EventIndex, name: string, tag: string): Promise<EventsDatabase> {
  const inHand = new Map<string, LogEntry>()
  const db = await orbitdb.open(name, {
    type: 'events',
    // every swarm member may write; only swarm members can connect at all (pnet)
    AccessController: IPFSAccessController({ write: ['*'], storage: await ComposedStorage(await LRUStorage({ size: 16 }), blockStorage(helia)) }),
    // a small cache: entries are up to ~32 KB and a node keeps several periods open
    entryStorage: await ComposedStorage(await LRUStorage({ size: 64 }), blockStorage(helia, { inHand })),
    headsStorage: await ComposedStorage(await LRUStorage({ size: 8 }), index.storage(tag, 'h')),
    // each append walks back this many entries, decoding each (CBOR decoding was 40% of append CPU at the
    // default 16); fresh peers fetched 20k events (200 entries) as fast with 4 (4.1 s) as with 16 (4.2 s)
    referencesCount: 4,
    indexStorage: await ComposedStorage(await LRUStorage({ size: 1000 }), index.storage(tag, 'i'))
  })
  keepReceivedHeads(db.log, inHand)
  return db
}

/**
 * A head arrives whole (pubsub or the head exchange), but OrbitDB hands the
 * log only the decoded entry, and the log then "persists" it by hash: through
 * Helia that is a network fetch of a block we already had in hand. Over
 * bitswap (before block-exchange.ts) every event entry became ~19 fetches at
 * 20 nodes, each want sent to every connected peer. While the log joins
 * a head, the entry is kept here, and `persist` stores its bytes (re-encoded:
 * the same dag-cbor, checked against its hash) instead of fetching them. Only
 * entries the log has verified are persisted, so only those are stored, and
 * a head the log already holds is never encoded.
 */
export function keepReceivedHeads (log: Log, inHand: Map<string, LogEntry>): void {
  const join = log.joinEntry.bind(log)
  log.joinEntry = async (entry: LogEntry): Promise<boolean> => {
    if (inHand.has(entry.hash)) return await join(entry)
    inHand.set(entry.hash, entry)
    try {
      return await join(entry)
    } finally {
      inHand.delete(entry.hash)
    }
  }
}

/** The bytes of an entry held in hand, if it encodes to its hash. */
async function bytesInHand (inHand: Map<string, LogEntry> | undefined, hash: string): Promise<Uint8Array | undefined> {
  const entry = inHand?.get(hash)
  if (entry === undefined) return undefined
  const encoded = await Entry.encode(entry)
  return encoded.hash === hash ? encoded.bytes : undefined
}

/**
 * OrbitDB's storage interface over Helia's blockstore, used for entries, the
 * access controller and identities instead of OrbitDB's IPFSBlockStorage:
 *  - no pins: pinning cost a DAG walk and datastore writes per replicated
 *    entry, and nothing here runs Helia's GC (a dropped period deletes its
 *    blocks itself). OrbitDB relies on pinning to store the heads it receives
 *    (they arrive as message bytes and are only "persisted"), so `persist`
 *    fetches and keeps the block; without it the heads were gone after a
 *    restart (seen: open then waited 30 s on the network for its own head);
 *    (`inHand`: blocks already received whole are stored, not fetched;
 *    see keepReceivedHeads);
 *  - IPFSBlockStorage arms a 30 s timer per put and get and never clears it:
 *    a node asked to stop kept running up to 30 s. AbortSignal.timeout does
 *    not hold the process.
 */
export function blockStorage (helia: Helia<Libp2p>, opts: { timeoutMs?: number, inHand?: Map<string, LogEntry> } = {}): Storage {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const cid = (hash: string): CID => CID.parse(hash, base58btc)
  // blocks this storage stored or found stored: OrbitDB persists every entry a new one points to
  // again (see EventIndex.storage), each a blockstore read or write
  const stored = new BoundedSet()
  return {
    put: async (hash, bytes) => { await helia.blockstore.put(cid(hash), bytes); stored.add(hash) },
    get: async (hash) => await bytesInHand(opts.inHand, hash) ?? await helia.blockstore.get(cid(hash), { signal: AbortSignal.timeout(timeoutMs) }),
    persist: async (hash) => {
      if (stored.has(hash)) return
      const bytes = await bytesInHand(opts.inHand, hash)
      if (bytes !== undefined) await helia.blockstore.put(cid(hash), bytes)
      else await helia.blockstore.get(cid(hash), { signal: AbortSignal.timeout(timeoutMs) })
      stored.add(hash)
    },
    del: async () => {},
    iterator: async function * () {},
    merge: async () => {},
    clear: async () => {},
    close: async () => {}
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
