/**
 * OrbitDB's per-period state (its heads and its entry index) in the events
 * LevelDB (index/level.ts, `o!` keys), behind OrbitDB's storage interface.
 */
import type { Storage } from '@orbitdb/core'
import { end, type Level } from '../index/level.js'
import { BoundedSet } from '../bounded-set.js'

const enc = new TextEncoder()

export class OrbitState {
  readonly #db: Level

  constructor (db: Level) { this.#db = db }

  /**
   * The heads ('h') or entry index ('i') of one period.
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

  /** Tags of every period with OrbitDB state here. */
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

  /** Forget a period's state. */
  async clear (tag: string): Promise<void> {
    await this.#db.clear({ gte: `o!${tag}!`, lt: end(`o!${tag}!`) })
  }
}
