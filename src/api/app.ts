/**
 * The HTTP API, as a Hono app so tests can call `app.request(url)`
 * without a socket. Every error is JSON `{ error }` with a 4xx/5xx status.
 */
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { PeerTable } from '../heartbeat/peer-table.js'
import type { PartitionView } from '../heartbeat/verdict.js'
import { apiAuth, type ApiAuthInit } from './auth.js'
import { jsonArrayWithin, TRUNCATED_HEADER } from './bounded-json.js'
import type { MeshFeed } from './feed.js'
import { hostCheck, type HostCheckInit } from './hosts.js'
import { peerViews } from './peers.js'
import { streamHandler } from './stream.js'
import { webHandler, type WebFiles } from './web.js'

/** What the API reads; each part is optional so the API can come up before the rest. */
export interface ApiComponents {
  table: PeerTable
  /** Prometheus text of the mesh + this process */
  metrics?: () => Promise<{ contentType: string, body: string | Uint8Array<ArrayBuffer> }>
  events?: (query: URLSearchParams) => Promise<unknown[]>
  alerts?: () => unknown[]
  /** what this node reaches of the mesh: shown on its own entry of /api/v1/peers */
  partition?: () => PartitionView
  /** devices: the list (GET /api/v1/devices), the count by state, and the push endpoint (a Hono app's fetch) */
  devices?: {
    list: (query: URLSearchParams) => unknown[]
    counts: () => Record<string, number>
    push: (req: Request, env?: unknown) => Response | Promise<Response>
  }
  /** whether the node is running (healthz) */
  running: () => boolean
  /** the live feed behind /api/v1/stream */
  feed?: MeshFeed
  /** the web page's files, served at / (undefined: not built) */
  web?: WebFiles
}

/** How the API guards itself; both parts optional so tests can build a bare API. */
export interface ApiInit {
  /** the token guard (auth.ts) @default open */
  auth?: ApiAuthInit
  /** the Host header check (hosts.ts) @default any Host */
  hosts?: HostCheckInit
  /** /api/v1/events stops adding events past this many bytes (and says so in X-Meshmon-Truncated) @default 8 MiB */
  maxEventsBytes?: number
}

const MAX_EVENTS_BYTES = 8 * 1024 * 1024
/** device pushes: guarded by the ingest token (devices/push.ts), left open by the API token */
export const PUSH_PREFIX = '/api/v1/push/'
/** longer request targets get 414 (Node itself refuses a request line and headers over 16 KiB with 431) */
const MAX_URL_BYTES = 8 * 1024

export function createApi (c: ApiComponents, init: ApiInit = {}): Hono {
  const app = new Hono()
  app.use(async (ctx, next) => {
    if (ctx.req.url.length > MAX_URL_BYTES) return ctx.json({ error: `the URL is over ${MAX_URL_BYTES} bytes; shorten the query` }, 414)
    await next()
  })
  if (init.hosts !== undefined) app.use(hostCheck(init.hosts))
  if (init.auth !== undefined) app.use(apiAuth({ openPaths: path => path.startsWith(PUSH_PREFIX), ...init.auth }))

  app.get('/healthz', ctx => c.running() ? ctx.json({ status: 'ok' }) : ctx.json({ error: 'starting or stopping' }, 503))
  app.get('/api/v1/peers', ctx => ctx.json(peerViews(c.table.list(), c.partition?.(), c.table.nameConflicts())))
  app.get('/metrics', async ctx => {
    if (c.metrics === undefined) throw new HTTPException(503, { message: 'metrics are not ready' })
    const { contentType, body } = await c.metrics()
    return ctx.body(body, 200, { 'content-type': contentType })
  })
  app.get('/api/v1/events', async ctx => {
    if (c.events === undefined) throw new HTTPException(503, { message: 'the event log is not open yet' })
    const { body, omitted } = jsonArrayWithin(await c.events(new URL(ctx.req.url).searchParams), init.maxEventsBytes ?? MAX_EVENTS_BYTES)
    if (omitted > 0) ctx.header(TRUNCATED_HEADER, String(omitted))
    return ctx.body(body, 200, { 'content-type': 'application/json' })
  })
  app.get('/api/v1/alerts', ctx => {
    if (c.alerts === undefined) throw new HTTPException(503, { message: 'alerts are not ready' })
    return ctx.json(c.alerts())
  })
  app.get('/api/v1/stream', streamHandler(() => c.feed))
  const page = webHandler(() => c.web)
  app.get('/', page)
  app.get('/index.html', page)
  app.get('/assets/*', page)

  app.get('/api/v1/devices', ctx => {
    if (c.devices === undefined) throw new HTTPException(503, { message: 'devices are not ready' })
    return ctx.json(c.devices.list(new URL(ctx.req.url).searchParams))
  })
  app.get('/api/v1/devices/counts', ctx => {
    if (c.devices === undefined) throw new HTTPException(503, { message: 'devices are not ready' })
    return ctx.json(c.devices.counts())
  })
  // device pushes carry the ingest token, not the API's (openPaths: PUSH_PREFIX)
  app.on(['GET', 'POST'], `${PUSH_PREFIX}*`, async ctx => {
    if (c.devices === undefined) throw new HTTPException(503, { message: 'devices are not ready' })
    return await c.devices.push(ctx.req.raw, ctx.env)
  })
  // the device WebSocket is an upgrade on this server (devices/websocket.ts); a plain GET gets told so
  app.get('/websocket', ctx => ctx.json({ error: 'this is the device WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)' }, 426))

  app.notFound(ctx => ctx.json({ error: `no such endpoint: ${ctx.req.method} ${new URL(ctx.req.url).pathname.slice(0, 200)}; see / (the web page), /api/v1/peers, /api/v1/devices, /api/v1/events, /api/v1/alerts, /api/v1/stream, /metrics, /healthz` }, 404))
  app.onError((err, ctx) => {
    if (err instanceof HTTPException) return ctx.json({ error: err.message }, err.status)
    return ctx.json({ error: `internal error: ${err.message}` }, 500)
  })
  return app
}
