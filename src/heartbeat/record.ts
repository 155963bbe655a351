/**
 * A node's record: everything it says about itself (name, labels, addresses,
 * machine info, check states) and what it sees of the peers it watches
 * (`obs`). Records are versioned by (boot, seq), signed by their origin's
 * libp2p key, and spread by gossip (gossip.ts): any peer may relay a record,
 * none can forge or replay one.
 *
 * Every bound a receiver enforces is defined here (or, for machine info and
 * check text, beside the code that produces them, which this schema imports),
 * and the sender fits its own record to them (fitRecord): a record the mesh
 * would refuse is never sent.
 */
import { z } from 'zod'
import { CHECK_TEXT_MAX, type CheckState } from '../checks/types.js'
import { MACHINE_LIMITS } from '../machine/fit.js'
import type { MachineInfo } from '../machine/types.js'

export const PROTOCOL_VERSION = 2

/** Bounds of a record, shared by the sender (fitRecord), the receiver (recordSchema) and the config schema. */
export const RECORD_LIMITS = {
  bytes: 64 * 1024,
  name: 128,
  agent: 64,
  labels: 64,
  labelName: 128,
  labelValue: 512,
  addrs: 32,
  addr: 256,
  checks: 256,
  checkName: 64,
  /** peers a record reports on: a node watches a few (ring.ts), this leaves room */
  obs: 64,
  intervalMinMs: 50,
  intervalMaxMs: 3_600_000
} as const

/** Prometheus label names; also what the config accepts for `labels`. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
export const isLabelName = (s: string): boolean => LABEL_NAME.test(s) && !s.startsWith('__')

/**
 * What a watcher says of a peer it watches: 0 heard in time, 1 late (suspect), 2 silent past the down
 * bound, 3 not heard yet since it began watching (it may be unable to reach the peer at all: it abstains).
 */
export type ObsLevel = 0 | 1 | 2 | 3
/** [level, boot of the watched peer, last beat sequence number heard] */
export type Obs = [ObsLevel, number, number]

export type Expect = 'always-on' | 'intermittent'

export interface NodeRecord {
  v: typeof PROTOCOL_VERSION
  /**
   * process start (unix ms, never decreasing across restarts) and a counter shared with this node's
   * beats: (boot, seq) only grows, and a record whose seq is past the last beat its watchers heard
   * was made after they found it silent (a sign of life, peer-table.ts)
   */
  boot: number
  seq: number
  /** unix ms when made */
  ts: number
  name: string
  expect: Expect
  /** beat interval in ms: watchers time this node by it */
  iv: number
  agent: string
  /** graceful leave */
  bye?: true
  /**
   * this node reaches no majority of the mesh (cut off, or the small side of a split): nodes back
   * from that side hold their shared MeshPartitioned until it is back too (incidents.ts)
   */
  split?: true
  labels: Record<string, string>
  addrs: string[]
  machine: MachineInfo | null
  checks: CheckState[]
  /** peer id -> what this node sees of it (only peers it watches) */
  obs: Record<string, Obs>
}

const finite = z.number().finite()
const nonNeg = finite.nonnegative()
const str = (max: number) => z.string().max(max)
const L = MACHINE_LIMITS

const machineSchema = z.object({
  hostname: str(L.text),
  os: str(L.text),
  uptimeSeconds: nonNeg,
  cpu: z.object({ model: str(L.text), cores: nonNeg, usageRatio: nonNeg }),
  load: z.tuple([nonNeg, nonNeg, nonNeg]),
  memory: z.object({ totalBytes: nonNeg, availableBytes: nonNeg, swapTotalBytes: nonNeg, swapFreeBytes: nonNeg }),
  filesystems: z.array(z.object({ mountpoint: str(L.path), device: str(L.path), type: str(L.short), sizeBytes: nonNeg, availBytes: nonNeg })).max(L.filesystems),
  network: z.array(z.object({ device: str(L.short), rxBytes: nonNeg, txBytes: nonNeg })).max(L.network),
  processes: nonNeg,
  temperatures: z.array(z.object({ sensor: str(L.sensor), celsius: finite })).max(L.temperatures),
  gpus: z.array(z.object({ index: str(L.gpuIndex), name: str(L.text), utilizationRatio: nonNeg, memoryTotalBytes: nonNeg, memoryUsedBytes: nonNeg })).max(L.gpus)
}).strict() satisfies z.ZodType<MachineInfo>

const R = RECORD_LIMITS
const checkSchema = z.object({
  name: str(R.checkName),
  type: str(32),
  status: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
  output: str(CHECK_TEXT_MAX),
  perfdata: str(CHECK_TEXT_MAX),
  durationSeconds: nonNeg,
  lastRun: nonNeg,
  since: nonNeg
}).strict() satisfies z.ZodType<CheckState>

export const recordSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  boot: nonNeg,
  seq: z.number().int().nonnegative(),
  ts: nonNeg,
  name: str(R.name).min(1),
  expect: z.enum(['always-on', 'intermittent']),
  iv: z.number().int().min(R.intervalMinMs).max(R.intervalMaxMs),
  agent: str(R.agent),
  bye: z.literal(true).optional(),
  split: z.literal(true).optional(),
  labels: z.record(str(R.labelName).refine(isLabelName, 'not a Prometheus label name'), str(R.labelValue))
    .refine(l => Object.keys(l).length <= R.labels, `more than ${R.labels} labels`),
  addrs: z.array(str(R.addr)).max(R.addrs),
  machine: machineSchema.nullable(),
  checks: z.array(checkSchema).max(R.checks),
  obs: z.record(str(64), z.tuple([z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]), nonNeg, nonNeg]))
    .refine(o => Object.keys(o).length <= R.obs, `more than ${R.obs} observations`)
}).strict() satisfies z.ZodType<NodeRecord>

/**
 * Times in a record from a peer may be off by this much from ours before the
 * record is refused: beyond it, the peer's clock is wrong, and its dates would
 * mislead every view (and a date past year 275760 makes rendering throw).
 */
export const CLOCK_SKEW_MS = 5 * 60_000

export type RecordError = { reason: 'schema' | 'clock', detail: string }

/** Validate a decoded record; times are judged against `now` (unix ms). */
export function checkRecord (json: unknown, now: number): { ok: true, record: NodeRecord } | { ok: false, error: RecordError } {
  const parsed = recordSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { ok: false, error: { reason: 'schema', detail: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` } }
  }
  const r = parsed.data
  const latest = now + CLOCK_SKEW_MS
  const late = [['ts', r.ts], ['boot', r.boot], ...r.checks.flatMap(c => [[`check ${c.name} lastRun`, c.lastRun], [`check ${c.name} since`, c.since]])]
    .find(([, t]) => (t as number) > latest)
  if (late !== undefined) return { ok: false, error: { reason: 'clock', detail: `${late[0] as string} is ${Math.round(((late[1] as number) - now) / 1000)} s ahead of this node's clock` } }
  return { ok: true, record: r }
}

const encoder = new TextEncoder()
export const recordBytes = (r: NodeRecord): number => encoder.encode(JSON.stringify(r)).byteLength

/**
 * `r` made to fit RECORD_LIMITS.bytes: perfdata goes first, then check outputs
 * are cut, then machine info's lists, then checks beyond the first ones. Lists
 * and strings are already within their own bounds (the producers fit them).
 */
export function fitRecord (r: NodeRecord): NodeRecord {
  if (recordBytes(r) <= R.bytes) return r
  let fitted: NodeRecord = { ...r, checks: r.checks.map(c => ({ ...c, perfdata: '' })) }
  if (recordBytes(fitted) <= R.bytes) return fitted
  fitted = { ...fitted, checks: fitted.checks.map(c => ({ ...c, output: c.output.length > 128 ? `${c.output.slice(0, 127)}…` : c.output })) }
  if (recordBytes(fitted) <= R.bytes) return fitted
  if (fitted.machine !== null) {
    const m = fitted.machine
    fitted = { ...fitted, machine: { ...m, filesystems: m.filesystems.slice(0, 8), network: m.network.slice(0, 8), temperatures: m.temperatures.slice(0, 8) } }
  }
  while (recordBytes(fitted) > R.bytes && fitted.checks.length > 0) fitted = { ...fitted, checks: fitted.checks.slice(0, Math.floor(fitted.checks.length / 2)) }
  return fitted
}
