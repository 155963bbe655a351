/**
 * Garbage on the wire (issue 2): a swarm member publishes undecodable, wrongly
 * shaped, oversized and replayed heartbeats to a real node. Each is dropped and
 * counted by reason; the node keeps running and keeps its peer list right.
 */
import { readFile } from 'node:fs/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeHeartbeat, TOPIC } from '../../src/heartbeat/wire.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { beat } from '../support/beat.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'

const invalid = (text: string, reason: string): number =>
  Number(new RegExp(`^meshmon_gossip_messages_invalid_total\\{reason="${reason}"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)

describe('garbage on the wire', () => {
  const cluster = new Cluster()
  let node: NodeProc
  let evil: MeshLibp2p

  beforeAll(async () => {
    await cluster.init()
    node = await cluster.start('target')
    evil = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey: normaliseSwarmKey(await readFile(cluster.swarmKey, 'utf8')), listen: [] })
    evil.services.pubsub.subscribe(TOPIC)
    await evil.dial(multiaddr(`${node.addr}/p2p/${node.peerId as string}`))
    await waitFor('the node in our topic mesh', () => evil.services.pubsub.getSubscribers(TOPIC).length === 1)
  })
  afterAll(async () => {
    await evil?.stop()
    await cluster.stopAll()
  })

  const metrics = async (): Promise<string> => await (await fetch(`${node.api}/metrics`)).text()
  const publish = async (data: Uint8Array): Promise<void> => { await evil.services.pubsub.publish(TOPIC, data) }

  it('drops and counts each kind of invalid message; the node stays up', async () => {
    await publish(new Uint8Array([0xde, 0xad, 0xbe, 0xef]))
    await publish(new TextEncoder().encode('{"v":1,"k":"hb"}'))
    await publish(encodeHeartbeat({ ...beat({ name: 'x' }), from: 'someone-else' } as any))
    await publish(new TextEncoder().encode(JSON.stringify({ ...beat(), name: 'x'.repeat(70_000) })))
    await waitFor('decode, schema and too_large counted', async () => {
      const m = await metrics()
      return invalid(m, 'decode') >= 1 && invalid(m, 'schema') >= 2 && invalid(m, 'too_large') >= 1
    })
    expect((await fetch(`${node.api}/healthz`)).status).toBe(200)
    expect((await cluster.peers(node)).map(p => p.name)).toEqual(['target'])
  })

  it('a valid heartbeat is accepted from its signer; an older sequence is a replay', async () => {
    const boot = Date.now()
    await publish(encodeHeartbeat(beat({ name: 'evil', seq: 10, boot })))
    await waitFor('evil listed', async () => (await cluster.peers(node)).some(p => p.name === 'evil'))
    const listed = (await cluster.peers(node)).find(p => p.name === 'evil')
    expect(listed.peerId).toBe(evil.peerId.toString()) // the sender is the signer
    await publish(encodeHeartbeat(beat({ name: 'evil', seq: 9, boot })))
    await waitFor('replay counted', async () => invalid(await metrics(), 'replay') >= 1)
    expect((await fetch(`${node.api}/healthz`)).status).toBe(200)
  })
})
