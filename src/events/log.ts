/**
 * The mesh's event log: OrbitDB `events` logs (one per period) on a Helia that
 * shares the node's libp2p, a local index for queries, batched writes, the
 * incident recorder on the peer table, and retention by dropping periods.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import { ComposedStorage, createOrbitDB, Identities, KeyStore, LRUStorage, type EventsDatabase, type LogEntry, type OrbitDB } from '@orbitdb/core'
import type { Datastore } from 'interface-datastore'
import type { Logger } from 'pino'
import type { PeerTable } from '../heartbeat/peer-table.js'
import { EntryBatcher, type BatcherInit } from './batcher.js'
import { createEventsHelia, type EventsHelia } from './helia.js'
import { EventIndex, periodTag, type AddedListener } from './index-store.js'
import { blockStorage, deleteEntryBlocks, indexEntries, openPeriodDb, unindexedEntries, type EntryPayload } from './period-log.js'
import { livePeriods, logName, meshId, periodBounds, periodFor, periodOf } from './periods.js'
import { IncidentRecorder, type RecorderInit } from './recorder.js'
import { nativeVerify } from './native-verify.js'
import { EventSync, type SyncStats } from './sync.js'
import type { EventInput, EventQuery, MeshEvent } from './types.js'

export interface EventLogComponents {
  libp2p: Libp2p
  /** the node's datastore (Helia keeps its pins and version there) */
  datastore: Datastore
  table: PeerTable
  log: Logger
  peerId: string
}

export interface EventLogInit extends BatcherInit, RecorderInit {
  /** blocks, orbitdb and the event index go under this dir */
  dataDir: string
  /** swarm.key bytes: the log's address follows from them */
  meshKey: Uint8Array
  /** events older than this are not served, and their period is dropped */
  retentionMs: number
  /** length of one log @default periodFor(retentionMs): 1 day for retentions of a week or more */
  periodMs?: number
  /** write events for the peer table's transitions and check changes @default true */
  record?: boolean
  /** fetch missing events from peers' indexes in bulk (sync.ts); off only to measure OrbitDB alone @default true */
  indexSync?: boolean
}

export interface PeriodInfo { period: number, address: string, entries: string[] }

export interface EventLog {
  /** newest first */
  query: (q?: EventQuery) => Promise<MeshEvent[]>
  /** events held locally */
  count: () => number
  /** resolves once the event is stored (it survives kill -9) */
  append: (e: EventInput) => Promise<MeshEvent>
  appendMany: (es: EventInput[]) => Promise<MeshEvent[]>
  has: (id: string) => Promise<boolean>
  /** resolves once the replicated log is open (writes wait for it); rejects if it could not open */
  ready: () => Promise<void>
  /** the open periods and the entries each holds */
  periods: () => Promise<PeriodInfo[]>
  readonly periodMs: number
  /** what index sync with peers did (sync.ts) */
  syncStats: () => SyncStats
  /** calls `listener` with the events new to this node (written here or replicated) once stored; returns the unsubscribe */
  onAdded: (listener: AddedListener) => () => void
  stop: () => Promise<void>
}

interface Period { period: number, tag: string, db: EventsDatabase }

class MeshEventLog implements EventLog {
  readonly periodMs: number
  readonly #c: EventLogComponents
  readonly #init: EventLogInit
  readonly #mesh: string
  readonly #log: Logger
  readonly #periods = new Map<number, Promise<Period>>()
  readonly #batcher: EntryBatcher<MeshEvent>
  readonly #recorder?: IncidentRecorder
  #index!: EventIndex
  #sync?: EventSync
  #helia!: EventsHelia
  #orbitdb!: OrbitDB
  #serial: Promise<unknown> = Promise.resolve()
  #ready: Promise<void> = Promise.resolve()
  #roller?: NodeJS.Timeout
  #rolling: Promise<void> = Promise.resolve()
  #stopped = false
  readonly #listeners = new Set<AddedListener>()

  constructor (c: EventLogComponents, init: EventLogInit) {
    this.#c = c
    this.#init = init
    this.#log = c.log
    this.#mesh = meshId(init.meshKey)
    this.periodMs = init.periodMs ?? periodFor(init.retentionMs)
    this.#batcher = new EntryBatcher((period, events) => this.#writeEntry(period, events), init)
    if (init.record !== false) {
      this.#recorder = new IncidentRecorder(c, {
        append: async e => await this.append(e),
        hasNear: async (type, peer, ts, w) => await this.#index.hasNear(type, peer, ts, w)
      }, init)
    }
  }

  /**
   * The index opens first, so queries answer at once after a restart (the last
   * 100 of 100k events in ~20 ms). The replicated log opens behind it: cold,
   * createOrbitDB alone took ~70 ms here (two secp256k1 signatures for its
   * identity on a not yet warmed-up noble). Writes wait for it; `ready()` tells.
   */
  async start (): Promise<void> {
    this.#index = await EventIndex.open(join(this.#init.dataDir, 'events'), (movedTo, cause) => {
      this.#log.error({ movedTo, err: cause.message }, 'the event index was damaged: moved aside, starting a new one (events come back from peers; the old one is kept for inspection)')
    }, events => {
      for (const listener of this.#listeners) {
        try { listener(events) } catch (err: any) { this.#log.warn({ err: err?.message }, 'an added-events listener failed') }
      }
    })
    // the index answers peers and takes their events before the replicated log is open
    if (this.#init.indexSync !== false) {
      const index = this.#index
      this.#sync = new EventSync({
        libp2p: this.#c.libp2p,
        log: this.#log,
        retentionMs: this.#init.retentionMs,
        bucketMs: this.periodMs,
        store: {
          bucketCounts: async (bucketMs, notBefore) => await index.bucketCounts(bucketMs, notBefore),
          eventTexts: (bucketMs, buckets, notBefore) => index.eventTexts(bucketMs, buckets, notBefore),
          ingest: async events => await this.#exclusive(async () => this.#stopped ? 0 : await index.ingestEvents(events))
        }
      })
      await this.#sync.start()
    }
    this.#ready = this.#openLog()
    this.#ready.catch((err: Error) => { this.#log.error({ err: err.message }, 'event log not opened: events are served but not written or replicated') })
    this.#recorder?.start()
  }

  async ready (): Promise<void> { await this.#ready }

  async #openLog (): Promise<void> {
    const t0 = performance.now()
    try {
      this.#helia = await createEventsHelia(this.#c.libp2p, this.#c.datastore, join(this.#init.dataDir, 'blocks'))
      const t1 = performance.now()
      const directory = join(this.#init.dataDir, 'orbitdb')
      // the keystore where createOrbitDB would put it; identities stored through blockStorage (see there)
      const identities = await Identities({
        keystore: await KeyStore({ path: join(directory, 'keystore') }),
        storage: await ComposedStorage(await LRUStorage({ size: 1000 }), blockStorage(this.#helia.helia))
      })
      // replicated entries' signatures checked by OpenSSL, not pure-JS secp256k1 (native-verify.ts)
      const identity = await identities.createIdentity({ id: this.#c.peerId })
      identity.verify = nativeVerify(identity.verify)
      this.#orbitdb = await createOrbitDB({ ipfs: this.#helia.helia, directory, id: this.#c.peerId, identities, identity })
      const t2 = performance.now()
      // the current period is what writes need; older ones open in the background
      await this.#period(periodOf(Date.now(), this.periodMs))
      const ms = (a: number, b: number): number => Math.round(b - a)
      this.#log.debug({ helia: ms(t0, t1), orbitdb: ms(t1, t2), period: ms(t2, performance.now()), events: this.#index.count }, 'event log open (ms)')
    } catch (err) {
      await this.#close(false)
      throw err
    }
    if (this.#stopped) return
    this.#roll()
    const every = Math.max(250, Math.min(60_000, Math.floor(this.periodMs / 4)))
    this.#roller = setInterval(() => { this.#roll() }, every)
    this.#roller.unref()
  }

  count (): number { return this.#index.count }

  onAdded (listener: AddedListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  syncStats (): SyncStats { return { ...(this.#sync?.stats ?? { exchanges: 0, added: 0, served: 0, failed: 0 }) } }

  async query (q: EventQuery = {}): Promise<MeshEvent[]> {
    return await this.#index.query(q, Date.now() - this.#init.retentionMs)
  }

  async has (id: string): Promise<boolean> { return await this.#index.has(id) }

  async append (input: EventInput): Promise<MeshEvent> {
    if (this.#stopped) throw new Error('the event log is stopped')
    const e = this.#normalise(input)
    const ts = Date.parse(e.ts)
    if (ts < Date.now() - this.#init.retentionMs) throw new Error(`event ${e.id} at ${e.ts} is older than the retention`)
    const bytes = Buffer.byteLength(JSON.stringify(e))
    await this.#batcher.add(periodOf(ts, this.periodMs), e, bytes)
    return e
  }

  async appendMany (inputs: EventInput[]): Promise<MeshEvent[]> {
    const pending: Array<Promise<MeshEvent>> = []
    for (let i = 0; i < inputs.length; i++) {
      pending.push(this.append(inputs[i] as EventInput))
      // queueing 10k at once held the event loop ~50 ms: let heartbeats through
      if (i % 200 === 199) await new Promise(resolve => setImmediate(resolve))
    }
    return await Promise.all(pending)
  }

  async periods (): Promise<PeriodInfo[]> {
    await this.#ready
    const out: PeriodInfo[] = []
    for (const p of [...this.#periods.values()]) {
      const { period, tag, db } = await p
      const entries: string[] = []
      for await (const h of this.#index.entryHashes(tag)) entries.push(h)
      out.push({ period, address: db.address, entries })
    }
    return out.sort((a, b) => a.period - b.period)
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#recorder?.stop()
    await this.#sync?.stop()
    await this.#ready.catch(() => {})
    await this.#batcher.flush().catch(() => {})
    this.#stopped = true
    clearInterval(this.#roller)
    await this.#rolling
    await this.#serial.catch(() => {})
    await this.#close(true)
  }

  #normalise (input: EventInput): MeshEvent {
    const labels = JSON.stringify(input.labels ?? {}).length > 4096 ? {} : { ...input.labels }
    const subject = input.subject.check === undefined
      ? { peer: input.subject.peer, name: input.subject.name }
      : { peer: input.subject.peer, name: input.subject.name, check: input.subject.check }
    return {
      id: input.id ?? randomBytes(12).toString('hex'),
      ts: new Date(input.ts === undefined ? Date.now() : Date.parse(input.ts)).toISOString(),
      type: input.type,
      severity: input.severity,
      source: input.source ?? this.#c.peerId,
      subject,
      message: input.message.length > 2000 ? input.message.slice(0, 1999) + '…' : input.message,
      labels
    }
  }

  /** Serialise every index write: local entries and replicated ones. */
  async #exclusive<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn)
    this.#serial = run.catch(() => {})
    return await run
  }

  async #writeEntry (period: number, events: MeshEvent[]): Promise<void> {
    await this.#ready
    const p = await this.#period(period)
    const payload: EntryPayload = { v: 1, events }
    const hash = await p.db.add(payload)
    // the 'update' handler indexes it; wait for that so a query right after sees it
    await this.#exclusive(async () => {
      if (await this.#index.hasEntry(p.tag, hash)) return
      const entry = await p.db.log.get(hash)
      if (entry !== undefined) await indexEntries(this.#index, p.tag, await unindexedEntries(p.db, this.#index, p.tag, [entry]))
    })
  }

  /** Open (once) the log of a period, and index what it holds that the index lacks. */
  async #period (period: number): Promise<Period> {
    let p = this.#periods.get(period)
    if (p === undefined) {
      p = this.#openPeriod(period)
      this.#periods.set(period, p)
      p.catch(() => { this.#periods.delete(period) })
    }
    return await p
  }

  async #openPeriod (period: number): Promise<Period> {
    const tag = periodTag(this.periodMs, period)
    const db = await openPeriodDb(this.#orbitdb, this.#helia.helia, this.#index, logName(this.#mesh, this.periodMs, period), tag)
    // sync errors (a peer gone mid-exchange) are emitted as 'error': unhandled, they would crash the process
    db.events.on('error', (err: Error) => { this.#log.debug({ err: err.message, period }, 'event log sync error') })
    db.events.on('update', (entry: LogEntry) => { void this.#ingest(db, tag, [entry]) })
    // index what an earlier run stored but did not index (a crash between the two)
    db.log.heads().then(async heads => { await this.#ingest(db, tag, heads) }, (err: Error) => { this.#log.warn({ err: err.message, period }, 'event log heads not read') })
    return { period, tag, db }
  }

  async #ingest (db: EventsDatabase, tag: string, roots: LogEntry[]): Promise<void> {
    if (roots.length === 0) return
    try {
      await this.#exclusive(async () => {
        if (this.#stopped) return
        const added = await indexEntries(this.#index, tag, await unindexedEntries(db, this.#index, tag, roots))
        if (added > 0) this.#log.debug({ added, period: tag }, 'events indexed')
      })
    } catch (err: any) {
      this.#log.warn({ err: err.message, period: tag }, 'events not indexed')
    }
  }

  /** Open the periods within retention, drop the ones past it (also those left on disk by an earlier run). */
  #roll (): void {
    this.#rolling = this.#rolling.then(async () => {
      if (this.#stopped) return
      const live = new Set(livePeriods(Date.now(), this.#init.retentionMs, this.periodMs))
      for (const period of live) await this.#period(period).catch((err: Error) => { this.#log.warn({ err: err.message, period }, 'event log period not opened') })
      for (const period of [...this.#periods.keys()]) if (!live.has(period)) await this.#drop(periodTag(this.periodMs, period))
      for (const tag of await this.#index.tags()) {
        const [ms, period] = tag.split('/').map(Number)
        if (ms !== this.periodMs || !live.has(period as number)) await this.#drop(tag)
      }
      // every event before the oldest live period, whichever log brought it (a writer's clock may disagree with its period)
      const [oldest] = periodBounds(Math.min(...live), this.periodMs)
      const events = await this.#exclusive(async () => await this.#index.dropEvents(new Date(0).toISOString(), oldest))
      if (events > 0) this.#log.info({ events, before: oldest }, 'events past retention dropped')
    }).catch((err: Error) => { this.#log.warn({ err: err.message }, 'event log retention failed') })
  }

  /** Drop a period's log: close it, delete its entry blocks and its state (its events go by time, in #roll). */
  async #drop (tag: string): Promise<void> {
    const [ms, period] = tag.split('/').map(Number) as [number, number]
    const open = ms === this.periodMs ? this.#periods.get(period) : undefined
    await this.#exclusive(async () => {
      // the entry hashes first: db.drop() clears the entry index that lists them
      const hashes: string[] = []
      for await (const h of this.#index.entryHashes(tag)) hashes.push(h)
      if (open !== undefined) {
        this.#periods.delete(period)
        const { db } = await open
        await db.drop()
        await db.close()
      }
      const blocks = await deleteEntryBlocks(this.#helia.blockstore, hashes)
      await this.#index.dropTag(tag)
      this.#log.info({ period: tag, blocks }, 'event log period past retention dropped')
    })
  }

  async #close (index: boolean): Promise<void> {
    for (const p of this.#periods.values()) await p.then(async ({ db }) => { await db.close() }).catch(() => {})
    this.#periods.clear()
    await this.#orbitdb?.stop().catch(() => {})
    await this.#helia?.stop().catch(() => {})
    if (index) await this.#index?.close().catch(() => {})
  }
}

export async function openEventLog (components: EventLogComponents, init: EventLogInit): Promise<EventLog> {
  const log = new MeshEventLog(components, init)
  await log.start()
  return log
}

