/**
 * Responses and requests of any size stay bounded: /api/v1/events stops at a
 * byte budget and says so (the CLI passes that on), an over-long URL is a 414.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Server } from 'node:http'
import { createApi, type ApiComponents } from '../../src/api/app.js'
import { closeServer, listenApi } from '../../src/api/server.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { meshmon } from '../support/cli.js'
import { freePort } from '../support/ports.js'

/** n events of about `size` bytes each, newest first */
const events = (n: number, size: number): unknown[] => Array.from({ length: n }, (_, i) => ({
  id: `e${i}`, ts: new Date(1_700_000_000_000 - i * 1000).toISOString(), type: 'check.failed', severity: 'critical',
  source: 'p', subject: { peer: 'p', name: 'n', check: 'c' }, message: 'x'.repeat(size), labels: {}
}))

const api = (list: unknown[], maxEventsBytes?: number) => {
  const c: ApiComponents = { table: new PeerTable(), running: () => true, events: async () => list }
  return createApi(c, { maxEventsBytes })
}

describe('bounded responses', () => {
  let server: Server | undefined
  afterEach(async () => { if (server !== undefined) await closeServer(server); server = undefined })

  it('/api/v1/events stops adding events past the budget, newest kept, and says how many it left out', async () => {
    const res = await api(events(5, 1000), 2500).request('/api/v1/events')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-meshmon-truncated')).toBe('3')
    const body = await res.text()
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(2500)
    expect((JSON.parse(body) as any[]).map(e => e.id)).toEqual(['e0', 'e1'])
    // within the budget: everything, no header
    const all = await api(events(5, 10)).request('/api/v1/events')
    expect(all.headers.get('x-meshmon-truncated')).toBeNull()
    expect(await all.json()).toHaveLength(5)
  })

  it('the default budget holds 10000 events of 2 KB to a few MiB', async () => {
    const res = await api(events(10_000, 2000)).request('/api/v1/events?limit=10000')
    const body = await res.text()
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(8 * 1024 * 1024)
    expect(Number(res.headers.get('x-meshmon-truncated'))).toBe(10_000 - (JSON.parse(body) as unknown[]).length)
  })

  it('a URL over 8 KiB: 414 JSON', async () => {
    const res = await api([]).request(`/api/v1/events?since=${'1'.repeat(9000)}`)
    expect(res.status).toBe(414)
    expect((await res.json() as any).error).toMatch(/URL is over 8192 bytes/)
  })

  it('meshmon events prints what fitted and tells on stderr that more did not', async () => {
    const port = await freePort()
    server = await listenApi(api(events(4, 1000), 2700), `127.0.0.1:${port}`)
    const r = await meshmon(['events', '--api', `http://127.0.0.1:${port}`, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim().split('\n')).toHaveLength(2)
    expect(r.stderr).toBe('meshmon: 2 more events did not fit in one response; narrow the query with --since, --type, --peer or --limit\n')
  })
})
