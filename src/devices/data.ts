/**
 * Helpers over a device's data (plain JSON values, replaced and never mutated
 * once held): equality, the hash a light re-announcement carries, the encoded
 * size bound, and a compact form for the copies peers receive.
 */
import { LIMITS, type DeviceData } from './types.js'

export const emptyData = (): DeviceData => ({ project: '', gpus: [], models: [], memoryTotal: null, metrics: {}, status: null, message: '', info: {} })

/** Deep equality of two devices' data (plain JSON values), without encoding either. */
export function sameData (a: DeviceData, b: DeviceData): boolean {
  return same(a, b)
}

function same (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  for (const k of ka) if (!same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false
  return true
}

const hashes = new WeakMap<DeviceData, number>()

/** FNV-1a of the data's JSON, once per data object: a re-announcement without data carries it, so a peer holding other data asks for it. */
export function dataHash (data: DeviceData): number {
  let h = hashes.get(data)
  if (h !== undefined) return h
  // a canonical form: the same data hashes the same whatever order its keys were built in
  const sorted = (m: Record<string, unknown>): unknown[] => Object.entries(m).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  const text = JSON.stringify([data.project, data.gpus.map(g => [g.index, g.name, g.utilizationRatio, g.memoryUsedBytes, g.memoryTotalBytes]),
    data.models, data.memoryTotal, sorted(data.metrics), data.status, data.message, sorted(data.info)])
  h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  h >>>= 0
  hashes.set(data, h)
  return h
}

/** Whether a device's data is within the encoded-size bound (checked where data is built). */
export const fitsWire = (data: DeviceData): boolean => Buffer.byteLength(JSON.stringify(data)) <= LIMITS.dataBytes

const EMPTY_LIST = Object.freeze([]) as unknown as never[]
const EMPTY_MAP = Object.freeze({}) as Record<string, never>
/** short strings many devices repeat (projects, model and GPU names), kept once; bounded */
const interned = new Map<string, string>()
const INTERN_MAX = 4096

function intern (text: string): string {
  if (text.length > 64) return text
  const held = interned.get(text)
  if (held !== undefined) return held
  if (interned.size < INTERN_MAX) interned.set(text, text)
  return text
}

/**
 * Data as a peer received it (a fresh parse per message), with its repeated parts shared:
 * empty lists and maps, and the short strings a fleet repeats. A 10k-device table held
 * some 60k objects and as many strings of its own otherwise.
 */
export function compactData (d: DeviceData): DeviceData {
  const info: Record<string, string> = {}
  for (const k in d.info) info[intern(k)] = intern(d.info[k] as string)
  return {
    project: intern(d.project),
    gpus: d.gpus.length === 0 ? EMPTY_LIST : d.gpus.map(g => ({ ...g, index: intern(g.index), name: intern(g.name) })),
    models: d.models.length === 0 ? EMPTY_LIST : d.models.map(intern),
    memoryTotal: d.memoryTotal,
    metrics: Object.keys(d.metrics).length === 0 ? EMPTY_MAP : d.metrics,
    status: d.status,
    message: d.message,
    info: Object.keys(info).length === 0 ? EMPTY_MAP : info
  }
}
