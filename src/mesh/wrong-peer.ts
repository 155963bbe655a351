/**
 * A dial for one peer that reached another. libp2p 2.x dials a peer at the
 * addresses it knows for it and keeps whatever node answers there: it does
 * not compare the identity Noise proved with the peer it dialled. Addresses
 * come from records, and a member holding the swarm key can sign a record
 * for a key it made up that names another node's address. Unchecked, the
 * dial "to" the made-up peer got that node's connection: its beats were
 * counted as the made-up peer's (the made-up peer a live member, the real
 * node's own beat stream to that watcher replaced, so the real node went
 * silent there), and its probe answers too, so nodes weighed their reach
 * against members that do not exist and found themselves on the small side.
 */
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export class WrongPeerError extends Error {
  override readonly name = 'WrongPeerError'
}

/** Throws when `addr` was dialled for a peer other than `reached` (the identity Noise proved). */
export function refuseWrongPeer (reached: PeerId, addr: Multiaddr | undefined): void {
  const dialled = addr?.getPeerId()
  if (dialled == null || dialled === reached.toString()) return
  throw new WrongPeerError(`${addr?.toString() ?? ''} answered as ${reached.toString()}: the address given for ${dialled} is another node's`)
}
