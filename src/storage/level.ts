/**
 * Opening the LevelDB stores of the data dir. datastore-level turns every
 * open failure into "Database is not open"; the cause LevelDB gave is what
 * tells a store another process holds (its LOCK) from one that is damaged
 * (a torn or lost MANIFEST after a crash or a full disk), and the two need
 * opposite advice.
 */
import { rename } from 'node:fs/promises'
import { LevelDatastore } from 'datastore-level'

/** Another process holds the store's lock. */
export class StoreLockedError extends Error {
  override name = 'StoreLockedError'
}

/** The store's files are damaged or missing: LevelDB cannot open it. */
export class StoreCorruptError extends Error {
  override name = 'StoreCorruptError'
}

/** the options LevelDatastore.open() would pass */
const OPEN = { createIfMissing: true, compression: false } as const

export async function openLevelStore (dir: string): Promise<LevelDatastore> {
  const store = new LevelDatastore(dir)
  try {
    await store.db.open(OPEN)
  } catch (err: any) {
    const code: string | undefined = err?.cause?.code
    const detail = String(err?.cause?.message ?? err?.message ?? err)
    if (code === 'LEVEL_LOCKED') throw new StoreLockedError(`${dir} is locked by another process (${detail})`)
    // a MANIFEST or table file that CURRENT names but that is gone is damage too
    if (code === 'LEVEL_CORRUPTION' || (code === 'LEVEL_IO_ERROR' && /No such file/i.test(detail))) {
      throw new StoreCorruptError(`${dir} is damaged (${detail})`)
    }
    throw new Error(`cannot open ${dir} (${detail})`)
  }
  return store
}

/**
 * A store that can be rebuilt (a view of data held elsewhere): a damaged one
 * is moved aside to `<dir>.corrupt-<time>` (kept for a look, never deleted)
 * and a new one opened in its place.
 */
export async function openRebuildableStore (dir: string, onMovedAside: (movedTo: string, cause: StoreCorruptError) => void): Promise<LevelDatastore> {
  try {
    return await openLevelStore(dir)
  } catch (err) {
    if (!(err instanceof StoreCorruptError)) throw err
    const movedTo = `${dir}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`
    await rename(dir, movedTo)
    onMovedAside(movedTo, err)
    return await openLevelStore(dir)
  }
}
