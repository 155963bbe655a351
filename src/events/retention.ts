/**
 * Retention by periods: the logs of the periods within `retentionMs` are
 * open, older ones are dropped (their log, blocks, OrbitDB state and index
 * markers, also those an earlier run left on disk), and every event before
 * the oldest live period goes from the index, whichever log brought it (a
 * writer's clock may disagree with its period). `roll()` is one pass; the
 * timer runs it a few times per period. The clock is injected.
 */
import type { Logger } from 'pino'
import type { EventIndex } from './index/event-index.js'
import { parseTag, periodTag } from './index/level.js'
import type { ReplicatedLog } from './orbit/replicated-log.js'
import type { OrbitState } from './orbit/state-storage.js'
import { livePeriods, periodBounds } from './periods.js'
import { EVENT_BOUNDS } from './trust/bounds.js'

export interface RetentionComponents {
  replicated: ReplicatedLog
  index: EventIndex
  state: OrbitState
  /** runs `fn` with every other index write held off */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>
  log: Logger
}

export interface RetentionInit {
  retentionMs: number
  periodMs: number
  /** @default Date.now */
  now?: () => number
}

export class Retention {
  readonly #c: RetentionComponents
  readonly #init: RetentionInit
  readonly #now: () => number
  #timer?: NodeJS.Timeout
  #rolling: Promise<void> = Promise.resolve()
  #stopped = false

  constructor (components: RetentionComponents, init: RetentionInit) {
    this.#c = components
    this.#init = init
    this.#now = init.now ?? Date.now
  }

  start (): void {
    void this.roll()
    const every = Math.max(250, Math.min(60_000, Math.floor(this.#init.periodMs / 4)))
    this.#timer = setInterval(() => { void this.roll() }, every)
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    await this.#rolling
  }

  /** One pass, after any pass still going; never rejects (a failure is logged). */
  async roll (): Promise<void> {
    this.#rolling = this.#rolling.then(async () => { if (!this.#stopped) await this.#roll() })
      .catch((err: Error) => { this.#c.log.warn({ err: err.message }, 'event log retention failed') })
    await this.#rolling
  }

  async #roll (): Promise<void> {
    const { replicated, index, state, log } = this.#c
    const { retentionMs, periodMs } = this.#init
    const live = new Set(livePeriods(this.#now(), retentionMs, periodMs))
    for (const period of live) await replicated.period(period).catch((err: Error) => { log.warn({ err: err.message, period }, 'event log period not opened') })
    for (const period of replicated.openPeriods()) if (!live.has(period)) await this.#drop(periodTag(periodMs, period))
    for (const tag of await state.tags()) {
      const [ms, period] = parseTag(tag)
      if (ms !== periodMs || !live.has(period)) await this.#drop(tag)
    }
    const [oldest] = periodBounds(Math.min(...live), periodMs)
    const events = await this.#c.exclusive(async () => await index.dropEvents(new Date(0).toISOString(), oldest))
    if (events > 0) log.info({ events, before: oldest }, 'events past retention dropped')
    // dated far ahead: only an older version took those in (they are refused now); they would top every query
    const ahead = new Date(this.#now() + EVENT_BOUNDS.futureMs).toISOString()
    const future = await this.#c.exclusive(async () => await index.dropEvents(ahead, '~'))
    if (future > 0) log.warn({ events: future, after: ahead }, 'events dated ahead of the clock dropped')
  }

  /** Drop a period's log, its entry blocks, its OrbitDB state and its index markers (its events go by time). */
  async #drop (tag: string): Promise<void> {
    await this.#c.exclusive(async () => {
      // the entry hashes first: dropping the log clears the entry index that lists them
      const hashes: string[] = []
      for await (const h of this.#c.state.entryHashes(tag)) hashes.push(h)
      const blocks = await this.#c.replicated.drop(tag, hashes)
      await this.#c.state.clear(tag)
      await this.#c.index.dropMarkers(tag)
      this.#c.log.info({ period: tag, blocks }, 'event log period past retention dropped')
    })
  }
}
