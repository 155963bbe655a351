/**
 * The heartbeat wire format on gossipsub topic `meshmon/heartbeat/1` (SPEC 3).
 *
 * JSON, validated by one zod schema. A light beat (liveness + digest, ~200 B)
 * goes every interval; the bulky parts (machine info, labels, addrs, checks)
 * ride along only in a "full" beat, sent every machineInterval, when a check
 * changes, and when a new peer appears (STACK-NOTES: keep liveness tiny).
 * The sender is the gossipsub signer (StrictSign), never a payload field.
 */
import { z } from 'zod'
import type { CheckState } from '../checks/types.js'
import type { MachineInfo } from '../machine/types.js'

export const TOPIC = 'meshmon/heartbeat/1'
export const PROTOCOL_VERSION = 1
export const MAX_MESSAGE_BYTES = 64 * 1024
/** digest keys are peer id suffixes: 10 base58 chars, collision odds ~1e-17 per pair */
export const DIGEST_KEY_LENGTH = 10
export const digestKey = (peerId: string): string => peerId.slice(-DIGEST_KEY_LENGTH)

const finite = z.number().finite()
const nonNeg = finite.nonnegative()
const str = (max: number) => z.string().max(max)

const machineSchema = z.object({
  hostname: str(256),
  os: str(256),
  uptimeSeconds: nonNeg,
  cpu: z.object({ model: str(256), cores: nonNeg, usageRatio: nonNeg }),
  load: z.tuple([nonNeg, nonNeg, nonNeg]),
  memory: z.object({ totalBytes: nonNeg, availableBytes: nonNeg, swapTotalBytes: nonNeg, swapFreeBytes: nonNeg }),
  filesystems: z.array(z.object({ mountpoint: str(512), device: str(512), type: str(64), sizeBytes: nonNeg, availBytes: nonNeg })).max(64),
  network: z.array(z.object({ device: str(64), rxBytes: nonNeg, txBytes: nonNeg })).max(64),
  processes: nonNeg,
  temperatures: z.array(z.object({ sensor: str(128), celsius: finite })).max(64),
  gpus: z.array(z.object({ index: str(16), name: str(256), utilizationRatio: nonNeg, memoryTotalBytes: nonNeg, memoryUsedBytes: nonNeg })).max(32)
}) satisfies z.ZodType<MachineInfo>

const checkSchema = z.object({
  name: str(64),
  type: str(32),
  status: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
  output: str(1024),
  perfdata: str(1024),
  durationSeconds: nonNeg,
  lastRun: nonNeg,
  since: nonNeg
}) satisfies z.ZodType<CheckState>

export const heartbeatSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  /** 'hb' heartbeat, 'bye' graceful leave */
  k: z.enum(['hb', 'bye']),
  /** process start (unix ms) and a counter: (boot, seq) only ever grows per sender */
  boot: nonNeg,
  seq: z.number().int().nonnegative(),
  ts: nonNeg,
  name: str(128).min(1),
  expect: z.enum(['always-on', 'intermittent']),
  /** heartbeat interval in ms: receivers time this sender by it */
  iv: z.number().int().min(50).max(3_600_000),
  agent: str(64),
  /** when this sender last heard each peer: digestKey -> ms ago */
  seen: z.record(str(DIGEST_KEY_LENGTH), nonNeg),
  /**
   * the keys of `seen` this beat was not published to directly: relays forward it to those
   * peers only (a peer in `seen` and not here had it from the sender). Absent: relay to all.
   */
  relay: z.array(str(DIGEST_KEY_LENGTH)).max(4096).optional(),
  full: z.object({
    labels: z.record(str(128), str(512)),
    addrs: z.array(str(256)).max(32),
    machine: machineSchema.nullable(),
    checks: z.array(checkSchema).max(256)
  }).optional()
}).strict()

export type Heartbeat = z.infer<typeof heartbeatSchema>

export type InvalidReason = 'too_large' | 'decode' | 'schema' | 'replay'

export type Decoded = { ok: true, beat: Heartbeat } | { ok: false, reason: InvalidReason, detail: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeHeartbeat (beat: Heartbeat): Uint8Array {
  return encoder.encode(JSON.stringify(beat))
}

/** Decode and validate; never throws. Replay is judged by the peer table, which knows the last (boot, seq). */
export function decodeHeartbeat (data: Uint8Array): Decoded {
  if (data.byteLength > MAX_MESSAGE_BYTES) return { ok: false, reason: 'too_large', detail: `${data.byteLength} bytes > ${MAX_MESSAGE_BYTES}` }
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(data))
  } catch (err: any) {
    return { ok: false, reason: 'decode', detail: String(err.message) }
  }
  const parsed = heartbeatSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { ok: false, reason: 'schema', detail: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` }
  }
  return { ok: true, beat: parsed.data }
}
