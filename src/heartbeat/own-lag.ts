/**
 * How late this process's own timers run, lately. A node starved of CPU (a
 * host running more than it can, a long GC) reads its peers late; what looks
 * like a dead connection is then its own slowness. Cutting connections on
 * that evidence makes every peer redial and handshake, which costs the CPU
 * that was short: on two cores, 20 nodes stayed saturated for minutes, with
 * about 30 connections opened and reset a second. The same idea as
 * Lifeguard's local health awareness in memberlist: a node judges others
 * less harshly while it knows itself to be slow.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

export interface OwnLagInit {
  /** at least this late, ms, within the last window: slow @default 250 */
  slowMs?: number
  /** how long a late timer counts, ms (between one and two windows) @default 5000 */
  windowMs?: number
}

/**
 * the sampling timer's period: the histogram holds each period's length, so this much of every value is
 * not lag. Each sample wakes the process: 10 a second is cheap, and fine enough for a 250 ms bound
 */
const RESOLUTION_MS = 100

export class OwnLag {
  readonly #slowMs: number
  readonly #windowMs: number
  #histogram?: IntervalHistogram
  #timer?: NodeJS.Timeout
  /** the worst lag of the window before the current one, ms */
  #previousMs = 0

  constructor (init: OwnLagInit = {}) {
    this.#slowMs = init.slowMs ?? 250
    this.#windowMs = init.windowMs ?? 5000
  }

  start (): void {
    if (this.#histogram !== undefined) return
    this.#histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
    this.#histogram.enable()
    this.#timer = setInterval(() => { this.#previousMs = this.#currentMs(); this.#histogram?.reset() }, this.#windowMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#histogram?.disable()
    this.#histogram = this.#timer = undefined
    this.#previousMs = 0
  }

  /** the worst lag seen in the last one to two windows, ms (0 before start) */
  recentMs (): number { return Math.max(this.#previousMs, this.#currentMs()) }

  /** this process ran its timers at least `slowMs` late lately */
  slow (): boolean { return this.recentMs() >= this.#slowMs }

  #currentMs (): number {
    const h = this.#histogram
    // an empty histogram reads its max as 0 (and min as a huge number)
    return h === undefined || h.count === 0 ? 0 : Math.max(0, h.max / 1e6 - RESOLUTION_MS)
  }
}
