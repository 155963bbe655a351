/**
 * The devices connected to THIS peer (it is their `via`): what it announces
 * to the mesh. One session per device id; a WebSocket session belongs to one
 * connection (a newer connection of the same device takes it over, and the
 * older one's close no longer counts), a push session is renewed by every push
 * and ends when none came within 2 x its interval. Ended sessions stay (as
 * `down`) until forgotten, so a peer that joins later still learns of them.
 */
import type { DeviceData, DeviceKind, DownReason } from './types.js'
import { sameData } from './data.js'

/** One device as its via announces it (the wire entry of the devices topic). */
export interface DeviceEntry {
  id: string
  st: 'up' | 'down'
  kind: Exclude<DeviceKind, 'declared'>
  /** session start, via's clock (unix ms): with `via`, the session's identity */
  since: number
  /** the newest connection: WebSocket connect or last push, via's clock; the newest wins across vias */
  at: number
  /** when `st` last changed, via's clock */
  chg: number
  /** last heard (message, ping or push), via's clock */
  seen: number
  /** push interval, ms; null for WebSocket */
  iv: number | null
  why: DownReason | null
  data: DeviceData
}

/** An entry as it travels: with its data, or (in a periodic re-announcement) only the data's hash `h` (dataHash). */
export type WireEntry = Omit<DeviceEntry, 'data'> & { data?: DeviceData, h?: number }

interface Session extends DeviceEntry {
  /** the connection that owns a WebSocket session */
  conn: object | null
  /** monotonic ms of the last message, ping or push (push deadline) */
  heardAt: number
}

export class LocalSessions {
  readonly #sessions = new Map<string, Session>()
  /** open push sessions: the only ones with a deadline to watch */
  readonly #pushes = new Set<Session>()
  readonly #dirty = new Set<string>()
  readonly #wall: () => number
  readonly #monotonic: () => number
  readonly #onDirty: () => void

  constructor (init: { wall: () => number, monotonic: () => number, onDirty: () => void }) {
    this.#wall = init.wall
    this.#monotonic = init.monotonic
    this.#onDirty = init.onDirty
  }

  get (id: string): DeviceEntry | undefined { return this.#sessions.get(id) }
  get size (): number { return this.#sessions.size }
  isOpen (id: string): boolean { return this.#sessions.get(id)?.st === 'up' }

  /** A WebSocket `online`: a new session, or the same connection saying it again. */
  connect (id: string, conn: object, data: DeviceData): DeviceEntry {
    const s = this.#sessions.get(id)
    if (s !== undefined && s.conn === conn && s.st === 'up') return this.report(id, conn, data) as DeviceEntry
    return this.#start(id, 'websocket', conn, null, data)
  }

  /** New data from the connection that owns the session; undefined when another connection took it over. */
  report (id: string, conn: object, data: DeviceData): DeviceEntry | undefined {
    const s = this.#sessions.get(id)
    if (s === undefined || s.conn !== conn || s.st !== 'up') return undefined
    this.#heard(s)
    if (!sameData(s.data, data)) {
      s.data = data
      this.#mark(id)
    }
    return s
  }

  /** A ping or any frame: alive (not announced: the via judges liveness). */
  heard (id: string, conn: object): DeviceEntry | undefined {
    const s = this.#sessions.get(id)
    if (s === undefined || s.conn !== conn) return undefined
    this.#heard(s)
    return s
  }

  /** The connection closed (or went silent); nothing if a newer connection owns the session. */
  disconnect (id: string, conn: object, why: DownReason): DeviceEntry | undefined {
    const s = this.#sessions.get(id)
    if (s === undefined || s.conn !== conn || s.st !== 'up') return undefined
    return this.#end(s, why)
  }

  /** A push: starts a session or renews it; every push is the device's newest connection. */
  push (id: string, intervalMs: number, data: DeviceData): DeviceEntry {
    const s = this.#sessions.get(id)
    if (s === undefined || s.st !== 'up' || s.kind !== 'push') return this.#start(id, 'push', null, intervalMs, data)
    this.#heard(s)
    s.at = s.seen
    if (s.iv !== intervalMs || !sameData(s.data, data)) {
      s.iv = intervalMs
      s.data = data
      this.#mark(id)
    }
    return s
  }

  /** Push sessions past 2 x their interval end; returns them. */
  expire (): DeviceEntry[] {
    const now = this.#monotonic()
    const ended: DeviceEntry[] = []
    for (const s of this.#pushes) if (s.iv !== null && now - s.heardAt > 2 * s.iv) ended.push(this.#end(s, 'silent'))
    return ended
  }

  /** Ended sessions older than `forgetAfterMs` go (a slow sweep: it looks at every session). */
  forget (forgetAfterMs: number): void {
    const wall = this.#wall()
    for (const s of this.#sessions.values()) if (s.st === 'down' && wall - s.chg > forgetAfterMs) this.#sessions.delete(s.id)
  }

  /** Drop an ended session (its device was evicted from a full table). */
  drop (id: string): void {
    if (this.#sessions.get(id)?.st === 'down') this.#sessions.delete(id)
  }

  /** The sessions changed since the last call (for a batched announcement). */
  takeDirty (): DeviceEntry[] {
    const out: DeviceEntry[] = []
    for (const id of this.#dirty) {
      const s = this.#sessions.get(id)
      if (s !== undefined) out.push(entry(s))
    }
    this.#dirty.clear()
    return out
  }

  /** Peers asked for these devices' data: they go out with the next batch. */
  want (ids: string[]): void {
    for (const id of ids) if (this.#sessions.has(id)) this.#mark(id)
  }

  /** Every session (the periodic full announcement). */
  entries (): DeviceEntry[] { return [...this.#sessions.values()].map(entry) }

  #start (id: string, kind: DeviceEntry['kind'], conn: object | null, iv: number | null, data: DeviceData): Session {
    const wall = this.#wall()
    const s: Session = { id, st: 'up', kind, since: wall, at: wall, chg: wall, seen: wall, iv, why: null, data, conn, heardAt: this.#monotonic() }
    const before = this.#sessions.get(id)
    if (before !== undefined) this.#pushes.delete(before)
    this.#sessions.set(id, s)
    if (kind === 'push') this.#pushes.add(s)
    this.#mark(id)
    return s
  }

  #end (s: Session, why: DownReason): Session {
    this.#pushes.delete(s)
    s.st = 'down'
    s.why = why
    s.chg = this.#wall()
    s.conn = null
    this.#mark(s.id)
    return s
  }

  #heard (s: Session): void {
    s.seen = this.#wall()
    s.heardAt = this.#monotonic()
  }

  #mark (id: string): void {
    const first = this.#dirty.size === 0
    this.#dirty.add(id)
    if (first) this.#onDirty()
  }
}

/** The wire entry of a session (without the connection and the monotonic time). */
function entry (s: Session): DeviceEntry {
  return { id: s.id, st: s.st, kind: s.kind, since: s.since, at: s.at, chg: s.chg, seen: s.seen, iv: s.iv, why: s.why, data: s.data }
}
