/** Nagios plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
export const Status = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const
export type StatusCode = 0 | 1 | 2 | 3
/** the names of the status codes, by code: the one table of them */
export const STATUS_NAMES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const
export type StatusName = typeof STATUS_NAMES[number]
export const statusName = (s: StatusCode): StatusName => STATUS_NAMES[s]

/** Longest output and perfdata text a check keeps: what a record may carry of each (src/heartbeat/record.ts). */
export const CHECK_TEXT_MAX = 1024

/** The outcome of one run of a check. */
export interface CheckResult {
  status: StatusCode
  /** first line of output (Nagios) or a sentence saying what was seen */
  output: string
  /** perfdata after `|`, raw text (may be empty) */
  perfdata: string
  /** wall time of the run in seconds */
  durationSeconds: number
}

/** The state of a check as the mesh sees it: travels in the node's record. */
export interface CheckState {
  name: string
  type: string
  /** the status that counts (after flap damping) */
  status: StatusCode
  output: string
  perfdata: string
  durationSeconds: number
  /** unix ms of the last finished run; 0 before the first */
  lastRun: number
  /** unix ms when `status` last changed */
  since: number
}
