/**
 * pnet over WebSockets in one process: every dial completes (the listener's
 * nonce, sent before the dialer reads, is no longer lost), and what a stranger
 * sends to the WebSocket port is refused without harm to the next dial.
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { describeDialError } from '../../../src/mesh/dial-error.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../../src/mesh/swarm-key.js'
import { freePort } from '../../support/ports.js'
import { waitFor } from '../../support/wait.js'

describe('the WebSockets transport under the private network', () => {
  const nodes: MeshLibp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  const pair = async (): Promise<{ listener: MeshLibp2p, dialer: MeshLibp2p, ws: string, port: number, swarmKey: Uint8Array }> => {
    const swarmKey = normaliseSwarmKey(generateSwarmKey())
    const port = await freePort()
    const listener = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: [`/ip4/127.0.0.1/tcp/${port}/ws`] })
    const dialer = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: [] })
    nodes.push(listener, dialer)
    return { listener, dialer, swarmKey, port, ws: `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${listener.peerId.toString()}` }
  }

  /** the dialer still gets through: what came before harmed nothing */
  const dialsFine = async (dialer: MeshLibp2p, ws: string): Promise<void> => {
    const conn = await dialer.dial(multiaddr(ws), { force: true, signal: AbortSignal.timeout(5000) })
    expect(conn.status).toBe('open')
    await conn.close()
  }

  /** a raw WebSocket client on the listener's port, closed by the listener when it has had enough */
  const stranger = async (port: number, send: (ws: WebSocket) => void): Promise<number> => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
    await once(ws, 'open')
    const closed = once(ws, 'close')
    send(ws)
    const [code] = await closed as [number]
    return code
  }

  it('100 dials in a row over /ws all complete, each a new connection', async () => {
    const { listener, dialer, ws } = await pair()
    let completed = 0
    for (let i = 0; i < 100; i++) {
      const conn = await dialer.dial(multiaddr(ws), { force: true, signal: AbortSignal.timeout(5000) })
      expect(conn.remotePeer.equals(listener.peerId)).toBe(true)
      expect(conn.remoteAddr.toString()).toContain('/ws')
      await conn.close()
      completed++
    }
    expect(completed).toBe(100)
  })

  it('dials through any request path (/http-path/...), as a reverse proxy forwards one location', async () => {
    const { listener, dialer, port } = await pair()
    const conn = await dialer.dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws/http-path/mesh%2Fp2p/p2p/${listener.peerId.toString()}`), { signal: AbortSignal.timeout(5000) })
    expect(conn.remotePeer.equals(listener.peerId)).toBe(true)
  })

  it('answers a plain HTTP request with 400 and says why', async () => {
    const { port } = await pair()
    const res = await fetch(`http://127.0.0.1:${port}/`)
    expect(res.status).toBe(400)
    expect(await res.text()).toMatch(/only WebSocket upgrades/)
  })

  it('drops a client that sends garbage or nothing instead of a handshake, and keeps serving', async () => {
    const { dialer, ws, port } = await pair()
    // 64 random-looking bytes: pnet takes 24 as a nonce, then Noise cannot decrypt the rest
    expect(await stranger(port, s => { s.send(Buffer.alloc(64, 7)) })).toBe(1006)
    // silence: the inbound upgrade timeout (3 s) ends it
    expect(await stranger(port, () => {})).toBe(1006)
    await dialsFine(dialer, ws)
  })

  it('refuses a message over 1 MiB (close 1009, message too big) and keeps serving', async () => {
    const { dialer, ws, port } = await pair()
    expect(await stranger(port, s => { s.send(Buffer.alloc(1024 * 1024 + 1)) })).toBe(1009)
    await dialsFine(dialer, ws)
  })

  it('tells an unreachable address and an HTTP server that does not upgrade apart from a key problem', async () => {
    const { dialer } = await pair()
    const closed = multiaddr(`/ip4/127.0.0.1/tcp/${await freePort()}/ws`)
    const refused = await dialer.dial(closed, { signal: AbortSignal.timeout(5000) }).catch((err: Error) => err)
    expect(refused).toBeInstanceOf(Error)
    expect(describeDialError(refused, closed)).toMatch(/is unreachable \(ECONNREFUSED\)/)

    const http = createServer((req, res) => { res.writeHead(404).end() })
    http.listen(0, '127.0.0.1')
    await once(http, 'listening')
    try {
      const wrong = multiaddr(`/ip4/127.0.0.1/tcp/${(http.address() as { port: number }).port}/ws/http-path/wrong`)
      const err = await dialer.dial(wrong, { signal: AbortSignal.timeout(5000) }).catch((e: Error) => e) as Error
      expect(err.name).toBe('WebSocketDialError')
      expect(describeDialError(err, wrong)).toMatch(/Unexpected server response: 404.*did not upgrade to a WebSocket/)
      expect(describeDialError(err, wrong)).not.toMatch(/swarm key/)
    } finally {
      http.close()
    }
  })

  it('a dialer with another swarm key is refused, and the error says so', async () => {
    const { listener, ws } = await pair()
    const other = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey: normaliseSwarmKey(generateSwarmKey()), listen: [] })
    nodes.push(other)
    const err = await other.dial(multiaddr(ws), { signal: AbortSignal.timeout(5000) }).catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    expect(describeDialError(err, multiaddr(ws))).toMatch(/different swarm key/)
    await waitFor('the listener to drop it', () => listener.getConnections().length === 0)
  })
})
