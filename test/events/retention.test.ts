/** Events older than the retention are not served, and their period's storage is reclaimed. */
import { join } from 'node:path'
import { LevelBlockstore } from 'blockstore-level'
import { LevelDatastore } from 'datastore-level'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'
import { afterEach, describe, expect, it } from 'vitest'
import { periodFor } from '../../src/events/index.js'
import { waitFor } from '../support/wait.js'
import { Nodes, sample } from './helpers.js'

describe('retention', () => {
  let nodes: Nodes
  afterEach(async () => { await nodes.stopAll() })

  it('with 1 s periods and a 3 s retention, old events disappear and their blocks are deleted', async () => {
    nodes = new Nodes()
    const a = await nodes.start('a', { retentionMs: 3000, periodMs: 1000 })
    const old = await a.events.appendMany(Array.from({ length: 300 }, (_, i) => sample(i, 'old')))
    const oldPeriod = Math.floor(Date.parse(old[0]!.ts) / 1000)
    const info = (await a.events.periods()).find(p => p.period === oldPeriod)
    expect(info?.entries.length).toBeGreaterThan(0)
    const hashes = info!.entries

    await waitFor('old events no longer served', async () => (await a.events.query({ limit: 1000 })).length === 0, 10_000)
    await waitFor('old period dropped', async () => a.events.count() === 0 && (await a.events.periods()).every(p => p.period !== oldPeriod), 10_000)
    for (const e of old.slice(0, 10)) expect(await a.events.has(e.id)).toBe(false)

    // a new event lands in a live period and is served
    const fresh = await a.events.append(sample(1, 'fresh'))
    expect((await a.events.query()).map(e => e.id)).toEqual([fresh.id])
    await expect(a.events.append({ ...sample(2, 'late'), ts: new Date(Date.now() - 60_000).toISOString() })).rejects.toThrow(/older than the retention/)

    await a.stop()
    const blocks = new LevelBlockstore(join(a.dataDir, 'blocks'))
    await blocks.open()
    try {
      for (const h of hashes) expect(await blocks.has(CID.parse(h, base58btc))).toBe(false)
    } finally { await blocks.close() }
    // nor does the index keep the period's state or its events
    const index = new LevelDatastore(join(a.dataDir, 'events'))
    await index.open()
    try {
      const keys = await index.db.keys().all()
      expect(keys.filter(k => k.startsWith(`o!1000/${oldPeriod}!`) || k.startsWith(`x!1000/${oldPeriod}!`))).toEqual([])
      const oldIds = new Set(old.map(e => e.id))
      expect(keys.filter(k => (k.startsWith('t!') || k.startsWith('d!')) && oldIds.has(k.slice(k.lastIndexOf('!') + 1)))).toEqual([])
    } finally { await index.close() }
  })

  it('periods follow the retention: days from a week up, so nodes configured 7d or 30d share logs', () => {
    expect(periodFor(7 * 86_400_000)).toBe(86_400_000)
    expect(periodFor(30 * 86_400_000)).toBe(86_400_000)
    expect(periodFor(86_400_000)).toBe(3_600_000 * 2)
    expect(periodFor(14_000)).toBe(2000)
    expect(periodFor(1000)).toBe(1000)
  })
})
