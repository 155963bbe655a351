/**
 * Warnings that can come in floods (refusals of bad clients, stalls of this
 * process), at most one per kind per interval: a flood of them must not
 * become a flood of log lines. The lines held back are counted into the next
 * one (`heldBack`).
 */
import type { Logger } from 'pino'

export class LogThrottle {
  readonly #last = new Map<string, { at: number, held: number }>()
  readonly #log: Logger
  readonly #everyMs: number

  /** keys are a fixed set of reasons, never client data (the map must stay small) */
  constructor (log: Logger, everyMs = 10_000) {
    this.#log = log
    this.#everyMs = everyMs
  }

  warn (key: string, fields: Record<string, unknown>, msg: string): void {
    const now = performance.now()
    const last = this.#last.get(key)
    if (last !== undefined && now - last.at < this.#everyMs) { last.held++; return }
    this.#log.warn({ ...fields, heldBack: last?.held ?? 0 }, msg)
    this.#last.set(key, { at: now, held: 0 })
  }
}
