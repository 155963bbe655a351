/**
 * The mesh's event log, a thin front over its parts: the query index
 * (index/), the replicated OrbitDB logs (orbit/), index sync with peers
 * (sync/), batched writes (batcher.ts) and retention by periods
 * (retention.ts). Every index write goes through one lock, local and
 * replicated alike.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import type { LogEntry } from '@orbitdb/core'
import type { Datastore } from 'interface-datastore'
import type { Logger } from 'pino'
import { EntryBatcher, type BatcherInit } from './batcher.js'
import { indexEntries, unindexedEntries, type EntryPayload } from './entries.js'
import { EventIndex } from './index/event-index.js'
import { openEventsLevel, type EventsLevel } from './index/level.js'
import { ReplicatedLog, type PeriodLog } from './orbit/replicated-log.js'
import { OrbitState } from './orbit/state-storage.js'
import { meshId, periodFor, periodOf } from './periods.js'
import { Retention } from './retention.js'
import { EventSync, type SyncStats } from './sync/event-sync.js'
import type { EventInput, EventQuery, EventType, MeshEvent } from './types.js'

export interface EventLogComponents {
  libp2p: Libp2p
  /** the node's datastore (Helia keeps its pins and version there) */
  datastore: Datastore
  log: Logger
  peerId: string
}

export interface EventLogInit extends BatcherInit {
  /** blocks, orbitdb and the event index go under this dir */
  dataDir: string
  /** swarm.key bytes: the log's address follows from them */
  meshKey: Uint8Array
  /** events older than this are not served, and their period is dropped */
  retentionMs: number
  /** length of one log @default periodFor(retentionMs): 1 day for retentions of a week or more */
  periodMs?: number
  /** fetch missing events from peers' indexes in bulk (sync/); off only to measure OrbitDB alone @default true */
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
  /** an event of this type about this peer within ±windowMs of tsMs is held */
  hasNear: (type: EventType, peer: string, tsMs: number, windowMs: number) => Promise<boolean>
  /** resolves once the replicated log is open (writes wait for it); rejects if it could not open */
  ready: () => Promise<void>
  /** the open periods and the entries each holds */
  periods: () => Promise<PeriodInfo[]>
  readonly periodMs: number
  /** what index sync with peers did */
  syncStats: () => SyncStats
  stop: () => Promise<void>
}

class MeshEventLog implements EventLog {
  readonly periodMs: number
  readonly #c: EventLogComponents
  readonly #init: EventLogInit
  readonly #batcher: EntryBatcher<MeshEvent>
  #level!: EventsLevel
  #index!: EventIndex
  #state!: OrbitState
  #replicated!: ReplicatedLog
  #retention?: Retention
  #sync?: EventSync
  #serial: Promise<unknown> = Promise.resolve()
  #ready: Promise<void> = Promise.resolve()
  #stopped = false

  constructor (c: EventLogComponents, init: EventLogInit) {
    this.#c = c
    this.#init = init
    this.periodMs = init.periodMs ?? periodFor(init.retentionMs)
    this.#batcher = new EntryBatcher((period, events) => this.#writeEntry(period, events), init)
  }

  /**
   * The index opens first, so queries answer at once after a restart (the last
   * 100 of 100k events in ~20 ms), and it answers peers' sync requests. The
   * replicated log opens behind it; writes wait for it, `ready()` tells.
   */
  async start (): Promise<void> {
    this.#level = await openEventsLevel(join(this.#init.dataDir, 'events'))
    this.#index = await EventIndex.open(this.#level.db)
    this.#state = new OrbitState(this.#level.db)
    if (this.#init.indexSync !== false) {
      const index = this.#index
      this.#sync = new EventSync({
        libp2p: this.#c.libp2p,
        log: this.#c.log,
        store: {
          bucketCounts: async (bucketMs, notBefore) => await index.bucketCounts(bucketMs, notBefore),
          eventTexts: (bucketMs, buckets, notBefore) => index.eventTexts(bucketMs, buckets, notBefore),
          ingest: async events => await this.#exclusive(async () => this.#stopped ? 0 : await index.ingestEvents(events))
        }
      }, { retentionMs: this.#init.retentionMs, bucketMs: this.periodMs })
      await this.#sync.start()
    }
    this.#replicated = new ReplicatedLog({
      ...this.#c, state: this.#state, onEntries: (p, roots) => { void this.#ingest(p, roots) }
    }, { dataDir: this.#init.dataDir, mesh: meshId(this.#init.meshKey), periodMs: this.periodMs })
    this.#ready = this.#openLog()
    this.#ready.catch((err: Error) => { this.#c.log.error({ err: err.message }, 'event log not opened: events are served but not written or replicated') })
  }

  async #openLog (): Promise<void> {
    const t0 = performance.now()
    await this.#replicated.open()
    // the current period is what writes need; older ones open in the background (retention)
    await this.#replicated.period(periodOf(Date.now(), this.periodMs)).catch(async err => { await this.#replicated.close(); throw err })
    this.#c.log.debug({ ms: Math.round(performance.now() - t0), events: this.#index.count }, 'event log open')
    if (this.#stopped) return
    this.#retention = new Retention({
      replicated: this.#replicated, index: this.#index, state: this.#state, exclusive: async fn => await this.#exclusive(fn), log: this.#c.log
    }, { retentionMs: this.#init.retentionMs, periodMs: this.periodMs })
    this.#retention.start()
  }

  async ready (): Promise<void> { await this.#ready }

  count (): number { return this.#index.count }

  syncStats (): SyncStats { return { ...(this.#sync?.stats ?? { exchanges: 0, added: 0, served: 0, failed: 0 }) } }

  async query (q: EventQuery = {}): Promise<MeshEvent[]> {
    return await this.#index.query(q, Date.now() - this.#init.retentionMs)
  }

  async has (id: string): Promise<boolean> { return await this.#index.has(id) }

  async hasNear (type: EventType, peer: string, tsMs: number, windowMs: number): Promise<boolean> {
    return await this.#index.hasNear(type, peer, tsMs, windowMs)
  }

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
    for (const period of this.#replicated.openPeriods()) {
      const { tag, db } = await this.#replicated.period(period)
      const entries: string[] = []
      for await (const h of this.#state.entryHashes(tag)) entries.push(h)
      out.push({ period, address: db.address, entries })
    }
    return out.sort((a, b) => a.period - b.period)
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    await this.#sync?.stop()
    await this.#ready.catch(() => {})
    await this.#batcher.flush().catch(() => {})
    this.#stopped = true
    await this.#retention?.stop()
    await this.#serial.catch(() => {})
    await this.#replicated.close()
    await this.#level.close().catch(() => {})
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
    const payload: EntryPayload = { v: 1, events }
    const { p, entry } = await this.#replicated.add(period, payload)
    // the 'update' handler indexes it too; index it here so a query right after sees it
    if (entry !== undefined) await this.#ingest(p, [entry], true)
  }

  /** Index what entries (and the entries they point to) hold that the index lacks. */
  async #ingest ({ db, tag }: PeriodLog, roots: LogEntry[], own = false): Promise<void> {
    if (roots.length === 0) return
    try {
      await this.#exclusive(async () => {
        if (this.#stopped) return
        const added = await indexEntries(this.#index, tag, await unindexedEntries(db, this.#index, tag, roots))
        if (added > 0 && !own) this.#c.log.debug({ added, period: tag }, 'events indexed')
      })
    } catch (err: any) {
      if (own) throw err
      this.#c.log.warn({ err: err.message, period: tag }, 'events not indexed')
    }
  }
}

export async function openEventLog (components: EventLogComponents, init: EventLogInit): Promise<EventLog> {
  const log = new MeshEventLog(components, init)
  await log.start()
  return log
}
