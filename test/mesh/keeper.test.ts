/**
 * The connection keeper with real libp2p nodes on 127.0.0.1: a bootstrap peer
 * that was away is dialled again at once when it is heard of again (retry),
 * not when the backoff built up while it was away ends.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { ConnectionKeeper } from '../../src/mesh/keeper.js'
import { createMeshLibp2p } from '../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'

const swarmKey = normaliseSwarmKey(generateSwarmKey())
const stops: Array<() => Promise<void> | void> = []

describe('connection keeper', () => {
  afterEach(async () => { for (const stop of stops.splice(0).reverse()) await stop() })

  it('a peer heard of again is dialled now, not when the backoff of its absence ends', async () => {
    const lines: any[] = []
    const log = pino({ level: 'debug' }, { write: (l: string) => { lines.push(JSON.parse(l)) } })
    const port = await freePort()
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key)
    const node = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
    stops.push(async () => { await node.stop() })
    const keeper = new ConnectionKeeper(node, log, { bootstrap: [`/ip4/127.0.0.1/tcp/${port}/p2p/${id.toString()}`], tickMs: 100, minBackoffMs: 120_000, maxBackoffMs: 120_000 })
    keeper.start()
    stops.push(() => { keeper.stop() })
    // away (its port refuses): the next dial waits two minutes
    await waitFor('a failed dial', () => lines.some(l => l.msg === 'dial failed' && l.retryInMs > 60_000))
    const back = await createMeshLibp2p({ privateKey: key, swarmKey, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    stops.push(async () => { await back.stop() })
    keeper.retry(id.toString())
    await waitFor('connected to the peer back', () => node.getConnections(id).length > 0, 10_000)
    expect(lines.filter(l => l.msg === 'connected again')).toHaveLength(1)
  })
})
