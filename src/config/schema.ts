/**
 * The config file (SPEC 2): one zod schema that validates, applies defaults and
 * yields the typed config every module's init is built from. Unknown keys are
 * errors (`.strict()`): a typo must not silently fall back to a default.
 */
import { hostname } from 'node:os'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { isLabelName, RECORD_LIMITS } from '../heartbeat/record.js'
import { formatDuration, MAX_TIMER_MS, parseDuration } from './duration.js'

const DAY = 86_400_000
/**
 * A duration; `max` bounds it: MAX_TIMER_MS (the default) for one that ends in
 * a timer, more for one that is only compared with a time.
 */
const duration = (fallback: string, max: { ms: number, why: string } = { ms: MAX_TIMER_MS, why: 'the longest a timer can wait' }) =>
  z.string({ invalid_type_error: 'must be a duration like 500ms, 2s, 5m, 1h or 7d' })
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text)
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration; write it like 500ms, 2s, 5m, 1h or 7d` })
        return z.NEVER
      }
      if (ms > max.ms) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is too long: at most ${formatDuration(max.ms)} (${max.why})` })
        return z.NEVER
      }
      return ms
    })
/** a duration only compared with a time, never waited for */
const COMPARED = { ms: 3650 * DAY, why: 'ten years' }

const multiaddrText = z.string().superRefine((text, ctx) => {
  try {
    multiaddr(text)
    if (!text.startsWith('/')) throw new Error('not a multiaddr')
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a multiaddr; write it like /ip4/10.0.0.5/tcp/4001 or /dns4/host/tcp/4001` })
  }
})

const hostPort = z.string().superRefine((text, ctx) => {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(text)
  if (m == null || Number(m[2]) > 65535) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not HOST:PORT; write it like 0.0.0.0:9521 or 127.0.0.1:9521` })
  }
})

/** what an HTTP header carries unchanged: visible ASCII, no spaces */
export const apiToken = z.string().min(1, 'must not be empty').max(4096).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it travels in an HTTP header); e.g. `openssl rand -hex 32`')

const R = RECORD_LIMITS
// what the node's record carries of its labels: a config the mesh would refuse is refused here
const labels = z.record(z.string().max(R.labelValue, `must be at most ${R.labelValue} characters (peers refuse longer label values)`)).default({}).superRefine((obj, ctx) => {
  if (Object.keys(obj).length > R.labels) ctx.addIssue({ code: 'custom', message: `has more than ${R.labels} labels; peers refuse more` })
  for (const key of Object.keys(obj)) {
    if (!isLabelName(key) || key.length > R.labelName) {
      ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" is not a Prometheus label name; use letters, digits and _` })
    }
  }
})

// messages never echo a URL: it may hold a password
const alertmanagerUrl = z.string().superRefine((text, ctx) => {
  let url: URL | undefined
  try { url = new URL(text) } catch {}
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    ctx.addIssue({ code: 'custom', message: 'is not an http:// or https:// URL; write it like http://alertmanager:9093' })
  }
})
const file = z.string().min(1)
const alertmanagerSchema = z.object({
  urls: z.array(alertmanagerUrl).default([]),
  resendInterval: duration('30s'),
  /** HTTP basic auth for every URL (a URL's own user:password@ is used for that URL instead) */
  basicAuth: z.object({ username: z.string().min(1), password: z.string().min(1).optional(), passwordFile: file.optional() }).strict()
    .refine(b => (b.password === undefined) !== (b.passwordFile === undefined), { message: 'give password or passwordFile (one of the two)' }).optional(),
  /** a file holding a bearer token sent to every URL */
  bearerTokenFile: file.optional(),
  /** https:// URLs: the CA that signed Alertmanager's certificate, and a client certificate (mTLS) */
  tls: z.object({ caFile: file.optional(), certFile: file.optional(), keyFile: file.optional() }).strict()
    .refine(t => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'certFile and keyFile go together (the client certificate and its key)' }).optional()
}).strict().default({}).superRefine((am, ctx) => {
  if (am.basicAuth !== undefined && am.bearerTokenFile !== undefined) ctx.addIssue({ code: 'custom', path: ['bearerTokenFile'], message: 'set basicAuth or bearerTokenFile, not both' })
  am.urls.forEach((u, i) => {
    const withUser = URL.canParse(u) && new URL(u).username !== ''
    if (withUser && (am.basicAuth !== undefined || am.bearerTokenFile !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['urls', i], message: 'carries user:password@ and basicAuth or bearerTokenFile is set too; use one' })
    }
  })
})

const checkName = z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or -')
const percent = z.number().min(0).max(100)
const checkCommon = {
  name: checkName,
  interval: duration('30s'),
  timeout: duration('10s'),
  /** runs a new status must persist before it counts (flap damping) */
  confirmRuns: z.number().int().min(1).max(100).default(1)
}

export const checkSchema = z.discriminatedUnion('type', [
  z.object({ ...checkCommon, type: z.literal('exec'), command: z.array(z.string()).min(1, 'needs the program and its arguments, e.g. [/usr/lib/nagios/plugins/check_load, -w, 4, -c, 8]') }).strict(),
  z.object({
    ...checkCommon,
    type: z.literal('http'),
    url: z.string().url(),
    expectStatus: z.number().int().min(100).max(599).default(200),
    bodyMatch: z.string().optional(),
    /** a response slower than this is WARNING */
    warnLatency: duration('5s', COMPARED).optional(),
    /** days of TLS certificate validity left below which the check warns / fails */
    certWarnDays: z.number().int().min(0).default(14),
    certCritDays: z.number().int().min(0).default(3)
  }).strict(),
  z.object({ ...checkCommon, type: z.literal('tcp'), host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict(),
  z.object({ ...checkCommon, type: z.literal('file-age'), path: z.string().min(1), warnAge: duration('5m', COMPARED).optional(), critAge: duration('15m', COMPARED) }).strict(),
  z.object({ ...checkCommon, type: z.literal('disk'), path: z.string().default('/'), warning: percent.default(80), critical: percent.default(90) }).strict(),
  z.object({ ...checkCommon, type: z.literal('memory'), warning: percent.default(10), critical: percent.default(5) }).strict(),
  z.object({ ...checkCommon, type: z.literal('load'), warning: z.number().positive(), critical: z.number().positive() }).strict()
], { errorMap: (issue, ctx) => issue.code === 'invalid_union_discriminator' ? { message: 'type must be one of exec, http, tcp, file-age, disk, memory, load' } : { message: ctx.defaultError } })

export const configSchema = z.object({
  name: z.string().trim().min(1, 'must not be empty; give the node a name, e.g. --name gpu-01').max(R.name).default(hostname()),
  dataDir: z.string().min(1).default('./data'),
  swarmKey: z.string({ required_error: 'is required: create one with `meshmon swarm-key generate --out swarm-key/swarm.key` and pass --swarm-key FILE' }).min(1),
  listen: z.array(multiaddrText).min(1).default(['/ip4/0.0.0.0/tcp/4001']),
  bootstrap: z.array(multiaddrText).default([]),
  api: z.object({
    /** closed unless opened: a wildcard address shows the mesh to whoever reaches the port */
    listen: hostPort.default('127.0.0.1:9521'),
    /** guards /api/* (and /metrics with protectMetrics); one of token and tokenFile */
    token: apiToken.nullable().default(null),
    /** a file holding the token (read at start, surrounding whitespace ignored) */
    tokenFile: z.string().min(1).nullable().default(null),
    /** the token guards /metrics too; off, so a Prometheus without credentials keeps scraping */
    protectMetrics: z.boolean().default(false),
    /** Host header names the API answers besides its own (DNS rebinding guard); `*.example.lan` matches subdomains, `*` any */
    allowedHosts: z.array(z.string().trim().min(1).max(253)).default([])
  }).strict().default({}).superRefine((api, ctx) => {
    if (api.token !== null && api.tokenFile !== null) ctx.addIssue({ code: 'custom', path: ['tokenFile'], message: 'set api.token or api.tokenFile, not both' })
  }),
  heartbeat: z.object({
    interval: duration('1s', { ms: R.intervalMaxMs, why: 'peers refuse records announcing a longer interval' })
      .refine(ms => ms >= R.intervalMinMs, `must be at least ${R.intervalMinMs}ms (peers refuse records announcing a shorter interval)`),
    /** intervals of silence before a peer is `suspect` */
    suspectAfter: z.number().positive().default(1.5),
    /** intervals of silence (seen by nobody) before a peer is `down` */
    downAfter: z.number().positive().default(2),
    /** how often the bulky machine info is sent (also sent at once when checks change) */
    machineInterval: duration('10s'),
    /** a `down`/`left` peer not heard of for this long is forgotten */
    forgetAfter: duration('1h', COMPARED),
    /** a down peer's incident (event, alert) ends only once it has been back up this long: a flapping link is one incident */
    recoverAfter: duration('5s')
  }).strict().default({}).superRefine((hb, ctx) => {
    if (hb.downAfter < hb.suspectAfter) ctx.addIssue({ code: 'custom', path: ['downAfter'], message: `must be >= suspectAfter (${hb.suspectAfter})` })
  }),
  peers: z.object({
    /** only these peer ids may join (a list); none: any holder of the swarm key */
    allow: z.array(z.string().min(1).max(64)).nullable().default(null),
    /** a file of peer ids that may join, one per line (# comments); with allow, both count */
    allowFile: z.string().min(1).nullable().default(null),
    /** most peers a node keeps (records from further new peers are refused until some are forgotten) */
    max: z.number().int().min(2).max(100_000).default(5000),
    /** most peers new to a node in a minute (the rest are admitted later, when they come again) */
    maxNewPerMinute: z.number().int().min(1).max(100_000).default(1000)
  }).strict().default({}),
  expect: z.enum(['always-on', 'intermittent'], { errorMap: () => ({ message: 'must be always-on or intermittent' }) }).default('always-on'),
  labels,
  /** the `mesh` label of alerts; default: derived from the swarm key, the same on every node */
  mesh: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or -').optional(),
  alertmanager: alertmanagerSchema,
  // one log is kept open per day of retention, and peers exchange at most a year of history
  events: z.object({ retention: duration('7d', { ms: 366 * DAY, why: 'a year of history' }) }).strict().default({}),
  checks: z.array(checkSchema).default([]).superRefine((checks, ctx) => {
    const seen = new Set<string>()
    checks.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${c.name}" is used twice; check names must be unique` })
      seen.add(c.name)
    })
  }),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info')
}).strict()

export type ConfigInput = z.input<typeof configSchema>
export type Config = z.output<typeof configSchema>
export type CheckConfig = z.output<typeof checkSchema>
