/**
 * Events are grouped into fuller OrbitDB entries: replication costs about one
 * signature check and a few block and index operations per entry (measured
 * here: ~100-145 entries/s from a fresh peer, whatever their size), so 100
 * events per entry replicate 10k events in ~1 s where 10k one-event entries
 * took ~70 s. An entry is written when it is full or `flushMs` after its first
 * event; its events' promises resolve once the entry is stored.
 */
export interface BatcherInit {
  /** @default 250 */
  flushMs?: number
  /** @default 200 */
  maxEvents?: number
  /**
   * Encoded events per entry. OrbitDB's head exchange writes each head as one
   * raw stream chunk with no framing: an entry of 60 KB arrived split and failed
   * to decode (measured), so entries stay well under the 64 KB transport frame.
   * @default 32768
   */
  maxBytes?: number
}

interface Batch<T> {
  items: T[]
  bytes: number
  waiters: Array<{ resolve: () => void, reject: (err: unknown) => void }>
  timer?: NodeJS.Timeout
}

export class EntryBatcher<T> {
  readonly #write: (key: number, items: T[]) => Promise<void>
  readonly #flushMs: number
  readonly #maxEvents: number
  readonly #maxBytes: number
  readonly #pending = new Map<number, Batch<T>>()
  #chain: Promise<void> = Promise.resolve()

  constructor (write: (key: number, items: T[]) => Promise<void>, init: BatcherInit = {}) {
    this.#write = write
    this.#flushMs = init.flushMs ?? 250
    this.#maxEvents = init.maxEvents ?? 200
    this.#maxBytes = init.maxBytes ?? 32768
  }

  /** Queue one item for entry `key` (the period); resolves when the entry holding it is written. */
  async add (key: number, item: T, bytes: number): Promise<void> {
    let batch = this.#pending.get(key)
    if (batch !== undefined && batch.items.length > 0 && batch.bytes + bytes > this.#maxBytes) {
      this.#seal(key)
      batch = undefined
    }
    if (batch === undefined) {
      batch = { items: [], bytes: 0, waiters: [] }
      this.#pending.set(key, batch)
    }
    batch.items.push(item)
    batch.bytes += bytes
    const done = new Promise<void>((resolve, reject) => { batch.waiters.push({ resolve, reject }) })
    if (batch.items.length >= this.#maxEvents || batch.bytes >= this.#maxBytes) this.#seal(key)
    else batch.timer ??= setTimeout(() => { this.#seal(key) }, this.#flushMs)
    return await done
  }

  /** Write everything queued now; resolves when all written entries are stored. */
  async flush (): Promise<void> {
    for (const key of [...this.#pending.keys()]) this.#seal(key)
    await this.#chain
  }

  #seal (key: number): void {
    const batch = this.#pending.get(key)
    if (batch === undefined) return
    this.#pending.delete(key)
    clearTimeout(batch.timer)
    // one entry at a time, yielding between them so heartbeats never wait behind a bulk write
    this.#chain = this.#chain
      .then(async () => { await this.#write(key, batch.items) })
      .then(() => { for (const w of batch.waiters) w.resolve() }, err => { for (const w of batch.waiters) w.reject(err) })
      .then(async () => { await new Promise(resolve => setImmediate(resolve)) })
  }
}
