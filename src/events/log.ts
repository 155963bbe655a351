/**
 * The mesh's event log, a thin front over its parts: the query index
 * (index/), the replicated OrbitDB logs (orbit/), index sync with peers
 * (sync/), batched writes (batcher.ts) and retention by periods
 * (retention.ts). Every index write goes through one lock, local and
 * replicated alike.
 */
import { join } from 'node:path'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { LogEntry } from '@orbitdb/core'
import type { Datastore } from 'interface-datastore'
import type { Logger } from 'pino'
import { EntryBatcher, type BatcherInit } from './batcher.js'
import { ProtocolComplaints, type ComplaintCounts } from './complaints.js'
import { indexEntries, unindexedEntries, type EntryPayload } from './entries.js'
import type { Patches } from '../patches.js'
import { EventIndex, type AddedListener } from './index/event-index.js'
import { openEventsLevel, type EventsLevel } from './index/level.js'
import { ReplicatedLog, type PeriodLog } from './orbit/replicated-log.js'
import { OrbitState } from './orbit/state-storage.js'
import { meshId, periodFor, periodOf } from './periods.js'
import { Retention } from './retention.js'
import { EventSync, type SyncStats } from './sync/event-sync.js'
import { addCounts, type RefusalCounts } from './sync/intake.js'
import type { QuotaInit } from './sync/quota.js'
import { EVENT_BOUNDS, eventBytes } from './trust/bounds.js'
import { writeEvent } from './trust/write.js'
import type { EventInput, EventQuery, EventType, MeshEvent, SignedEvent } from './types.js'

export interface EventLogComponents {
  libp2p: Libp2p
  /** the node's datastore (Helia keeps its pins and version there) */
  datastore: Datastore
  log: Logger
  peerId: string
  /** the node's libp2p key: it signs the events this node writes */
  privateKey: PrivateKey
  /** which library patches to install, and where they report (src/patches.ts) @default all, unreported */
  patches?: Patches
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
  /** events one peer may send by index sync per window (sync/quota.ts) */
  syncQuota?: QuotaInit
}

/** Events refused, by how they came and why (trust/check.ts). */
// a type, not an interface: it passes where a record of records is wanted (metrics)
export type RefusedEvents = { sync: RefusalCounts, log: RefusalCounts }

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
  /** exchange with this peer soon: it is reachable again */
  catchUpWith: (peer: PeerId) => void
  /** what index sync with peers did */
  syncStats: () => SyncStats
  /** events refused from peers: by index sync, and in replicated log entries */
  refused: () => RefusedEvents
  /** messages of the event protocols (index sync, blocks) refused from peers, by "protocol reason" */
  malformed: () => ComplaintCounts
  /** calls `listener` with the events new to this node (written here or replicated) once stored; returns the unsubscribe */
  onAdded: (listener: AddedListener) => () => void
  stop: () => Promise<void>
}

class MeshEventLog implements EventLog {
  readonly periodMs: number
  readonly #c: EventLogComponents
  readonly #init: EventLogInit
  readonly #batcher: EntryBatcher<SignedEvent>
  /** events refused in replicated log entries */
  readonly #refusedInLog: RefusalCounts = {}
  readonly #listeners = new Set<AddedListener>()
  readonly #complaints: ProtocolComplaints
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
    this.#complaints = new ProtocolComplaints(c.log)
  }

  /**
   * The index opens first, so queries answer at once after a restart (the last
   * 100 of 100k events in ~20 ms), and it answers peers' sync requests. The
   * replicated log opens behind it; writes wait for it, `ready()` tells.
   */
  async start (): Promise<void> {
    this.#level = await openEventsLevel(join(this.#init.dataDir, 'events'), (movedTo, cause) => {
      this.#c.log.error({ movedTo, err: cause.message }, 'the event index was damaged: moved aside, starting a new one (events come back from peers; the old one is kept for inspection)')
    })
    this.#index = await EventIndex.open(this.#level.db, events => {
      for (const listener of this.#listeners) {
        try { listener(events) } catch (err: any) { this.#c.log.warn({ err: err?.message }, 'an added-events listener failed') }
      }
    })
    this.#state = new OrbitState(this.#level.db)
    if (this.#init.indexSync !== false) {
      const index = this.#index
      this.#sync = new EventSync({
        libp2p: this.#c.libp2p,
        log: this.#c.log,
        complaints: this.#complaints,
        store: {
          bucketSummaries: async (bucketMs, notBefore, notAfter) => await index.bucketSummaries(bucketMs, notBefore, notAfter),
          eventTexts: (bucketMs, buckets, notBefore, notAfter) => index.eventTexts(bucketMs, buckets, notBefore, notAfter),
          ingest: async events => await this.#exclusive(async () => this.#stopped ? { added: 0, replaces: 0 } : await index.ingestEvents(events))
        }
      }, { retentionMs: this.#init.retentionMs, bucketMs: this.periodMs, quota: this.#init.syncQuota })
      await this.#sync.start()
    }
    this.#replicated = new ReplicatedLog({
      ...this.#c, complaints: this.#complaints, state: this.#state, onEntries: (p, roots) => { void this.#ingest(p, roots) }
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

  onAdded (listener: AddedListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /** Exchange with this peer soon (it is reachable again: what either side wrote meanwhile crosses now). */
  catchUpWith (peer: PeerId): void { this.#sync?.enqueue(peer) }

  syncStats (): SyncStats {
    const s = this.#sync?.stats ?? { exchanges: 0, added: 0, served: 0, failed: 0, refused: {}, cutOff: 0 }
    return { ...s, refused: { ...s.refused } }
  }

  refused (): RefusedEvents { return { sync: { ...this.#sync?.stats.refused }, log: { ...this.#refusedInLog } } }

  malformed (): ComplaintCounts { return { ...this.#complaints.counts } }

  async query (q: EventQuery = {}): Promise<MeshEvent[]> {
    const now = Date.now()
    return await this.#index.query(q, now - this.#init.retentionMs, now + EVENT_BOUNDS.futureMs)
  }

  async has (id: string): Promise<boolean> { return await this.#index.has(id) }

  async hasNear (type: EventType, peer: string, tsMs: number, windowMs: number): Promise<boolean> {
    return await this.#index.hasNear(type, peer, tsMs, windowMs)
  }

  /** Checked and signed (trust/write.ts), then batched into an entry. */
  async append (input: EventInput): Promise<MeshEvent> {
    if (this.#stopped) throw new Error('the event log is stopped')
    const signed = await writeEvent(input, { peerId: this.#c.peerId, privateKey: this.#c.privateKey, retentionMs: this.#init.retentionMs })
    await this.#batcher.add(periodOf(Date.parse(signed.ts), this.periodMs), signed, eventBytes(signed))
    const { sig, ...e } = signed
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

  /** Serialise every index write: local entries and replicated ones. */
  async #exclusive<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn)
    this.#serial = run.catch(() => {})
    return await run
  }

  async #writeEntry (period: number, events: SignedEvent[]): Promise<void> {
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
        const now = Date.now()
        const refused: RefusalCounts = {}
        const added = await indexEntries(this.#index, tag, await unindexedEntries(db, this.#index, tag, roots), { now, notBefore: now - this.#init.retentionMs }, refused)
        if (added > 0 && !own) this.#c.log.debug({ added, period: tag }, 'events indexed')
        if (Object.keys(refused).length > 0) {
          addCounts(this.#refusedInLog, refused)
          this.#c.log.warn({ refused, period: tag }, 'events in replicated log entries refused (unsigned, forged, oversized or misdated): not indexed')
        }
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
