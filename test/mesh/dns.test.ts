/** Bootstrap by DNS: /dns4/NAME/tcp/PORT without a peer id dials every address of NAME. */
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { expandDns } from '../../src/mesh/dns.js'
import { Cluster } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'

describe('bootstrap by DNS name', () => {
  let cluster: Cluster | undefined
  afterEach(async () => { await cluster?.stopAll() })

  it('expands a /dns4 name to one /ip4 address per A record, keeping the rest', async () => {
    const out = await expandDns(multiaddr('/dns4/localhost/tcp/4001/p2p/12D3KooWDqBAGLUMY6HwCCzMjN8uDN6L5KVoPKoKXQpyrnRK8izV'))
    expect(out.map(a => a.toString())).toContain('/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDqBAGLUMY6HwCCzMjN8uDN6L5KVoPKoKXQpyrnRK8izV')
    expect(out.every(a => a.toString().startsWith('/ip4/'))).toBe(true)
    expect((await expandDns(multiaddr('/ip4/10.1.2.3/tcp/1'))).map(String)).toEqual(['/ip4/10.1.2.3/tcp/1'])
  })

  it('keeps the name of a WebSockets address: a proxy there needs it (Host header, TLS SNI and certificate)', async () => {
    for (const a of ['/dns4/localhost/tcp/8080/ws/http-path/p2p', '/dns4/localhost/tcp/443/tls/ws', '/dns/localhost/tcp/443/wss']) {
      expect((await expandDns(multiaddr(a))).map(String)).toEqual([a])
    }
  })

  it('a node joins through /dns4/localhost/tcp/PORT with no peer id', async () => {
    cluster = await new Cluster().init()
    const a = await cluster.start('a')
    await cluster.start('b', [], { bootstrap: [`/dns4/localhost/tcp/${a.p2pPort}`] })
    await cluster.waitAll(2)
  })

  it('an unresolvable name is logged once as such, and the node keeps running', async () => {
    cluster = await new Cluster().init()
    const n = await cluster.start('lonely', [], { bootstrap: ['/dns4/no-such-host.invalid/tcp/4001'] })
    await waitFor('the resolve failure logged', () => n.logs.some(l => /cannot resolve \/dns4\/no-such-host\.invalid\/tcp\/4001: ENOTFOUND/.test(l)), 10_000)
    expect((await fetch(`${n.api}/healthz`)).status).toBe(200)
  })
})
