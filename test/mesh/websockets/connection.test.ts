/**
 * The connection under the transport, on a real `ws` server and client: what
 * the peer sends before anyone reads is kept, in order; a reader that falls
 * behind pauses the socket instead of buffering without bound; a close ends it.
 */
import { once } from 'node:events'
import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { socketToMaConn } from '../../../src/mesh/websockets/connection.js'
import { freePort } from '../../support/ports.js'
import { waitFor } from '../../support/wait.js'

describe('a WebSocket as a libp2p connection', () => {
  const servers: WebSocketServer[] = []
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      for (const c of s.clients) c.terminate()
      await new Promise(resolve => { s.close(resolve) })
    }
  })

  /** a server that runs `onConnection` for each client, and a client socket already wrapped */
  const connect = async (onConnection: (ws: WebSocket) => void, init = {}): Promise<{ client: WebSocket, conn: ReturnType<typeof socketToMaConn> }> => {
    const port = await freePort()
    const server = new WebSocketServer({ host: '127.0.0.1', port })
    servers.push(server)
    await once(server, 'listening')
    server.on('connection', onConnection)
    const client = new WebSocket(`ws://127.0.0.1:${port}`)
    const conn = socketToMaConn(client, multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws`), defaultLogger(), init)
    return { client, conn }
  }

  const readAll = async (conn: ReturnType<typeof socketToMaConn>, bytes: number): Promise<Buffer> => {
    const chunks: Buffer[] = []
    let got = 0
    for await (const c of conn.source) {
      chunks.push(Buffer.from(c instanceof Uint8Array ? c : c.subarray()))
      got += c.byteLength
      if (got >= bytes) break
    }
    return Buffer.concat(chunks)
  }

  it('keeps what the peer sends first, before the first read, in order', async () => {
    const { client, conn } = await connect(ws => { for (const m of ['nonce-', 'and-', 'more']) ws.send(Buffer.from(m)) })
    // count the arrivals with a listener of our own, then start reading only after all three came
    let arrived = 0
    client.on('message', () => { arrived++ })
    await waitFor('three messages at the client', () => arrived === 3)
    expect((await readAll(conn, 14)).toString()).toBe('nonce-and-more')
  })

  it('a reader that falls behind pauses the socket (the sender is held back) and loses nothing', async () => {
    const chunk = 64 * 1024
    const count = 512 // 32 MiB: more than the kernel's socket buffers on both ends hold
    let sender: WebSocket | undefined
    const { client, conn } = await connect(ws => {
      sender = ws
      for (let i = 0; i < count; i++) ws.send(Buffer.alloc(chunk, i % 251))
    }, { readAheadBytes: 1024 * 1024 })
    await waitFor('the client to pause and the sender to hold unsent bytes', () => client.isPaused && (sender?.bufferedAmount ?? 0) > 0, 15_000)
    const all = await readAll(conn, chunk * count)
    expect(all.length).toBe(chunk * count)
    for (let i = 0; i < count; i++) expect(all[i * chunk]).toBe(i % 251)
    expect(client.isPaused).toBe(false)
  })

  it('ends the source and records the close when the peer closes; close() and abort() end the socket', async () => {
    const { client, conn } = await connect(ws => { ws.send(Buffer.from('bye')); ws.close() })
    expect((await readAll(conn, 1e9)).toString()).toBe('bye')
    await waitFor('timeline.close', () => conn.timeline.close !== undefined)
    expect(client.readyState).toBe(WebSocket.CLOSED)

    const second = await connect(() => {})
    await once(second.client, 'open')
    await second.conn.close()
    expect(second.client.readyState).toBe(WebSocket.CLOSED)

    const third = await connect(() => {})
    await once(third.client, 'open')
    third.conn.abort(new Error('test'))
    await waitFor('aborted socket closed', () => third.client.readyState === WebSocket.CLOSED)
  })

  it('writes what libp2p hands it, and closes the socket when the writer ends', async () => {
    const received: string[] = []
    let serverSide: WebSocket | undefined
    const { client, conn } = await connect(ws => { serverSide = ws; ws.on('message', d => received.push(String(d))) })
    await once(client, 'open')
    await conn.sink((async function * () { yield Buffer.from('one'); yield Buffer.from('two') })())
    await waitFor('both chunks at the server and the close', () => received.length === 2 && serverSide?.readyState === WebSocket.CLOSED)
    expect(received).toEqual(['one', 'two'])
  })
})
