/**
 * Whether the node can listen on an address: what the TCP transport takes, or
 * plain WebSockets on an IP and port. libp2p skips an address no transport
 * takes without a word when another one works, so `run` checks them first
 * and names the bad ones.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { TCP } from '@multiformats/multiaddr-matcher'
import { isListenable as isWebSocketListenable } from './websockets/address.js'

export function canListenOn (addr: string): boolean {
  const ma = multiaddr(addr)
  // the filter @libp2p/tcp applies to listen addresses
  return TCP.exactMatch(ma) || isWebSocketListenable(ma)
}
