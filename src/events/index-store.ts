/**
 * The local, materialised view of the replicated logs, in one LevelDB at
 * DATA/events: events by time for newest-first queries with a limit (the last
 * 100 of 100k read in a few ms, where walking the log newest-first costs
 * ~1 ms per entry), de-duplicated by incident id, plus the OrbitDB heads and
 * entry index of each period (so dropping a period is a few range deletes,
 * and opening one opens no LevelDB of its own).
 *
 * Keys:  t!<ts>!<id> -> event JSON     d!<id> -> its t! key
 *        x!<tag>!<entry hash> -> ''    (entry indexed; tag = periodMs/period)
 *        o!<tag>!<h|i>!<key> -> bytes  (OrbitDB heads / entry index)
 *        m!count -> events held
 */
import type { Storage } from '@orbitdb/core'
import type { LevelDatastore } from 'datastore-level'
import { openLevelStore, openRebuildableStore } from '../storage/level.js'
import { BoundedSet } from './bounded-set.js'
import { asMeshEvent, type EventQuery, type MeshEvent } from './types.js'

type Level = LevelDatastore['db']
type Op = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

const enc = new TextEncoder()
const dec = new TextDecoder()
const EMPTY = new Uint8Array(0)
/** just past every key starting with `prefix` ('!' + 1 = '"') */
const end = (prefix: string): string => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
const tKey = (e: MeshEvent): string => `t!${e.ts}!${e.id}`
/** the first t! key at or after `ms` (clamped to the epoch) */
const tAt = (ms: number): string => `t!${new Date(Math.max(0, ms)).toISOString()}`
/** the time bucket of a t! key */
const bucketOf = (key: string, bucketMs: number): number => Math.floor(Date.parse(key.slice(2, key.indexOf('!', 2))) / bucketMs)

export const periodTag = (periodMs: number, period: number): string => `${periodMs}/${period}`

export function matchesPeer (e: MeshEvent, peer: string): boolean {
  const suffix = peer.replace(/^…/, '')
  return e.subject.peer === peer || e.subject.name === peer || (suffix.length >= 4 && e.subject.peer.endsWith(suffix))
}

export interface IndexedEntry { hash: string, events: MeshEvent[] }

/** Told of events new to this node once they are stored (the live page shows them). */
export type AddedListener = (events: MeshEvent[]) => void

export class EventIndex {
  readonly #store: LevelDatastore
  readonly #db: Level
  readonly #onAdded?: AddedListener
  #count = 0

  private constructor (store: LevelDatastore, onAdded?: AddedListener) {
    this.#store = store
    this.#db = store.db
    this.#onAdded = onAdded
  }

  /**
   * With `onMovedAside`, a damaged index is moved aside and rebuilt (from the logs and peers) instead of failing the start.
   * `onAdded` hears of every event new to this node once it is stored.
   */
  static async open (dir: string, onMovedAside?: (movedTo: string, cause: Error) => void, onAdded?: AddedListener): Promise<EventIndex> {
    const store = onMovedAside === undefined ? await openLevelStore(dir) : await openRebuildableStore(dir, onMovedAside)
    const index = new EventIndex(store, onAdded)
    const [count] = await index.#db.getMany(['m!count'])
    index.#count = count === undefined ? 0 : Number(dec.decode(count))
    return index
  }

  async close (): Promise<void> { await this.#store.close() }

  /** events held (distinct incidents) */
  get count (): number { return this.#count }

  async hasEntry (tag: string, hash: string): Promise<boolean> {
    const [v] = await this.#db.getMany([`x!${tag}!${hash}`])
    return v !== undefined
  }

  async has (id: string): Promise<boolean> {
    const [v] = await this.#db.getMany([`d!${id}`])
    return v !== undefined
  }

  /**
   * Index the events of log entries, in one atomic batch (entry markers with
   * their events, so a crash never marks an entry whose events are missing).
   * Entries must come ancestors first. Duplicates of an incident keep the
   * earliest report. Returns how many new events were added.
   */
  async ingest (tag: string, entries: IndexedEntry[]): Promise<number> {
    return await this.#ingest(entries.flatMap(e => e.events), entries.map(entry => `x!${tag}!${entry.hash}`))
  }

  /**
   * Index events that came without their log entries (a peer's index, see
   * sync.ts): no entry is marked, so when the entries replicate they are
   * indexed as usual and their events, already held, are not counted twice.
   */
  async ingestEvents (events: MeshEvent[]): Promise<number> {
    return await this.#ingest(events, [])
  }

  async #ingest (events: MeshEvent[], markers: string[]): Promise<number> {
    const ops: Op[] = []
    const latest = new Map<string, string | undefined>()
    const ids = [...new Set(events.map(e => e.id))]
    const stored = ids.length === 0 ? [] : await this.#db.getMany(ids.map(id => `d!${id}`))
    ids.forEach((id, i) => { const v = stored[i]; latest.set(id, v === undefined ? undefined : dec.decode(v)) })
    const added: MeshEvent[] = []
    for (const e of events) {
      const key = tKey(e)
      const existing = latest.get(e.id)
      if (existing !== undefined && existing <= key) continue
      if (existing === undefined) added.push(e)
      else ops.push({ type: 'del', key: existing })
      ops.push({ type: 'put', key, value: enc.encode(JSON.stringify(e)) }, { type: 'put', key: `d!${e.id}`, value: enc.encode(key) })
      latest.set(e.id, key)
    }
    for (const key of markers) ops.push({ type: 'put', key, value: EMPTY })
    ops.push({ type: 'put', key: 'm!count', value: enc.encode(String(this.#count + added.length)) })
    await this.#db.batch(ops)
    this.#count += added.length
    if (added.length > 0) this.#onAdded?.(added)
    return added.length
  }

  /** Events held per time bucket (index = floor(ts / bucketMs)), from `notBefore` on. */
  async bucketCounts (bucketMs: number, notBefore: number): Promise<Map<number, number>> {
    const counts = new Map<number, number>()
    const it = this.#db.keys({ gte: tAt(notBefore), lt: end('t!') })
    try {
      for (let batch = await it.nextv(1000); batch.length > 0; batch = await it.nextv(1000)) {
        for (const key of batch) {
          const bucket = bucketOf(key, bucketMs)
          counts.set(bucket, (counts.get(bucket) ?? 0) + 1)
        }
      }
    } finally { await it.close() }
    return counts
  }

  /** The stored JSON of the events in `buckets`, from `notBefore` on, oldest first, `size` at a time. */
  async * eventTexts (bucketMs: number, buckets: Set<number>, notBefore: number, size = 500): AsyncGenerator<string[]> {
    const it = this.#db.iterator({ gte: tAt(notBefore), lt: end('t!') })
    try {
      let out: string[] = []
      for (let batch = await it.nextv(size); batch.length > 0; batch = await it.nextv(size)) {
        for (const [key, value] of batch) {
          if (!buckets.has(bucketOf(key, bucketMs))) continue
          out.push(dec.decode(value))
          if (out.length >= size) { yield out; out = [] }
        }
      }
      if (out.length > 0) yield out
    } finally { await it.close() }
  }

  /** Newest first, never older than `notBefore` (retention). */
  async query (q: EventQuery, notBefore: number): Promise<MeshEvent[]> {
    const low = Math.max(q.since ?? 0, notBefore, 0)
    const limit = q.limit ?? 100
    const out: MeshEvent[] = []
    // cheap text tests before JSON.parse, and batched reads (nextv): a filter matching nothing
    // scans 100k events in ~0.6-0.7 s, was ~1.3 s with one await per event and a parse each
    const types = q.type?.map(t => `"type":"${t}"`)
    const peerText = q.peer === undefined || /["\\]/.test(q.peer) ? undefined : q.peer.replace(/^…/, '')
    const it = this.#db.iterator({ gte: tAt(low), lt: end('t!'), reverse: true })
    try {
      for (let size = limit + 1; out.length < limit; size = Math.min(size * 2, 1000)) {
        const batch = await it.nextv(size)
        if (batch.length === 0) break
        for (const [, value] of batch) {
          const text = dec.decode(value)
          if (types !== undefined && !types.some(t => text.includes(t))) continue
          if (peerText !== undefined && !text.includes(peerText)) continue
          const e = asMeshEvent(JSON.parse(text))
          if (e === undefined) continue
          if (q.type !== undefined && !q.type.includes(e.type)) continue
          if (q.peer !== undefined && !matchesPeer(e, q.peer)) continue
          out.push(e)
          if (out.length >= limit) break
        }
      }
    } finally { await it.close() }
    return out
  }

  /** Is there an event of this type about this peer within ±windowMs of tsMs? */
  async hasNear (type: string, peer: string, tsMs: number, windowMs: number): Promise<boolean> {
    for await (const [, value] of this.#db.iterator({ gte: tAt(tsMs - windowMs), lt: tAt(tsMs + windowMs) })) {
      const e = JSON.parse(dec.decode(value)) as MeshEvent
      if (e.type === type && e.subject?.peer === peer) return true
    }
    return false
  }

  /**
   * The OrbitDB storage (heads or entry index) of one period, inside this LevelDB.
   * OrbitDB 3.0.2's joinEntry puts `true` into the entry index for the new entry
   * and again for every entry it points to (`filter(has)` with an async `has`
   * keeps them all): 13 separate LevelDB writes for one event at the first `down`
   * after 20 nodes started (strace). An index key this process already wrote
   * `true` is not written again.
   */
  storage (tag: string, kind: 'h' | 'i'): Storage {
    const prefix = `o!${tag}!${kind}!`
    const db = this.#db
    const written = new BoundedSet()
    return {
      put: async (key, value) => {
        const once = kind === 'i' && value === true
        if (once && written.has(key)) return
        await db.put(prefix + key, value instanceof Uint8Array ? value : enc.encode(JSON.stringify(value)))
        if (once) written.add(key)
      },
      get: async (key) => (await db.getMany([prefix + key]))[0],
      del: async (key) => { written.delete(key); await db.del(prefix + key) },
      iterator: async function * ({ amount, reverse } = {}) {
        for await (const [k, v] of db.iterator({ gte: prefix, lt: end(prefix), limit: amount ?? -1, reverse: reverse ?? false })) yield [k.slice(prefix.length), v]
      },
      merge: async () => {},
      clear: async () => { written.clear(); await db.clear({ gte: prefix, lt: end(prefix) }) },
      close: async () => {}
    }
  }

  /** Tags of every period this index holds OrbitDB state for. */
  async tags (): Promise<string[]> {
    const out: string[] = []
    let from = 'o!'
    for (;;) {
      const [key] = await this.#db.keys({ gte: from, lt: end('o!'), limit: 1 }).all()
      if (key === undefined) return out
      const tag = key.slice(2, key.indexOf('!', 2))
      out.push(tag)
      from = end(`o!${tag}!`)
    }
  }

  /** Hashes of the entries a period's log holds (OrbitDB's entry index). */
  async * entryHashes (tag: string): AsyncGenerator<string> {
    const prefix = `o!${tag}!i!`
    for await (const key of this.#db.keys({ gte: prefix, lt: end(prefix) })) yield key.slice(prefix.length)
  }

  /** Forget the events in [from, until) (ISO times) and their ids; returns how many. */
  async dropEvents (from: string, until: string): Promise<number> {
    let total = 0
    let ops: Op[] = []
    const flush = async (): Promise<void> => {
      const removed = ops.length / 2
      ops.push({ type: 'put', key: 'm!count', value: enc.encode(String(Math.max(0, this.#count - removed))) })
      await this.#db.batch(ops)
      this.#count = Math.max(0, this.#count - removed)
      total += removed
      ops = []
    }
    for await (const key of this.#db.keys({ gte: `t!${from}`, lt: `t!${until}` })) {
      ops.push({ type: 'del', key }, { type: 'del', key: `d!${key.slice(key.indexOf('!', 2) + 1)}` })
      if (ops.length >= 2000) await flush()
    }
    if (ops.length > 0) await flush()
    return total
  }

  /** Forget a period's entry markers and OrbitDB state. */
  async dropTag (tag: string): Promise<void> {
    await this.#db.clear({ gte: `x!${tag}!`, lt: end(`x!${tag}!`) })
    await this.#db.clear({ gte: `o!${tag}!`, lt: end(`o!${tag}!`) })
  }
}
