/**
 * OrbitDB's storage interface over Helia's blockstore, used for entries, the
 * access controller and identities instead of OrbitDB's IPFSBlockStorage.
 */
import type { Helia } from '@helia/utils'
import type { Libp2p } from '@libp2p/interface'
import type { LogEntry, Storage } from '@orbitdb/core'
import type { LevelBlockstore } from 'blockstore-level'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { BoundedSet } from '../bounded-set.js'
import { bytesInHand } from './orbitdb-patches.js'

/**
 *  - no pins: pinning cost a DAG walk and datastore writes per replicated
 *    entry, and nothing here runs Helia's GC (a dropped period deletes its
 *    blocks itself). OrbitDB relies on pinning to store the heads it receives
 *    (they arrive as message bytes and are only "persisted"), so `persist`
 *    fetches and keeps the block; without it the heads were gone after a
 *    restart (seen: open then waited 30 s on the network for its own head);
 *    (`inHand`: blocks already received whole are stored, not fetched;
 *    see orbitdb-patches.ts);
 *  - IPFSBlockStorage arms a 30 s timer per put and get and never clears it:
 *    a node asked to stop kept running up to 30 s. AbortSignal.timeout does
 *    not hold the process.
 */
export function blockStorage (helia: Helia<Libp2p>, opts: { timeoutMs?: number, inHand?: Map<string, LogEntry> } = {}): Storage {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const cid = (hash: string): CID => CID.parse(hash, base58btc)
  // blocks this storage stored or found stored: OrbitDB persists every entry a new one points to
  // again (see OrbitState.storage), each a blockstore read or write
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
