/**
 * Real LevelDB stores, damaged the way crashes and full disks damage them:
 * a held lock and damage are told apart; a rebuildable store is moved aside.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Key } from 'interface-datastore'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openLevelStore, openRebuildableStore } from '../../src/storage/level.js'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'meshmon-level-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

/** a store with a few keys, closed */
async function filled (path: string): Promise<void> {
  const store = await openLevelStore(path)
  for (let i = 0; i < 50; i++) await store.put(new Key(`/k${i}`), new TextEncoder().encode(`value ${i}`))
  await store.close()
}

/** overwrite the MANIFEST (what a torn write leaves) */
async function tearManifest (path: string): Promise<void> {
  for (const f of await readdir(path)) if (f.startsWith('MANIFEST-')) await writeFile(join(path, f), 'garbage, not a LevelDB manifest')
}

const failure = async (p: Promise<unknown>): Promise<Error> => await p.then(() => { throw new Error('opened') }, (e: Error) => e)

describe('opening a LevelDB store', () => {
  it('a store another holder has open: StoreLockedError', async () => {
    const path = join(dir, 'db')
    const holder = await openLevelStore(path)
    try {
      const err = await failure(openLevelStore(path))
      expect(err.name).toBe('StoreLockedError')
      expect(err.message).toMatch(/is locked by another process/)
    } finally { await holder.close() }
  })

  it('a torn MANIFEST, or a CURRENT naming a missing one: StoreCorruptError', async () => {
    const a = join(dir, 'a')
    await filled(a)
    await tearManifest(a)
    expect((await failure(openLevelStore(a))).name).toBe('StoreCorruptError')
    const b = join(dir, 'b')
    await filled(b)
    await writeFile(join(b, 'CURRENT'), 'MANIFEST-999999\n')
    const err = await failure(openLevelStore(b))
    expect(err.name).toBe('StoreCorruptError')
    expect(err.message).toMatch(/is damaged/)
  })

  it('a rebuildable store that is damaged is moved aside, kept, and a new one opened; a locked one is not touched', async () => {
    const path = join(dir, 'events')
    await filled(path)
    await tearManifest(path)
    const moved: string[] = []
    const store = await openRebuildableStore(path, to => { moved.push(to) })
    try {
      expect(moved).toHaveLength(1)
      expect(moved[0]).toMatch(/events\.corrupt-\d{4}-\d\d-\d\dT/)
      expect(await readdir(moved[0] as string)).toContain('CURRENT')
      expect(await store.has(new Key('/k1'))).toBe(false)
      await store.put(new Key('/new'), new Uint8Array([1]))
      // the new one is held now: a second opener is refused, and nothing is moved
      const err = await failure(openRebuildableStore(path, to => { moved.push(to) }))
      expect(err.name).toBe('StoreLockedError')
      expect(moved).toHaveLength(1)
      expect(existsSync(path)).toBe(true)
    } finally { await store.close() }
  })
})
