/**
 * The page's files: served from memory with the right types and caching, and
 * no request path, however crafted, reaches anything else on disk.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApi } from '../../src/api/app.js'
import { closeServer, listenApi } from '../../src/api/server.js'
import { loadWebFiles } from '../../src/api/web.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'

describe('the web page\'s files', () => {
  let dir: string
  let app: ReturnType<typeof createApi>
  const js = `console.log(${JSON.stringify('x'.repeat(2000))})`

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-webfiles-'))
    await mkdir(join(dir, 'assets'))
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>meshmon</title>')
    await writeFile(join(dir, 'assets', 'main-ABC123.js'), js)
    await writeFile(join(dir, 'assets', 'main-ABC123.css'), 'body{}')
    await writeFile(join(dir, 'assets', 'notes.txt'), 'not a page file')
    await writeFile(join(dir, 'secret.js'), 'outside assets/')
    app = createApi({ table: new PeerTable(), running: () => true, web: await loadWebFiles(dir) })
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('GET / is index.html: never cached without asking, a CSP that allows only this origin', async () => {
    const res = await app.request('/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'.*connect-src 'self'/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await res.text()).toBe('<!doctype html><title>meshmon</title>')
    const again = await app.request('/', { headers: { 'if-none-match': res.headers.get('etag') as string } })
    expect(again.status).toBe(304)
    expect(await again.text()).toBe('')
  })

  it('GET /assets/NAME: its type, a year of cache, gzip when asked', async () => {
    const res = await app.request('/assets/main-ABC123.js', { headers: { 'accept-encoding': 'gzip, br' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(res.headers.get('vary')).toBe('accept-encoding')
    expect(gunzipSync(Buffer.from(await res.arrayBuffer())).toString()).toBe(js)
    const plain = await app.request('/assets/main-ABC123.js')
    expect(plain.headers.get('content-encoding')).toBeNull()
    expect(await plain.text()).toBe(js)
    const css = await app.request('/assets/main-ABC123.css')
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    const head = await app.request('/assets/main-ABC123.css', { method: 'HEAD' })
    expect(head.status).toBe(200)
  })

  // over a real socket too: a client may send a path that fetch() would normalise
  it.each([
    '/assets/notes.txt',
    '/assets/../secret.js',
    '/assets/..%2fsecret.js',
    '/assets/%2e%2e/secret.js',
    '/assets/..%5csecret.js',
    '/assets/main-ABC123.js%00.css',
    '/assets/',
    '//etc/passwd',
    '/assets/main-ABC123.js/x',
    `/assets/${'a'.repeat(5000)}.js`,
    `/${'a'.repeat(5000)}`
  ])('GET %s -> 404 with a JSON error', async path => {
    const server = await listenApi(app, '127.0.0.1:0')
    try {
      const { port } = server.address() as AddressInfo
      const res = await rawGet(port, path)
      expect(res.status).toBe(404)
      expect(res.type).toMatch(/application\/json/)
      expect(JSON.parse(res.body).error).toMatch(/^no such (file|endpoint)/)
      expect(res.body).not.toContain('outside assets/')
      expect(res.body.length).toBeLessThan(400)
    } finally { await closeServer(server) }
  })

  it('without a built page, / says how to build it (503) and the API still answers', async () => {
    const bare = createApi({ table: new PeerTable(), running: () => true, web: await loadWebFiles(join(dir, 'nowhere')) })
    const res = await bare.request('/')
    expect(res.status).toBe(503)
    expect((await res.json() as { error: string }).error).toMatch(/not built.*npm run build/)
    expect((await bare.request('/api/v1/peers')).status).toBe(200)
  })
})

/** a GET with the path exactly as given (no URL normalisation) */
async function rawGet (port: number, path: string): Promise<{ status: number, type: string, body: string }> {
  return await new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, method: 'GET' }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }) })
    }).on('error', reject).end()
  })
}
