/** Durations as operators write them: 500ms, 2s, 5m, 1h, 7d. */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/

/**
 * The longest a duration that ends in a timer may be: Node's timers hold at
 * most 2^31-1 ms (~24.8 days) and fire after 1 ms, every ms, when given more.
 */
export const MAX_TIMER_MS = 24 * 86_400_000

/** Milliseconds for a duration string, or undefined when it is not one (or too large to be exact). */
export function parseDuration (text: string): number | undefined {
  const m = DURATION.exec(text.trim())
  if (m == null) return undefined
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS])
  return Number.isSafeInteger(ms) ? ms : undefined
}

/** The shortest exact spelling of a duration, for messages and `--help`. */
export function formatDuration (ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`
}

/** "1h" -> ms; also accepts an ISO timestamp, returning its distance from now. */
export function parseSince (text: string, now = Date.now()): number | undefined {
  const d = parseDuration(text)
  if (d !== undefined) return now - d
  const t = Date.parse(text)
  return Number.isNaN(t) ? undefined : t
}

/** latest time a Date can hold (year 275760): past it toISOString() throws */
const MAX_DATE_MS = 8.64e15

/**
 * A unix-ms time as ISO 8601, or null when there is none (0) or it cannot be
 * written (a peer may send any number: 1e20 made toISOString() throw).
 */
export function isoOrNull (ms: number): string | null {
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_DATE_MS ? new Date(ms).toISOString() : null
}
