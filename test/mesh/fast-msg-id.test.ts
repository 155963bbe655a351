/**
 * Duplicate gossip is recognised before its signature is checked
 * (src/mesh/fast-msg-id.ts). Three real nodes, fully connected: every message
 * reaches each receiver directly and again through the third node's relay.
 * Signature checks are counted with a spy on node:crypto's verify (the
 * function @libp2p/crypto calls for ed25519), never replaced.
 */
import crypto from 'node:crypto'
import type { GossipSub } from '@chainsafe/libp2p-gossipsub'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { fastMsgId } from '../../src/mesh/fast-msg-id.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'

const TOPIC = 'fast-msg-id-test'

describe('fastMsgId', () => {
  it('names a message by sender and sequence number, and nothing else', () => {
    const from = Uint8Array.of(0, 36, 8, 1, 18, 32, 7, 7)
    const seq = (n: number): Uint8Array => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n)); return b }
    const a = fastMsgId({ from, seqno: seq(1) })
    expect(fastMsgId({ from: from.slice(), seqno: seq(1) })).toBe(a)
    expect(fastMsgId({ from, seqno: seq(2) })).not.toBe(a)
    expect(fastMsgId({ from: Uint8Array.of(0, 36, 8, 1, 18, 32, 7, 8), seqno: seq(1) })).not.toBe(a)
    // a view into a larger buffer reads only its own bytes
    const big = new Uint8Array(32).fill(9); big.set(from, 4)
    expect(fastMsgId({ from: big.subarray(4, 4 + from.length), seqno: seq(1) })).toBe(a)
    // unsigned messages carry neither: one key that gossipsub never stores, as they fail validation
    expect(fastMsgId({})).toBe('')
  })
})

describe('duplicates in a real three-node mesh', () => {
  let nodes: MeshLibp2p[] = []
  afterEach(async () => {
    vi.restoreAllMocks()
    await Promise.all(nodes.map(async n => { await n.stop() }))
    nodes = []
  })

  /** publishes `count` messages from the first node; returns signature checks per message delivered */
  async function verifiesPerDelivery (fastDuplicates: boolean, count: number): Promise<{ perDelivery: number, delivered: number }> {
    const swarmKey = normaliseSwarmKey(generateSwarmKey())
    for (let i = 0; i < 3; i++) {
      nodes.push(await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: [`/ip4/127.0.0.1/tcp/${await freePort()}`], fastDuplicates }))
    }
    const [a, b, c] = nodes as [MeshLibp2p, MeshLibp2p, MeshLibp2p]
    const received = new Map<MeshLibp2p, number>([[b, 0], [c, 0]])
    for (const n of nodes) {
      n.services.pubsub.subscribe(TOPIC)
      n.services.pubsub.addEventListener('message', () => { received.set(n, (received.get(n) ?? 0) + 1) })
    }
    await a.dial(b.getMultiaddrs())
    await a.dial(c.getMultiaddrs())
    await b.dial(c.getMultiaddrs())
    // every node has both others in its topic mesh, so each receiver gets a direct and a relayed copy
    await waitFor('a full topic mesh', () => nodes.every(n => (n.services.pubsub as unknown as GossipSub).getMeshPeers(TOPIC).length === 2), 15_000)

    // copies as they come off the wire, before any duplicate check
    const copies = new Map<MeshLibp2p, number>([[b, 0], [c, 0]])
    for (const n of [b, c]) {
      const ps = n.services.pubsub as unknown as { handleReceivedMessage: (...args: unknown[]) => Promise<void> }
      const original = ps.handleReceivedMessage.bind(ps)
      vi.spyOn(ps, 'handleReceivedMessage').mockImplementation(async (...args: unknown[]) => { copies.set(n, (copies.get(n) ?? 0) + 1); await original(...args) })
    }
    const verify = vi.spyOn(crypto, 'verify')
    for (let i = 0; i < count; i++) await a.services.pubsub.publish(TOPIC, new TextEncoder().encode(`beat ${i}`))
    await waitFor('every message delivered once to b and c', () => received.get(b) === count && received.get(c) === count, 15_000)
    // b relays each message to c and c to b: a second copy of each at both
    await waitFor('a relayed copy of every message at b and c', () => (copies.get(b) ?? 0) >= 2 * count && (copies.get(c) ?? 0) >= 2 * count, 15_000)
    const calls = verify.mock.calls.length
    vi.restoreAllMocks()
    return { perDelivery: calls / (2 * count), delivered: (received.get(b) ?? 0) + (received.get(c) ?? 0) }
  }

  it('checks one signature per message delivered, not one per copy received', async () => {
    const withFast = await verifiesPerDelivery(true, 30)
    await Promise.all(nodes.map(async n => { await n.stop() })); nodes = []
    const without = await verifiesPerDelivery(false, 30)
    // without it every copy is verified: about twice per delivered message here
    expect(without.perDelivery).toBeGreaterThanOrEqual(1.8)
    expect(withFast.perDelivery).toBeLessThanOrEqual(1.1)
    expect(withFast.delivered).toBe(60)
  }, 60_000)
})
