/**
 * gossipsub scoring on a validated topic: a member whose messages the topic
 * validator rejects loses score with each, until gossipsub ignores it
 * (graylisted), while an honest member's messages keep arriving.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { waitFor } from '../support/wait.js'
import type { GossipSub } from '@chainsafe/libp2p-gossipsub'

const TOPIC = 'meshmon/test-scored/1'
const swarmKey = normaliseSwarmKey(generateSwarmKey())
const started: MeshLibp2p[] = []
// the service is typed as the PubSub interface; the score is GossipSub's own
const score = (n: MeshLibp2p, of: MeshLibp2p): number => (n.services.pubsub as unknown as GossipSub).getScore(of.peerId.toString())
const node = async (): Promise<MeshLibp2p> => {
  const n = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'], scoredTopics: [TOPIC] })
  started.push(n)
  n.services.pubsub.subscribe(TOPIC)
  return n
}

describe('a member that sends invalid messages on a validated topic', () => {
  afterEach(async () => { for (const n of started.splice(0)) await n.stop() })

  it('is scored down until ignored; an honest member is not', async () => {
    const [target, rogue, honest] = [await node(), await node(), await node()]
    const delivered: string[] = []
    target.services.pubsub.topicValidators.set(TOPIC, (_, msg) => new TextDecoder().decode(msg.data).startsWith('ok') ? TopicValidatorResult.Accept : TopicValidatorResult.Reject)
    target.services.pubsub.addEventListener('message', evt => { delivered.push(`${evt.detail.type === 'signed' ? evt.detail.from.toString() : '?'}:${new TextDecoder().decode(evt.detail.data)}`) })
    for (const n of [rogue, honest]) await n.dial(target.getMultiaddrs()[0]!)
    await waitFor('both in the topic', () => target.services.pubsub.getSubscribers(TOPIC).length === 2)
    for (let i = 0; i < 12; i++) await rogue.services.pubsub.publish(TOPIC, new TextEncoder().encode(`bad ${i}`))
    await waitFor('the rogue scored below the graylist threshold', () => score(target, rogue) < -80, 15_000)
    expect(score(target, honest)).toBeGreaterThanOrEqual(0)
    await honest.services.pubsub.publish(TOPIC, new TextEncoder().encode('ok from honest'))
    await waitFor('the honest message delivered', () => delivered.includes(`${honest.peerId.toString()}:ok from honest`))
  })
})
