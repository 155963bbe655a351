/** The API's HTTP server on a real socket: errors after it listens, and requests Node cannot parse. */
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { Server } from 'node:http'
import { createApi } from '../../src/api/app.js'
import { closeServer, listenApi } from '../../src/api/server.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { freePort } from '../support/ports.js'

/** one raw request, the whole answer as text */
async function raw (port: number, request: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write(request) })
    let text = ''
    socket.on('data', d => { text += d })
    socket.on('end', () => { resolve(text) })
    socket.on('error', reject)
  })
}

describe('API server', () => {
  let server: Server | undefined
  afterEach(async () => { if (server !== undefined) await closeServer(server); server = undefined })

  const start = async (onError?: (err: Error) => void, headersTimeoutMs?: number): Promise<number> => {
    const port = await freePort()
    server = await listenApi(createApi({ table: new PeerTable(), running: () => true }), `127.0.0.1:${port}`, { onError, headersTimeoutMs })
    return port
  }

  it('errors after it listens are reported, every one, and never end the process', async () => {
    const seen: string[] = []
    const port = await start(err => { seen.push(err.message) })
    server?.emit('error', new Error('first'))
    server?.emit('error', new Error('second'))
    expect(seen).toEqual(['first', 'second'])
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
  })

  it('a request line over 16 KiB gets 431 JSON, garbage 400 JSON; the server answers on', async () => {
    const port = await start()
    const long = await raw(port, `GET /api/v1/events?since=${'9'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
    expect(long).toMatch(/^HTTP\/1\.1 431 /)
    expect(JSON.parse(long.slice(long.indexOf('\r\n\r\n') + 4)).error).toMatch(/over 16 KiB/)
    const garbage = await raw(port, 'NOT HTTP AT ALL\r\n\r\n')
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /)
    expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)).error).toMatch(/malformed HTTP request/)
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
  })

  it('a connection that sends nothing, or its headers too slowly, gets 408 JSON and is closed by the server (slowloris)', async () => {
    const port = await start(undefined, 500)
    const silent = await raw(port, '')
    expect(silent).toMatch(/^HTTP\/1\.1 408 /)
    expect(JSON.parse(silent.slice(silent.indexOf('\r\n\r\n') + 4)).error).toMatch(/did not arrive in time/)
    // a header line now and then does not keep it open either
    const slow = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => { socket.write('GET /healthz HTTP/1.1\r\n') })
      const drip = setInterval(() => { socket.write('x-slow: 1\r\n') }, 100)
      let text = ''
      socket.on('data', d => { text += d })
      socket.on('close', () => { clearInterval(drip); resolve(text) })
      socket.on('error', err => { clearInterval(drip); reject(err) })
    })
    expect(slow).toMatch(/^HTTP\/1\.1 408 /)
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
  })
})
