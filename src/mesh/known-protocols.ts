/**
 * libp2p notes, on every stream it opens or accepts, the stream's protocol in
 * the peer store (`merge(peer, { protocols: [p] })`), and @libp2p/peer-store
 * 11 rewrites the peer's whole record each time, changed or not: a LevelDB
 * get and put, a protobuf decode and encode, every address parsed again. At a
 * death every node probes about 8 peers at once and each of them accepts the
 * probe, so the whole mesh rewrites records in the same second (a tenth of a
 * node's CPU in that second, in a profile), on top of the stream itself.
 *
 * So a merge that only adds protocols the store was last seen to hold for
 * that peer is skipped. What the store holds is learnt from what its writes
 * return; any other write for the peer takes the answer it returns, and an
 * entry is trusted for `refreshMs` only: a write also renews the record's
 * age, after which the store drops a peer (6 h, with no address seen in the
 * last hour), and a record rewritten every ten minutes is never that old.
 * Only the public `PeerStore` methods are wrapped, on this one instance.
 */
import type { PeerId, PeerStore, Peer } from '@libp2p/interface'

export interface KnownProtocols {
  /** merges skipped since the start (each a LevelDB get and put saved) */
  skipped: () => number
}

/** how long what the store was seen to hold is trusted, ms */
const REFRESH_MS = 10 * 60_000

export function skipKnownProtocolMerges (store: PeerStore, init: { refreshMs?: number, now?: () => number } = {}): KnownProtocols {
  const refreshMs = init.refreshMs ?? REFRESH_MS
  const now = init.now ?? (() => performance.now())
  const known = new Map<string, { peer: Peer, protocols: Set<string>, at: number }>()
  let skipped = 0
  const learn = (id: PeerId, peer: Peer): void => { known.set(id.toString(), { peer, protocols: new Set(peer.protocols), at: now() }) }
  // every write: what it returns is what the store now holds; a failed one leaves it unknown
  const through = <A extends [PeerId, ...unknown[]]>(write: (...args: A) => Promise<Peer>) => async (...args: A): Promise<Peer> => {
    try {
      const peer = await write(...args)
      learn(args[0], peer)
      return peer
    } catch (err) {
      known.delete(args[0].toString())
      throw err
    }
  }
  const merge = through(store.merge.bind(store))
  const patch = through(store.patch.bind(store))
  const save = through(store.save.bind(store))
  const del = store.delete.bind(store)

  store.merge = async (id, data, options) => {
    const keys = Object.keys(data).filter(k => (data as Record<string, unknown>)[k] !== undefined)
    const k = known.get(id.toString())
    if (k !== undefined && keys.length === 1 && keys[0] === 'protocols' && now() - k.at < refreshMs &&
      (data.protocols ?? []).every(p => k.protocols.has(p))) {
      skipped++
      // what the last write returned (libp2p's callers of a protocols merge do not read it)
      return k.peer
    }
    return await merge(id, data, options)
  }
  store.patch = patch
  store.save = save
  store.delete = async (id, options) => { known.delete(id.toString()); await del(id, options) }
  return { skipped: () => skipped }
}
