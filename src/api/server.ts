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
  /**
   * A client's request line and headers must arrive within this, ms, and a connection that
   * sends nothing is closed after it too. Node's 60 s (checked every 30 s) let a slowloris of
   * 500 silent connections hold them for a minute and a half; an API request is a few hundred
   * bytes. @default 10000
   */
  headersTimeoutMs?: number
}

/** the whole request (headers and any body) must arrive within this; a response (the live stream) is not bounded by it */
const REQUEST_TIMEOUT_MS = 30_000

export async function listenApi (app: Hono, address: string, options: ListenOptions = {}): Promise<Server> {
  const { host, port } = parseHostPort(address)
  const headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, REQUEST_TIMEOUT_MS)
  const server = createServer({ headersTimeout, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: Math.min(1000, headersTimeout) }, getRequestListener(app.fetch))
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
 * limit, bad syntax) or that did not arrive in time gets a JSON error like
 * every other, then the socket is closed.
 */
function answerClientError (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') { socket.destroy(); return }
  const [status, error] = err.code === 'HPE_HEADER_OVERFLOW'
    ? ['431 Request Header Fields Too Large', 'the request line (URL) or headers are over 16 KiB; shorten the query']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['408 Request Timeout', 'the request did not arrive in time']
      : ['400 Bad Request', `malformed HTTP request (${err.code ?? 'parse error'})`]
  const body = JSON.stringify({ error })
  // then destroyed, not only ended: a client that never reads would otherwise hold the socket open
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`, () => { socket.destroy() })
}

export async function closeServer (server: Server): Promise<void> {
  server.closeIdleConnections()
  await new Promise<void>(resolve => { server.close(() => { resolve() }); server.closeAllConnections() })
}
