/** The device table's timing, on clocks the test moves: every case deterministic, nothing sleeps. */
import { describe, expect, it } from 'vitest'
import type { WireEntry } from '../../src/devices/sessions.js'
import { DeviceTable, type DeclaredDevice, type Incident, type ViaState } from '../../src/devices/table.js'
import { dataHash, emptyData } from '../../src/devices/data.js'

const SELF = '12D3KooWSelfSelfSelfSelfSelfSelfSelfSelfSelfSelfSelf'
const A = '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const B = '12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
const T0 = 1_800_000_000_000

function rig (init: { maxDevices?: number, declared?: DeclaredDevice[], forgetAfterMs?: number } = {}) {
  let mono = 0
  const peers = new Map<string, ViaState>([[A, 'up'], [B, 'up']])
  const table = new DeviceTable({
    self: SELF, selfName: 'self', peerState: id => peers.get(id), monotonic: () => mono, wall: () => T0 + mono, ...init
  })
  const incidents: Array<{ type: string, id: string, cause: string | null, via: string | null }> = []
  table.on('incident', (i: Incident) => incidents.push({ type: i.type, id: i.device.id, cause: i.cause, via: i.session?.via ?? null }))
  const seqs = new Map<string, number>()
  /** an announcement from `via`, sent now by a clock `skew` ms off */
  const hear = (via: string, entries: Array<Partial<WireEntry> & { id: string }>, opts: { boot?: number, skew?: number, seq?: number } = {}) => {
    const seq = opts.seq ?? (seqs.get(via) ?? 0) + 1
    seqs.set(via, seq)
    const now = T0 + mono + (opts.skew ?? 0)
    const d = entries.map(e => ({ st: 'up' as const, kind: 'websocket' as const, since: now, at: now, chg: now, seen: now, iv: null, why: null, data: emptyData(), ...e }))
    return table.applyRemote(via, via === A ? 'a' : 'b', { boot: opts.boot ?? 1, seq, ts: now, d })
  }
  /** move time in 250 ms ticks */
  const advance = (ms: number): void => { for (let t = 0; t < ms; t += 250) { mono += 250; table.tick() } }
  const state = (id: string) => table.get(id)?.state
  return { table, peers, incidents, hear, advance, state, now: () => T0 + mono }
}

describe('device table', () => {
  it('is idle while it holds nothing (the node stops its ticker): the first record says occupied, and forgotten again it is idle', () => {
    const r = rig({ forgetAfterMs: 60_000 })
    let occupied = 0
    r.table.on('occupied', () => { occupied++ })
    expect(r.table.idle).toBe(true)
    const conn = {}
    r.table.connect('gpu-1', conn, emptyData())
    expect([occupied, r.table.idle]).toEqual([1, false])
    r.hear(A, [{ id: 'gpu-2' }])
    expect(occupied).toBe(1)
    r.table.disconnect('gpu-1', conn, 'closed')
    r.hear(A, [{ id: 'gpu-2', st: 'down', chg: r.now(), why: 'closed' }])
    r.advance(80_000)
    expect([r.table.size, r.table.idle]).toEqual([0, true])
    r.hear(B, [{ id: 'gpu-3' }])
    expect([occupied, r.table.idle]).toEqual([2, false])
    // a declared device is always there to judge
    expect(rig({ declared: [{ id: 'esp-1', intervalMs: 60_000, expect: 'always-on' }] }).table.idle).toBe(false)
  })

  it('a local WebSocket device: up, down at its close, alerted and offline after 10 s, online when back', () => {
    const r = rig()
    const conn = {}
    r.table.connect('gpu-1', conn, emptyData())
    expect(r.state('gpu-1')).toBe('up')
    r.table.disconnect('gpu-1', conn, 'closed')
    expect(r.state('gpu-1')).toBe('down')
    r.advance(9750)
    expect(r.table.get('gpu-1')?.alerting).toBe(false)
    r.advance(250)
    expect(r.table.get('gpu-1')?.alerting).toBe(true)
    expect(r.incidents).toEqual([{ type: 'offline', id: 'gpu-1', cause: 'closed', via: SELF }])
    r.table.connect('gpu-1', {}, emptyData())
    expect(r.table.get('gpu-1')).toMatchObject({ state: 'up', alerting: false })
    expect(r.incidents.map(i => i.type)).toEqual(['offline', 'online'])
  })

  it('a device that reconnects to another peer within 10 s is moved: never alerted, and the old via\'s down never overrides', () => {
    const r = rig()
    r.hear(A, [{ id: 'gpu-1' }])
    r.advance(1000)
    r.hear(A, [{ id: 'gpu-1', st: 'down', since: r.now() - 1000, at: r.now() - 1000, why: 'closed' }])
    expect(r.state('gpu-1')).toBe('down')
    r.advance(3000)
    r.hear(B, [{ id: 'gpu-1' }])
    expect(r.table.get('gpu-1')).toMatchObject({ state: 'up', via: B, viaName: 'b' })
    // A says it again (its periodic re-announcement): older connection, ignored
    r.hear(A, [{ id: 'gpu-1', st: 'down', since: r.now() - 4000, at: r.now() - 4000, why: 'closed' }])
    r.advance(20_000)
    expect(r.table.get('gpu-1')).toMatchObject({ state: 'up', via: B, alerting: false })
    expect(r.incidents).toEqual([])
  })

  it('two live connections: the newest wins, an older one\'s later word is ignored', () => {
    const r = rig()
    r.hear(A, [{ id: 'gpu-1', at: r.now() - 5000 }])
    r.hear(B, [{ id: 'gpu-1', at: r.now() - 1000 }])
    expect(r.table.get('gpu-1')?.via).toBe(B)
    r.hear(A, [{ id: 'gpu-1', at: r.now() - 5000, data: { ...emptyData(), project: 'stale' } }])
    expect(r.table.get('gpu-1')).toMatchObject({ via: B, data: { project: '' } })
    // B's connection ends: A's older one, still open, is what the device has left
    r.hear(B, [{ id: 'gpu-1', st: 'down', at: r.now() - 1000 }])
    r.hear(A, [{ id: 'gpu-1', at: r.now() - 5000 }])
    expect(r.table.get('gpu-1')).toMatchObject({ state: 'up', via: A })
  })

  it('clock skew is bounded: times move onto this clock by the send time, never into the future', () => {
    const r = rig()
    // A's clock is an hour ahead; its device connected 5 s ago by real time
    r.hear(A, [{ id: 'gpu-1', at: r.now() + 3_600_000 - 5000 }], { skew: 3_600_000 })
    r.hear(B, [{ id: 'gpu-1', at: r.now() - 1000 }])
    expect(r.table.get('gpu-1')?.via).toBe(B)
    // an entry claiming a connection in the future counts as now, not forever newest
    r.hear(A, [{ id: 'gpu-2', at: r.now() + 3_600_000 }])
    r.advance(1000)
    r.hear(B, [{ id: 'gpu-2' }])
    expect(r.table.get('gpu-2')?.via).toBe(B)
    expect(r.table.get('gpu-1')?.lastSeen).toBeLessThanOrEqual(r.now())
  })

  it('a re-announcement with only the data\'s hash: the data kept when it matches, asked for when not (or when the device is new here)', () => {
    const r = rig()
    const data = { ...emptyData(), project: 'p', models: ['llama'] }
    r.hear(A, [{ id: 'gpu-1', data }])
    const held = r.table.get('gpu-1')?.data
    expect(held).toEqual(data)
    expect(r.hear(A, [{ id: 'gpu-1', data: undefined, h: dataHash({ ...data }) }]).wanted).toEqual([])
    expect(r.table.get('gpu-1')?.data).toBe(held)
    expect(r.hear(A, [{ id: 'gpu-1', data: undefined, h: 12345 }, { id: 'gpu-2', data: undefined, h: 1 }]).wanted).toEqual(['gpu-1', 'gpu-2'])
    expect(r.table.get('gpu-1')).toMatchObject({ state: 'up', data: { project: 'p' } })
    expect(r.table.get('gpu-2')).toMatchObject({ state: 'up', via: A })
  })

  it('replayed and out-of-order announcements of a via change nothing', () => {
    const r = rig()
    r.hear(A, [{ id: 'gpu-1', st: 'down' }], { seq: 5 })
    r.hear(A, [{ id: 'gpu-1', st: 'up' }], { seq: 4 })
    expect(r.state('gpu-1')).toBe('down')
    expect(r.hear(A, [{ id: 'gpu-1', st: 'up' }], { seq: 9, boot: 0 })).toMatchObject({ applied: 0, stale: 1, refused: 0 })
    expect(r.state('gpu-1')).toBe('down')
  })

  it('its via dies: unknown (not alerted) for the grace, then down, alerted, offline', () => {
    const r = rig()
    r.hear(A, [{ id: 'gpu-1' }, { id: 'gpu-2' }])
    r.peers.set(A, 'down')
    r.advance(250)
    expect([r.state('gpu-1'), r.state('gpu-2')]).toEqual(['unknown', 'unknown'])
    // gpu-2 turns up on B meanwhile
    r.advance(5000)
    r.hear(B, [{ id: 'gpu-2' }])
    expect(r.state('gpu-2')).toBe('up')
    r.advance(54_500)
    expect(r.state('gpu-1')).toBe('unknown')
    r.advance(500)
    expect(r.table.get('gpu-1')).toMatchObject({ state: 'down', alerting: true })
    expect(r.incidents).toEqual([{ type: 'offline', id: 'gpu-1', cause: 'via-gone', via: A }])
    // the peer table forgetting the dead via does not bring its devices back
    r.peers.delete(A)
    r.advance(250)
    expect(r.state('gpu-1')).toBe('down')
  })

  it('a via that restarted (new boot) closed its connections: its older sessions are down from then', () => {
    const r = rig()
    r.hear(A, [{ id: 'gpu-1' }], { boot: 1 })
    r.advance(1000)
    r.hear(A, [], { boot: 2, seq: 1 })
    expect(r.table.get('gpu-1')).toMatchObject({ state: 'down', alerting: false })
    r.advance(10_000)
    expect(r.incidents).toEqual([{ type: 'offline', id: 'gpu-1', cause: 'closed', via: A }])
  })

  it('a push device is down when no push came within 2 x its interval', () => {
    const r = rig()
    r.table.push('esp-1', 5000, emptyData())
    r.advance(9000)
    r.table.push('esp-1', 5000, { ...emptyData(), status: 'ok' })
    r.advance(10_000)
    expect(r.state('esp-1')).toBe('up')
    r.advance(250)
    expect(r.table.get('esp-1')).toMatchObject({ state: 'down', kind: 'push', interval: 5000 })
    r.advance(10_000)
    expect(r.incidents).toEqual([{ type: 'offline', id: 'esp-1', cause: 'silent', via: SELF }])
  })

  it('a declared device that never reports is unknown, then down after 2 x its interval; an intermittent one is left, never alerted', () => {
    const r = rig({ declared: [{ id: 'esp-9', intervalMs: 30_000, expect: 'always-on', project: 'demo' }, { id: 'esp-8', intervalMs: 30_000, expect: 'intermittent' }] })
    expect(r.table.get('esp-9')).toMatchObject({ state: 'unknown', declared: true, kind: 'declared', data: { project: 'demo' } })
    r.advance(59_750)
    expect(r.state('esp-9')).toBe('unknown')
    r.advance(250)
    expect([r.state('esp-9'), r.state('esp-8')]).toEqual(['down', 'left'])
    r.advance(10_000)
    expect(r.table.get('esp-9')?.alerting).toBe(true)
    expect(r.table.get('esp-8')?.alerting).toBe(false)
    expect(r.incidents).toEqual([{ type: 'offline', id: 'esp-9', cause: 'never', via: null }])
    // declared devices are never forgotten
    r.advance(3_700_000)
    expect(r.state('esp-9')).toBe('down')
  })

  it('a peer that joins later takes the times its via gives: long down is alerted at once, with no incident of its own', () => {
    const r = rig()
    r.advance(60_000)
    r.hear(A, [{ id: 'gpu-1', st: 'down', since: r.now() - 50_000, at: r.now() - 50_000, chg: r.now() - 30_000 }])
    expect(r.table.get('gpu-1')).toMatchObject({ state: 'down', alerting: true, stateSince: r.now() - 30_000 })
    r.hear(B, [{ id: 'gpu-2', chg: r.now() - 20_000 }])
    expect(r.table.get('gpu-2')?.stateSince).toBe(r.now() - 20_000)
    r.advance(1000)
    expect(r.incidents).toEqual([])
  })

  it('at ingest.maxDevices a new device is refused unless one that ended makes way', () => {
    const r = rig({ maxDevices: 2 })
    const c1 = {}
    expect(r.table.connect('gpu-1', c1, emptyData())).toMatchObject({ state: 'up' })
    r.hear(A, [{ id: 'gpu-2' }])
    expect(r.table.connect('gpu-3', {}, emptyData())).toEqual({ refused: 'full' })
    expect(r.hear(B, [{ id: 'gpu-4' }])).toMatchObject({ applied: 0, stale: 0, refused: 1 })
    r.table.disconnect('gpu-1', c1, 'closed')
    expect(r.table.push('esp-1', 60_000, emptyData())).toMatchObject({ state: 'up' })
    expect(r.table.list().map(d => d.id).sort()).toEqual(['esp-1', 'gpu-2'])
  })

  it('an ended device is forgotten after an hour; a newer connection takes a WebSocket session over', () => {
    const r = rig()
    const old = {}
    const fresh = {}
    r.table.connect('gpu-1', old, emptyData())
    r.table.connect('gpu-1', fresh, emptyData())
    // the older connection's close no longer counts, nor does its machine info
    r.table.disconnect('gpu-1', old, 'closed')
    expect(r.table.report('gpu-1', old, emptyData())).toBe(false)
    expect(r.state('gpu-1')).toBe('up')
    r.table.disconnect('gpu-1', fresh, 'closed')
    r.advance(3_600_000)
    expect(r.state('gpu-1')).toBe('down')
    // the long ended are looked for every 10 s
    r.advance(10_000)
    expect(r.table.get('gpu-1')).toBeUndefined()
    expect(r.table.local.entries()).toEqual([])
  })
})
