/** The event index tells its listener of events new to this node, once each (the live stream sends them on). */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EventIndex } from '../../src/events/index/event-index.js'
import { openEventsLevel } from '../../src/events/index/level.js'
import type { SignedEvent } from '../../src/events/types.js'

const event = (id: string, ts: string): SignedEvent => ({ id, ts, type: 'peer.down', severity: 'critical', source: 'x', subject: { peer: 'p', name: 'n' }, message: id, labels: {}, sig: `sig-${id}-${ts}` })

describe('events added to the index', () => {
  it('are told once, whichever way they came; an earlier report of a held incident is not news', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshmon-added-'))
    const told: string[][] = []
    const level = await openEventsLevel(join(dir, 'events'))
    const index = await EventIndex.open(level.db, events => { told.push(events.map(e => e.id)) })
    try {
      await index.ingestEvents([event('a', '2025-01-01T00:00:02.000Z'), event('b', '2025-01-01T00:00:03.000Z')])
      await index.ingest('86400000/1', [{ hash: 'h1', events: [event('b', '2025-01-01T00:00:03.000Z'), event('c', '2025-01-01T00:00:04.000Z')] }])
      await index.ingestEvents([event('a', '2025-01-01T00:00:01.000Z')])
      await index.ingestEvents([])
      expect(told).toEqual([['a', 'b'], ['c']])
      expect(index.count).toBe(3)
    } finally {
      await level.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
