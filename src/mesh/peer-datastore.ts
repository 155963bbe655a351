/**
 * The datastore libp2p's peer store writes to: records in memory, written to
 * the LevelDB datastore at most every `flushMs` and on close.
 *
 * Why: @libp2p/peer-store rewrites a peer's record on every new stream and
 * every identify (merge -> put with a fresh `updated` time), and reads it back
 * first. In the CPU profile of a node starting in a 10-node mesh, LevelDB
 * get/put under the peer store was ~45 ms/s of its first minute (bitswap's
 * blockstore reads were the rest of the ~150 ms/s LevelDB time). Steady state
 * opens few streams, so there the difference is within noise. Peers must still be remembered
 * across restarts (a node rejoins through peers it met before), so records are
 * persisted, just not on every stream. A kill -9 loses at most the last
 * `flushMs` of address updates.
 */
import { Key, type Batch, type Datastore, type KeyQuery, type Pair, type Query } from 'interface-datastore'
import { NotFoundError, type AbortOptions } from 'interface-store'

export class WriteBehindDatastore implements Datastore {
  /** key -> value, or null when known absent (deleted, or not found below) */
  readonly #cache = new Map<string, Uint8Array | null>()
  readonly #dirty = new Set<string>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #flushing: Promise<void> = Promise.resolve()

  constructor (private readonly inner: Datastore, private readonly flushMs = 5000) {}

  async put (key: Key, val: Uint8Array): Promise<Key> {
    this.#set(key.toString(), val)
    return key
  }

  async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    const k = key.toString()
    const hit = this.#cache.get(k)
    if (hit === null) throw new NotFoundError(`${k} not found`)
    if (hit !== undefined) return hit
    try {
      const v = await this.inner.get(key, options)
      if (!this.#cache.has(k)) this.#cache.set(k, v)
      return v
    } catch (err: any) {
      if (err?.name === 'NotFoundError' && !this.#cache.has(k)) this.#cache.set(k, null)
      throw err
    }
  }

  async has (key: Key, options?: AbortOptions): Promise<boolean> {
    try {
      await this.get(key, options)
      return true
    } catch (err: any) {
      if (err?.name === 'NotFoundError') return false
      throw err
    }
  }

  async delete (key: Key): Promise<void> {
    this.#set(key.toString(), null)
  }

  async * putMany (source: AsyncIterable<Pair> | Iterable<Pair>): AsyncGenerator<Key> {
    for await (const { key, value } of source) yield await this.put(key, value)
  }

  async * getMany (source: AsyncIterable<Key> | Iterable<Key>, options?: AbortOptions): AsyncGenerator<Pair> {
    for await (const key of source) yield { key, value: await this.get(key, options) }
  }

  async * deleteMany (source: AsyncIterable<Key> | Iterable<Key>): AsyncGenerator<Key> {
    for await (const key of source) { await this.delete(key); yield key }
  }

  batch (): Batch {
    const ops: Array<[string, Uint8Array | null]> = []
    return {
      put: (key, value) => { ops.push([key.toString(), value]) },
      delete: key => { ops.push([key.toString(), null]) },
      commit: async () => { for (const [k, v] of ops) this.#set(k, v) }
    }
  }

  /** Queries read LevelDB after writing what is pending, so they see every record. */
  async * query (q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    await this.flush()
    yield * this.inner.query(q, options)
  }

  async * queryKeys (q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    await this.flush()
    yield * this.inner.queryKeys(q, options)
  }

  /** Write every pending record now (also called on shutdown, before LevelDB closes). */
  async flush (): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const previous = this.#flushing
    this.#flushing = (async () => {
      await previous
      if (this.#dirty.size === 0) return
      const keys = [...this.#dirty]
      this.#dirty.clear()
      const batch = this.inner.batch()
      for (const k of keys) {
        const v = this.#cache.get(k)
        if (v === null || v === undefined) batch.delete(new Key(k)); else batch.put(new Key(k), v)
      }
      // on failure the records stay pending for the next flush
      try {
        await batch.commit()
      } catch (err) {
        for (const k of keys) this.#dirty.add(k)
        throw err
      }
    })()
    await this.#flushing
  }

  #set (k: string, v: Uint8Array | null): void {
    this.#cache.set(k, v)
    this.#dirty.add(k)
    this.#schedule()
  }

  #schedule (): void {
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => { this.flush().catch(() => { this.#schedule() }) }, this.flushMs)
      this.#timer.unref()
    }
  }
}
