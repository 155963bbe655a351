/**
 * Which records enter the peer table. A record is taken only if its origin
 * signed it, it is valid and on time (record.ts), and, for a peer not known
 * yet, the mesh has room for it: an optional allow-list, a cap on the table
 * and on new peers a minute, so keys made up by a member that holds the swarm
 * key cannot grow the table (and everything derived from it) without bound.
 * What is refused is counted by reason and logged once a minute per peer.
 */
import type { Logger } from 'pino'
import type { Admission as Verdict, Envelope } from './gossip.js'
import type { InvalidReason } from './messages.js'
import type { PeerTable } from './peer-table.js'
import { checkRecord, type NodeRecord } from './record.js'
import { recordVerifier } from './signature.js'

export interface AdmissionInit {
  /** only these peer ids may join (null: any holder of the swarm key) @default null */
  allow?: ReadonlySet<string> | null
  /** most peers in the table @default 5000 */
  maxPeers?: number
  /** most peers new to the table in a minute @default 1000 */
  maxNewPerMinute?: number
  /** a record older than this is a gone peer's, not news, ms @default 3_600_000 */
  forgetAfterMs?: number
}

export class Admission {
  readonly #table: PeerTable
  readonly #log: Logger
  readonly #allow: ReadonlySet<string> | null
  readonly #maxPeers: number
  readonly #maxNew: number
  readonly #maxAgeMs: number
  readonly #verify = recordVerifier()
  readonly #wall: () => number
  readonly #onAccepted?: (r: NodeRecord) => void
  #minute = 0
  #newThisMinute = 0
  readonly #complained = new Map<string, number>()

  constructor (c: { table: PeerTable, log: Logger, wall?: () => number, onAccepted?: (r: NodeRecord) => void }, init: AdmissionInit = {}) {
    this.#table = c.table
    this.#onAccepted = c.onAccepted
    this.#log = c.log
    this.#wall = c.wall ?? Date.now
    this.#allow = init.allow ?? null
    this.#maxPeers = init.maxPeers ?? 5000
    this.#maxNew = init.maxNewPerMinute ?? 1000
    this.#maxAgeMs = init.forgetAfterMs ?? 3_600_000
  }

  /** Judge an envelope newer than what is held, and apply its record if it passes. */
  admit (env: Envelope): Verdict {
    const known = this.#table.get(env.o) !== undefined
    if (!known) {
      const room = this.#room(env.o)
      if (room !== undefined) return { ok: false, reason: 'refused', detail: room }
    }
    if (!this.#verify(env.o, env.r, env.s)) return { ok: false, reason: 'signature', detail: `a record of ${env.o} with a signature that is not its own` }
    let json: unknown
    try {
      json = JSON.parse(env.r)
    } catch (err: any) {
      return { ok: false, reason: 'decode', detail: String(err?.message) }
    }
    const now = this.#wall()
    const checked = checkRecord(json, now)
    if (!checked.ok) return { ok: false, reason: checked.error.reason, detail: checked.error.detail }
    const r = checked.record
    if (r.boot !== env.b || r.seq !== env.q) return { ok: false, reason: 'schema', detail: 'the envelope\'s (boot, seq) is not the record\'s' }
    if (r.ts < now - this.#maxAgeMs) return { ok: false, reason: 'replay', detail: `a record from ${new Date(r.ts).toISOString()}, older than a peer is remembered` }
    const applied = this.#table.apply(env.o, r)
    if (!applied.accepted) return { ok: false, reason: 'replay', detail: 'not newer than the record held' }
    if (!known) this.#newThisMinute++
    this.#onAccepted?.(r)
    return { ok: true }
  }

  /** Why a new peer cannot join now, or undefined if it can. */
  #room (peerId: string): string | undefined {
    if (this.#allow !== null && !this.#allow.has(peerId)) return `${peerId} is not in peers.allow`
    if (this.#table.size >= this.#maxPeers) return `the peer table is full (${this.#maxPeers} peers, peers.max)`
    const minute = Math.floor(this.#wall() / 60_000)
    if (minute !== this.#minute) { this.#minute = minute; this.#newThisMinute = 0 }
    if (this.#newThisMinute >= this.#maxNew) return `more than ${this.#maxNew} new peers this minute (peers.maxNewPerMinute); it is admitted later`
    return undefined
  }

  /** Log what a peer sent that was refused: once a minute per peer and reason. */
  complain (from: string, reason: InvalidReason, detail: string): void {
    const key = `${from} ${reason}`
    const now = this.#wall()
    if ((this.#complained.get(key) ?? -Infinity) > now - 60_000) return
    if (this.#complained.size > 10_000) this.#complained.clear()
    this.#complained.set(key, now)
    const level = reason === 'refused' || reason === 'replay' ? 'info' : 'warn'
    this.#log[level]({ from, reason, detail }, `refused a message from ${from}: ${detail}`)
  }
}
