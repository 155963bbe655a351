/**
 * The two write savers under the libp2p stack (see src/mesh/coalesce.ts and
 * src/mesh/yamux-window.ts): they change how many writes carry the bytes,
 * never the bytes, and a bulk transfer over the real stack still completes.
 */
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream, StreamMuxer } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { Uint8ArrayList } from 'uint8arraylist'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { coalesce } from '../../src/mesh/coalesce.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { lazyWindowUpdates } from '../../src/mesh/yamux-window.js'
import { Patches } from '../../src/patches.js'
import { freePort } from '../support/ports.js'

const tick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('coalesce', () => {
  it('joins chunks ready in the same turn, keeps bytes and order, splits across turns', async () => {
    async function * source (): AsyncGenerator<Uint8Array | Uint8ArrayList> {
      yield Uint8Array.of(1, 2)
      yield new Uint8ArrayList(Uint8Array.of(3), Uint8Array.of(4))
      yield Uint8Array.of(5)
      await tick(); await tick()
      yield Uint8Array.of(6)
    }
    const out: number[][] = []
    for await (const c of coalesce(source())) out.push([...c])
    expect(out).toEqual([[1, 2, 3, 4, 5], [6]])
  })

  it('caps a write at maxBytes and passes errors through', async () => {
    async function * big (): AsyncGenerator<Uint8Array> { for (let i = 0; i < 10; i++) yield new Uint8Array(400).fill(i) }
    const sizes: number[] = []
    const all: number[] = []
    for await (const c of coalesce(big(), 1000)) { sizes.push(c.byteLength); all.push(...c) }
    expect(sizes).toEqual([1200, 1200, 1200, 400])
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => new Array(400).fill(i)).flat())

    async function * broken (): AsyncGenerator<Uint8Array> { yield Uint8Array.of(1); throw new Error('socket reset') }
    await expect((async () => { for await (const c of coalesce(broken())) expect(c.byteLength).toBe(1) })()).rejects.toThrow('socket reset')
  })
})

describe('lazy yamux window updates', () => {
  /** two yamux muxers piped in memory; counts plain window updates sent by the receiving side */
  async function windowUpdatesFor (messages: number, lazy: boolean, size = 500, after?: () => Promise<void>): Promise<{ updates: number, received: number, later: number }> {
    const components = { logger: defaultLogger() }
    // no keep-alive pings: the only frames are the test's and the updates
    const muxers = yamux({ enableKeepAlive: false })(components)
    const factory = lazy ? lazyWindowUpdates(muxers, new Patches()) : muxers
    let received = 0
    let resolveDone = (): void => {}
    const done = new Promise<void>(resolve => { resolveDone = resolve })
    const a = factory.createStreamMuxer({ direction: 'outbound' })
    const b = factory.createStreamMuxer({
      direction: 'inbound',
      onIncomingStream: (s: Stream) => {
        void (async () => { for await (const c of s.source) received += c.byteLength; resolveDone() })()
      }
    })
    let updates = 0
    const count = async function * (src: StreamMuxer['source']): AsyncGenerator<Uint8Array> {
      for await (const chunk of src) {
        const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
        if (bytes[1] === 1 && bytes[2] === 0 && bytes[3] === 0 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(4) !== 0) updates++
        yield bytes
      }
    }
    void a.sink(count(b.source))
    void b.sink(a.source)
    const s = await a.newStream()
    await s.sink((async function * () { for (let i = 0; i < messages; i++) { yield new Uint8Array(size); await tick() } })())
    await done
    const before = updates
    await after?.()
    const later = updates - before
    await a.close(); await b.close()
    return { updates, received, later }
  }

  it('a stream only read (a watcher\'s beats) owes its sender no update with time: none is sent until a quarter of the window is used', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] })
    try {
      const beats = await windowUpdatesFor(60, true, 20, async () => { await vi.advanceTimersByTimeAsync(60_000) })
      expect(beats.received).toBe(1200)
      expect(beats.later).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('sends one update per received frame without it, a handful with it; same bytes arrive', async () => {
    const plain = await windowUpdatesFor(100, false)
    const lazy = await windowUpdatesFor(100, true)
    expect(plain.received).toBe(50_000)
    expect(lazy.received).toBe(50_000)
    expect(plain.updates).toBeGreaterThanOrEqual(90)
    // a few remain: yamux doubles a fast stream's window, and a delta that large goes out at once
    expect(lazy.updates).toBeLessThanOrEqual(10)
  })
})

describe('the mesh stack with both', () => {
  const nodes: MeshLibp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('moves 8 MiB over one stream (32 windows), byte for byte', async () => {
    const swarmKey = normaliseSwarmKey(generateSwarmKey())
    const port = await freePort()
    const listener = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    const dialer = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: [] })
    nodes.push(listener, dialer)
    const PROTOCOL = '/meshmon-test/bulk/1.0.0'
    await listener.handle(PROTOCOL, ({ stream }) => {
      void (async () => {
        let sum = 0; let n = 0
        for await (const c of stream.source) { for (const b of c.subarray()) sum = (sum + b) % 1_000_003; n += c.byteLength }
        await stream.sink([new TextEncoder().encode(`${n} ${sum}`)])
      })()
    })
    const stream = await dialer.dialProtocol(multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${listener.peerId.toString()}`), PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    let sum = 0
    const chunk = (i: number): Uint8Array => new Uint8Array(16 * 1024).map((_, j) => (i * 7 + j) % 251)
    for (let i = 0; i < 512; i++) for (const b of chunk(i)) sum = (sum + b) % 1_000_003
    const reply = (async () => { let t = ''; for await (const c of stream.source) t += new TextDecoder().decode(c.subarray()); return t })()
    await stream.sink((async function * () { for (let i = 0; i < 512; i++) yield chunk(i) })())
    expect(await reply).toBe(`${8 * 1024 * 1024} ${sum}`)
  }, 30_000)
})
