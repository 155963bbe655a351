/**
 * The page's logic that needs no browser, under Node: reading the stream
 * (any split of the bytes), applying its messages, trouble-first order and
 * the filter. The peers it is given come from the server's own peerView, so a
 * change of the API's shape that the page does not follow fails to compile here.
 */
import { describe, expect, it } from 'vitest'
import { peerView } from '../../src/api/peers.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { SseParser } from '../../web/src/sse.js'
import { applyMessage, emptyView, matches, sortPeers, troubleRank, usage, type MeshView } from '../../web/src/store.js'
import type { PeerView } from '../../web/src/wire.js'
import { record } from '../support/record.js'
import { fakePeerId, syntheticPeers } from '../support/synthetic.js'

function peers (): PeerView[] {
  const table = new PeerTable()
  for (const { peerId, record } of syntheticPeers(6)) table.apply(peerId, record)
  const list = table.list()
  table.setState(list[1]!, 'down', 'silent')
  table.setState(list[2]!, 'suspect', 'silent')
  table.setState(list[3]!, 'left', 'bye')
  return table.list().map(p => peerView(p))
}

describe('the page\'s stream parser', () => {
  const stream = 'retry: 2000\n\n: keep-alive\n\nevent: snapshot\ndata: {"a":1}\n\nevent: peers\r\ndata: line1\r\ndata: line2\r\n\r\ndata: plain\r\r\n'

  it('reads events, data lines and comments, whatever the line ends', () => {
    expect(new SseParser().push(stream)).toEqual([
      { event: 'snapshot', data: '{"a":1}' },
      { event: 'peers', data: 'line1\nline2' },
      { event: 'message', data: 'plain' }
    ])
  })

  it('gives the same messages for any split of the input', () => {
    const whole = new SseParser().push(stream)
    for (let cut = 1; cut < stream.length; cut++) {
      const p = new SseParser()
      expect([...p.push(stream.slice(0, cut)), ...p.push(stream.slice(cut))]).toEqual(whole)
    }
  })
})

describe('the page\'s view of the mesh', () => {
  it('orders trouble first: down, suspect, failing checks, then up, then left', () => {
    const order = sortPeers(peers()).map(p => `${p.state}:${troubleRank(p)}`)
    expect(order).toEqual(['down:0', 'suspect:1', 'up:2', 'up:5', 'up:5', 'left:6'])
  })

  it('applies a snapshot, then changes, keeping unchanged peers as they were', () => {
    const list = peers()
    let view: MeshView = applyMessage(emptyView(), 'snapshot', { now: 10_000, peers: list, alerts: [], events: [] }, 4_000)
    expect([view.loaded, view.peers.size, view.skewMs]).toEqual([true, 6, 6_000])
    const before = view.peers
    const changed = { ...list[0]!, state: 'down' as const }
    view = applyMessage(view, 'peers', { now: 11_000, changed: [changed], removed: [list[5]!.peerId] }, 5_000)
    expect(view.peers.size).toBe(5)
    expect(view.peers.get(list[0]!.peerId)?.state).toBe('down')
    expect(view.peers.get(list[4]!.peerId)).toBe(before.get(list[4]!.peerId))
    const e = (id: string, ts: string) => ({ id, ts, type: 'peer.down' as const, severity: 'critical' as const, source: '', subject: { peer: 'p', name: 'n' }, message: '', labels: {} })
    view = applyMessage(view, 'events', { now: 1, events: [e('b', '2025-01-02T00:00:00Z'), e('a', '2025-01-01T00:00:00Z')] })
    view = applyMessage(view, 'events', { now: 1, events: [e('a', '2025-01-01T00:00:00Z'), e('c', '2025-01-03T00:00:00Z')] })
    expect(view.events.map(x => x.id)).toEqual(['c', 'b', 'a'])
    expect(applyMessage(view, 'something-newer', { now: 1 })).toBe(view)
    expect(() => applyMessage(view, 'peers', null)).toThrow(expect.objectContaining({ name: 'BadMessageError' }))
  })

  it('takes a peer the node could not render (id, name, state, error) without breaking', () => {
    const broken = { peerId: fakePeerId(7), name: 'odd', state: 'up', error: 'this peer\'s data could not be rendered: bad time' }
    const view = applyMessage(emptyView(), 'snapshot', { now: 1, peers: [broken], alerts: [], events: [] })
    const p = view.peers.get(fakePeerId(7))
    if (p === undefined) throw new Error('the broken peer is in the view')
    expect([p.checks, p.labels, p.machine, p.error]).toEqual([[], {}, null, broken.error])
    expect([troubleRank(p), matches(p, 'odd', 'all'), usage(p).cpu]).toEqual([5, true, null])
  })

  it('filters by words, key=value labels and state', () => {
    const list = peers()
    const names = (q: string, s: Parameters<typeof matches>[2] = 'all') => list.filter(p => matches(p, q, s)).map(p => p.name)
    expect(names('role=gpu')).toEqual(['node-000', 'node-002', 'node-004'])
    expect(names('ROLE=gpu node-00')).toEqual(['node-000', 'node-002', 'node-004'])
    expect(names('web', 'up')).toEqual(['node-005'])
    expect(names('', 'trouble')).toEqual(['node-000', 'node-001', 'node-002'])
    expect(names('root-disk')).toEqual(['node-000'])
    expect(names('nosuchthing')).toEqual([])
  })

  it('bars: the fullest filesystem, the mean GPU, none without machine info', () => {
    const [p] = peers()
    expect(usage(p!)).toEqual({ cpu: 0, memory: 0.375, disk: { ratio: 0.6, mountpoint: '/' }, gpu: 0.9 })
    const table = new PeerTable()
    table.apply(fakePeerId(9), record())
    expect(usage(peerView(table.list()[0]!))).toEqual({ cpu: null, memory: null, disk: null, gpu: null })
  })
})
