/**
 * The addresses this transport takes. Dial: `/ws`, `/wss` or `/tls/ws` over
 * TCP to an IP or DNS name, optionally with `/http-path/PATH` (a reverse proxy
 * that forwards one location), optionally ending in `/p2p/ID`. Listen: plain
 * `/ws` on an IP and port; TLS and paths are a reverse proxy's job, and the
 * listener accepts an upgrade on any path.
 */
import type { Multiaddr } from '@multiformats/multiaddr'

const HOSTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])
const DIAL_TAILS = new Set(['ws', 'wss', 'tls/ws', 'tls/sni/ws'])

const names = (ma: Multiaddr): string[] => {
  const n = ma.getComponents().map(c => c.name)
  if (n.at(-1) === 'p2p') n.pop()
  return n
}

export function isDialable (ma: Multiaddr): boolean {
  const n = names(ma)
  if (n.at(-1) === 'http-path') n.pop()
  const [host, tcp, ...tail] = n
  return host !== undefined && HOSTS.has(host) && tcp === 'tcp' && DIAL_TAILS.has(tail.join('/'))
}

export function isListenable (ma: Multiaddr): boolean {
  const n = names(ma)
  return n.length === 3 && (n[0] === 'ip4' || n[0] === 'ip6') && n[1] === 'tcp' && n[2] === 'ws'
}
