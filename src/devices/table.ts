/**
 * Every device of the mesh as this peer sees it, and the timing that turns
 * what vias announce into states, alerts and incidents. The clocks are
 * injected and `tick()` is public, so every timing case runs in a test
 * without sleeping (like the failure detector).
 *
 *  - ownership: a device announced by two vias belongs to its newest
 *    connection (`at`, moved onto this peer's clock by the message's send time,
 *    never in the future); a live connection beats an ended one; an old via's
 *    later "down" never overrides. Per via, (boot, seq) only grows.
 *  - up / down as its via says; `unknown` while its via is down or left in the
 *    peer table (MeshPeerDown says it all), `down` once `viaGraceMs` passed
 *    without the device turning up elsewhere; `left` instead of down for a
 *    device declared intermittent.
 *  - a device down for `alertAfterMs` is `alerting` (MeshDeviceDown) and, if
 *    this peer watched it go, an `offline` incident; back up, an `online` one.
 *    A device that reconnects anywhere sooner was moved, not lost.
 *  - a declared device never heard is `unknown`, then `down` after 2 x its
 *    interval from this peer's start.
 */
import { EventEmitter } from 'node:events'
import { LocalSessions, type DeviceEntry, type WireEntry } from './sessions.js'
import type { Device, DeviceData, DeviceExpect, DeviceState, DownReason } from './types.js'
import { compactData, dataHash, emptyData, sameData } from './data.js'
import { countStates } from './view.js'

export type ViaState = 'up' | 'suspect' | 'down' | 'left'
export interface DeclaredDevice { id: string, intervalMs: number, expect: DeviceExpect, project?: string }
export type IncidentCause = DownReason | 'via-gone' | 'never'
export interface Incident { type: 'offline' | 'online', device: Device, session: { via: string, since: number } | null, cause: IncidentCause | null }
/** `occupied`: the first record of an empty table (a ticker stopped while it was idle starts again) */
export interface DeviceTableEvents { incident: [Incident], dirty: [], occupied: [] }

export interface DeviceTableInit {
  /** this peer's id and name: the via of its own sessions */
  self: string
  selfName: string
  /** a peer's state in the peer table, for the via of each device */
  peerState: (peerId: string) => ViaState | undefined
  /** @default 10_000 */
  maxDevices?: number
  /** down this long: alerting and an offline incident, ms @default 10_000 */
  alertAfterMs?: number
  /** `unknown` this long after its via died, then `down`, ms @default 60_000 */
  viaGraceMs?: number
  /** an ended device unheard this long is forgotten (declared ones never), ms @default 3_600_000 */
  forgetAfterMs?: number
  declared?: DeclaredDevice[]
  monotonic?: () => number
  wall?: () => number
}

export interface Refused { refused: 'full' }
type Mutable<T> = { -readonly [K in keyof T]: T[K] }
interface Rec extends Mutable<Device> {
  src: { via: string, boot: number, seq: number, since: number, at: number } | null
  reported: 'up' | 'down' | null
  cause: IncidentCause | null
  /** monotonic, back-dated to the via's times: reported up / reported down */
  upAt: number
  downAt: number
  /** monotonic start of the current down (confirmation), of the via's death (0: its via is fine) */
  downSince: number
  orphanedAt: number
  /** seen not down here: its confirmation is an incident this peer witnessed */
  watched: boolean
}

export const DEFAULT_INTERVAL_MS = 60_000
const WHY: Record<DownReason, DownReason> = { closed: 'closed', idle: 'idle', silent: 'silent' }
/** how often every record is looked at (forgetting the long ended), ms */
const SWEEP_MS = 10_000

export class DeviceTable extends EventEmitter<DeviceTableEvents> {
  readonly local: LocalSessions
  readonly #view = new Map<string, Rec>()
  /** the records of each via, to judge a via once per tick rather than each of its devices */
  readonly #byVia = new Map<string, Set<Rec>>()
  /** vias the peer table calls down or left, as of the last tick */
  readonly #gone = new Set<string>()
  /** records time alone may change: a down not yet confirmed, an unknown in its grace, a declared one never heard */
  readonly #timed = new Set<Rec>()
  #lastSweep: number
  readonly #viaBoot = new Map<string, number>()
  readonly #declared = new Map<string, DeclaredDevice>()
  readonly #init: Required<Omit<DeviceTableInit, 'declared'>>
  readonly #start: number
  #localSeq = 0

  constructor (init: DeviceTableInit) {
    super()
    this.#init = {
      ...init,
      maxDevices: init.maxDevices ?? 10_000,
      alertAfterMs: init.alertAfterMs ?? 10_000,
      viaGraceMs: init.viaGraceMs ?? 60_000,
      forgetAfterMs: init.forgetAfterMs ?? 3_600_000,
      monotonic: init.monotonic ?? (() => performance.now()),
      wall: init.wall ?? Date.now
    }
    this.#start = this.#lastSweep = this.#init.monotonic()
    this.local = new LocalSessions({ wall: this.#init.wall, monotonic: this.#init.monotonic, onDirty: () => { this.emit('dirty') } })
    for (const d of init.declared ?? []) {
      this.#declared.set(d.id, d)
      const r = this.#record(d.id)
      r.stateSince = this.#init.wall()
      if (d.project !== undefined) r.data = { ...r.data, project: d.project }
      this.#view.set(d.id, r)
      this.#timed.add(r)
    }
  }

  get (id: string): Device | undefined { return this.#view.get(id) }
  list (): Device[] { return [...this.#view.values()] }
  get size (): number { return this.#view.size }
  /** nothing for tick() to do until a device comes */
  get idle (): boolean { return this.#view.size === 0 && this.local.size === 0 }
  declaredOf (id: string): DeclaredDevice | undefined { return this.#declared.get(id) }

  /** A WebSocket device said online on `conn`. */
  connect (id: string, conn: object, data: DeviceData): Device | Refused {
    if (!this.#view.has(id) && !this.#room()) return { refused: 'full' }
    return this.#applyLocal(this.local.connect(id, conn, data)) as Device
  }

  /** Machine info from `conn`; false when `conn` does not own the device (any more). */
  report (id: string, conn: object, data: DeviceData): boolean {
    const e = this.local.report(id, conn, data)
    if (e !== undefined) this.#applyLocal(e)
    return e !== undefined
  }

  heard (id: string, conn: object): void {
    const e = this.local.heard(id, conn)
    const r = this.#view.get(id)
    if (e !== undefined && r?.src?.via === this.#init.self) r.lastSeen = e.seen
  }

  disconnect (id: string, conn: object, why: DownReason): void {
    const e = this.local.disconnect(id, conn, why)
    if (e !== undefined) this.#applyLocal(e)
  }

  push (id: string, intervalMs: number, data: DeviceData): Device | Refused {
    if (!this.#view.has(id) && !this.#room()) return { refused: 'full' }
    return this.#applyLocal(this.local.push(id, intervalMs, data)) as Device
  }

  /**
   * An announcement from `via` (the gossip signer), received at `recvWall` by this peer's clock.
   * `wanted`: devices announced without data (a hash) whose data this peer does not hold.
   */
  applyRemote (via: string, viaName: string, msg: { boot: number, seq: number, ts: number, d: WireEntry[] }, recvWall = this.#init.wall()): { applied: number, stale: number, refused: number, wanted: string[] } {
    const out = { applied: 0, stale: 0, refused: 0, wanted: [] as string[] }
    if (via === this.#init.self) return out
    const known = this.#viaBoot.get(via)
    if (known !== undefined && msg.boot < known) { out.stale = msg.d.length; return out }
    if (known !== undefined && msg.boot > known) this.#viaRestarted(via, msg.boot)
    this.#viaBoot.set(via, msg.boot)
    const offset = recvWall - msg.ts
    for (const e of msg.d) out[this.#merge(via, viaName, msg.boot, msg.seq, e, offset, out.wanted)]++
    return out
  }

  /**
   * One judgement (public for tests that drive time). Cheap with every device up: it looks at each
   * via once, at the records that wait on time, and at everything only every SWEEP_MS (forgetting).
   */
  tick (): void {
    for (const e of this.local.expire()) this.#applyLocal(e)
    const now = this.#init.monotonic()
    const wall = this.#init.wall()
    for (const [via, recs] of this.#byVia) {
      const state = via === this.#init.self ? 'up' : this.#init.peerState(via)
      if (state !== 'down' && state !== 'left') { this.#gone.delete(via); continue }
      if (this.#gone.has(via)) continue
      this.#gone.add(via)
      for (const r of recs) this.#derive(r, now, wall)
    }
    for (const r of this.#timed) this.#derive(r, now, wall)
    if (now - this.#lastSweep < SWEEP_MS) return
    this.#lastSweep = now
    this.local.forget(this.#init.forgetAfterMs)
    for (const r of this.#view.values()) {
      if (this.#evictable(r) && wall - r.stateSince > this.#init.forgetAfterMs) this.#delete(r)
    }
  }

  counts (): Record<DeviceState, number> { return countStates(this.#view.values()) }

  #applyLocal (e: DeviceEntry): Device | undefined {
    this.#merge(this.#init.self, this.#init.selfName, 0, ++this.#localSeq, e, 0)
    return this.#view.get(e.id)
  }

  #merge (via: string, viaName: string, boot: number, seq: number, e: WireEntry, offset: number, wanted?: string[]): 'applied' | 'stale' | 'refused' {
    const wall = this.#init.wall()
    const now = this.#init.monotonic()
    const onMine = (t: number): number => Math.min(wall, t + offset)
    const at = onMine(e.at)
    let r = this.#view.get(e.id)
    const fresh = r === undefined
    if (r === undefined) {
      if (!this.#room()) return 'refused'
      r = this.#record(e.id)
      this.#view.set(e.id, r)
      // every session, local or remote, gets its record here
      if (this.#view.size === 1) this.emit('occupied')
    } else if (r.src !== null && r.src.via === via) {
      if (via !== this.#init.self && (boot < r.src.boot || (boot === r.src.boot && seq <= r.src.seq))) return 'stale'
    } else if (r.src !== null) {
      const takeover = (e.st === 'up' && r.reported !== 'up') || at > r.src.at || (at === r.src.at && via > r.src.via)
      if (!takeover) return 'stale'
    }
    const session = r.src?.via === via && r.src.since === e.since
    if (r.src?.via !== via) this.#moveVia(r, via)
    r.src = { via, boot, seq, since: e.since, at }
    r.via = via
    r.viaName = viaName
    // the enum strings as constants, not each record's own parsed copies
    r.kind = e.kind === 'push' ? 'push' : 'websocket'
    r.interval = e.iv
    r.lastSeen = onMine(e.seen)
    r.orphanedAt = 0
    // the same data re-announced keeps its object: what is encoded once per data object (metrics) stays encoded
    if (e.data !== undefined) {
      // a peer's data is a fresh parse: held in compact form (this peer's own sessions' data is held as is)
      if (e.data !== r.data && !sameData(e.data, r.data)) r.data = via === this.#init.self ? e.data : compactData(e.data)
    } else if (fresh || e.h !== dataHash(r.data)) {
      wanted?.push(e.id)
    }
    const back = (t: number): number => now - Math.max(0, wall - onMine(t))
    if (e.st === 'up' && (r.reported !== 'up' || !session)) r.upAt = back(e.chg)
    if (e.st === 'down' && (r.reported !== 'down' || !session)) r.downAt = back(e.chg)
    r.reported = e.st === 'up' ? 'up' : 'down'
    r.cause = e.why === null ? null : WHY[e.why]
    this.#derive(r, now, wall)
    return 'applied'
  }

  /** A via that restarted closed every connection it had: its older sessions are down from now. */
  #viaRestarted (via: string, boot: number): void {
    const now = this.#init.monotonic()
    for (const r of this.#view.values()) {
      if (r.src?.via === via && r.src.boot < boot && r.reported === 'up') {
        Object.assign(r, { reported: 'down', cause: 'closed', downAt: now, orphanedAt: 0 })
        this.#derive(r, now, this.#init.wall())
      }
    }
  }

  #derive (r: Rec, now: number, wall: number): void {
    let next: DeviceState
    let downFrom = r.downAt
    if (r.src === null) {
      downFrom = this.#start + 2 * (r.interval ?? DEFAULT_INTERVAL_MS)
      next = now >= downFrom ? 'down' : 'unknown'
      r.cause = 'never'
    } else if (r.reported === 'up') {
      if (r.orphanedAt === 0 && r.src.via !== this.#init.self) {
        const via = this.#init.peerState(r.src.via)
        if (via === 'down' || via === 'left') r.orphanedAt = now
      }
      next = r.orphanedAt === 0 ? 'up' : now - r.orphanedAt >= this.#init.viaGraceMs ? 'down' : 'unknown'
      if (next === 'down') { downFrom = r.orphanedAt; r.cause = 'via-gone' }
    } else {
      next = 'down'
    }
    if (next === 'down' && r.expect === 'intermittent') next = 'left'
    // a record new to this table takes the times its via gives (a peer that joins later shows the same)
    const fresh = r.stateSince === 0
    if (next !== r.state || fresh) {
      const from = r.state
      r.state = next
      const since = next === 'down' || next === 'left' ? downFrom : next === 'up' && (from !== 'unknown' || fresh) ? r.upAt : now
      r.stateSince = wall - Math.max(0, now - since)
      if (next === 'down') r.downSince = downFrom
      if (next === 'up' && r.alerting) { r.alerting = false; this.#incident('online', r) }
      if (next !== 'down') r.alerting = false
    }
    if (next === 'up' || next === 'unknown') r.watched = true
    if (next === 'down' && !r.alerting && now - r.downSince >= this.#init.alertAfterMs) {
      r.alerting = true
      if (r.watched) this.#incident('offline', r)
    }
    if ((next === 'down' && !r.alerting) || next === 'unknown') this.#timed.add(r)
    else this.#timed.delete(r)
  }

  #moveVia (r: Rec, via: string): void {
    if (r.src !== null) this.#byVia.get(r.src.via)?.delete(r)
    let recs = this.#byVia.get(via)
    if (recs === undefined) this.#byVia.set(via, recs = new Set())
    recs.add(r)
  }

  #incident (type: Incident['type'], r: Rec): void {
    const session = r.src === null ? null : { via: r.src.via, since: r.src.since }
    this.emit('incident', { type, device: r, session, cause: type === 'offline' ? r.cause : null })
  }

  #record (id: string): Rec {
    const d = this.#declared.get(id)
    return {
      id, state: 'unknown', stateSince: 0, lastSeen: 0, via: null, viaName: '', kind: 'declared', expect: d?.expect ?? 'always-on',
      interval: d?.intervalMs ?? null, data: emptyData(), declared: d !== undefined, alerting: false,
      src: null, reported: null, cause: null, upAt: 0, downAt: 0, downSince: 0, orphanedAt: 0, watched: false
    }
  }

  #evictable (r: Rec): boolean {
    return (r.state === 'down' || r.state === 'left') && !r.declared && !this.local.isOpen(r.id)
  }

  /** Room for one more device: at the bound, the device ended longest ago makes way; none ended, none. */
  #room (): boolean {
    if (this.#view.size < this.#init.maxDevices) return true
    let oldest: Rec | undefined
    for (const r of this.#view.values()) {
      if (this.#evictable(r) && (oldest === undefined || r.stateSince < oldest.stateSince)) oldest = r
    }
    if (oldest !== undefined) this.#delete(oldest)
    return oldest !== undefined
  }

  #delete (r: Rec): void {
    this.#view.delete(r.id)
    this.#timed.delete(r)
    if (r.src !== null) {
      const recs = this.#byVia.get(r.src.via)
      recs?.delete(r)
      if (recs?.size === 0) this.#byVia.delete(r.src.via)
    }
    this.local.drop(r.id)
  }
}
