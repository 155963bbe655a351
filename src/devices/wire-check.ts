/**
 * The announcement schema checked by hand: a full re-announcement carries
 * thousands of entries, and zod took ~100 us of each (3,300 devices: 300-400 ms
 * per message round, measured here), where this takes a few. It only ever
 * accepts what `announcementSchema` accepts (test/devices/wire.test.ts compares
 * the two on valid and mutated messages); anything else goes to zod, which
 * gives the verdict and names the field.
 */
import { DEVICE_ID, LIMITS, METRIC_NAME } from './types.js'

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const isTime = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
const isText = (x: unknown, max: number): boolean => typeof x === 'string' && x.length <= max
const isBytes = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= LIMITS.maxBytes
const isRatio = (x: unknown): boolean => typeof x === 'number' && x >= 0 && x <= 1
const orNull = (x: unknown, check: (x: unknown) => boolean): boolean => x === null || check(x)

/** `o` has every key of `keys`, plus `extra` (each counted once) and no other */
function only (o: Record<string, unknown>, keys: readonly string[], extra: readonly string[] = []): boolean {
  let n = 0
  for (const k in o) { if (!keys.includes(k) && !extra.includes(k)) return false; n++ }
  return n === keys.length + extra.length
}

const MESSAGE_KEYS = ['v', 'boot', 'seq', 'ts', 'name', 'full', 'd'] as const
const ENTRY_KEYS = ['id', 'st', 'kind', 'since', 'at', 'chg', 'seen', 'iv', 'why'] as const
const DATA_KEYS = ['project', 'gpus', 'models', 'memoryTotal', 'metrics', 'status', 'message', 'info'] as const
const GPU_KEYS = ['index', 'name', 'utilizationRatio', 'memoryUsedBytes', 'memoryTotalBytes'] as const

export function checkAnnouncement (json: unknown, version: number, maxEntries: number, maxWant: number): boolean {
  if (!isObj(json) || !only(json, MESSAGE_KEYS, json.want === undefined ? [] : ['want']) || json.v !== version) return false
  if (json.want !== undefined && !(Array.isArray(json.want) && json.want.length <= maxWant && json.want.every(id => typeof id === 'string' && DEVICE_ID.test(id)))) return false
  if (!isTime(json.boot) || !isTime(json.seq) || !isTime(json.ts) || typeof json.full !== 'boolean') return false
  if (typeof json.name !== 'string' || json.name.length < 1 || json.name.length > 128) return false
  const d = json.d
  if (!Array.isArray(d) || d.length > maxEntries) return false
  for (const e of d) if (!checkEntry(e)) return false
  return true
}

function checkEntry (e: unknown): boolean {
  if (!isObj(e) || !only(e, ENTRY_KEYS, [e.data === undefined ? 'h' : 'data'])) return false
  if (typeof e.id !== 'string' || !DEVICE_ID.test(e.id)) return false
  if ((e.st !== 'up' && e.st !== 'down') || (e.kind !== 'websocket' && e.kind !== 'push')) return false
  if (!isTime(e.since) || !isTime(e.at) || !isTime(e.chg) || !isTime(e.seen)) return false
  if (e.iv !== null && !(typeof e.iv === 'number' && Number.isInteger(e.iv) && e.iv >= LIMITS.minIntervalMs && e.iv <= LIMITS.maxIntervalMs)) return false
  if (e.why !== null && e.why !== 'closed' && e.why !== 'idle' && e.why !== 'silent') return false
  if (e.data === undefined) return typeof e.h === 'number' && Number.isInteger(e.h) && e.h >= 0 && e.h <= 0xffffffff
  return checkData(e.data)
}

function checkData (d: unknown): boolean {
  if (!isObj(d) || !only(d, DATA_KEYS)) return false
  if (!isText(d.project, LIMITS.textLength) || !isText(d.message, LIMITS.messageLength) || !orNull(d.memoryTotal, isBytes)) return false
  if (d.status !== null && d.status !== 'ok' && d.status !== 'warning' && d.status !== 'critical') return false
  if (!Array.isArray(d.models) || d.models.length > LIMITS.models || !d.models.every(m => isText(m, LIMITS.textLength))) return false
  if (!Array.isArray(d.gpus) || d.gpus.length > LIMITS.gpus) return false
  for (const g of d.gpus) {
    if (!isObj(g) || !only(g, GPU_KEYS) || !isText(g.index, 16) || !isText(g.name, LIMITS.textLength)) return false
    if (!orNull(g.utilizationRatio, isRatio) || !orNull(g.memoryUsedBytes, isBytes) || !orNull(g.memoryTotalBytes, isBytes)) return false
  }
  if (!isObj(d.metrics) || !isObj(d.info)) return false
  let n = 0
  for (const k in d.metrics) {
    const v = d.metrics[k]
    if (++n > LIMITS.metrics || !METRIC_NAME.test(k) || typeof v !== 'number' || !Number.isFinite(v)) return false
  }
  n = 0
  for (const k in d.info) if (++n > LIMITS.info || k.length > 64 || !isText(d.info[k], LIMITS.textLength)) return false
  return true
}
