/**
 * Patch `stale-dials` with real libp2p nodes on 127.0.0.1: a dial to a peer
 * that is stuck (here a host that takes the TCP connection and never says a
 * word, as a connect behind a cut cable waits on its retransmits) takes every
 * later dial to that peer with it, even once the peer answers at that address;
 * retired, the next dial connects at once.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshLibp2p } from '../../src/mesh/libp2p.js'
import { retireDials } from '../../src/mesh/stale-dials.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { Patches } from '../../src/patches.js'
import { waitFor } from '../support/wait.js'

const swarmKey = normaliseSwarmKey(generateSwarmKey())
const stops: Array<() => Promise<void> | void> = []

describe('patch stale-dials', () => {
  afterEach(async () => { for (const stop of stops.splice(0).reverse()) await stop() })

  async function stuckDial (patchesOff: string[] = []): Promise<{ retire: () => number, redial: (ms: number) => Promise<unknown>, patches: Patches, peer: string }> {
    const held = new Set<Socket>()
    const hung = createServer(socket => { held.add(socket) })
    await new Promise<void>(resolve => hung.listen(0, '127.0.0.1', resolve))
    const { port } = hung.address() as AddressInfo
    stops.push(() => { for (const socket of held) socket.destroy(); hung.close() })
    const patches = new Patches(patchesOff)
    const node = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'], patches })
    stops.push(async () => { await node.stop() })
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key)
    await node.peerStore.merge(id, { multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}`)] })
    const began = Date.now()
    node.dial(id, { signal: AbortSignal.timeout(60_000) }).catch(() => {})
    await waitFor('a dial stuck for over a second', () => held.size > 0 && Date.now() - began > 1200)
    // the peer comes up at that address (the stuck connection stays open)
    hung.close()
    const peer = await createMeshLibp2p({ privateKey: key, swarmKey, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    stops.push(async () => { await peer.stop() })
    return {
      retire: () => retireDials(node, id.toString()),
      redial: async ms => await node.dial(id, { signal: AbortSignal.timeout(ms) }),
      patches,
      peer: id.toString()
    }
  }

  it('a later dial joins the stuck one and fails with it; retired, the next connects', async () => {
    const d = await stuckDial()
    expect(d.patches.status()).toContainEqual({ patch: 'stale-dials', active: true })
    await expect(d.redial(2000)).rejects.toThrow()
    expect(d.retire()).toBe(1)
    const conn = await d.redial(5000) as { remotePeer: { toString: () => string } }
    expect(conn.remotePeer.toString()).toBe(d.peer)
  })

  it('switched off: nothing is retired', async () => {
    const d = await stuckDial(['stale-dials'])
    expect(d.patches.status()).toContainEqual({ patch: 'stale-dials', active: false, reason: 'switched off (patchesOff)' })
    expect(d.retire()).toBe(0)
    await expect(d.redial(1500)).rejects.toThrow()
  })
})
