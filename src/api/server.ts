/** Binds the API; a port in use is reported before anything else starts. */
import { createServer, type Server } from 'node:http'
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

export async function listenApi (app: Hono, address: string): Promise<Server> {
  const { host, port } = parseHostPort(address)
  const server = createServer(getRequestListener(app.fetch))
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ListenError(address, err.code ?? 'ERR', err.code === 'EADDRINUSE'
        ? `${address} is already in use; pick another with --api-listen HOST:PORT`
        : `cannot listen on ${address} (${err.code ?? err.message})`))
    })
    server.listen(port, host, () => { resolve() })
  })
  return server
}

export async function closeServer (server: Server): Promise<void> {
  server.closeIdleConnections()
  await new Promise<void>(resolve => { server.close(() => { resolve() }); server.closeAllConnections() })
}
