/**
 * Warnings that can come in floods (refusals of bad clients, stalls of this
 * process), at most one per kind per interval (and one at least twice as
 * large as any of it): a flood of them must not become a flood of log lines.
 * The lines held back are counted into the next one (`heldBack`).
 */
import type { Logger } from 'pino'

export class LogThrottle {
  readonly #last = new Map<string, { at: number, held: number, size: number }>()
  readonly #log: Logger
  readonly #everyMs: number

  /** keys are a fixed set of reasons, never client data (the map must stay small) */
  constructor (log: Logger, everyMs = 10_000) {
    this.#log = log
    this.#everyMs = everyMs
  }

  /**
   * `size` (a stall's length, say): a line at least twice the size of the largest of the interval
   * goes through anyway, so a flood of small ones cannot hide a large one (at most a handful more
   * lines an interval: each such one doubles the bar).
   */
  warn (key: string, fields: Record<string, unknown>, msg: string, size = 0): void {
    const now = performance.now()
    const last = this.#last.get(key)
    const within = last !== undefined && now - last.at < this.#everyMs
    if (within && !(size > 0 && size >= 2 * last.size)) { last.held++; last.size = Math.max(last.size, size); return }
    this.#log.warn({ ...fields, heldBack: last?.held ?? 0 }, msg)
    this.#last.set(key, { at: within ? last.at : now, held: 0, size: within ? Math.max(last.size, size) : size })
  }
}
