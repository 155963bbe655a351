import { describe, expect, it } from 'vitest'
import { PartitionHold, PeerIncidents } from '../../src/heartbeat/incidents.js'
import type { SetTimer } from '../../src/heartbeat/timer.js'
import type { PartitionView } from '../../src/heartbeat/verdict.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { record } from '../support/record.js'

/** a virtual clock and timers that fire when the test advances it */
function virtualTime (start: number): { clock: { now: number }, advance: (ms: number) => void, setTimer: SetTimer } {
  const clock = { now: start }
  const timers: Array<{ at: number, fn: () => void, cancelled: boolean }> = []
  /** runs every timer due by then in order, those set meanwhile included, each at its own time */
  const advance = (ms: number): void => {
    const until = clock.now + ms
    for (;;) {
      const due = timers.filter(t => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      clock.now = Math.max(clock.now, due.at)
      due.cancelled = true
      due.fn()
    }
    clock.now = until
  }
  const setTimer: SetTimer = (fn, ms) => { const t = { at: clock.now + ms, fn, cancelled: false }; timers.push(t); return { cancel: () => { t.cancelled = true }, refresh: () => { t.at = clock.now + ms } } }
  return { clock, advance, setTimer }
}

/** a table with one peer, incidents on a virtual clock */
function setup () {
  const { clock, advance, setTimer } = virtualTime(1_000_000)
  const table = new PeerTable({ wall: () => clock.now })
  const incidents = new PeerIncidents(table, { recoverAfterMs: 5000, wall: () => clock.now, setTimer })
  incidents.start()
  let seq = 0
  table.apply('x', record({ name: 'x', seq: ++seq }))
  const peer = table.get('x')!
  const log: string[] = []
  incidents.on('open', () => log.push('open'))
  incidents.on('close', ({ recovered }) => log.push(recovered ? 'recovered' : 'gone'))
  const down = (): void => { table.setState(peer, 'down', 'silent') }
  const up = (): void => { table.apply('x', record({ name: 'x', seq: ++seq })) }
  return { table, peer, incidents, log, advance, down, up, clock }
}

describe('a peer\'s down as one incident', () => {
  it('opens at the down, ends once the peer has been up for recoverAfter', () => {
    const s = setup()
    s.down()
    expect(s.peer.incident).toEqual({ since: 1_000_000, key: '1700000000000/1' })
    s.advance(3000)
    s.up()
    expect(s.peer.state).toBe('up')
    expect(s.peer.incident).toEqual({ since: 1_000_000, key: '1700000000000/1', recovering: 1_003_000 })
    s.advance(4999)
    expect(s.log).toEqual(['open'])
    s.advance(1)
    expect(s.log).toEqual(['open', 'recovered'])
    expect(s.peer.incident).toBeUndefined()
  })

  it('a flapping peer is one incident: down again before it held continues it', () => {
    const s = setup()
    for (let i = 0; i < 10; i++) {
      s.down(); s.advance(3000)
      s.up(); s.advance(3000)
    }
    expect(s.log).toEqual(['open'])
    expect(s.peer.incident?.since).toBe(1_000_000)
    s.advance(2000)
    expect(s.log).toEqual(['open', 'recovered'])
  })

  it('a peer that leaves or is forgotten ends its incident at once, not as a recovery', () => {
    const s = setup()
    s.down()
    s.table.apply('x', record({ name: 'x', seq: 99, bye: true }))
    expect(s.log).toEqual(['open', 'gone'])
    const t = setup()
    t.down()
    t.table.forget(t.peer)
    expect(t.log).toEqual(['open', 'gone'])
  })
})

describe('this node\'s own cut-off as one incident', () => {
  it('a flapping cable: one isolated and one back, once it held a majority for recoverAfter; what pages keeps the first since', () => {
    const { clock, advance, setTimer } = virtualTime(0)
    const changes: string[] = []
    const hold = new PartitionHold({
      recoverAfterMs: 5000,
      setTimer,
      onChange: v => changes.push(v.isolated ? 'isolated' : v.minority ? 'minority' : 'back')
    })
    const view = (isolated: boolean): PartitionView => ({ reachable: isolated ? 1 : 5, members: 5, isolated, minority: isolated, since: clock.now })
    let live = view(false)
    const set = (isolated: boolean): void => { live = view(isolated); hold.update(live) }
    set(true)
    const since = clock.now
    for (let i = 0; i < 10; i++) {
      advance(3000)
      set(false)
      expect(hold.view(live)).toMatchObject({ isolated: true, since, ending: true })
      advance(3000)
      set(true)
      expect(hold.view(live)).toMatchObject({ isolated: true, since })
      expect(hold.view(live).ending).toBeUndefined()
    }
    advance(3000)
    set(false)
    advance(4999)
    // back, held: still paging, and ending (its alert is not sent again until it resolves)
    expect(hold.view(live)).toMatchObject({ minority: true, ending: true })
    advance(1)
    expect(hold.view(live).minority).toBe(false)
    expect(hold.view(live).ending).toBeUndefined()
    expect(changes).toEqual(['isolated', 'back'])
  })

  it('back from the small side of a split: held (ending) while a peer it hears still says it is on the small side, and recoverAfter after the last is back', () => {
    const { clock, advance, setTimer } = virtualTime(0)
    const changes: string[] = []
    let othersSplit = true
    const hold = new PartitionHold({ recoverAfterMs: 5000, setTimer, othersSplit: () => othersSplit, onChange: v => changes.push(v.minority ? 'split' : 'back') })
    const view = (minority: boolean): PartitionView => ({ reachable: minority ? 3 : 6, members: 6, isolated: false, minority, since: clock.now })
    hold.update(view(true))
    advance(20_000)
    const live = view(false)
    hold.update(live)
    // a peer of the same side is cut off for 12 s more: its resends keep the alert firing, this node sends none
    advance(12_000)
    expect(hold.view(live)).toMatchObject({ minority: true, ending: true })
    othersSplit = false
    advance(4000)
    expect(hold.view(live)).toMatchObject({ minority: true, ending: true })
    advance(1000)
    expect(hold.view(live)).toMatchObject({ minority: false })
    expect(changes).toEqual(['split', 'back'])
  })

  it('cut off alone, the others\' splits do not hold it: its alert is its own', () => {
    const { clock, advance, setTimer } = virtualTime(0)
    const hold = new PartitionHold({ recoverAfterMs: 5000, setTimer, othersSplit: () => true, onChange: () => {} })
    hold.update({ reachable: 1, members: 6, isolated: true, minority: true, since: clock.now })
    advance(10_000)
    const live: PartitionView = { reachable: 6, members: 6, isolated: false, minority: false, since: clock.now }
    hold.update(live)
    advance(5000)
    expect(hold.view(live).minority).toBe(false)
  })
})
