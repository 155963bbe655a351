/**
 * A stream's protocol already on record in the peer store is not written
 * again: two real nodes, their peer stores in LevelDB, many streams of one
 * protocol between them. And what the store holds stays right: a protocol
 * the record lost is written again, and after the refresh time a write goes
 * through (it also keeps the record from ageing out).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Datastore } from 'interface-datastore'
import { LevelDatastore } from 'datastore-level'
import { TypedEventEmitter } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { persistentPeerStore } from '@libp2p/peer-store'
import { afterEach, describe, expect, it } from 'vitest'
import { skipKnownProtocolMerges } from '../../src/mesh/known-protocols.js'
import { createMeshLibp2p } from '../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'

const PROTOCOL = '/meshmon-test/echo/1.0.0'

/** a LevelDB datastore that counts the writes of peer records */
async function countingStore (dir: string): Promise<{ store: LevelDatastore, peerWrites: () => number }> {
  const store = new LevelDatastore(dir)
  await store.open()
  let writes = 0
  const put = store.put.bind(store)
  store.put = async (key, value, options) => {
    if (key.toString().startsWith('/peers/')) writes++
    return await put(key, value, options)
  }
  return { store, peerWrites: () => writes }
}

describe('peer records and streams', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c() })

  it('forty streams of one protocol write the peer\'s record a few times, not forty, on either side', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshmon-known-protocols-'))
    cleanup.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const swarmKey = normaliseSwarmKey(generateSwarmKey())
    const port = await freePort()
    const a = await countingStore(join(dir, 'a'))
    const b = await countingStore(join(dir, 'b'))
    const listener = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: [`/ip4/127.0.0.1/tcp/${port}`], datastore: a.store as unknown as Datastore })
    const dialer = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: [], datastore: b.store as unknown as Datastore })
    cleanup.push(async () => { await a.store.close(); await b.store.close() })
    cleanup.push(async () => { await dialer.stop(); await listener.stop() })
    let accepted = 0
    await listener.handle(PROTOCOL, ({ stream }) => { accepted++; void stream.close() }, { maxInboundStreams: 64 })
    const conn = await dialer.dial(listener.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(5000) })
    // identify writes both records first: wait for it, then count only the streams' writes
    await waitFor('identify on both sides', async () =>
      (await dialer.peerStore.get(listener.peerId)).protocols.includes(PROTOCOL) &&
      (await listener.peerStore.get(dialer.peerId)).protocols.length > 0, 5000)
    const before = { a: a.peerWrites(), b: b.peerWrites() }
    for (let i = 0; i < 40; i++) {
      const s = await conn.newStream(PROTOCOL, { signal: AbortSignal.timeout(5000) })
      await s.close()
    }
    await waitFor('every stream accepted', () => accepted === 40, 5000)
    const written = { a: a.peerWrites() - before.a, b: b.peerWrites() - before.b }
    // a write or two per side to learn what the store holds (the first stream's, identify's late ones), not one per stream
    expect(written.a).toBeLessThanOrEqual(3)
    expect(written.b).toBeLessThanOrEqual(3)
    // and the record holds the protocol on both sides
    expect((await dialer.peerStore.get(listener.peerId)).protocols).toContain(PROTOCOL)
    expect((await listener.peerStore.get(dialer.peerId)).protocols).toContain(PROTOCOL)
  }, 30_000)

  it('a protocol the record no longer holds is written again; past the refresh time every merge goes through', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshmon-known-protocols-'))
    cleanup.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const a = await countingStore(join(dir, 'a'))
    cleanup.push(async () => { await a.store.close() })
    // libp2p's own peer store on LevelDB, wrapped on a clock the test moves
    const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const store = persistentPeerStore({ peerId: self, datastore: a.store as unknown as Datastore, events: new TypedEventEmitter(), logger: defaultLogger() })
    const clock = { now: 0 }
    const known = skipKnownProtocolMerges(store, { refreshMs: 60_000, now: () => clock.now })
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const w0 = a.peerWrites()
    await store.merge(other, { protocols: ['/x/1'] })
    await store.merge(other, { protocols: ['/x/1'] })
    expect(a.peerWrites() - w0).toBe(1)
    expect(known.skipped()).toBe(1)
    // identify replaces the list: /x/1 is gone from the record, so the next stream's merge writes it again
    await store.patch(other, { protocols: ['/y/1'] })
    await store.merge(other, { protocols: ['/x/1'] })
    expect((await store.get(other)).protocols.sort()).toEqual(['/x/1', '/y/1'])
    expect(a.peerWrites() - w0).toBe(3)
    // a merge of more than protocols (here metadata too) is never skipped
    await store.merge(other, { protocols: ['/x/1'], metadata: { k: new Uint8Array([1]) } })
    expect(a.peerWrites() - w0).toBe(4)
    // past the refresh time, the record is written again (its age renewed)
    clock.now += 60_001
    await store.merge(other, { protocols: ['/x/1'] })
    expect(a.peerWrites() - w0).toBe(5)
    expect(known.skipped()).toBe(1)
  }, 30_000)
})
