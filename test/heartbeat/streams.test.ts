/**
 * Beat streams and probes with real libp2p nodes on 127.0.0.1. Beat-stream
 * slots on the subject's side: one stream per peer (a second replaces the
 * first), and when the slots are full of peers that are not this node's
 * watchers, one of its watchers still gets a slot, so their silence cannot
 * be forced. Probes: an answer that arrived while the prober stalled counts;
 * a peer is alive only when its meshmon answers (a refused connection reaches
 * its host, not a live node).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { MeshStreams } from '../../src/heartbeat/streams.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'

const swarmKey = normaliseSwarmKey(generateSwarmKey())
const log = pino({ level: 'silent' })
const stops: Array<() => Promise<void>> = []

async function peer (init: { isWatcher?: (p: string) => boolean, maxWatchers?: number, log?: pino.Logger } = {}): Promise<{ libp2p: MeshLibp2p, streams: MeshStreams, beats: number[], beatsOf: Map<string, number> }> {
  const libp2p = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
  const beats: number[] = []
  const beatsOf = new Map<string, number>()
  const onBeat = (from: string, _boot: number, seq: number): void => { beats.push(seq); beatsOf.set(from, (beatsOf.get(from) ?? 0) + 1) }
  const streams = new MeshStreams({ libp2p, log: init.log ?? log, onGossip: () => {}, onConnect: () => {}, onBeat, onInvalid: () => {}, ...init })
  await streams.start()
  stops.push(async () => { await streams.stop(); await libp2p.stop() })
  return { libp2p, streams, beats, beatsOf }
}

describe('beat-stream slots of a subject', () => {
  afterEach(async () => { for (const stop of stops.splice(0).reverse()) await stop() })

  it('one per peer; when full of others, a watcher of the node still gets one', async () => {
    let watcherId = ''
    const subject = await peer({ maxWatchers: 2, isWatcher: p => p === watcherId })
    const [o1, o2, watcher] = [await peer(), await peer(), await peer()]
    watcherId = watcher.libp2p.peerId.toString()
    const id = subject.libp2p.peerId.toString()
    for (const p of [o1, o2, watcher]) await p.libp2p.dial(subject.libp2p.getMultiaddrs()[0]!)
    let seq = 0
    const beating = setInterval(() => { subject.streams.beat(1, ++seq) }, 50)
    try {
      o1.streams.watch([id])
      await waitFor('o1 hears beats', () => o1.beats.length > 0)
      // o1 opens again (its stream ended on its side): still one slot
      o1.streams.watch([])
      o1.streams.watch([id])
      await waitFor('o1 hears beats on its new stream', async () => { const n = o1.beats.length; await new Promise(resolve => setTimeout(resolve, 120)); return o1.beats.length > n })
      expect(subject.streams.watcherCount).toBe(1)
      o2.streams.watch([id])
      await waitFor('o2 hears beats', () => o2.beats.length > 0)
      expect(subject.streams.watcherCount).toBe(2)
      // slots full of peers that are not its watchers: the watcher takes one of theirs
      watcher.streams.watch([id])
      await waitFor('the watcher hears beats', () => watcher.beats.length > 0)
      expect(subject.streams.watcherCount).toBe(2)
    } finally {
      clearInterval(beating)
    }
  })

  it('full of others, a peer that is not its watcher is turned away', async () => {
    const subject = await peer({ maxWatchers: 1, isWatcher: () => false })
    const [o1, o2] = [await peer(), await peer()]
    const id = subject.libp2p.peerId.toString()
    for (const p of [o1, o2]) await p.libp2p.dial(subject.libp2p.getMultiaddrs()[0]!)
    let seq = 0
    const beating = setInterval(() => { subject.streams.beat(1, ++seq) }, 50)
    try {
      o1.streams.watch([id])
      await waitFor('o1 hears beats', () => o1.beats.length > 0)
      o2.streams.watch([id])
      // o2's stream is reset at once; o1 keeps hearing
      const heard = o1.beats.length
      await waitFor('o1 hears more beats', () => o1.beats.length > heard + 5)
      expect(o2.beats).toEqual([])
      expect(subject.streams.watcherCount).toBe(1)
    } finally {
      clearInterval(beating)
    }
  })

  it('a made-up identity whose record gives another node\'s address: that node\'s beats and answers are not taken for it', async () => {
    const real = await peer()
    const watcher = await peer()
    const realId = real.libp2p.peerId.toString()
    // what a member holding the swarm key can do: a fresh key, and a signed record naming the real node's address
    const madeUp = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const addr = real.libp2p.getMultiaddrs()[0]!.decapsulateCode(421)
    await watcher.libp2p.peerStore.merge(madeUp, { multiaddrs: [addr] })
    await watcher.libp2p.dial(real.libp2p.getMultiaddrs()[0]!)
    let seq = 0
    const beating = setInterval(() => { real.streams.beat(1, ++seq) }, 50)
    try {
      watcher.streams.watch([madeUp.toString(), realId])
      await waitFor('the watcher hears the real node', () => (watcher.beatsOf.get(realId) ?? 0) > 5, 5000).catch(err => { throw new Error(`${err.message}: ${JSON.stringify([...watcher.beatsOf])}`) })
      expect(watcher.beatsOf.get(madeUp.toString())).toBeUndefined()
      const { alive } = await watcher.streams.probe([madeUp.toString(), realId], () => false)
      expect([...alive]).toEqual([realId])
    } finally {
      clearInterval(beating)
    }
  })

})

describe('a subject back from an absence', () => {
  afterEach(async () => { for (const stop of stops.splice(0).reverse()) await stop() })

  it('retry opens its beat stream now, not when the backoff built up while it was away ends', async () => {
    const lines: any[] = []
    const watcher = await peer({ log: pino({ level: 'debug' }, { write: (l: string) => { lines.push({ ...JSON.parse(l), at: Date.now() }) } }) })
    const port = await freePort()
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    await watcher.libp2p.peerStore.merge(peerIdFromPrivateKey(key), { multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}`)] })
    // away (its port refuses): each failed open doubles the wait before the next
    const failure = await waitFor('a beat stream backoff of 5 s', () => {
      watcher.streams.watch([id])
      return lines.find(l => l.msg === 'cannot open a beat stream' && l.retryInMs >= 5000)
    }, 30_000)
    const backoffEnds = failure.at + failure.retryInMs
    // back, at the same address
    const libp2p = await createMeshLibp2p({ privateKey: key, swarmKey, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    const subject = new MeshStreams({ libp2p, log, onGossip: () => {}, onConnect: () => {}, onBeat: () => {}, onInvalid: () => {} })
    await subject.start()
    stops.push(async () => { await subject.stop(); await libp2p.stop() })
    let seq = 0
    const beating = setInterval(() => { subject.beat(1, ++seq) }, 50)
    try {
      watcher.streams.watch([id])
      watcher.streams.retry(id)
      const bound = backoffEnds - Date.now() - 1000
      expect(bound, 'time left of the backoff').toBeGreaterThan(1000)
      // watch() again on every look, as the node does every beat: the backoff alone would hold it off
      await waitFor('beats before the backoff would have ended', () => { watcher.streams.watch([id]); return watcher.beatsOf.get(id) !== undefined }, bound)
    } finally {
      clearInterval(beating)
    }
  })
})

describe('probes', () => {
  afterEach(async () => { for (const stop of stops.splice(0).reverse()) await stop() })

  it('a peer whose meshmon answers is alive; one whose host refuses the connection is reached, not alive; one that hangs is neither', async () => {
    const prober = await peer()
    const answerer = await peer()
    const gone = await peer()
    const goneAddr = gone.libp2p.getMultiaddrs()[0]!
    const goneId = gone.libp2p.peerId
    await gone.libp2p.stop()
    // a host that takes the connection and never says a word
    const held = new Set<Socket>()
    const hung = createServer(socket => { held.add(socket) })
    await new Promise<void>(resolve => hung.listen(0, '127.0.0.1', resolve))
    stops.push(async () => { for (const socket of held) socket.destroy(); await new Promise(resolve => hung.close(resolve)) })
    const hungId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    await prober.libp2p.peerStore.merge(goneId, { multiaddrs: [goneAddr] })
    await prober.libp2p.peerStore.merge(hungId, { multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${(hung.address() as AddressInfo).port}`)] })
    await prober.libp2p.dial(answerer.libp2p.getMultiaddrs()[0]!)
    const answererId = answerer.libp2p.peerId.toString()
    const { alive, reached } = await prober.streams.probe([answererId, goneId.toString(), hungId.toString()], () => false)
    expect([...alive]).toEqual([answererId])
    expect([...reached].sort()).toEqual([answererId, goneId.toString()].sort())
  })

  it('a probe that finds no majority says why: of the peers it had to dial, which answered (a refusal too), which failed, which were still dialling', async () => {
    const lines: any[] = []
    const prober = await peer({ log: pino({ level: 'info' }, { write: (l: string) => { lines.push(JSON.parse(l)) } }) })
    const gone = await peer()
    const goneAddr = gone.libp2p.getMultiaddrs()[0]!
    const goneId = gone.libp2p.peerId
    await gone.libp2p.stop()
    const held = new Set<Socket>()
    const hung = createServer(socket => { held.add(socket) })
    await new Promise<void>(resolve => hung.listen(0, '127.0.0.1', resolve))
    stops.push(async () => { for (const socket of held) socket.destroy(); await new Promise(resolve => hung.close(resolve)) })
    const hungId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    // known by no address at all: the dial fails at once
    const nowhereId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    await prober.libp2p.peerStore.merge(goneId, { multiaddrs: [goneAddr] })
    await prober.libp2p.peerStore.merge(hungId, { multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${(hung.address() as AddressInfo).port}`)] })
    await prober.streams.probe([goneId.toString(), hungId.toString(), nowhereId.toString()], () => false)
    const line = lines.find(l => /a probe found no majority/.test(l.msg))
    expect(line?.msg).toMatch(/^a probe found no majority: 1 of the 3 peers asked answered within \d+ ms; 3 of them had no connection \(1 answered, 1 failed: 1 \w+, 1 still dialling\)$/)
    expect(line).toMatchObject({ level: 40, asked: 3, answered: 1, alive: 0, dialled: 3, dialledAnswered: 1 })
    // said once a minute at most
    await prober.streams.probe([nowhereId.toString()], () => false)
    expect(lines.filter(l => /a probe found no majority/.test(l.msg))).toHaveLength(1)
  })

  it('a prober that stalls past its bound (a GC pause, a starved host) still counts the answers that came meanwhile', async () => {
    const prober = await peer()
    const answerer = await peer()
    await prober.libp2p.dial(answerer.libp2p.getMultiaddrs()[0]!)
    const id = answerer.libp2p.peerId.toString()
    expect([...(await prober.streams.probe([id], () => false)).alive]).toEqual([id])
    const probing = prober.streams.probe([id], () => false)
    // this process (both nodes) runs nothing for longer than the probe's bound
    const until = performance.now() + prober.streams.probeBoundMs() + 500
    while (performance.now() < until) { /* stalled */ }
    expect([...(await probing).alive]).toEqual([id])
  })
})
