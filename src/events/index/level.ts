/**
 * The one LevelDB at DATA/events. It holds the query index (events by time,
 * by id, and which log entries are indexed) and OrbitDB's heads and entry
 * index of each period (orbit/state-storage.ts): one LevelDB, so opening a
 * period opens none of its own and dropping one is a few range deletes.
 *
 * Keys:  t!<ts>!<id> -> event JSON     d!<id> -> its t! key
 *        x!<tag>!<entry hash> -> ''    (entry indexed; tag = periodMs/period)
 *        o!<tag>!<h|i>!<key> -> bytes  (OrbitDB heads / entry index)
 *        m!count -> events held
 */
import type { LevelDatastore } from 'datastore-level'
import { openLevelStore, openRebuildableStore, type StoreCorruptError } from '../../storage/level.js'

export type Level = LevelDatastore['db']

export interface EventsLevel {
  db: Level
  close: () => Promise<void>
}

/**
 * It holds nothing that cannot come back (events from peers, OrbitDB state
 * from the logs' heads): with `onMovedAside`, a damaged one is moved aside
 * and a new one opened instead of failing the start.
 */
export async function openEventsLevel (dir: string, onMovedAside?: (movedTo: string, cause: StoreCorruptError) => void): Promise<EventsLevel> {
  const store = onMovedAside === undefined ? await openLevelStore(dir) : await openRebuildableStore(dir, onMovedAside)
  return { db: store.db, close: async () => { await store.close() } }
}

/** just past every key starting with `prefix` ('!' + 1 = '"') */
export const end = (prefix: string): string => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)

export const periodTag = (periodMs: number, period: number): string => `${periodMs}/${period}`

/** [periodMs, period] of a tag */
export const parseTag = (tag: string): [number, number] => tag.split('/').map(Number) as [number, number]
