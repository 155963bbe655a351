/**
 * The connection keeper after a heal: three real libp2p nodes of the swarm on
 * 127.0.0.1. A's bootstrap peers B and C are not there yet, so A's dials to
 * them fail and back off (up to seconds). B comes up and dials A: a peer A
 * could not reach is connected again, so A dials C at once, rather than once
 * C's backoff has run out (the last node of a healed partition back that much
 * later).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import pino from 'pino'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { ConnectionKeeper } from '../../src/mesh/keeper.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'

const swarmKey = normaliseSwarmKey(generateSwarmKey())
const started: MeshLibp2p[] = []
const keepers: ConnectionKeeper[] = []

/** a logger whose lines (JSON) are kept */
function captured (): { log: pino.Logger, lines: any[] } {
  const lines: any[] = []
  const sink = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } })
  return { log: pino({ level: 'debug' }, sink), lines }
}

describe('the connection keeper', () => {
  afterEach(async () => {
    for (const k of keepers.splice(0)) k.stop()
    for (const n of started.splice(0)) await n.stop()
  })

  it('dials again at once what it backed off from, when a peer it could not reach connects again', async () => {
    const [keyB, keyC] = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')]
    const [portB, portC] = [await freePort(), await freePort()]
    const addrB = `/ip4/127.0.0.1/tcp/${portB}/p2p/${peerIdFromPrivateKey(keyB).toString()}`
    const addrC = `/ip4/127.0.0.1/tcp/${portC}/p2p/${peerIdFromPrivateKey(keyC).toString()}`

    const a = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
    started.push(a)
    const { log, lines } = captured()
    const keeper = new ConnectionKeeper(a, log, { bootstrap: [addrB, addrC], minBackoffMs: 500 })
    keepers.push(keeper)
    keeper.start()
    // C refused so often that A would wait seconds more before dialing it again
    const retryIn = (addr: string): number => Math.max(0, ...lines.filter(l => l.msg === 'dial failed' && l.addr === addr).map(l => l.retryInMs as number))
    await waitFor('A backing off from C by 4 s or more', () => retryIn(addrC) >= 4_000, 30_000)

    const c = await createMeshLibp2p({ privateKey: keyC, swarmKey, listen: [`/ip4/127.0.0.1/tcp/${portC}`] })
    const b = await createMeshLibp2p({ privateKey: keyB, swarmKey, listen: [`/ip4/127.0.0.1/tcp/${portB}`] })
    started.push(c, b)
    const backOffUntil = Date.now() + retryIn(addrC) * 0.8
    await b.dial(a.getMultiaddrs()[0]!)
    const cId = c.peerId.toString()
    await waitFor('A connected to C', () => a.getPeers().some(p => p.toString() === cId), 10_000, 50)
    // well before C's backoff ran out (its jitter is 20%)
    expect(Date.now()).toBeLessThan(backOffUntil)
    expect(lines.some(l => /unreachable is connected again/.test(l.msg))).toBe(true)
  }, 60_000)
})
