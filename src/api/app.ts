/**
 * The HTTP API (SPEC 5), as a Hono app so tests can call `app.request(url)`
 * without a socket. Every error is JSON `{ error }` with a 4xx/5xx status.
 */
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { PeerTable } from '../heartbeat/peer-table.js'
import { peerView, sortPeers } from './peers.js'

/** What the API reads; each part is optional so the API can come up before the rest. */
export interface ApiComponents {
  table: PeerTable
  /** Prometheus text of the mesh + this process */
  metrics?: () => Promise<{ contentType: string, body: string | Uint8Array<ArrayBuffer> }>
  events?: (query: URLSearchParams) => Promise<unknown[]>
  alerts?: () => unknown[]
  /** devices: the list (GET /api/v1/devices) and the push endpoint (a Hono app's fetch) */
  devices?: {
    list: (query: URLSearchParams) => unknown[]
    push: (req: Request, env?: unknown) => Response | Promise<Response>
  }
  /** whether the node is running (healthz) */
  running: () => boolean
}

export function createApi (c: ApiComponents): Hono {
  const app = new Hono()

  app.get('/healthz', ctx => c.running() ? ctx.json({ status: 'ok' }) : ctx.json({ error: 'starting or stopping' }, 503))
  app.get('/api/v1/peers', ctx => ctx.json(sortPeers(c.table.list()).map(peerView)))
  app.get('/metrics', async ctx => {
    if (c.metrics === undefined) throw new HTTPException(503, { message: 'metrics are not ready' })
    const { contentType, body } = await c.metrics()
    return ctx.body(body, 200, { 'content-type': contentType })
  })
  app.get('/api/v1/events', async ctx => {
    if (c.events === undefined) throw new HTTPException(503, { message: 'the event log is not open yet' })
    return ctx.json(await c.events(new URL(ctx.req.url).searchParams))
  })
  app.get('/api/v1/alerts', ctx => {
    if (c.alerts === undefined) throw new HTTPException(503, { message: 'alerts are not ready' })
    return ctx.json(c.alerts())
  })

  app.get('/api/v1/devices', ctx => {
    if (c.devices === undefined) throw new HTTPException(503, { message: 'devices are not ready' })
    return ctx.json(c.devices.list(new URL(ctx.req.url).searchParams))
  })
  app.on(['GET', 'POST'], '/api/v1/push/*', async ctx => {
    if (c.devices === undefined) throw new HTTPException(503, { message: 'devices are not ready' })
    return await c.devices.push(ctx.req.raw, ctx.env)
  })
  // the device WebSocket is an upgrade on this server (devices/websocket.ts); a plain GET gets told so
  app.get('/websocket', ctx => ctx.json({ error: 'this is the device WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)' }, 426))

  app.notFound(ctx => ctx.json({ error: `no such endpoint: ${ctx.req.method} ${new URL(ctx.req.url).pathname}; see /api/v1/peers, /api/v1/devices, /api/v1/events, /api/v1/alerts, /metrics, /healthz` }, 404))
  app.onError((err, ctx) => {
    if (err instanceof HTTPException) return ctx.json({ error: err.message }, err.status)
    return ctx.json({ error: `internal error: ${err.message}` }, 500)
  })
  return app
}
