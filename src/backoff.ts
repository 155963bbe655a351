/**
 * Exponential backoff, the one formula for every retry loop: `initialMs`,
 * doubling with each attempt, never above `maxMs`; `jitter` spreads it by up
 * to that fraction either way, so peers that failed together do not retry in
 * step.
 */
export interface BackoffInit {
  initialMs: number
  maxMs: number
  /** 0.2 = a random factor in [0.8, 1.2) @default 0 */
  jitter?: number
}

/** The wait before retry number `attempt` (0 for the first retry). */
export function backoffDelay (attempt: number, { initialMs, maxMs, jitter = 0 }: BackoffInit): number {
  const ms = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt))
  return jitter === 0 ? ms : ms * (1 - jitter + Math.random() * 2 * jitter)
}
