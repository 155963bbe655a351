/** The HTTP API without a socket: shapes and errors users see. */
import { describe, expect, it } from 'vitest'
import { createApi } from '../../src/api/app.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { record } from '../support/record.js'

const ID = '12D3KooWApiTestPeerAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'

function app (running = true) {
  const table = new PeerTable()
  table.apply(ID, record({ name: 'web-01', labels: { role: 'web' }, addrs: ['/ip4/10.0.0.1/tcp/4001'], checks: [{ name: 'db', type: 'tcp', status: 2, output: 'refused', perfdata: '', durationSeconds: 0.01, lastRun: 1_700_000_000_000, since: 1_700_000_000_000 }] }))
  return createApi({ table, running: () => running })
}

describe('HTTP API', () => {
  it('GET /api/v1/peers: peers with ISO times and named check states', async () => {
    const res = await app().request('/api/v1/peers')
    expect(res.status).toBe(200)
    const [p] = await res.json() as any[]
    expect(p).toMatchObject({ peerId: ID, name: 'web-01', state: 'up', labels: { role: 'web' }, expect: 'always-on', addrs: ['/ip4/10.0.0.1/tcp/4001'], machine: null })
    expect(p.lastSeen).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(p.checks[0]).toMatchObject({ name: 'db', status: 2, statusName: 'CRITICAL', lastRun: '2023-11-14T22:13:20.000Z' })
  })

  it('GET /healthz: 200 running, 503 otherwise', async () => {
    expect((await app().request('/healthz')).status).toBe(200)
    const res = await app(false).request('/healthz')
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ error: 'starting or stopping' })
  })

  it.each([
    ['GET', '/nope', 404, /no such endpoint: GET \/nope/],
    ['POST', '/api/v1/peers', 404, /no such endpoint: POST \/api\/v1\/peers/],
    ['GET', '/api/v1/events', 503, /event log is not open yet/],
    ['GET', '/metrics', 503, /metrics are not ready/]
  ])('%s %s -> %i with a JSON error', async (method, path, status, message) => {
    const res = await app().request(path, { method })
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toMatch(/application\/json/)
    expect((await res.json() as any).error).toMatch(message)
  })
})
