/** The peer store's write-behind datastore over a real LevelDB in a temp dir. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WriteBehindDatastore } from '../../src/mesh/peer-datastore.js'
import { waitFor } from '../support/wait.js'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

describe('WriteBehindDatastore', () => {
  let dir: string
  let level: LevelDatastore
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-wbd-'))
    level = new LevelDatastore(join(dir, 'ds'))
    await level.open()
  })
  afterEach(async () => {
    await level.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('serves writes at once, writes LevelDB only on flush, and keeps them across a reopen', async () => {
    const ds = new WriteBehindDatastore(level, 60_000)
    await ds.put(new Key('/peers/a'), bytes('one'))
    await ds.put(new Key('/peers/a'), bytes('two'))
    expect(text(await ds.get(new Key('/peers/a')))).toBe('two')
    expect(await level.has(new Key('/peers/a'))).toBe(false)
    await ds.flush()
    expect(text(await level.get(new Key('/peers/a')))).toBe('two')

    await level.close()
    level = new LevelDatastore(join(dir, 'ds'))
    await level.open()
    const again = new WriteBehindDatastore(level, 60_000)
    expect(text(await again.get(new Key('/peers/a')))).toBe('two')
  })

  it('reads through to LevelDB, says NotFoundError for a missing key, and deletes on flush', async () => {
    await level.put(new Key('/peers/old'), bytes('remembered'))
    const ds = new WriteBehindDatastore(level, 60_000)
    expect(text(await ds.get(new Key('/peers/old')))).toBe('remembered')
    await expect(ds.get(new Key('/peers/none'))).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(await ds.has(new Key('/peers/none'))).toBe(false)
    await ds.put(new Key('/peers/none'), bytes('now'))
    expect(await ds.has(new Key('/peers/none'))).toBe(true)

    await ds.delete(new Key('/peers/old'))
    await expect(ds.get(new Key('/peers/old'))).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(await level.has(new Key('/peers/old'))).toBe(true)
    await ds.flush()
    expect(await level.has(new Key('/peers/old'))).toBe(false)
  })

  it('a query sees pending writes and deletes', async () => {
    await level.put(new Key('/peers/gone'), bytes('x'))
    const ds = new WriteBehindDatastore(level, 60_000)
    await ds.put(new Key('/peers/b'), bytes('b'))
    await ds.put(new Key('/peers/c'), bytes('c'))
    await ds.delete(new Key('/peers/gone'))
    const keys: string[] = []
    for await (const { key } of ds.query({ prefix: '/peers' })) keys.push(key.toString())
    expect(keys.sort()).toEqual(['/peers/b', '/peers/c'])
  })

  it('flushes by itself after flushMs', async () => {
    const ds = new WriteBehindDatastore(level, 50)
    await ds.put(new Key('/peers/t'), bytes('t'))
    await waitFor('the pending write in LevelDB', async () => await level.has(new Key('/peers/t')), 5000)
    expect(text(await level.get(new Key('/peers/t')))).toBe('t')
  })
})
