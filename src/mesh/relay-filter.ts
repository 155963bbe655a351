/**
 * Gossipsub relays every message it accepts to its mesh peers, but a
 * heartbeat's sender already flood-published it to every peer it is connected
 * to. Wherever the receiver holds a connection to the sender (every pair, in
 * a mesh within the keeper's target degree), a relayed copy is a duplicate:
 * Noise frames and a socket write at the relay, a read and a decode at the
 * receiver, for nothing (a 10-node mesh here: ~4 copies of each heartbeat per
 * node, a third of a node's CPU).
 *
 * This asks, before each forward, which mesh peers already had the message
 * from its sender, and skips them. What decides is the caller's: for
 * heartbeats, the beat names the peers its sender did not reach directly
 * (wire.ts `relay`), so a peer without a connection to the sender still gets
 * every beat through the mesh. Unknown messages, and every other topic, are
 * relayed as gossipsub does.
 */
type PeerIdStr = string
interface RawMessage { topic: string, data?: Uint8Array }

/** gossipsub 14's own forwarding step (private in its types; the version is pinned) */
interface Forwarding {
  forwardMessage: (msgIdStr: string, rawMsg: RawMessage, propagationSource?: PeerIdStr, excludePeers?: Set<PeerIdStr>) => void
  getMeshPeers: (topic: string) => PeerIdStr[]
}

export interface RelayStats { forwards: number, skipped: number }

/**
 * Wrap `pubsub`'s forwarding so mesh peers for which `hadFromSender(data, peer)`
 * holds are left out. Returns counters of the mesh peers forwarded to and skipped.
 */
export function skipRedundantRelays (pubsub: unknown, topic: string, hadFromSender: (data: Uint8Array, peer: PeerIdStr) => boolean): RelayStats {
  const gs = pubsub as Forwarding
  if (typeof gs.forwardMessage !== 'function' || typeof gs.getMeshPeers !== 'function') {
    throw new Error('gossipsub has no forwardMessage/getMeshPeers: the pinned version changed (see src/mesh/relay-filter.ts)')
  }
  const stats: RelayStats = { forwards: 0, skipped: 0 }
  const forward = gs.forwardMessage.bind(gs)
  gs.forwardMessage = (msgIdStr, rawMsg, propagationSource, excludePeers) => {
    const data = rawMsg.data
    if (rawMsg.topic !== topic || data === undefined) { forward(msgIdStr, rawMsg, propagationSource, excludePeers); return }
    let exclude = excludePeers
    for (const peer of gs.getMeshPeers(topic)) {
      if (peer === propagationSource || exclude?.has(peer) === true) continue
      if (hadFromSender(data, peer)) {
        if (exclude === excludePeers || exclude === undefined) exclude = new Set(excludePeers)
        exclude.add(peer)
        stats.skipped++
      } else {
        stats.forwards++
      }
    }
    forward(msgIdStr, rawMsg, propagationSource, exclude)
  }
  return stats
}
