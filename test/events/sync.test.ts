/**
 * Index sync (src/events/sync.ts): a peer that lacks events takes them from a
 * neighbour's index in bulk; the OrbitDB entries still replicate behind, and
 * nothing is counted twice. Garbage on the protocol, either way, is refused
 * and nothing valid is lost.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { lpStream } from 'it-length-prefixed-stream'
import { afterEach, describe, expect, it } from 'vitest'
import { SYNC_PROTOCOL } from '../../src/events/sync/protocol.js'
import { signEvent } from '../../src/events/trust/signature.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { waitFor } from '../support/wait.js'
import { Nodes, sample, waitForIds } from './helpers.js'

const enc = new TextEncoder()
const dec = new TextDecoder()
const json = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v))

describe('index sync', () => {
  let nodes: Nodes
  let raw: MeshLibp2p | undefined
  afterEach(async () => {
    await raw?.stop()
    raw = undefined
    await nodes.stopAll()
  })

  it('a fresh peer takes a history of one-event entries from a neighbour\'s index; the entries follow, nothing counted twice', async () => {
    nodes = new Nodes()
    // one event per entry: how a quiet mesh writes, and the slow case for OrbitDB replication
    const a = await nodes.start('a', { maxEvents: 1, record: false })
    const written = await a.events.appendMany(Array.from({ length: 400 }, (_, i) => sample(i, 'a')))
    const aEntries = (await a.events.periods()).reduce((n, p) => n + p.entries.length, 0)
    expect(aEntries).toBe(400)

    const fresh = await nodes.start('fresh', { record: false })
    await nodes.connect(a, fresh)
    await waitForIds(fresh, written.map(e => e.id), 30_000)
    expect(fresh.events.syncStats()).toMatchObject({ exchanges: 1, failed: 0 })
    // the bulk of them came from a's index, not from replicated entries
    expect(fresh.events.syncStats().added).toBeGreaterThan(300)
    expect(a.events.syncStats().served).toBeGreaterThan(300)
    expect((await fresh.events.query({ limit: 400 })).map(e => e.id)).toEqual((await a.events.query({ limit: 400 })).map(e => e.id))

    // OrbitDB still replicates every entry behind, and their events are not added again
    await waitFor('fresh to hold all 400 entries', async () => (await fresh.events.periods()).reduce((n, p) => n + p.entries.length, 0) === 400, 60_000, 200)
    expect(fresh.events.count()).toBe(400)

    // a restart with everything held: the exchange finds nothing to send
    const served = a.events.syncStats().served
    const { dataDir, privateKey } = fresh
    await fresh.stop()
    const again = await nodes.start('fresh', { record: false }, { dataDir, privateKey })
    await nodes.connect(a, again)
    await waitFor('the exchange after the restart', () => again.events.syncStats().exchanges === 1, 15_000)
    expect(again.events.syncStats()).toMatchObject({ added: 0, failed: 0 })
    expect(a.events.syncStats().served).toBe(served)
    expect(again.events.count()).toBe(400)
  }, 90_000)

  it('two peers holding as many events but not the same ones (each side of a healed split) each take the other\'s', async () => {
    nodes = new Nodes()
    const a = await nodes.start('a', { record: false })
    const b = await nodes.start('b', { record: false })
    const fromA = await a.events.appendMany(Array.from({ length: 3 }, (_, i) => sample(i, 'a')))
    const fromB = await b.events.appendMany(Array.from({ length: 3 }, (_, i) => sample(i, 'b')))
    await nodes.connect(a, b)
    const all = [...fromA, ...fromB].map(e => e.id)
    await waitForIds(a, all, 30_000)
    await waitForIds(b, all, 30_000)
    // by index sync, at the first exchange: equal counts per bucket no longer read as "nothing to send"
    await waitFor('both exchanges', () => a.events.syncStats().exchanges >= 1 && b.events.syncStats().exchanges >= 1, 15_000)
    expect(a.events.syncStats().added).toBe(3)
    expect(b.events.syncStats().added).toBe(3)
  }, 60_000)

  it('a garbage request is refused and the node answers the next good one', async () => {
    nodes = new Nodes()
    const a = await nodes.start('a', { record: false })
    await a.events.appendMany(Array.from({ length: 5 }, (_, i) => sample(i, 'a')))
    raw = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey: nodes.meshKey, listen: [] })
    await raw.dial(a.libp2p.getMultiaddrs()[0]!)

    /** send one message, return the first answer, or the error that ended the stream */
    const ask = async (body: Uint8Array): Promise<string> => {
      const stream = await raw!.dialProtocol(a.libp2p.peerId, SYNC_PROTOCOL)
      const lp = lpStream(stream, { maxDataLength: 8 << 20 })
      try {
        await lp.write(body)
        return dec.decode((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())
      } catch (err: any) {
        return `error: ${String(err.name)}`
      } finally { stream.abort(new Error('done')) }
    }
    const good = { v: 1, bucketMs: 86_400_000, notBefore: new Date(Date.now() - 86_400_000).toISOString(), counts: {} }
    for (const bad of [
      enc.encode('not json at all'),
      json([1, 2, 3]),
      json({ ...good, v: 2 }),
      json({ ...good, bucketMs: 10 }),
      json({ ...good, notBefore: 'yesterday-ish' }),
      json({ ...good, counts: { x: 'lots' } }),
      json({ ...good, counts: Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [i, 0])) }),
      json({ ...good, digests: [] }),
      json({ ...good, digests: { 1: 'not hex at all!!' } }),
      json({ ...good, digests: { x: '0123456789abcdef' } }),
      json({ ...good, digests: Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [i, '0123456789abcdef'])) }),
      new Uint8Array(2 << 20).fill(0x7b) // over the 1 MiB request limit
    ]) {
      expect(await ask(bad)).toMatch(/^error: /)
    }
    const answer = await ask(json(good))
    expect(JSON.parse(answer).events).toHaveLength(5)
    expect(await a.events.query({ limit: 10 })).toHaveLength(5)
  }, 60_000)

  it('an answer with an invalid event ends the exchange; the valid events before it are kept', async () => {
    nodes = new Nodes()
    const key = await generateKeyPair('Ed25519')
    raw = await createMeshLibp2p({ privateKey: key, swarmKey: nodes.meshKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
    const now = Date.now()
    // events this peer wrote itself: signed by its key, its peer id as the source
    const event = async (i: number): Promise<unknown> => await signEvent({ id: `evil-${i}`, ts: new Date(now - i * 1000).toISOString(), type: 'peer.down', severity: 'critical', source: raw!.peerId.toString(), subject: { peer: `p${i}`, name: `n${i}` }, message: 'm', labels: {} }, key)
    const first = [await event(1), await event(2), await event(3)]
    const second = [await event(4), { id: 'bad', type: 'no.such.type' }]
    let requests = 0
    await raw.handle(SYNC_PROTOCOL, ({ stream }: { stream: Stream }) => {
      void (async () => {
        const lp = lpStream(stream)
        await lp.read()
        requests++
        await lp.write(json({ events: first }))
        await lp.write(json({ events: second }))
        await lp.write(json({ done: true, sent: 5 }))
        await stream.close()
      })().catch(() => { stream.abort(new Error('closed')) })
    })
    const a = await nodes.start('a', { record: false })
    await raw.dial(a.libp2p.getMultiaddrs()[0]!)
    await waitFor('the exchange with the bad peer', () => a.events.syncStats().failed === 1, 15_000)
    expect(requests).toBe(1)
    expect(a.events.syncStats()).toMatchObject({ added: 3, exchanges: 0, refused: { invalid: 1 } })
    expect((await a.events.query({ limit: 10 })).map(e => e.id).sort()).toEqual(['evil-1', 'evil-2', 'evil-3'])
    // the node goes on: it writes and serves as before
    await a.events.append(sample(1, 'after'))
    expect(a.events.count()).toBe(4)
  }, 60_000)
})
