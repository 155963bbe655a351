/**
 * GET /api/v1/stream over a real HTTP server, read as the page reads it
 * (fetch + the page's own SSE parser): a snapshot, then coalesced changes
 * from the peer table, the alert rules and the event log; bounded in streams
 * and in what a client that does not read may hold.
 */
import { request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { deriveAlerts } from '../../src/alerts/index.js'
import { createApi } from '../../src/api/app.js'
import { MeshFeed, type FeedInit } from '../../src/api/feed.js'
import { closeServer, listenApi } from '../../src/api/server.js'
import type { MeshEvent } from '../../src/events/types.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { SseParser, type SseMessage } from '../../web/src/sse.js'
import { record } from '../support/record.js'
import { syntheticPeers } from '../support/synthetic.js'
import { waitFor } from '../support/wait.js'

const A = '12D3KooWStreamTestAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const B = '12D3KooWStreamTestBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
const event = (id: string, ts: string): MeshEvent => ({ id, ts, type: 'peer.joined', severity: 'info', source: A, subject: { peer: B, name: 'b' }, message: `${id} happened`, labels: {} })

interface Rig { table: PeerTable, feed: MeshFeed, url: string, logs: string[], addEvents: (e: MeshEvent[]) => void, server: Server }

const rigs: Rig[] = []
const readers: AbortController[] = []
afterEach(async () => {
  for (const r of readers.splice(0)) r.abort()
  for (const r of rigs.splice(0)) { r.feed.stop(); await closeServer(r.server) }
})

type Alerts = () => ReturnType<typeof deriveAlerts>

async function rig (init: FeedInit = {}, recentEvents = async (): Promise<MeshEvent[]> => [], rules?: (table: PeerTable) => Alerts): Promise<Rig> {
  const table = new PeerTable()
  const logs: string[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => { logs.push(line) } })
  const listeners = new Set<(e: MeshEvent[]) => void>()
  const alerts = rules?.(table) ?? ((): ReturnType<typeof deriveAlerts> => deriveAlerts(table.list(), { mesh: 'test', generatorURL: 'http://test/' }))
  const feed = new MeshFeed({ table, alerts, recentEvents, onEvents: l => { listeners.add(l); return () => listeners.delete(l) }, log }, init)
  feed.start()
  const server = await listenApi(createApi({ table, running: () => true, feed }), '127.0.0.1:0')
  const r = { table, feed, server, logs, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, addEvents: (e: MeshEvent[]) => { for (const l of listeners) l(e) } }
  rigs.push(r)
  return r
}

/** Read the stream as the page does; `next(event)` waits for the next message of that event. */
async function openStream (url: string): Promise<{ next: (event: string) => Promise<any>, messages: SseMessage[], ended: () => boolean, response: Response }> {
  const abort = new AbortController()
  readers.push(abort)
  const response = await fetch(`${url}/api/v1/stream`, { signal: abort.signal })
  const messages: SseMessage[] = []
  let done = false
  if (response.ok && response.body !== null) {
    const parser = new SseParser()
    const decoder = new TextDecoder()
    void (async () => {
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) messages.push(...parser.push(decoder.decode(chunk, { stream: true })))
      } catch {}
      done = true
    })()
  }
  let read = 0
  const next = async (name: string): Promise<any> => {
    const m = await waitFor(`a ${name} message`, () => {
      const i = messages.findIndex((m, k) => k >= read && m.event === name)
      if (i === -1) return undefined
      read = i + 1
      return messages[i]
    }, 5000, 10)
    return JSON.parse(m.data)
  }
  return { next, messages, ended: () => done, response }
}

describe('GET /api/v1/stream', () => {
  it('starts with a snapshot of peers, alerts and recent events', async () => {
    const r = await rig({}, async () => [event('e1', '2025-01-01T00:00:00.000Z')])
    r.table.apply(A, record({ name: 'a', checks: [{ name: 'db', type: 'tcp', status: 2, output: 'refused', perfdata: '', durationSeconds: 0, lastRun: 1, since: 1 }] }))
    const s = await openStream(r.url)
    expect(s.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(s.response.headers.get('cache-control')).toBe('no-cache, no-transform')
    const snap = await s.next('snapshot')
    expect(snap.peers.map((p: any) => [p.name, p.state, p.checks[0].statusName])).toEqual([['a', 'up', 'CRITICAL']])
    expect(snap.alerts.map((a: any) => a.labels.alertname)).toEqual(['MeshCheckFailed'])
    expect(snap.events.map((e: any) => e.id)).toEqual(['e1'])
    expect(Math.abs(snap.now - Date.now())).toBeLessThan(60_000)
  })

  it('sends changed peers, changed alerts and new events, once built for every stream', async () => {
    const r = await rig()
    const s1 = await openStream(r.url)
    const s2 = await openStream(r.url)
    await s1.next('snapshot')
    await s2.next('snapshot')
    r.table.apply(B, record({ name: 'b' }))
    for (const s of [s1, s2]) expect((await s.next('peers')).changed.map((p: any) => p.name)).toEqual(['b'])
    const b = r.table.get(B)
    if (b === undefined) throw new Error('b is in the table')
    r.table.setState(b, 'down', 'silent')
    const change = await s1.next('peers')
    expect(change.changed.map((p: any) => `${p.name} ${p.state}`)).toEqual(['b down'])
    expect((await s1.next('alerts')).alerts.map((a: any) => `${a.labels.alertname} ${a.labels.node}`)).toEqual(['MeshPeerDown b'])
    r.addEvents([event('e2', '2025-01-01T00:00:02.000Z'), event('e3', '2025-01-01T00:00:03.000Z')])
    expect((await s2.next('events')).events.map((e: any) => e.id)).toEqual(['e3', 'e2'])
    r.table.forget(b)
    expect(await s2.next('peers')).toMatchObject({ changed: [], removed: [B] })
  })

  it('with no stream open builds nothing; a page that opens later gets what changed meanwhile, and every change after', async () => {
    const r = await rig()
    r.table.apply(B, record({ name: 'b' }))
    const b = r.table.get(B)
    if (b === undefined) throw new Error('b is in the table')
    // nobody reads: no message is built, and no flush is pending
    r.table.setState(b, 'down', 'silent')
    r.addEvents([event('e1', '2025-01-01T00:00:01.000Z')])
    expect(r.feed.nextFlushIn()).toBe(0)
    const s = await openStream(r.url)
    const snap = await s.next('snapshot')
    expect(snap.peers.map((p: any) => `${p.name} ${p.state}`)).toEqual(['b down'])
    expect(snap.alerts.map((a: any) => `${a.labels.alertname} ${a.labels.node}`)).toEqual(['MeshPeerDown b'])
    // back to the alerts of before the page opened: the page held the down, so it is told
    r.table.setState(b, 'up', 'alive')
    expect((await s.next('peers')).changed.map((p: any) => `${p.name} ${p.state}`)).toEqual(['b up'])
    expect((await s.next('alerts')).alerts).toEqual([])
  })

  it('coalesces a burst of changes into one message per kind', async () => {
    let now = 0
    const r = await rig({ monotonic: () => now, minGapMs: 250 })
    const s = await openStream(r.url)
    await s.next('snapshot')
    r.feed.flush()
    expect(r.feed.nextFlushIn()).toBe(250)
    now = 100
    expect(r.feed.nextFlushIn()).toBe(150)
    for (const { peerId, record } of syntheticPeers(20)) r.table.apply(peerId, record)
    now = 250
    r.feed.flush()
    const change = await s.next('peers')
    expect(change.changed).toHaveLength(20)
    expect(s.messages.filter(m => m.event === 'peers')).toHaveLength(1)
  })

  it('loses no event that arrives while the snapshot is being read', async () => {
    let answer: (e: MeshEvent[]) => void = () => {}
    const r = await rig({}, async () => await new Promise(resolve => { answer = resolve }))
    const s = await openStream(r.url)
    await waitFor('the stream to be open', () => r.feed.streams === 1)
    r.addEvents([event('late', '2025-01-01T00:00:05.000Z')])
    r.feed.flush()
    answer([event('old', '2025-01-01T00:00:01.000Z')])
    expect((await s.next('snapshot')).events.map((e: any) => e.id)).toEqual(['late', 'old'])
  })

  it('keeps an idle stream open with comments', async () => {
    const r = await rig({ keepAliveMs: 50 })
    const s = await openStream(r.url)
    await s.next('snapshot')
    const raw = await fetch(`${r.url}/api/v1/stream`)
    const reader = (raw.body as ReadableStream<Uint8Array>).getReader()
    let text = ''
    await waitFor('a keep-alive comment', async () => { text += new TextDecoder().decode((await reader.read()).value); return text.includes(': keep-alive\n\n') })
    await reader.cancel()
    expect(s.ended()).toBe(false)
  })

  it('refuses streams past the cap with 503 and a JSON error, and serves again once one closes', async () => {
    const r = await rig({ maxStreams: 2 })
    await openStream(r.url)
    const second = new AbortController()
    const held = await fetch(`${r.url}/api/v1/stream`, { signal: second.signal })
    expect(held.status).toBe(200)
    const third = await fetch(`${r.url}/api/v1/stream`)
    expect(third.status).toBe(503)
    expect(third.headers.get('retry-after')).toBe('5')
    expect((await third.json() as { error: string }).error).toMatch(/2 live streams are open on this node/)
    second.abort()
    await waitFor('the aborted stream to close', () => r.feed.streams === 1)
    expect((await openStream(r.url)).response.status).toBe(200)
  })

  it('drops a client that does not read, and only that one', async () => {
    const r = await rig({ maxBufferBytes: 256 * 1024 })
    const synthetic = syntheticPeers(300)
    for (const { peerId, record } of synthetic) r.table.apply(peerId, record)
    const reading = await openStream(r.url)
    await reading.next('snapshot')
    // a client that reads the headers, then nothing
    let closed = false
    const stalled = await new Promise<IncomingMessage>((resolve, reject) => {
      request(`${r.url}/api/v1/stream`, res => { res.pause(); res.on('close', () => { closed = true }); resolve(res) }).on('error', reject).end()
    })
    await waitFor('two streams', () => r.feed.streams === 2)
    // 20 peers change per round (~40 KB): the reading client keeps up, the stalled one fills its socket, then its queue
    let seq = 1
    let next = 0
    await waitFor('the stalled client dropped', async () => {
      seq++
      for (let i = 0; i < 20; i++) {
        const { peerId, record } = synthetic[next++ % synthetic.length] as (typeof synthetic)[number]
        r.table.apply(peerId, { ...record, seq })
      }
      r.feed.flush()
      await new Promise(resolve => setImmediate(resolve))
      return r.feed.streams === 1
    }, 30_000, 1)
    // its socket was cut: what the kernel still held reaches it, then the end (TCP cannot end a connection its reader does not drain)
    stalled.on('error', () => {}).resume()
    await waitFor('its connection closed', () => closed)
    expect(r.logs.some(l => l.includes('live stream dropped: its client did not keep up'))).toBe(true)
    r.table.apply(A, record({ name: 'still-served' }))
    await waitFor('the reading client to get the next change', () => reading.messages.some(m => m.event === 'peers' && m.data.includes('still-served')), 15_000)
    expect(reading.ended()).toBe(false)
  })

  it.each([
    ['a parameter', '/api/v1/stream?since=1h'],
    ['an 8 KB parameter', `/api/v1/stream?${'a'.repeat(8000)}=1`]
  ])('%s: 400 with a short JSON error, no stream opened', async (_, path) => {
    const r = await rig()
    const res = await fetch(`${r.url}${path}`)
    expect(res.status).toBe(400)
    const { error } = await res.json() as { error: string }
    expect(error).toMatch(/^\/api\/v1\/stream takes no parameters, not '/)
    expect(error.length).toBeLessThan(200)
    expect(r.feed.streams).toBe(0)
  })

  it('a snapshot that cannot be built ends that stream, says why in the log, and the next one works', async () => {
    let calls = 0
    const r = await rig({}, undefined, () => () => { if (++calls === 2) throw new Error('a rule broke'); return [] })
    const broken = await openStream(r.url)
    await waitFor('the broken stream to end', () => broken.ended())
    expect(broken.messages).toEqual([])
    expect(r.logs.some(l => l.includes('live stream snapshot failed') && l.includes('a rule broke'))).toBe(true)
    expect(await (await openStream(r.url)).next('snapshot')).toMatchObject({ peers: [], alerts: [] })
  })

  it('is 503 until the node wires the feed, and ends every stream at stop', async () => {
    const res = await createApi({ table: new PeerTable(), running: () => true }).request('/api/v1/stream')
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ error: 'the live stream is not ready yet (the node is starting)' })
    const r = await rig()
    const s = await openStream(r.url)
    await s.next('snapshot')
    r.feed.stop()
    await waitFor('the stream to end', () => s.ended())
    expect(r.feed.streams).toBe(0)
  })
})
