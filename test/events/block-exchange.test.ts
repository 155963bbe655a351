/**
 * The block exchange (Helia's block broker here, instead of bitswap), between
 * real libp2p nodes of a private swarm on 127.0.0.1 with LevelDB blockstores:
 * a missing block comes from whichever connected peer holds it, a wrong block
 * or a garbage request is refused, and a block nobody holds yet is fetched once
 * it appears.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { LevelDatastore } from 'datastore-level'
import { lpStream } from 'it-length-prefixed-stream'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterEach, describe, expect, it } from 'vitest'
import { BLOCKS_PROTOCOL } from '../../src/events/orbit/block-exchange.js'
import { createEventsHelia, type EventsHelia } from '../../src/events/orbit/helia.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { silent } from './helpers.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { waitFor } from '../support/wait.js'

interface Peer { libp2p: MeshLibp2p, datastore: LevelDatastore, h: EventsHelia }

const swarmKey = normaliseSwarmKey(generateSwarmKey())
let peers: Peer[] = []
let dirs: string[] = []

async function peer (name: string): Promise<Peer> {
  const dir = await mkdtemp(join(tmpdir(), `meshmon-blocks-${name}-`))
  dirs.push(dir)
  const datastore = new LevelDatastore(join(dir, 'datastore'))
  await datastore.open()
  const libp2p = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'], datastore })
  const h = await createEventsHelia(libp2p, datastore, join(dir, 'blocks'), silent)
  const p = { libp2p, datastore, h }
  peers.push(p)
  return p
}

async function connect (a: Peer, b: Peer): Promise<void> {
  await a.libp2p.dial(b.libp2p.getMultiaddrs()[0]!)
}

async function block (text: string): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new TextEncoder().encode(text)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

/** one raw request on the protocol, as a misbehaving peer would send it */
async function request (from: Peer, to: Peer, bytes: Uint8Array): Promise<Uint8Array | Error> {
  const signal = AbortSignal.timeout(5_000)
  const stream = await from.libp2p.dialProtocol(to.libp2p.peerId, BLOCKS_PROTOCOL, { signal })
  const lp = lpStream(stream)
  try {
    await lp.write(bytes, { signal })
    return (await lp.read({ signal })).subarray()
  } catch (err: any) {
    return err
  } finally {
    stream.abort(new Error('done'))
  }
}

afterEach(async () => {
  for (const p of peers) {
    await p.h.stop().catch(() => {})
    await Promise.resolve(p.libp2p.stop()).catch(() => {})
    await p.datastore.close().catch(() => {})
  }
  for (const d of dirs) await rm(d, { recursive: true, force: true })
  peers = []
  dirs = []
})

describe('block exchange', () => {
  it('fetches a missing block from the connected peer that holds it, and stores it', async () => {
    const [a, b, c] = [await peer('a'), await peer('b'), await peer('c')]
    const { cid, bytes } = await block('an entry only a holds')
    await a.h.blockstore.put(cid, bytes)
    await connect(b, a)
    await connect(b, c)
    const got = await b.h.helia.blockstore.get(cid, { signal: AbortSignal.timeout(10_000) })
    expect(new TextDecoder().decode(got)).toBe('an entry only a holds')
    // stored: the next read is local, nobody is asked
    expect(await b.h.blockstore.has(cid)).toBe(true)
    const asked = b.h.exchange.stats.asked
    await b.h.helia.blockstore.get(cid)
    expect(b.h.exchange.stats.asked).toBe(asked)
    expect(b.h.exchange.stats.fetched).toBe(1)
    expect(a.h.exchange.stats.served).toBe(1)
    // c was asked at most once, and answered "not held" without fetching it itself
    expect(c.h.exchange.stats.servedNotHeld).toBeLessThanOrEqual(1)
    expect(c.h.exchange.stats.asked).toBe(0)
    expect(await c.h.blockstore.has(cid)).toBe(false)
  })

  it('a block nobody holds yet is fetched once a peer has it', async () => {
    const [a, b] = [await peer('a'), await peer('b')]
    await connect(b, a)
    const { cid, bytes } = await block('written later')
    const pending = b.h.helia.blockstore.get(cid, { signal: AbortSignal.timeout(20_000) })
    await waitFor('a to answer "not held"', () => a.h.exchange.stats.servedNotHeld >= 1, 10_000)
    await a.h.blockstore.put(cid, bytes)
    expect(new TextDecoder().decode(await pending)).toBe('written later')
  })

  it('gives up when its signal ends, and stops asking', async () => {
    const [a, b] = [await peer('a'), await peer('b')]
    await connect(b, a)
    const { cid } = await block('nobody has this')
    await expect(b.h.helia.blockstore.get(cid, { signal: AbortSignal.timeout(600) })).rejects.toThrow()
    const asked = b.h.exchange.stats.asked
    expect(asked).toBeGreaterThanOrEqual(1)
    // bounded: a short wait on a condition that must stay false
    await expect(waitFor('no more asks', () => b.h.exchange.stats.asked > asked, 1_500)).rejects.toThrow()
  })

  it('a wrong block from one peer is refused, and the block comes from another', async () => {
    const [a, b, liar] = [await peer('a'), await peer('b'), await peer('liar')]
    const { cid, bytes } = await block('the true block')
    await a.h.blockstore.put(cid, bytes)
    // the liar answers every request with bytes that do not hash to the CID
    await liar.libp2p.unhandle(BLOCKS_PROTOCOL)
    let lies = 0
    await liar.libp2p.handle(BLOCKS_PROTOCOL, ({ stream }) => {
      void (async () => {
        const lp = lpStream(stream)
        await lp.read()
        lies++
        await lp.write(Uint8Array.of(1, ...new TextEncoder().encode('a forged block')))
        await stream.close()
      })().catch(() => {})
    })
    await connect(b, liar)
    const pending = b.h.helia.blockstore.get(cid, { signal: AbortSignal.timeout(20_000) })
    await waitFor('the liar to answer', () => lies >= 1, 10_000)
    await connect(b, a)
    expect(new TextDecoder().decode(await pending)).toBe('the true block')
    expect(b.h.exchange.stats.failed).toBeGreaterThanOrEqual(1)
    expect(new TextDecoder().decode(await b.h.blockstore.get(cid))).toBe('the true block')
  })

  it('answers garbage requests by closing the stream, and serves the next good one', async () => {
    const [a, b] = [await peer('a'), await peer('b')]
    const { cid, bytes } = await block('still served')
    await a.h.blockstore.put(cid, bytes)
    await connect(b, a)
    expect(await request(b, a, new TextEncoder().encode('not a cid'))).toBeInstanceOf(Error)
    expect(await request(b, a, new Uint8Array(4096))).toBeInstanceOf(Error)
    expect(await request(b, a, new Uint8Array(0))).toBeInstanceOf(Error)
    const missing = await block('not held by a')
    expect(await request(b, a, missing.cid.bytes)).toEqual(Uint8Array.of(0))
    expect(await request(b, a, cid.bytes)).toEqual(Uint8Array.of(1, ...bytes))
    expect(a.libp2p.status).toBe('started')
  })

  it('a fetch under way ends when the node stops', async () => {
    const [a, b] = [await peer('a'), await peer('b')]
    await connect(b, a)
    const { cid } = await block('never written')
    const pending = b.h.helia.blockstore.get(cid, { signal: AbortSignal.timeout(60_000) })
    await waitFor('a first ask', () => b.h.exchange.stats.asked >= 1, 10_000)
    const ended = pending.catch((e: Error) => e)
    await b.h.stop()
    const err = await ended
    // ended by the stop, not by its 60 s signal
    expect(String((err as AggregateError).errors?.[0]?.name ?? (err as Error).name)).toBe('AbortError')
  })
})
