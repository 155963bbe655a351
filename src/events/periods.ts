/**
 * One OrbitDB log per mesh and period. The name, and so the address (a hash of
 * the manifest: name, type, access controller), follows from the swarm key and
 * the period alone: every node of a mesh opens the same logs with no config.
 * Retention drops whole periods, which reclaims their storage.
 */
import { createHash } from 'node:crypto'

const SECOND = 1000
const DAY = 86_400_000
/**
 * Period lengths a retention maps onto. Retentions of a week or more (the
 * default 7d, 14d, 30d) all use days, so nodes configured differently still
 * share logs; shorter retentions get about 7-21 periods.
 */
const LADDER = [SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 30 * SECOND, 60 * SECOND, 120 * SECOND, 300 * SECOND, 600 * SECOND,
  1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, DAY]

export function periodFor (retentionMs: number): number {
  if (retentionMs >= 7 * DAY) return DAY
  let best = SECOND
  for (const step of LADDER) if (step <= retentionMs / 7) best = step
  return best
}

/** Mesh id: a one-way hash of the swarm key (the key itself stays secret). */
export function meshId (meshKey: Uint8Array): string {
  return createHash('sha256').update('meshmon/events/v1\n').update(meshKey).digest('hex').slice(0, 32)
}

export const logName = (mesh: string, periodMs: number, period: number): string => `meshmon/events/v1/${mesh}/${periodMs}/${period}`

export const periodOf = (tsMs: number, periodMs: number): number => Math.floor(tsMs / periodMs)

/**
 * Periods that still hold events younger than the retention, oldest first,
 * and the next one: a writer whose clock runs ahead writes there, and its
 * events should not wait for our clock to reach that period to replicate.
 */
export function livePeriods (now: number, retentionMs: number, periodMs: number): number[] {
  const first = periodOf(now - retentionMs, periodMs)
  const last = periodOf(now, periodMs) + 1
  const out: number[] = []
  for (let p = first; p <= last; p++) out.push(p)
  return out
}

/** ISO bounds of a period, for index ranges: [start, end) */
export const periodBounds = (period: number, periodMs: number): [string, string] =>
  [new Date(period * periodMs).toISOString(), new Date((period + 1) * periodMs).toISOString()]
