/**
 * Garbage on the wire: a swarm member sends undecodable, wrongly shaped,
 * oversized, forged, replayed and future-dated gossip to a real node. Each is
 * refused and counted by reason; the node keeps running, keeps its peer list
 * right, and takes a valid record from its signer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_GOSSIP_BYTES } from '../../src/heartbeat/streams.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { record } from '../support/record.js'
import { Rogue } from '../support/rogue.js'
import { waitFor } from '../support/wait.js'

const invalid = (text: string, reason: string): number =>
  Number(new RegExp(`^meshmon_gossip_messages_invalid_total\\{reason="${reason}"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)

describe('garbage on the wire', () => {
  const cluster = new Cluster()
  let node: NodeProc
  let evil: Rogue

  beforeAll(async () => {
    await cluster.init()
    node = await cluster.start('target')
    evil = await Rogue.join(cluster.swarmKey)
  })
  afterAll(async () => {
    await evil?.stop()
    await cluster.stopAll()
  })

  const metrics = async (): Promise<string> => await (await fetch(`${node.api}/metrics`)).text()
  const target = (): string => `${node.addr}/p2p/${node.peerId as string}`
  /** each bad frame makes the node close the stream: a fresh one per frame */
  const frame = async (bytes: Uint8Array | object): Promise<void> => {
    await evil.open(target())
    if (bytes instanceof Uint8Array) await evil.sendRaw(bytes)
    else await evil.send(bytes)
  }

  it('refuses and counts each kind of bad message; the node stays up and lists only itself', async () => {
    await frame(new Uint8Array([0xde, 0xad, 0xbe, 0xef]))
    await frame({ k: 'hello' })
    await frame({ k: 'push', items: [{ o: 'x' }] })
    await frame(new Uint8Array(MAX_GOSSIP_BYTES + 1))
    await waitFor('decode, schema and too_large counted', async () => {
      const m = await metrics()
      return invalid(m, 'decode') >= 1 && invalid(m, 'schema') >= 2 && invalid(m, 'too_large') >= 1
    })
    expect((await fetch(`${node.api}/healthz`)).status).toBe(200)
    expect((await cluster.peers(node)).map(p => p.name)).toEqual(['target'])
  })

  it('refuses records that are forged, unsigned, future-dated or invalid, and counts them', async () => {
    const now = Date.now()
    const victim = node.peerId as string
    // a refused record is not a broken stream: all on one
    await frame({ k: 'push', items: [evil.envelope(record({ name: 'forged', boot: now, seq: 99 }), victim)] })
    await evil.send({ k: 'push', items: [{ ...evil.envelope(record({ name: 'unsigned', boot: now, seq: 1 })), s: '' }] })
    await evil.send({ k: 'push', items: [evil.envelope(record({ name: 'future', boot: now, seq: 1, ts: now + 3_600_000 }))] })
    await evil.send({ k: 'push', items: [evil.envelope(record({ name: 'bad-label', boot: now, seq: 1, labels: { 'a"b}': 'x' } }))] })
    await waitFor('signature, clock and schema counted', async () => {
      const m = await metrics()
      return invalid(m, 'signature') >= 2 && invalid(m, 'clock') >= 1 && invalid(m, 'schema') >= 3
    })
    expect((await cluster.peers(node)).map(p => p.name)).toEqual(['target'])
  })

  it('takes a valid record from its signer; an older one is ignored as a replay', async () => {
    const boot = Date.now()
    await evil.send({ k: 'push', items: [evil.envelope(record({ name: 'evil', boot, seq: 10 }))] })
    await waitFor('evil listed', async () => (await cluster.peers(node)).some(p => p.name === 'evil'))
    const listed = (await cluster.peers(node)).find(p => p.name === 'evil')
    expect(listed.peerId).toBe(evil.peerId) // the origin is the signer
    await evil.send({ k: 'push', items: [evil.envelope(record({ name: 'evil-old', boot, seq: 9 }))] })
    await evil.send({ k: 'push', items: [evil.envelope(record({ name: 'evil', boot, seq: 11 }))] })
    await waitFor('the newer record applied', async () => (await cluster.peers(node)).find(p => p.peerId === evil.peerId)?.name === 'evil')
    expect((await cluster.peers(node)).some(p => p.name === 'evil-old')).toBe(false)
    expect((await fetch(`${node.api}/healthz`)).status).toBe(200)
  })
})
