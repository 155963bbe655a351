/**
 * The WebSocket protocol of the detection service meshmon replaces, frame by
 * frame. A request is a JSON text frame written by Go's encoding/json:
 *   { "version": 0, "timestamp": 1732700000000, "id": 7, "type": 1,
 *     "pub_key": "", "sign": "", "body": "<base64 of the body JSON>" }
 * (`body` is a Go []byte). Every request gets one response with the same
 * version, id and type, a `code` (0 ok) and a `message`, and an empty body.
 * Parsing never throws: a bad frame is an answer that names the problem.
 */
import { LIMITS } from './types.js'

export const TYPE = { ONLINE: 1, MACHINE_INFO: 2 } as const

/** Response codes, HTTP-like so a person reading a log knows them. */
export const CODE = {
  OK: 0,
  /** not JSON, wrong field types, body not base64 or not JSON, a bad field in the body, unknown type */
  BAD_REQUEST: 400,
  /** machine info before online, or a connection that another connection of the same device replaced */
  NOT_ONLINE: 409,
  /** a frame over the size bound */
  TOO_LARGE: 413,
  /** this peer holds ingest.maxDevices devices already */
  DEVICE_LIMIT: 503
} as const

/** A request error: the code and message of its response. */
export class FrameError extends Error {
  override name = 'FrameError'
  constructor (readonly code: number, message: string) { super(message) }
}

/** The header fields a response repeats, as JSON number literals (a Go uint64 id may exceed 2^53). */
export interface Echo { version: string, id: string, type: string }

export interface RequestFrame { echo: Echo, type: number, body: Record<string, unknown> }

export type ParsedFrame = { ok: true, frame: RequestFrame } | { ok: false, echo: Echo, error: FrameError }

const utf8 = new TextDecoder('utf-8', { fatal: true })
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const literal = (raw: string, key: string): string | undefined => new RegExp(`"${key}"\\s*:\\s*(\\d+)`).exec(raw)?.[1]

/** The header as far as it can be read: for answering a frame that fails before it is parsed. */
function echoOf (raw: string, json?: Record<string, unknown>): Echo {
  const pick = (key: string): string => {
    const v = json?.[key]
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v)
    return literal(raw, key) ?? '0'
  }
  return { version: pick('version'), id: pick('id'), type: pick('type') }
}

export function parseFrame (data: Buffer | string): ParsedFrame {
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
  if (bytes > LIMITS.frameBytes) {
    // Go writes the header fields before the body: read them from the head, not the whole frame
    const head = (typeof data === 'string' ? data : data.subarray(0, 512).toString('latin1')).slice(0, 512)
    return { ok: false, echo: echoOf(head), error: new FrameError(CODE.TOO_LARGE, `frame of ${bytes} bytes is over the ${LIMITS.frameBytes}-byte limit`) }
  }
  let raw: string
  let json: unknown
  try {
    raw = typeof data === 'string' ? data : utf8.decode(data)
  } catch {
    return { ok: false, echo: { version: '0', id: '0', type: '0' }, error: new FrameError(CODE.BAD_REQUEST, 'frame is not UTF-8 text') }
  }
  try {
    json = JSON.parse(raw)
  } catch (err: any) {
    return { ok: false, echo: echoOf(raw), error: new FrameError(CODE.BAD_REQUEST, `frame is not JSON: ${String(err.message)}`) }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, echo: echoOf(raw), error: new FrameError(CODE.BAD_REQUEST, 'frame must be a JSON object with version, timestamp, id, type, pub_key, sign and body') }
  }
  const f = json as Record<string, unknown>
  const echo = echoOf(raw, f)
  try {
    return { ok: true, frame: { echo, type: header(f), body: body(f) } }
  } catch (err) {
    return { ok: false, echo, error: err as FrameError }
  }
}

function header (f: Record<string, unknown>): number {
  for (const key of ['version', 'id', 'type', 'timestamp'] as const) {
    const v = f[key]
    if (v === undefined && key !== 'type') continue
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new FrameError(CODE.BAD_REQUEST, `${key} must be a non-negative integer, not ${describe(v)}`)
    }
  }
  for (const key of ['pub_key', 'sign'] as const) {
    if (f[key] !== undefined && f[key] !== null && typeof f[key] !== 'string') throw new FrameError(CODE.BAD_REQUEST, `${key} must be a string, not ${describe(f[key])}`)
  }
  const type = f.type as number
  if (type !== TYPE.ONLINE && type !== TYPE.MACHINE_INFO) {
    throw new FrameError(CODE.BAD_REQUEST, `unknown type ${type}; this server takes ${TYPE.ONLINE} (online) and ${TYPE.MACHINE_INFO} (machine info)`)
  }
  return type
}

function body (f: Record<string, unknown>): Record<string, unknown> {
  const b = f.body
  if (b === undefined || b === null || b === '') throw new FrameError(CODE.BAD_REQUEST, 'body is empty; it must be the base64 of the message JSON (a Go []byte)')
  if (typeof b !== 'string') throw new FrameError(CODE.BAD_REQUEST, `body must be a base64 string (a Go []byte), not ${describe(b)}`)
  if (!BASE64.test(b)) throw new FrameError(CODE.BAD_REQUEST, 'body is not base64 (standard alphabet, padded, as Go encodes []byte)')
  let json: unknown
  try {
    json = JSON.parse(utf8.decode(Buffer.from(b, 'base64')))
  } catch (err: any) {
    throw new FrameError(CODE.BAD_REQUEST, `body is not JSON: ${String(err.message)}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new FrameError(CODE.BAD_REQUEST, `body must be a JSON object, not ${describe(json)}`)
  return json as Record<string, unknown>
}

export function describe (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`
  if (typeof v === 'number') return String(v)
  return typeof v === 'object' ? 'an object' : typeof v
}

/** The response frame: same version, id and type, a code, a message, an empty body. */
export function respond (echo: Echo, code: number, message: string): string {
  return `{"version":${echo.version},"id":${echo.id},"type":${echo.type},"code":${code},"message":${JSON.stringify(message)},"body":""}`
}
