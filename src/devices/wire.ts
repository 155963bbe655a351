/**
 * The devices topic `meshmon/devices/1`: a via peer announces the devices
 * connected to it. JSON, signed by gossipsub (StrictSign): the sender is the
 * signer, so a peer speaks only for its own connections. One message:
 *   { v: 1, boot, seq, ts, name, full, d: [entry...], want?: [device id...] }
 * `boot` (process start) and `seq` only grow per sender; `ts` is the sender's
 * clock at sending (receivers move the entries' times onto their own clock
 * with it); `full` marks a part of a periodic re-announcement. An entry
 * carries the device's `data`, or, in most periodic re-announcements, only
 * its hash `h`: a peer that holds other data (or none) lists the device in
 * `want`, and its via sends the entry with its data in its next batch. Every
 * field is bounded; a message over 64 KiB or failing the schema is dropped
 * whole, which can hide only its sender's devices.
 */
import { z } from 'zod'
import type { DeviceEntry, WireEntry } from './sessions.js'
import { DEVICE_ID, LIMITS, METRIC_NAME, type DeviceData } from './types.js'
import { dataHash } from './data.js'
import { checkAnnouncement } from './wire-check.js'

export const DEVICE_TOPIC = 'meshmon/devices/1'
export const WIRE_VERSION = 1
export const MAX_MESSAGE_BYTES = 64 * 1024
/** room for the message's own fields around its entries */
const HEAD_BYTES = 512
/** entries of a message: the smallest entry is over 150 bytes */
const MAX_ENTRIES = Math.floor(MAX_MESSAGE_BYTES / 100)
/** device ids one message may ask for (each id is at most 130 bytes encoded) */
export const MAX_WANT = 400

const text = z.string().max(LIMITS.textLength)
const time = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const bytes = z.number().finite().nonnegative().max(LIMITS.maxBytes)
const ratio = z.number().finite().min(0).max(1)

const dataSchema = z.object({
  project: text,
  gpus: z.array(z.object({
    index: z.string().max(16), name: text, utilizationRatio: ratio.nullable(), memoryUsedBytes: bytes.nullable(), memoryTotalBytes: bytes.nullable()
  }).strict()).max(LIMITS.gpus),
  models: z.array(text).max(LIMITS.models),
  memoryTotal: bytes.nullable(),
  metrics: z.record(z.string().regex(METRIC_NAME), z.number().finite())
    .refine(m => Object.keys(m).length <= LIMITS.metrics, `at most ${LIMITS.metrics} metrics`),
  status: z.enum(['ok', 'warning', 'critical']).nullable(),
  message: z.string().max(LIMITS.messageLength),
  info: z.record(z.string().max(64), text).refine(m => Object.keys(m).length <= LIMITS.info, `at most ${LIMITS.info} info fields`)
}).strict() satisfies z.ZodType<DeviceData>

const entrySchema = z.object({
  id: z.string().regex(DEVICE_ID),
  st: z.enum(['up', 'down']),
  kind: z.enum(['websocket', 'push']),
  since: time,
  at: time,
  chg: time,
  seen: time,
  iv: z.number().int().min(LIMITS.minIntervalMs).max(LIMITS.maxIntervalMs).nullable(),
  why: z.enum(['closed', 'idle', 'silent']).nullable(),
  data: dataSchema.optional(),
  h: z.number().int().nonnegative().max(0xffffffff).optional()
}).strict().refine(e => (e.data === undefined) !== (e.h === undefined), 'an entry carries data or its hash h, one of the two') satisfies z.ZodType<WireEntry>

export const announcementSchema = z.object({
  v: z.literal(WIRE_VERSION),
  boot: time,
  seq: time,
  ts: time,
  name: z.string().min(1).max(128),
  full: z.boolean(),
  d: z.array(entrySchema).max(MAX_ENTRIES),
  want: z.array(z.string().regex(DEVICE_ID)).max(MAX_WANT).optional()
}).strict()

export type Announcement = z.infer<typeof announcementSchema>
export type InvalidReason = 'too_large' | 'decode' | 'schema'
export type Decoded = { ok: true, msg: Announcement } | { ok: false, reason: InvalidReason, detail: string }

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Decode and validate; never throws. */
export function decodeAnnouncement (data: Uint8Array): Decoded {
  if (data.byteLength > MAX_MESSAGE_BYTES) return { ok: false, reason: 'too_large', detail: `${data.byteLength} bytes > ${MAX_MESSAGE_BYTES}` }
  let json: unknown
  try {
    json = JSON.parse(utf8.decode(data))
  } catch (err: any) {
    return { ok: false, reason: 'decode', detail: String(err.message) }
  }
  if (checkAnnouncement(json, WIRE_VERSION, MAX_ENTRIES, MAX_WANT)) return { ok: true, msg: json as Announcement }
  const parsed = announcementSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { ok: false, reason: 'schema', detail: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` }
  }
  return { ok: true, msg: parsed.data }
}

/**
 * Entries as messages of at most 64 KiB each (an entry is at most LIMITS.dataBytes
 * plus its times, see fitsWire); `light` sends each entry's data hash instead of its
 * data. A full announcement with no entries is still one message: it tells the
 * others this sender's boot, and that it has no devices.
 */
export function encodeAnnouncements (head: { boot: number, name: string, full: boolean, light?: boolean }, entries: DeviceEntry[], nextSeq: () => number, now: () => number): Uint8Array[] {
  const parts: string[][] = [[]]
  let size = 0
  for (const e of entries) {
    const json = encodeEntry(e, head.light === true)
    const n = Buffer.byteLength(json) + 1
    if (size + n > MAX_MESSAGE_BYTES - HEAD_BYTES && (parts.at(-1) as string[]).length > 0) { parts.push([]); size = 0 }
    ;(parts.at(-1) as string[]).push(json)
    size += n
  }
  if (!head.full && (parts[0] as string[]).length === 0) return []
  return parts.map(part => message(head, nextSeq(), now(), `[${part.join(',')}]`))
}

/** Ask the vias of these devices for their data (messages of at most MAX_WANT ids). */
export function encodeWants (head: { boot: number, name: string }, ids: string[], nextSeq: () => number, now: () => number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < ids.length; i += MAX_WANT) out.push(message({ ...head, full: false }, nextSeq(), now(), '[]', JSON.stringify(ids.slice(i, i + MAX_WANT))))
  return out
}

function message (head: { boot: number, name: string, full: boolean }, seq: number, ts: number, d: string, want?: string): Uint8Array {
  return Buffer.from(`{"v":${WIRE_VERSION},"boot":${head.boot},"seq":${seq},"ts":${ts},"name":${JSON.stringify(head.name)},"full":${head.full},"d":${d}${want === undefined ? '' : `,"want":${want}`}}`)
}

/** JSON.stringify(e) with its fields in a fixed order, written out (no intermediate object per entry) */
function encodeEntry (e: DeviceEntry, light: boolean): string {
  return `{"id":${JSON.stringify(e.id)},"st":"${e.st}","kind":"${e.kind}","since":${e.since},"at":${e.at},"chg":${e.chg},"seen":${e.seen},"iv":${e.iv},"why":${e.why === null ? 'null' : `"${e.why}"`},${light ? `"h":${dataHash(e.data)}` : `"data":${JSON.stringify(e.data)}`}}`
}
