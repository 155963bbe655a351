/** Binds the API; a port in use is reported before anything else starts. */
import { createServer, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { getRequestListener } from '@hono/node-server'
import type { Hono } from 'hono'

export class ListenError extends Error {
  override name = 'ListenError'
  constructor (readonly address: string, readonly code: string, message: string) { super(message) }
}

export function parseHostPort (text: string): { host: string, port: number } {
  const i = text.lastIndexOf(':')
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1)) }
}

export interface ListenOptions {
  /** a server error after it listens (the process must not die of one) @default ignored */
  onError?: (err: Error) => void
}

export async function listenApi (app: Hono, address: string, options: ListenOptions = {}): Promise<Server> {
  const { host, port } = parseHostPort(address)
  const server = createServer(getRequestListener(app.fetch))
  server.keepAliveTimeout = 5000
  server.on('clientError', answerClientError)
  await new Promise<void>((resolve, reject) => {
    const onListenError = (err: NodeJS.ErrnoException): void => {
      reject(new ListenError(address, err.code ?? 'ERR', err.code === 'EADDRINUSE'
        ? `${address} is already in use; pick another with --api-listen HOST:PORT`
        : `cannot listen on ${address} (${err.code ?? err.message})`))
    }
    server.once('error', onListenError)
    server.listen(port, host, () => {
      // from now on an error is reported, never thrown: an 'error' with no listener ends the process
      server.off('error', onListenError)
      server.on('error', err => { options.onError?.(err) })
      resolve()
    })
  })
  return server
}

/**
 * A request Node cannot parse (a request line or headers over its 16 KiB
 * limit, bad syntax) gets a JSON error like every other, then the socket closes.
 */
function answerClientError (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') { socket.destroy(); return }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW'
  const body = JSON.stringify({ error: tooLarge ? 'the request line (URL) or headers are over 16 KiB; shorten the query' : `malformed HTTP request (${err.code ?? 'parse error'})` })
  socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
}

export async function closeServer (server: Server): Promise<void> {
  server.closeIdleConnections()
  await new Promise<void>(resolve => { server.close(() => { resolve() }); server.closeAllConnections() })
}
