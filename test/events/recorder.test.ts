/**
 * Who writes a peer's event when the log is slow to show it: the designated
 * writer at once, then the next few observers in peer-id order, one more every
 * fallback period, and the rest only as a last resort a minute later. Ten observers' recorders on their own
 * peer tables, a sink per observer that holds an event only once it was
 * "replicated" (after a delay the test sets), on fake timers.
 */
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { IncidentRecorder, type RecorderSink } from '../../src/events/recorder.js'
import type { EventInput } from '../../src/events/types.js'
import { PeerIncidents } from '../../src/heartbeat/incidents.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { record } from '../support/record.js'

const silent = pino({ level: 'silent' })
const BOOT = 1_700_000_000_000
const ids = Array.from({ length: 10 }, (_, i) => `12D3KooWobserver${String(i).padStart(2, '0')}`)
const SUBJECT = '12D3KooWsubject'

interface Written { by: string, at: number, e: EventInput }

/** Ten observers that know each other; `replicationMs`: how long a write takes to show in every other observer's log. */
function mesh (replicationMs: number): { tables: Map<string, PeerTable>, written: Written[], recorders: IncidentRecorder[] } {
  const written: Written[] = []
  const tables = new Map<string, PeerTable>()
  const recorders: IncidentRecorder[] = []
  for (const self of ids) {
    const table = new PeerTable()
    for (const id of ids) table.apply(id, record({ name: id, boot: BOOT }), id === self)
    const sink: RecorderSink = {
      append: async (e) => { written.push({ by: self, at: Date.now(), e }); return { ...e, source: self } as any },
      hasNear: async (type, peer) => written.some(w => w.e.type === type && w.e.subject.peer === peer && (w.by === self || Date.now() - w.at >= replicationMs))
    }
    const recorder = new IncidentRecorder({ table, incidents: new PeerIncidents(table), peerId: self, log: silent }, sink)
    recorder.start()
    tables.set(self, table)
    recorders.push(recorder)
  }
  return { tables, written, recorders }
}

/** the subject starts after every observer: each table sees it join */
const join = (tables: Map<string, PeerTable>): void => {
  for (const t of tables.values()) t.apply(SUBJECT, record({ name: 'subject', boot: BOOT + 1 }))
}

describe('the writers of a peer event', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('a log that shows writes within the fallback period: one event, by the writer', async () => {
    const { tables, written, recorders } = mesh(1000)
    join(tables)
    await vi.advanceTimersByTimeAsync(120_000)
    expect(written.map(w => w.by)).toEqual([ids[0]])
    expect(written[0]!.e.type).toBe('peer.joined')
    for (const r of recorders) r.stop()
  })

  it('a log slower than every fallback: the writer and three backups, one every 5 s; the rest only as a last resort after a minute', async () => {
    const { tables, written, recorders } = mesh(10 * 60_000)
    const t0 = Date.now()
    join(tables)
    await vi.advanceTimersByTimeAsync(40_000)
    expect(written.map(w => [w.by, w.at - t0])).toEqual([[ids[0], 0], [ids[1], 5000], [ids[2], 10_000], [ids[3], 15_000]])
    await vi.advanceTimersByTimeAsync(80_000)
    expect(written.slice(4).map(w => [w.by, w.at - t0])).toEqual(ids.slice(4).map((id, i) => [id, 60_000 + i * 5000]))
    for (const r of recorders) r.stop()
  })

  it('the writer and its backups live but blind to the incident (their view differs): written anyway, a minute late, not lost', async () => {
    const { tables, written, recorders } = mesh(7000)
    for (const r of recorders.slice(0, 4)) r.stop()
    const t0 = Date.now()
    join(tables)
    await vi.advanceTimersByTimeAsync(120_000)
    // observer 4 at its last resort; observer 5 five seconds later, before the first write reached it
    expect(written.map(w => [w.by, w.at - t0])).toEqual([[ids[4], 60_000], [ids[5], 65_000]])
    for (const r of recorders) r.stop()
  })

  it('a log that shows writes after 7 s: the first backup writes (at 5 s), the second sees it and does not', async () => {
    const { tables, written, recorders } = mesh(7000)
    join(tables)
    await vi.advanceTimersByTimeAsync(120_000)
    expect(written.map(w => w.by)).toEqual([ids[0], ids[1]])
    for (const r of recorders) r.stop()
  })

  it('a writer that others find suspect (slow, not dead) keeps its place: nobody writes in its stead before their turn', async () => {
    const { tables, written, recorders } = mesh(7000)
    for (const [self, t] of tables) if (self !== ids[0]) t.setState(t.get(ids[0] as string)!, 'suspect', 'silent')
    const t0 = Date.now()
    join(tables)
    await vi.advanceTimersByTimeAsync(120_000)
    // the first backup at its turn (5 s), not at once as if it were the writer
    expect(written.map(w => [w.by, w.at - t0])).toEqual([[ids[0], 0], [ids[1], 5000]])
    for (const r of recorders) r.stop()
  })

  it('the writer and its backups down before they wrote: the next observer in the order takes over', async () => {
    const { tables, written, recorders } = mesh(10 * 60_000)
    // observers 0-3 record nothing (they died with the subject's join in flight)
    for (const r of recorders.slice(0, 4)) r.stop()
    const t0 = Date.now()
    join(tables)
    await vi.advanceTimersByTimeAsync(6000)
    expect(written).toEqual([])
    // the survivors find them down: observer 4 is now the first in the order
    for (const [self, t] of tables) {
      if (ids.indexOf(self) < 4) continue
      for (const dead of ids.slice(0, 4)) t.setState(t.get(dead)!, 'down', 'silent')
    }
    await vi.advanceTimersByTimeAsync(120_000)
    // observer 4 leads from the next check (10 s), its backups follow in turn; 8 and 9 only at their last resort
    expect(written.map(w => [w.by, w.at - t0])).toEqual([[ids[4], 10_000], [ids[5], 15_000], [ids[6], 20_000], [ids[7], 25_000], [ids[8], 60_000], [ids[9], 65_000]])
    for (const r of recorders) r.stop()
  })
})
