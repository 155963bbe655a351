/**
 * The replicated side of the event log: OrbitDB `events` logs, one per
 * period, on a Helia that shares the node's libp2p. Every node opens the same
 * logs (name and access controller follow from the swarm key and the period).
 * Heads and entry index live in the events LevelDB (state-storage.ts), entry
 * blocks in Helia's blockstore, unpinned. New entries, local or replicated,
 * are handed to `onEntries`; what they mean is the caller's business.
 */
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import { ComposedStorage, createOrbitDB, Identities, IPFSAccessController, KeyStore, LRUStorage, type EventsDatabase, type LogEntry, type OrbitDB } from '@orbitdb/core'
import type { Datastore } from 'interface-datastore'
import type { Logger } from 'pino'
import { periodTag } from '../index/level.js'
import { logName } from '../periods.js'
import { blockStorage, deleteEntryBlocks } from './block-storage.js'
import type { ProtocolComplaints } from '../complaints.js'
import { createEventsHelia, type EventsHelia } from './helia.js'
import { Patches } from '../../patches.js'
import { canKeepReceivedHeads, keepReceivedHeads, nativeVerify, nativeVerifyWorks } from './orbitdb-patches.js'
import type { OrbitState } from './state-storage.js'

export interface ReplicatedLogComponents {
  libp2p: Libp2p
  /** the node's datastore (Helia keeps its pins and version there) */
  datastore: Datastore
  state: OrbitState
  log: Logger
  peerId: string
  /** entries new to this node's log of a period: written here, or replicated (roots of what arrived) */
  onEntries: (p: PeriodLog, roots: LogEntry[]) => void
  /** which library patches to install, and where they report @default all, unreported */
  patches?: Patches
  /** where peers that break the block exchange are counted and logged @default its own */
  complaints?: ProtocolComplaints
}

export interface ReplicatedLogInit {
  /** blocks/ and orbitdb/ go under this dir */
  dataDir: string
  /** the mesh id (periods.ts): log names follow from it */
  mesh: string
  periodMs: number
}

export interface PeriodLog { period: number, tag: string, db: EventsDatabase }

export class ReplicatedLog {
  readonly #c: ReplicatedLogComponents
  readonly #init: ReplicatedLogInit
  readonly #periods = new Map<number, Promise<PeriodLog>>()
  readonly #patches: Patches
  readonly #keepHeads: boolean
  #helia?: EventsHelia
  #orbitdb?: OrbitDB

  constructor (components: ReplicatedLogComponents, init: ReplicatedLogInit) {
    this.#c = components
    this.#init = init
    this.#patches = components.patches ?? new Patches()
    this.#keepHeads = this.#patches.wanted('orbitdb-heads')
  }

  /** Helia and OrbitDB; cold, createOrbitDB alone took ~70 ms here (two secp256k1 signatures for its identity). */
  async open (): Promise<void> {
    try {
      this.#helia = await createEventsHelia(this.#c.libp2p, this.#c.datastore, join(this.#init.dataDir, 'blocks'), this.#c.log, this.#c.complaints)
      const directory = join(this.#init.dataDir, 'orbitdb')
      // the keystore where createOrbitDB would put it; identities stored through blockStorage (see there)
      const identities = await Identities({
        keystore: await KeyStore({ path: join(directory, 'keystore') }),
        storage: await ComposedStorage(await LRUStorage({ size: 1000 }), blockStorage(this.#helia.helia))
      })
      // replicated entries' signatures checked by OpenSSL, not pure-JS secp256k1 (orbitdb-patches.ts)
      const identity = await identities.createIdentity({ id: this.#c.peerId })
      if (this.#patches.wanted('orbitdb-verify')) {
        const works = await nativeVerifyWorks(identity)
        this.#patches.checked('orbitdb-verify', works, 'a signature of this identity was not checked natively, or not found good')
        if (works) identity.verify = nativeVerify(identity.verify)
      }
      this.#orbitdb = await createOrbitDB({ ipfs: this.#helia.helia, directory, id: this.#c.peerId, identities, identity })
    } catch (err) {
      await this.close()
      throw err
    }
  }

  get helia (): EventsHelia {
    if (this.#helia === undefined) throw new Error('the replicated log is not open')
    return this.#helia
  }

  /** The log of a period, opened once. */
  async period (period: number): Promise<PeriodLog> {
    let p = this.#periods.get(period)
    if (p === undefined) {
      p = this.#openPeriod(period)
      this.#periods.set(period, p)
      p.catch(() => { this.#periods.delete(period) })
    }
    return await p
  }

  /** The periods opened (or opening). */
  openPeriods (): number[] { return [...this.#periods.keys()] }

  async #openPeriod (period: number): Promise<PeriodLog> {
    const orbitdb = this.#orbitdb
    if (orbitdb === undefined) throw new Error('the replicated log is not open')
    const helia = this.helia.helia
    const tag = periodTag(this.#init.periodMs, period)
    const inHand = new Map<string, LogEntry>()
    const db = await orbitdb.open(logName(this.#init.mesh, this.#init.periodMs, period), {
      type: 'events',
      // every swarm member may write; only swarm members can connect at all (pnet)
      AccessController: IPFSAccessController({ write: ['*'], storage: await ComposedStorage(await LRUStorage({ size: 16 }), blockStorage(helia)) }),
      // a small cache: entries are up to ~32 KB and a node keeps several periods open
      entryStorage: await ComposedStorage(await LRUStorage({ size: 64 }), blockStorage(helia, { inHand })),
      headsStorage: await ComposedStorage(await LRUStorage({ size: 8 }), this.#c.state.storage(tag, 'h')),
      // each append walks back this many entries, decoding each (CBOR decoding was 40% of append CPU at the
      // default 16); fresh peers fetched 20k events (200 entries) as fast with 4 (4.1 s) as with 16 (4.2 s)
      referencesCount: 4,
      indexStorage: await ComposedStorage(await LRUStorage({ size: 1000 }), this.#c.state.storage(tag, 'i')),
      // started below, once its 'error' listener is on: a peer that left mid-exchange while open() ran
      // (a rolling restart) made it emit 'error' with no listener, and the node exited
      sync: false
    })
    if (this.#keepHeads) {
      const ok = canKeepReceivedHeads(db.log)
      this.#patches.checked('orbitdb-heads', ok, 'the log has no joinEntry to wrap')
      if (ok) keepReceivedHeads(db.log, inHand)
    }
    const p = { period, tag, db }
    // sync errors (a peer gone mid-exchange) are emitted as 'error': unhandled, they would crash the process
    db.events.on('error', (err: Error) => { this.#c.log.debug({ err: err.message, period }, 'event log sync error') })
    db.events.on('update', (entry: LogEntry) => { this.#c.onEntries(p, [entry]) })
    await db.sync.start()
    // what an earlier run stored but did not index (a crash between the two) is handed over again
    db.log.heads().then(heads => { this.#c.onEntries(p, heads) }, (err: Error) => { this.#c.log.warn({ err: err.message, period }, 'event log heads not read') })
    return p
  }

  /** Write one entry into a period's log; resolves with it once it is stored. */
  async add (period: number, payload: unknown): Promise<{ p: PeriodLog, entry: LogEntry | undefined }> {
    const p = await this.period(period)
    const hash = await p.db.add(payload)
    return { p, entry: await p.db.log.get(hash) }
  }

  /** Drop a period: close and drop its log if open, then delete the blocks of `hashes` (its entries). */
  async drop (tag: string, hashes: string[]): Promise<number> {
    const [ms, period] = tag.split('/').map(Number) as [number, number]
    const open = ms === this.#init.periodMs ? this.#periods.get(period) : undefined
    if (open !== undefined) {
      this.#periods.delete(period)
      const { db } = await open
      await db.drop()
      await db.close()
    }
    return this.#helia === undefined ? 0 : await deleteEntryBlocks(this.#helia.blockstore, hashes)
  }

  async close (): Promise<void> {
    for (const p of this.#periods.values()) await p.then(async ({ db }) => { await db.close() }).catch(() => {})
    this.#periods.clear()
    await this.#orbitdb?.stop().catch(() => {})
    await this.#helia?.stop().catch(() => {})
  }
}
