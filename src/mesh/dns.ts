/**
 * `/dns4/NAME/tcp/PORT` -> one `/ip4/ADDR/tcp/PORT` per address of NAME.
 * libp2p's TCP transport would dial only the first address; in a docker swarm
 * `tasks.meshmon` resolves to every task, and we want them all.
 * A WebSockets address keeps its name: the server there is often a reverse
 * proxy that needs it (the Host header picks the site; TLS needs it for SNI
 * and the certificate), and the transport resolves it when it dials.
 */
import { lookup } from 'node:dns/promises'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

const FAMILY = { dns4: 4, dns6: 6, dns: 0 } as const

export async function expandDns (addr: Multiaddr): Promise<Multiaddr[]> {
  const [first, ...rest] = addr.getComponents()
  if (first === undefined || !(first.name in FAMILY) || first.value === undefined) return [addr]
  if (rest.some(c => c.name === 'ws' || c.name === 'wss' || c.name === 'tls')) return [addr]
  const family = FAMILY[first.name as keyof typeof FAMILY]
  const found = await lookup(first.value, { all: true, family })
  const tail = rest.map(c => `/${c.name}${c.value === undefined ? '' : `/${c.value}`}`).join('')
  return found.map(a => multiaddr(`/${a.family === 6 ? 'ip6' : 'ip4'}/${a.address}${tail}`))
}
