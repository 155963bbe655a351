/**
 * The API token guard (Hono middleware). With a token configured, every
 * `/api/*` path (and `/metrics` with protectMetrics) needs
 * `Authorization: Bearer <token>`, which is what Prometheus' `authorization`
 * scrape setting sends. `/healthz`, the web page's static files and unknown
 * paths stay open: they hold no mesh data. Without a token nothing is guarded.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'

export interface ApiAuthInit {
  /** the token; null leaves the API open */
  token: string | null
  /** guard /metrics too @default false */
  protectMetrics?: boolean
  /**
   * Paths under /api/ that something else guards (device pushes carry their
   * own ingest token) @default none
   */
  openPaths?: (path: string) => boolean
}

/** The fix every refusal names. */
const HOW = 'send Authorization: Bearer <api.token> (the token in the node\'s api.token or api.tokenFile; `meshmon status --token` or MESHMON_API_TOKEN)'

// digests of equal length, so the comparison time says nothing about the token or its length
const digest = (text: string): Buffer => createHash('sha256').update(text).digest()

export function apiAuth (init: ApiAuthInit): MiddlewareHandler {
  if (init.token === null) return async (_ctx, next) => { await next() }
  const expected = digest(init.token)
  const guarded = (path: string): boolean =>
    ((path === '/api' || path.startsWith('/api/')) && init.openPaths?.(path) !== true) || (init.protectMetrics === true && path === '/metrics')

  return async (ctx, next) => {
    if (!guarded(ctx.req.path)) { await next(); return }
    const header = ctx.req.header('authorization')
    if (header === undefined) return refuse(ctx, `this API needs a token: ${HOW}`)
    const m = /^Bearer +(\S+) *$/i.exec(header)
    if (m == null) return refuse(ctx, `the Authorization header is not a bearer token: ${HOW}`)
    if (!timingSafeEqual(digest(m[1] as string), expected)) return refuse(ctx, `the token is wrong: ${HOW}`, 'invalid_token')
    await next()
  }
}

function refuse (ctx: Context, error: string, code?: string): Response {
  // RFC 6750: a request without credentials gets the scheme alone, a wrong token an error code
  ctx.header('WWW-Authenticate', `Bearer realm="meshmon"${code === undefined ? '' : `, error="${code}"`}`)
  return ctx.json({ error }, 401)
}
