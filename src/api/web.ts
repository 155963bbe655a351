/**
 * The web page's files (built by `npm run build` into dist/web), served from
 * memory: read once at start, gzipped once. A request names a file only by a
 * key of that map, so no request path ever reaches the filesystem (no
 * traversal to guard against). index.html is revalidated on every load
 * (no-cache + ETag); the assets it names carry a content hash in their file
 * names, so browsers keep them for a year without asking again. The files hold
 * no mesh data, so they are served without the API token.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Context } from 'hono'

export interface WebFile {
  body: Uint8Array<ArrayBuffer>
  gzip?: Uint8Array<ArrayBuffer>
  headers: Record<string, string>
}

/** URL path (`/`, `/assets/main-3F2A.js`) -> file */
export type WebFiles = Map<string, WebFile>

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2'
}
// the page talks to its own origin only, so the browser refuses anything else (a CDN, a font host)
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
const SAFE_NAME = /^[\w.-]+$/

/** The built page in `dir`, or undefined when there is none (a source checkout not built yet). */
export async function loadWebFiles (dir: string): Promise<WebFiles | undefined> {
  let index: Buffer
  try { index = await readFile(join(dir, 'index.html')) } catch { return undefined }
  const files: WebFiles = new Map()
  files.set('/', file(index, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-cache',
    'content-security-policy': CSP,
    'referrer-policy': 'no-referrer'
  }))
  const names = await readdir(join(dir, 'assets')).catch(() => [])
  for (const name of names) {
    const type = TYPES[extname(name)]
    if (type === undefined || !SAFE_NAME.test(name)) continue
    files.set(`/assets/${name}`, file(await readFile(join(dir, 'assets', name)), { 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' }))
  }
  return files
}

function file (bytes: Buffer, headers: Record<string, string>): WebFile {
  const body = new Uint8Array(bytes)
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
  const compressible = !headers['content-type']?.startsWith('image/png') && !headers['content-type']?.startsWith('font/')
  const gz = compressible && body.byteLength > 512 ? new Uint8Array(gzipSync(body, { level: 9 })) : undefined
  return { body, gzip: gz !== undefined && gz.byteLength < body.byteLength ? gz : undefined, headers: { ...headers, etag, 'x-content-type-options': 'nosniff' } }
}

/** GET / and GET /assets/NAME; anything else under /assets is a 404 like every unknown path. */
export function webHandler (files: () => WebFiles | undefined): (ctx: Context) => Response {
  return ctx => {
    const page = files()
    if (page === undefined) {
      return ctx.json({ error: 'the web page is not built in this install; run `npm run build`, the API under /api/v1 works without it' }, 503)
    }
    const path = new URL(ctx.req.url).pathname
    const f = page.get(path === '/index.html' ? '/' : path)
    if (f === undefined) return ctx.json({ error: `no such file: ${path.slice(0, 200)}` }, 404)
    const headers: Record<string, string> = { ...f.headers, vary: 'accept-encoding' }
    if (ctx.req.header('if-none-match') === f.headers.etag) return new Response(null, { status: 304, headers })
    const gzip = f.gzip !== undefined && /\bgzip\b/.test(ctx.req.header('accept-encoding') ?? '')
    if (gzip) headers['content-encoding'] = 'gzip'
    return new Response(gzip ? f.gzip : f.body, { headers })
  }
}
