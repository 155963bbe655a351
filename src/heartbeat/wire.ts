/**
 * The heartbeat wire format on gossipsub topic `meshmon/heartbeat/1` (SPEC 3).
 *
 * JSON, validated by one zod schema (light beats by hand first, see
 * lightBeat). A light beat (liveness + digest, ~200 B)
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

/** bounds of the light beat's fields, shared by the schema and the hand check (lightBeat) */
const NAME_MAX = 128
const AGENT_MAX = 64
const IV_MIN_MS = 50
const IV_MAX_MS = 3_600_000
const RELAY_MAX = 4096

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
  name: str(NAME_MAX).min(1),
  expect: z.enum(['always-on', 'intermittent']),
  /** heartbeat interval in ms: receivers time this sender by it */
  iv: z.number().int().min(IV_MIN_MS).max(IV_MAX_MS),
  agent: str(AGENT_MAX),
  /** when this sender last heard each peer: digestKey -> ms ago */
  seen: z.record(str(DIGEST_KEY_LENGTH), nonNeg),
  /**
   * the keys of `seen` this beat was not published to directly: relays forward it to those
   * peers only (a peer in `seen` and not here had it from the sender). Absent: relay to all.
   */
  relay: z.array(str(DIGEST_KEY_LENGTH)).max(RELAY_MAX).optional(),
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

const LIGHT_KEYS = new Set(['v', 'k', 'boot', 'seq', 'ts', 'name', 'expect', 'iv', 'agent', 'seen', 'relay'])
const isNonNeg = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0
const isStr = (x: unknown, max: number): x is string => typeof x === 'string' && x.length <= max
const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)

/**
 * The light beat (no `full`), checked by hand: most messages are light, and
 * zod took ~0.2 ms of each (4 of ~40 ms CPU per node per second at 20 nodes,
 * profiled). It only ever accepts what `heartbeatSchema` accepts
 * (test/heartbeat/wire.test.ts compares the two on valid and mutated beats);
 * anything else, full beats included, goes to zod, which gives the verdict and
 * the error.
 */
export function lightBeat (json: unknown): Heartbeat | undefined {
  if (!isPlainObject(json)) return undefined
  for (const key in json) if (!LIGHT_KEYS.has(key)) return undefined
  const b = json
  if (b.v !== PROTOCOL_VERSION || (b.k !== 'hb' && b.k !== 'bye')) return undefined
  if (!isNonNeg(b.boot) || !isNonNeg(b.ts) || !isNonNeg(b.seq) || !Number.isInteger(b.seq)) return undefined
  if (!isStr(b.name, NAME_MAX) || b.name.length < 1 || (b.expect !== 'always-on' && b.expect !== 'intermittent')) return undefined
  if (typeof b.iv !== 'number' || !Number.isInteger(b.iv) || b.iv < IV_MIN_MS || b.iv > IV_MAX_MS || !isStr(b.agent, AGENT_MAX)) return undefined
  if (!isPlainObject(b.seen)) return undefined
  for (const key in b.seen) if (key.length > DIGEST_KEY_LENGTH || !isNonNeg(b.seen[key])) return undefined
  if (b.relay !== undefined) {
    if (!Array.isArray(b.relay) || b.relay.length > RELAY_MAX) return undefined
    for (const key of b.relay) if (!isStr(key, DIGEST_KEY_LENGTH)) return undefined
  }
  return b as Heartbeat
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
  const light = lightBeat(json)
  if (light !== undefined) return { ok: true, beat: light }
  const parsed = heartbeatSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { ok: false, reason: 'schema', detail: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` }
  }
  return { ok: true, beat: parsed.data }
}
