/**
 * A connection whose identify failed is identified again, or closed: two real
 * libp2p nodes of the swarm on 127.0.0.1, where B's identify answers the
 * first request (or every one) by resetting the stream, as a host too loaded
 * to answer in time fails it. A's topology for a protocol B speaks is told of
 * B only once an identify of B succeeds.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { IncomingStreamData, PeerId } from '@libp2p/interface'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { IdentifyAgain } from '../../src/mesh/identify-again.js'
import { selfRegistry } from '../../src/metrics/self.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { waitFor } from '../support/wait.js'

const IDENTIFY = '/ipfs/id/1.0.0'
const PROTOCOL = '/meshmon/test-identify/1.0.0'
const swarmKey = normaliseSwarmKey(generateSwarmKey())
const started: MeshLibp2p[] = []
const again: IdentifyAgain[] = []

async function node (): Promise<MeshLibp2p> {
  const n = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
  started.push(n)
  await n.handle(PROTOCOL, ({ stream }) => { stream.abort(new Error('unused')) })
  return n
}

/** B's identify resets the first `failures` requests, then answers as the library does */
async function failIdentify (b: MeshLibp2p, failures: number): Promise<{ requests: number }> {
  const seen = { requests: 0 }
  const service = b.services.identify as unknown as { handleProtocol: (data: IncomingStreamData) => Promise<void> }
  await b.unhandle(IDENTIFY)
  await b.handle(IDENTIFY, data => {
    if (++seen.requests <= failures) { data.stream.abort(new Error('too busy to answer')); return }
    service.handleProtocol(data).catch(() => {})
  })
  return seen
}

/** the peers A's topology for PROTOCOL was told of */
async function topology (a: MeshLibp2p): Promise<Set<string>> {
  const told = new Set<string>()
  await a.register(PROTOCOL, { onConnect: (peer: PeerId) => { told.add(peer.toString()) } })
  return told
}

describe('a connection whose identify failed', () => {
  afterEach(async () => {
    for (const x of again.splice(0)) x.stop()
    for (const n of started.splice(0)) await n.stop()
  })

  it('is identified again, and the protocols of the peer hear of it', async () => {
    const [a, b] = [await node(), await node()]
    const seen = await failIdentify(b, 1)
    const told = await topology(a)
    const retry = new IdentifyAgain(a, a.services.identify, pino({ level: 'silent' }), { checkAfterMs: 500 })
    again.push(retry)
    retry.start()
    await a.dial(b.getMultiaddrs()[0]!)
    await waitFor('A told of B', () => told.has(b.peerId.toString()), 10_000)
    // the library's own identify failed; the one that succeeded was the try again
    expect(seen.requests).toBe(2)
    expect(retry.stats).toEqual({ checked: 1, succeeded: 1, failed: 0, closed: 0 })
  })

  it('is closed after its tries, so the keeper dials afresh', async () => {
    const [a, b] = [await node(), await node()]
    const seen = await failIdentify(b, Infinity)
    const told = await topology(a)
    const retry = new IdentifyAgain(a, a.services.identify, pino({ level: 'silent' }), { checkAfterMs: 200, tries: 2 })
    again.push(retry)
    retry.start()
    await a.dial(b.getMultiaddrs()[0]!)
    await waitFor('the connection closed', () => retry.stats.closed === 1 && a.getConnections(b.peerId).length === 0, 10_000)
    expect(seen.requests).toBe(3)
    expect(retry.stats).toEqual({ checked: 1, succeeded: 0, failed: 2, closed: 1 })
    expect(told.size).toBe(0)
    // as an operator reads it
    const { registry } = selfRegistry({ peerId: a.peerId.toString(), name: 'a', gossip: () => ({ received: 0, invalid: {} }), connectedPeers: () => 0, identifyRetries: () => retry.stats })
    const text = await registry.metrics()
    for (const [result, n] of [['succeeded', 0], ['failed', 2], ['closed', 1]]) expect(text).toMatch(new RegExp(`^meshmon_identify_retries_total\\{[^}]*result="${result}"[^}]*\\} ${n}$`, 'm'))
  })

  it('is left alone when identify worked', async () => {
    const [a, b] = [await node(), await node()]
    const told = await topology(a)
    const retry = new IdentifyAgain(a, a.services.identify, pino({ level: 'silent' }), { checkAfterMs: 200 })
    again.push(retry)
    retry.start()
    await a.dial(b.getMultiaddrs()[0]!)
    await waitFor('A told of B', () => told.has(b.peerId.toString()), 10_000)
    // once checked: nothing was tried again, the connection stays
    await waitFor('the connection checked', () => retry.stats.checked === 1, 10_000)
    expect(retry.stats).toEqual({ checked: 1, succeeded: 0, failed: 0, closed: 0 })
    expect(a.getConnections(b.peerId).length).toBe(1)
  })
})
