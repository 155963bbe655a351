/**
 * The API's guards without a socket: the token on /api/* (and /metrics when
 * asked), the Host header check against DNS rebinding. What a client sees:
 * status codes, JSON errors that name the fix, WWW-Authenticate.
 */
import { describe, expect, it } from 'vitest'
import { createApi, type ApiInit } from '../../src/api/app.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { record } from '../support/record.js'

const TOKEN = 'c0ffee-and-a-long-random-secret'

function app (init: ApiInit) {
  const table = new PeerTable()
  table.apply('12D3KooWAuthTestPeer', record({ name: 'web-01' }))
  return createApi({
    table,
    running: () => true,
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'meshmon_peer_up 1\n' }),
    alerts: () => []
  }, init)
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('API token', () => {
  const guarded = app({ auth: { token: TOKEN } })

  it.each(['/api/v1/peers', '/api/v1/alerts', '/api/v1/events', '/api/v1/stream', '/api/anything'])('%s without a token: 401 JSON naming the fix', async (path) => {
    const res = await guarded.request(path)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="meshmon"')
    expect(res.headers.get('content-type')).toMatch(/application\/json/)
    expect((await res.json() as any).error).toMatch(/^this API needs a token: send Authorization: Bearer <api\.token>/)
  })

  it('a wrong token, another scheme or an empty bearer: 401', async () => {
    const wrong = await guarded.request('/api/v1/peers', { headers: bearer(TOKEN + 'x') })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="meshmon", error="invalid_token"')
    expect((await wrong.json() as any).error).toMatch(/^the token is wrong: send Authorization: Bearer <api\.token>/)
    for (const header of [`Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, 'Bearer', 'Bearer ', TOKEN, `Bearer ${TOKEN} extra`]) {
      const res = await guarded.request('/api/v1/peers', { headers: { authorization: header } })
      expect(res.status, header).toBe(401)
      expect((await res.json() as any).error).toMatch(/send Authorization: Bearer <api\.token>/)
    }
    // a prefix of the token, or the token and more, are wrong too
    for (const t of [TOKEN.slice(0, -1), TOKEN.slice(1), TOKEN.toUpperCase()]) {
      expect((await guarded.request('/api/v1/peers', { headers: bearer(t) })).status).toBe(401)
    }
  })

  it('the right token opens /api/* (the scheme in any case)', async () => {
    const res = await guarded.request('/api/v1/peers', { headers: bearer(TOKEN) })
    expect(res.status).toBe(200)
    expect((await res.json() as any[])[0].name).toBe('web-01')
    expect((await guarded.request('/api/v1/alerts', { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200)
  })

  it('/healthz, /metrics (by default) and the page\'s paths stay open', async () => {
    expect((await guarded.request('/healthz')).status).toBe(200)
    const metrics = await guarded.request('/metrics')
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('meshmon_peer_up 1')
    // no page built into this API: 503 saying so, and an unknown path not found; neither refused
    expect((await guarded.request('/')).status).toBe(503)
    expect((await guarded.request('/app.js')).status).toBe(404)
  })

  it('protectMetrics guards /metrics too', async () => {
    const strict = app({ auth: { token: TOKEN, protectMetrics: true } })
    const res = await strict.request('/metrics')
    expect(res.status).toBe(401)
    expect((await res.json() as any).error).toMatch(/Authorization: Bearer/)
    expect((await strict.request('/metrics', { headers: bearer(TOKEN) })).status).toBe(200)
    expect((await strict.request('/healthz')).status).toBe(200)
  })

  it('paths another guard owns are left to it', async () => {
    const withPush = app({ auth: { token: TOKEN, openPaths: p => p.startsWith('/api/v1/push/') } })
    expect((await withPush.request('/api/v1/push/dev-1')).status).toBe(404)
    expect((await withPush.request('/api/v1/peers')).status).toBe(401)
  })

  it('no token configured: the API is open', async () => {
    expect((await app({ auth: { token: null } }).request('/api/v1/peers')).status).toBe(200)
  })
})

describe('Host header check (DNS rebinding)', () => {
  const get = async (a: ReturnType<typeof app>, host: string, path = '/api/v1/peers') => await a.request(path, { headers: { host } })

  it('a loopback bind answers to localhost, 127.0.0.1 and ::1, not to another name', async () => {
    const a = app({ hosts: { listen: '127.0.0.1:9521', allowedHosts: [] } })
    for (const host of ['localhost:9521', '127.0.0.1:9521', '[::1]:9521', 'LOCALHOST', 'localhost.']) expect((await get(a, host)).status, host).toBe(200)
    const res = await get(a, 'evil.example:9521')
    expect(res.status).toBe(403)
    expect(res.headers.get('content-type')).toMatch(/application\/json/)
    expect((await res.json() as any).error).toMatch(/does not answer to the name "evil\.example".*add it to api\.allowedHosts/)
    // a rebound name is refused on /metrics as well; /healthz tells nothing and stays open
    expect((await get(a, 'evil.example', '/metrics')).status).toBe(403)
    expect((await get(a, 'evil.example', '/healthz')).status).toBe(200)
  })

  it('a wildcard bind answers to the machine\'s hostname; an IP literal always passes', async () => {
    const a = app({ hosts: { listen: '0.0.0.0:9521', allowedHosts: [], hostname: () => 'Gpu-01' } })
    for (const host of ['gpu-01:9521', '10.1.2.3:9521', '[fd00::5]:9521', '127.0.0.1']) expect((await get(a, host)).status, host).toBe(200)
    expect((await get(a, 'gpu-01.evil.example')).status).toBe(403)
    // on a specific address the hostname is not this API's name
    const b = app({ hosts: { listen: '10.0.0.5:9521', allowedHosts: [], hostname: () => 'gpu-01' } })
    expect((await get(b, '10.0.0.5:9521')).status).toBe(200)
    expect((await get(b, 'gpu-01:9521')).status).toBe(403)
  })

  it('api.allowedHosts: exact names, *.domain for subdomains, * for any', async () => {
    const a = app({ hosts: { listen: '0.0.0.0:9521', allowedHosts: ['meshmon', '*.mesh.example.lan'], hostname: () => 'h' } })
    for (const host of ['meshmon:9521', 'node-1.mesh.example.lan', 'a.b.mesh.example.lan:80']) expect((await get(a, host)).status, host).toBe(200)
    for (const host of ['mesh.example.lan', 'evilmesh.example.lan', 'meshmon.evil.example']) expect((await get(a, host)).status, host).toBe(403)
    const any = app({ hosts: { listen: '127.0.0.1:9521', allowedHosts: ['*'] } })
    expect((await get(any, 'evil.example')).status).toBe(200)
  })

  it('the Host check comes before the token: a rebound page learns nothing', async () => {
    const a = app({ hosts: { listen: '127.0.0.1:9521', allowedHosts: [] }, auth: { token: TOKEN } })
    expect((await a.request('/api/v1/peers', { headers: { host: 'evil.example', ...bearer(TOKEN) } })).status).toBe(403)
    expect((await a.request('/api/v1/peers', { headers: { host: 'localhost:9521', ...bearer(TOKEN) } })).status).toBe(200)
  })
})
