/**
 * HTTP push for the smallest clients (an ESP32 board): one request,
 * `POST /api/v1/push/DEVICE` (or `GET`), optional JSON body
 * `{ "status": "ok|warning|critical", "message": "...", "metrics": { "name": number } }`,
 * `?interval=60s` (else the device's declared interval, else 60 s). No push
 * within 2 x interval: down. Fields a push leaves out keep their last value.
 */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { formatDuration, parseDuration } from '../config/duration.js'
import { UNAUTHORIZED, type IngestAuth } from './auth.js'
import { describe } from './protocol.js'
import { DEFAULT_INTERVAL_MS, type DeviceTable } from './table.js'
import type { LogThrottle } from '../log-throttle.js'
import { DEVICE_ID, DEVICE_ID_RULE, LIMITS, METRIC_NAME, METRIC_NAME_RULE, type DeviceData, type DeviceStatus, type IngestCounters } from './types.js'
import { emptyData, fitsWire } from './data.js'

export const PUSH_PATH = '/api/v1/push/:device'
const PARAMS = ['interval', 'token']

export interface PushComponents { table: DeviceTable, auth: IngestAuth, throttle: LogThrottle, counters: IngestCounters }

/** What a push body may say; absent fields keep what the device said before. */
interface PushBody { status?: DeviceStatus, message?: string, metrics?: Record<string, number>, project?: string }

class PushError extends Error {
  override name = 'PushError'
  constructor (readonly status: 400 | 401 | 413 | 503, message: string) { super(message) }
}

export function pushRoutes (c: PushComponents): Hono {
  const app = new Hono()
  const limit = bodyLimit({
    maxSize: LIMITS.frameBytes,
    onError: ctx => { c.counters.errors.too_large++; return ctx.json({ error: `push body is over the ${LIMITS.frameBytes}-byte limit` }, 413) }
  })
  app.on(['GET', 'POST'], PUSH_PATH, limit, async ctx => {
    try {
      const id = ctx.req.param('device')
      const params = new URL(ctx.req.url).searchParams
      if (!c.auth.allows(ctx.req.header('authorization'), params.get('token'))) {
        c.counters.refused.unauthorized++
        c.throttle.warn('push-unauthorized', { device: DEVICE_ID.test(id) ? id : '(bad id)' }, 'device push refused: no or wrong ingest token')
        ctx.header('WWW-Authenticate', 'Bearer')
        throw new PushError(401, UNAUTHORIZED)
      }
      if (!DEVICE_ID.test(id)) throw new PushError(400, `${JSON.stringify(id.slice(0, 64))} is not a device id: use ${DEVICE_ID_RULE}`)
      for (const key of params.keys()) if (!PARAMS.includes(key)) throw new PushError(400, `unknown parameter '${key}'; use ${PARAMS.join(', ')}`)
      const intervalMs = interval(params.get('interval')) ?? c.table.declaredOf(id)?.intervalMs ?? DEFAULT_INTERVAL_MS
      const body = readBody(ctx.req.method === 'POST' ? await ctx.req.text() : '')
      const before = c.table.local.get(id)?.data ?? emptyData()
      const data: DeviceData = {
        ...before,
        project: body.project ?? (before.project !== '' ? before.project : c.table.declaredOf(id)?.project ?? ''),
        status: body.status ?? before.status,
        message: body.message ?? before.message,
        metrics: body.metrics ?? before.metrics
      }
      if (!fitsWire(data)) throw new PushError(413, `the device's data is over ${LIMITS.dataBytes} bytes once encoded; send fewer metrics or a shorter message`)
      const r = c.table.push(id, intervalMs, data)
      if ('refused' in r) {
        c.counters.refused.too_many_devices++
        c.throttle.warn('push-max-devices', { device: id }, 'device push refused: this peer holds ingest.maxDevices devices')
        throw new PushError(503, `this peer holds ${c.table.size} devices, the most it may (ingest.maxDevices); none has ended that could make room`)
      }
      return ctx.json({ device: id, state: r.state, interval: formatDuration(intervalMs), deadline: new Date(Date.now() + 2 * intervalMs).toISOString() })
    } catch (err) {
      if (!(err instanceof PushError)) throw err
      if (err.status === 400) c.counters.errors.bad_request++
      if (err.status === 413) c.counters.errors.too_large++
      return ctx.json({ error: err.message }, err.status)
    }
  })
  return app
}

function interval (text: string | null): number | undefined {
  if (text === null) return undefined
  const ms = parseDuration(text)
  if (ms === undefined || ms < LIMITS.minIntervalMs || ms > LIMITS.maxIntervalMs) {
    throw new PushError(400, `interval must be a duration from ${formatDuration(LIMITS.minIntervalMs)} to ${formatDuration(LIMITS.maxIntervalMs)} like 30s or 5m, not '${text.slice(0, 32)}'`)
  }
  return ms
}

function readBody (text: string): PushBody {
  if (text.trim() === '') return {}
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err: any) {
    throw new PushError(400, `body is not JSON: ${String(err.message)}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new PushError(400, `body must be a JSON object like {"status":"ok"}, not ${describe(json)}`)
  const b = json as Record<string, unknown>
  const out: PushBody = {}
  if (b.status !== undefined) {
    if (b.status !== 'ok' && b.status !== 'warning' && b.status !== 'critical') throw new PushError(400, `status must be ok, warning or critical, not ${describe(b.status)}`)
    out.status = b.status
  }
  for (const [key, max] of [['message', LIMITS.messageLength], ['project', LIMITS.textLength]] as const) {
    const v = b[key]
    if (v === undefined) continue
    if (typeof v !== 'string' || v.length > max) throw new PushError(400, `${key} must be a string of at most ${max} characters, not ${describe(v)}`)
    out[key] = v
  }
  if (b.metrics !== undefined) out.metrics = metrics(b.metrics)
  return out
}

function metrics (v: unknown): Record<string, number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PushError(400, `metrics must be an object of name: number, not ${describe(v)}`)
  const entries = Object.entries(v)
  if (entries.length > LIMITS.metrics) throw new PushError(400, `metrics has ${entries.length} entries; at most ${LIMITS.metrics}`)
  const out: Record<string, number> = {}
  for (const [name, value] of entries) {
    if (!METRIC_NAME.test(name)) throw new PushError(400, `metric name ${JSON.stringify(name.slice(0, 64))} is not valid: use ${METRIC_NAME_RULE}`)
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new PushError(400, `metrics.${name} must be a number, not ${describe(value)}`)
    out[name] = value
  }
  return out
}
