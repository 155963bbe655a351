/** GET /api/v1/events and `meshmon events` against a real node's event log. */
import type { Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApi } from '../../src/api/app.js'
import { closeServer, listenApi } from '../../src/api/server.js'
import { eventsCommand } from '../../src/cli/events.js'
import { reportError } from '../../src/cli/exit.js'
import { eventsQuery, parseEventsQuery, type MeshEvent } from '../../src/events/index.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'
import { Nodes, type TestNode } from './helpers.js'

describe('events API and CLI', () => {
  const nodes = new Nodes()
  let n: TestNode
  let server: Server
  let api: string
  let app: ReturnType<typeof createApi>
  let down: MeshEvent, failed: MeshEvent, up: MeshEvent

  beforeAll(async () => {
    n = await nodes.start('n')
    app = createApi({ table: n.table, events: eventsQuery(n.events), running: () => true })
    const port = await freePort()
    server = await listenApi(app, `127.0.0.1:${port}`)
    api = `http://127.0.0.1:${port}`
    const t = Date.now()
    ;[down, failed, up] = await n.events.appendMany([
      { ts: new Date(t - 3 * 3_600_000).toISOString(), type: 'peer.down', severity: 'critical', subject: { peer: '12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaGpu01', name: 'gpu-01' }, message: 'gpu-01 is down: no heartbeat for 5s and no live peer heard it', labels: {} },
      { ts: new Date(t - 60_000).toISOString(), type: 'check.failed', severity: 'critical', subject: { peer: '12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbWeb02', name: 'web-02', check: 'http' }, message: 'http on web-02 is CRITICAL: HTTP 500', labels: {} },
      { ts: new Date(t - 1000).toISOString(), type: 'peer.up', severity: 'info', subject: { peer: '12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaGpu01', name: 'gpu-01' }, message: 'gpu-01 is up again', labels: {} }
    ]) as [MeshEvent, MeshEvent, MeshEvent]
  })
  afterAll(async () => {
    if (server !== undefined) await closeServer(server)
    await nodes.stopAll()
  })

  const get = async (qs: string): Promise<{ status: number, body: any }> => {
    const res = await app.request(`/api/v1/events${qs}`)
    return { status: res.status, body: await res.json() }
  }

  it('serves events newest first, filtered by since, type, peer (id, suffix or name) and limit', async () => {
    expect((await get('')).body.map((e: MeshEvent) => e.id)).toEqual([up.id, failed.id, down.id])
    expect((await get('?since=1h')).body.map((e: MeshEvent) => e.id)).toEqual([up.id, failed.id])
    expect((await get(`?since=${new Date(Date.now() - 30_000).toISOString()}`)).body.map((e: MeshEvent) => e.id)).toEqual([up.id])
    expect((await get('?type=peer.down,peer.up')).body.map((e: MeshEvent) => e.id)).toEqual([up.id, down.id])
    expect((await get('?peer=gpu-01')).body.map((e: MeshEvent) => e.id)).toEqual([up.id, down.id])
    expect((await get('?peer=%E2%80%A6bbbWeb02')).body.map((e: MeshEvent) => e.id)).toEqual([failed.id])
    expect((await get(`?peer=${down.subject.peer}&limit=1`)).body.map((e: MeshEvent) => e.id)).toEqual([up.id])
    expect((await get('?peer=nobody')).body).toEqual([])
  })

  it('answers 400 with a clear message on bad input', async () => {
    const cases: Array<[string, RegExp]> = [
      ['?since=yesterday', /^since must be a duration like 30s, 15m, 1h, 7d or an ISO time .*not 'yesterday'$/],
      ['?type=peer.exploded', /^type must be one of peer.joined, peer.left, peer.down, peer.up, check.failed, check.warning, check.recovered, device.online, device.offline .*not 'peer.exploded'$/],
      ['?limit=0', /^limit must be a whole number from 1 to 10000, not '0'$/],
      ['?limit=10001', /limit must be a whole number from 1 to 10000/],
      ['?limit=ten', /limit must be a whole number/],
      ['?peer=', /^peer must be/],
      ['?sinse=1h', /^unknown parameter 'sinse'; use since, type, peer, limit$/]
    ]
    for (const [qs, message] of cases) {
      const r = await get(qs)
      expect(r.status, qs).toBe(400)
      expect(r.body.error, qs).toMatch(message)
    }
    expect(parseEventsQuery(new URLSearchParams())).toEqual({ limit: 100 })
  })

  it('meshmon events prints a table oldest to newest, or JSON lines', async () => {
    let out = ''
    expect(await eventsCommand({ api, write: t => { out += t } })).toBe(0)
    const lines = out.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^TIME\s+TYPE\s+SEVERITY\s+NODE\s+CHECK\s+MESSAGE$/)
    expect(lines.slice(1).map(l => l.split(/\s{2,}/)[1])).toEqual(['peer.down', 'check.failed', 'peer.up'])
    expect(lines[2]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+check.failed\s+critical\s+web-02\s+http\s+http on web-02 is CRITICAL: HTTP 500$/)

    out = ''
    expect(await eventsCommand({ api, json: true, type: 'peer.up', write: t => { out += t } })).toBe(0)
    expect(out.trimEnd().split('\n').map(l => JSON.parse(l))).toEqual([up])
  })

  it('--follow prints new events as they arrive, until stopped', async () => {
    let out = ''
    const stop = new AbortController()
    const done = eventsCommand({ api, follow: true, since: '10m', pollMs: 100, signal: stop.signal, write: t => { out += t } })
    await waitFor('the current events', () => out.includes('gpu-01 is up again'))
    expect(out).not.toContain('gpu-01 is down')
    const fresh = await n.events.append({ type: 'peer.left', severity: 'info', subject: { peer: '12D3KooWCcc', name: 'laptop' }, message: 'laptop left the mesh', labels: {} })
    await waitFor('the new event', () => out.includes('laptop left the mesh'))
    stop.abort()
    expect(await done).toBe(0)
    expect(out.split('\n').filter(l => l.includes('laptop left the mesh'))).toHaveLength(1)
    expect(await n.events.has(fresh.id)).toBe(true)
  })

  it('exits 2 when the API cannot be reached', async () => {
    const port = await freePort()
    const err = await eventsCommand({ api: `http://127.0.0.1:${port}`, write: () => {} }).catch(e => e)
    expect(err.name).toBe('ApiUnreachableError')
    const write = process.stderr.write
    process.stderr.write = () => true
    try { expect(reportError(err)).toBe(2) } finally { process.stderr.write = write }
  })
})
