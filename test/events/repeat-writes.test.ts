/**
 * OrbitDB 3.0.2 writes the entry index and persists the block again for every
 * entry a new one points to; the storages under it skip what this process
 * already stored, and nothing else.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Helia } from '@helia/utils'
import type { Libp2p } from '@libp2p/interface'
import { LevelBlockstore } from 'blockstore-level'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterEach, describe, expect, it } from 'vitest'
import { openEventsLevel } from '../../src/events/index/level.js'
import { blockStorage } from '../../src/events/orbit/block-storage.js'
import { BoundedSet } from '../../src/events/bounded-set.js'
import { OrbitState } from '../../src/events/orbit/state-storage.js'

describe('repeated OrbitDB writes', () => {
  const dirs: string[] = []
  const cleanups: Array<() => Promise<void>> = []
  const tempDir = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'meshmon-repeat-')); dirs.push(d); return d }
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c()
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })

  it('a bounded set forgets its oldest keys beyond its size', () => {
    const s = new BoundedSet(3)
    for (const k of ['a', 'b', 'c', 'd']) s.add(k)
    expect([s.has('a'), s.has('b'), s.has('d'), s.size]).toEqual([false, true, true, 3])
    s.add('b') // already held: not moved, nothing forgotten
    expect(s.size).toBe(3)
    s.delete('b')
    expect(s.has('b')).toBe(false)
    s.clear()
    expect(s.size).toBe(0)
  })

  it('the entry index writes a key once per process; a delete or clear through it forgets that', async () => {
    const level = await openEventsLevel(join(await tempDir(), 'events'))
    cleanups.push(async () => { await level.close() })
    const state = new OrbitState(level.db)
    const a = state.storage('1000/1', 'i')
    const other = state.storage('1000/1', 'i') // another handle on the same keys, as a second open would be
    await a.put('zdpuEntry', true)
    expect(await a.get('zdpuEntry')).toBeDefined()
    await other.del('zdpuEntry') // behind a's back
    await a.put('zdpuEntry', true)
    expect(await a.get('zdpuEntry')).toBeUndefined() // a knew it had written it: skipped
    await a.del('zdpuEntry')
    await a.put('zdpuEntry', true)
    expect(await a.get('zdpuEntry')).toBeDefined()
    await a.clear()
    await a.put('zdpuEntry', true)
    expect(await a.get('zdpuEntry')).toBeDefined()
    // other values, and the heads, are always written
    await a.put('zdpuOther', { not: 'true' })
    await other.del('zdpuOther')
    await a.put('zdpuOther', { not: 'true' })
    expect(await a.get('zdpuOther')).toBeDefined()
    const heads = state.storage('1000/1', 'h')
    await heads.put('heads', [{ hash: 'zdpuEntry' }])
    await state.storage('1000/1', 'h').del('heads')
    await heads.put('heads', [{ hash: 'zdpuEntry' }])
    expect(await heads.get('heads')).toBeDefined()
  })

  it('a block is persisted once per storage; one it never stored is still looked for', async () => {
    const blockstore = new LevelBlockstore(join(await tempDir(), 'blocks'))
    await blockstore.open()
    cleanups.push(async () => { await blockstore.close() })
    // a raw LevelBlockstore stands in for Helia's: the same get/put, no network behind a miss
    const s = blockStorage({ blockstore } as unknown as Helia<Libp2p>, { timeoutMs: 1000 })
    const bytes = new TextEncoder().encode('an entry')
    const cid = CID.create(1, 0x71, await sha256.digest(bytes))
    const hash = cid.toString(base58btc)
    await s.put(hash, bytes)
    await blockstore.delete(cid) // behind its back
    await s.persist!(hash) // known as stored: no read
    expect(await blockstore.has(cid)).toBe(false)
    const unknown = CID.create(1, 0x71, await sha256.digest(new TextEncoder().encode('never stored'))).toString(base58btc)
    await expect(s.persist!(unknown)).rejects.toThrow()
  })
})
