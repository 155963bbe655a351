/**
 * The config file: one zod schema that validates, applies defaults and yields
 * the typed config every module's init is built from. Unknown keys are errors
 * (`.strict()`): a typo must not silently fall back to a default.
 *
 * Each setting is defined here once: `setting()` gives its description and,
 * for those `run` takes on the command line, its flag (the env variable
 * follows from it). `meshmon run --help`, the config loader and
 * docs/reference.md (`npm run docs`) are built from this file.
 */
import { hostname } from 'node:os'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { DEVICE_ID, DEVICE_ID_RULE } from '../devices/types.js'
import { isLabelName, RECORD_LIMITS } from '../heartbeat/record.js'
import { PATCH_NAMES } from '../patches.js'
import { setting } from './describe.js'
import { formatDuration, MAX_TIMER_MS, parseDuration } from './duration.js'

const DAY = 86_400_000
/**
 * A duration; `max` bounds it: MAX_TIMER_MS (the default) for one that ends in
 * a timer, more for one that is only compared with a time.
 */
const duration = (fallback: string, max: { ms: number, why: string } = { ms: MAX_TIMER_MS, why: 'the longest a timer can wait' }) =>
  setting(z.string({ invalid_type_error: 'must be a duration like 500ms, 2s, 5m, 1h or 7d' }), { type: 'duration' })
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

const multiaddrText = setting(z.string(), { type: 'multiaddr' }).superRefine((text, ctx) => {
  try {
    multiaddr(text)
    if (!text.startsWith('/')) throw new Error('not a multiaddr')
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a multiaddr; write it like /ip4/10.0.0.5/tcp/4001 or /dns4/host/tcp/4001` })
  }
})

const hostPort = setting(z.string(), { type: 'host:port' }).superRefine((text, ctx) => {
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
const alertmanagerUrl = setting(z.string(), { type: 'URL' }).superRefine((text, ctx) => {
  let url: URL | undefined
  try { url = new URL(text) } catch {}
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    ctx.addIssue({ code: 'custom', message: 'is not an http:// or https:// URL; write it like http://alertmanager:9093' })
  }
})
/** a file or dir: relative to the config file that names it (from env or a flag, to the working dir) */
const path = (schema: z.ZodString) => setting(schema, { type: 'path' })
const file = path(z.string().min(1))
const alertmanagerSchema = z.object({
  urls: setting(z.array(alertmanagerUrl).default([]), { flag: '--alertmanager <url>', doc: 'Alertmanagers to push alerts to; user:password@ in a URL is used for that URL' }),
  resendInterval: setting(duration('30s'), { doc: 'active alerts are sent again this often' }),
  basicAuth: z.object({
    username: setting(z.string().min(1), { doc: 'HTTP basic auth user for every URL (a URL\'s own user:password@ is used for that URL instead)' }),
    password: setting(z.string().min(1).optional(), { doc: 'its password (or passwordFile)' }),
    passwordFile: setting(file.optional(), { doc: 'a file holding the password' })
  }).strict()
    .refine(b => (b.password === undefined) !== (b.passwordFile === undefined), { message: 'give password or passwordFile (one of the two)' }).optional(),
  bearerTokenFile: setting(file.optional(), { doc: 'a file holding a bearer token sent to every URL (not with basicAuth)' }),
  tls: z.object({
    caFile: setting(file.optional(), { doc: 'https:// URLs: the CA that signed Alertmanager\'s certificate (PEM)' }),
    certFile: setting(file.optional(), { doc: 'a client certificate for mTLS (PEM), with keyFile' }),
    keyFile: setting(file.optional(), { doc: 'the client certificate\'s key (PEM)' })
  }).strict()
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
  name: setting(checkName, { doc: 'unique name of the check: the `check` label of its metrics and alerts' }),
  interval: setting(duration('30s'), { doc: 'how often the check runs' }),
  timeout: setting(duration('10s'), { doc: 'a run that takes longer is CRITICAL (exec: its process group is killed)' }),
  confirmRuns: setting(z.number().int().min(1).max(100).default(1), { doc: 'runs in a row a new status must be seen before it counts (flap damping); the first result counts at once' })
}

export const checkSchema = z.discriminatedUnion('type', [
  z.object({
    ...checkCommon,
    type: setting(z.literal('exec'), { doc: 'what the check does: exec runs a Nagios plugin, http fetches a URL, tcp connects, file-age watches a file, disk, memory and load compare a threshold' }),
    command: setting(z.array(z.string()).min(1, 'needs the program and its arguments, e.g. [/usr/lib/nagios/plugins/check_load, -w, 4, -c, 8]'), { doc: 'program and arguments, no shell; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, first line of output is the message' })
  }).strict(),
  z.object({
    ...checkCommon,
    type: z.literal('http'),
    url: setting(z.string().url(), { doc: 'the URL to fetch' }),
    expectStatus: setting(z.number().int().min(100).max(599).default(200), { doc: 'any other status is CRITICAL' }),
    bodyMatch: setting(z.string().optional(), { doc: 'a regular expression the body must match' }),
    warnLatency: setting(duration('5s', COMPARED).optional(), { doc: 'a response slower than this is WARNING' }),
    certWarnDays: setting(z.number().int().min(0).default(14), { doc: 'https: fewer days of certificate validity left is WARNING' }),
    certCritDays: setting(z.number().int().min(0).default(3), { doc: 'https: fewer days of certificate validity left is CRITICAL' })
  }).strict(),
  z.object({
    ...checkCommon,
    type: z.literal('tcp'),
    host: setting(z.string().min(1), { doc: 'host to connect to' }),
    port: setting(z.number().int().min(1).max(65535), { doc: 'port to connect to; OK when it connects within the timeout' })
  }).strict(),
  z.object({
    ...checkCommon,
    type: z.literal('file-age'),
    path: setting(path(z.string().min(1)), { doc: 'the file to watch; a * or ? in the last part matches the newest of several' }),
    warnAge: setting(duration('5m', COMPARED).optional(), { doc: 'not changed for longer is WARNING' }),
    critAge: setting(duration('15m', COMPARED), { doc: 'not changed for longer is CRITICAL' })
  }).strict(),
  z.object({
    ...checkCommon,
    type: z.literal('disk'),
    path: setting(path(z.string()).default('/'), { doc: 'a path on the filesystem to check' }),
    warning: setting(percent.default(80), { doc: 'percent used above which it is WARNING' }),
    critical: setting(percent.default(90), { doc: 'percent used above which it is CRITICAL' })
  }).strict(),
  z.object({
    ...checkCommon,
    type: z.literal('memory'),
    warning: setting(percent.default(10), { doc: 'percent available (MemAvailable) below which it is WARNING' }),
    critical: setting(percent.default(5), { doc: 'percent available below which it is CRITICAL' })
  }).strict(),
  z.object({
    ...checkCommon,
    type: z.literal('load'),
    warning: setting(z.number().positive(), { doc: '1-minute load above which it is WARNING' }),
    critical: setting(z.number().positive(), { doc: '1-minute load above which it is CRITICAL' })
  }).strict()
], { errorMap: (issue, ctx) => issue.code === 'invalid_union_discriminator' ? { message: 'type must be one of exec, http, tcp, file-age, disk, memory, load' } : { message: ctx.defaultError } })

export const configSchema = z.object({
  name: setting(z.string().trim().min(1, 'must not be empty; give the node a name, e.g. --name gpu-01').max(R.name).default(hostname()),
    { flag: '--name <name>', defaultText: 'the hostname', doc: 'node name, shown in status, metrics (`node`) and alerts' }),
  dataDir: setting(path(z.string().min(1)).default('./data'), { flag: '--data-dir <dir>', doc: 'peer key, peer store, blocks and event log' }),
  swarmKey: setting(path(z.string({ required_error: 'is required: create one with `meshmon swarm-key generate --out swarm-key/swarm.key` and pass --swarm-key FILE' }).min(1)),
    { flag: '--swarm-key <file>', doc: 'the mesh\'s pre-shared key (swarm.key v1): no key, no start' }),
  listen: setting(z.array(multiaddrText).min(1).default(['/ip4/0.0.0.0/tcp/4001']), { flag: '--listen <multiaddr>', doc: 'p2p listen addresses' }),
  bootstrap: setting(z.array(multiaddrText).default([]), { flag: '--bootstrap <multiaddr>', doc: 'peers to join through; /p2p/<id> optional, /dns4/ names resolve to every address' }),
  api: z.object({
    // closed unless opened: a wildcard address shows the mesh to whoever reaches the port
    listen: setting(hostPort.default('127.0.0.1:9521'), { flag: '--api-listen <host:port>', doc: 'HTTP API address (/metrics, /api/v1/*, /healthz); 127.0.0.1 is this host only, 0.0.0.0 opens it to the network: set a token then' }),
    // secrets: environment only, never a flag (argv shows in `ps`); MESHMON_API_TOKEN is also what the CLI sends
    token: setting(apiToken.nullable().default(null), { env: true, excludes: 'tokenFile', doc: 'a secret /api/* requires as "Authorization: Bearer <token>" (and /metrics with protectMetrics); one of token and tokenFile' }),
    tokenFile: setting(path(z.string().min(1)).nullable().default(null), { env: true, excludes: 'token', doc: 'a file holding the token (read at start, surrounding whitespace ignored)' }),
    protectMetrics: setting(z.boolean().default(false), { doc: 'the token guards /metrics too; off, so a Prometheus without credentials keeps scraping' }),
    allowedHosts: setting(z.array(z.string().trim().min(1).max(253)).default([]), { doc: 'Host header names the API answers to besides its own address, localhost and, on 0.0.0.0, this host\'s name (DNS rebinding guard); `*.example.lan` matches subdomains, `*` any' })
  }).strict().default({}).superRefine((api, ctx) => {
    if (api.token !== null && api.tokenFile !== null) ctx.addIssue({ code: 'custom', path: ['tokenFile'], message: 'set api.token or api.tokenFile, not both' })
  }),
  heartbeat: z.object({
    interval: setting(duration('1s', { ms: R.intervalMaxMs, why: 'peers refuse records announcing a longer interval' })
      .refine(ms => ms >= R.intervalMinMs, `must be at least ${R.intervalMinMs}ms (peers refuse records announcing a shorter interval)`),
    { flag: '--heartbeat-interval <duration>', doc: 'the beat interval: each node beats twice an interval to the few peers watching it' }),
    suspectAfter: setting(z.number().positive().default(1.5), { doc: 'intervals of silence before a watcher finds a peer late (a majority of its watchers late: suspect)' }),
    downAfter: setting(z.number().positive().default(2), { doc: 'intervals of silence before a watcher finds a peer silent (a majority of its watchers: down)' }),
    machineInterval: setting(duration('10s'), { doc: 'how often a node\'s record (machine info, checks) is made again; at once when a check changes' }),
    forgetAfter: setting(duration('1h', COMPARED), { doc: 'a down or left peer not heard of for this long is forgotten, its series gone' }),
    recoverAfter: setting(duration('5s'), { doc: 'a down peer\'s incident (peer.up event, alert resolved), and this node\'s own cut-off, end once it has been back up this long, plus the downAfter intervals a new silence takes to be noticed: a flapping link is one incident' })
  }).strict().default({}).superRefine((hb, ctx) => {
    if (hb.downAfter < hb.suspectAfter) ctx.addIssue({ code: 'custom', path: ['downAfter'], message: `must be >= suspectAfter (${hb.suspectAfter})` })
  }),
  peers: z.object({
    allow: setting(z.array(z.string().min(1).max(64)).nullable().default(null), { doc: 'only these peer ids may join (and connect); none: any holder of the swarm key' }),
    allowFile: setting(path(z.string().min(1)).nullable().default(null), { doc: 'a file of peer ids that may join, one per line (# comments); counted with allow' }),
    max: setting(z.number().int().min(2).max(100_000).default(5000), { doc: 'most peers a node keeps; records of further new peers are refused (counted) until some are forgotten' }),
    maxNewPerMinute: setting(z.number().int().min(1).max(100_000).default(1000), { doc: 'most peers new to a node in a minute; the rest are admitted when they come again' })
  }).strict().default({}),
  expect: setting(z.enum(['always-on', 'intermittent'], { errorMap: () => ({ message: 'must be always-on or intermittent' }) }).default('always-on'),
    { flag: '--expect <mode>', doc: 'always-on: silence is an alert; intermittent: silence is shown, never alerted' }),
  labels: setting(labels, { doc: 'Prometheus labels of this node, shown on meshmon_node_info and in events' }),
  mesh: setting(z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or -').optional(),
    { defaultText: 'mesh- and 8 hex of the swarm key\'s SHA-256', doc: 'the `mesh` label of alerts; the default is the same on every node of a mesh' }),
  alertmanager: alertmanagerSchema,
  // one log is kept open per day of retention, and peers exchange at most a year of history
  events: z.object({
    retention: setting(duration('7d', { ms: 366 * DAY, why: 'a year of history' }), { doc: 'events older than this are not served, and their storage is reclaimed' })
  }).strict().default({}),
  ingest: z.object({
    token: setting(apiToken.nullable().default(null), { env: true, excludes: 'tokenFile', doc: 'a secret devices must give (Authorization: Bearer <token>, or ?token= for clients that cannot set headers) on /websocket and /api/v1/push/*; none: ingestion is open; one of token and tokenFile' }),
    tokenFile: setting(path(z.string().min(1)).nullable().default(null), { env: true, excludes: 'token', doc: 'a file holding the devices\' token (read at start, surrounding whitespace ignored)' }),
    maxDevices: setting(z.number().int().min(1).max(1_000_000).default(10_000), { doc: 'devices this node holds, its own and the mesh\'s; a new one makes the device ended longest ago make way, or is refused' }),
    maxConnectionsPerIp: setting(z.number().int().min(1).max(1_000_000).default(1000), { doc: 'open device WebSocket connections from one client address; more get 429' }),
    idleTimeout: setting(duration('30s'), { doc: 'a device WebSocket with neither ping nor message this long is closed, its device down' }),
    alertAfter: setting(duration('10s'), { doc: 'a device down this long (not reconnected to any peer) is alerted (MeshDeviceDown) and gets a device.offline event' }),
    viaGrace: setting(duration('60s'), { doc: 'the devices of a peer that died are unknown this long, then down and alerted unless they reconnected elsewhere' })
  }).strict().default({}).superRefine((ingest, ctx) => {
    if (ingest.token !== null && ingest.tokenFile !== null) ctx.addIssue({ code: 'custom', path: ['tokenFile'], message: 'set ingest.token or ingest.tokenFile, not both' })
  }),
  devices: setting(z.array(z.object({
    id: setting(z.string().regex(DEVICE_ID, `must be ${DEVICE_ID_RULE}`), { doc: 'the device id (its node_id, or its push URL\'s last part)' }),
    interval: setting(duration('60s'), { doc: 'a push device is down without a push within 2 x interval (a push\'s ?interval= wins); one that never reports is down 2 x interval after start' }),
    expect: setting(z.enum(['always-on', 'intermittent'], { errorMap: () => ({ message: 'must be always-on or intermittent' }) }).default('always-on'), { doc: 'intermittent: silent is `left`, never alerted' }),
    project: setting(z.string().max(256).optional(), { doc: 'the project shown (and alerted) before the device reports its own' })
  }).strict()).default([]), { doc: 'devices that must report: one that never does is down (alerted by every node that declares it)' }).superRefine((devices, ctx) => {
    const seen = new Set<string>()
    devices.forEach((d, i) => {
      if (seen.has(d.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `"${d.id}" is declared twice; device ids must be unique` })
      seen.add(d.id)
    })
  }),
  checks: setting(z.array(checkSchema).default([]), { doc: 'checks this node runs; their states travel in heartbeats' }).superRefine((checks, ctx) => {
    const seen = new Set<string>()
    checks.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${c.name}" is used twice; check names must be unique` })
      seen.add(c.name)
    })
  }),
  logLevel: setting(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'), { flag: '--log-level <level>', doc: 'logs go to stderr as JSON lines' }),
  patchesOff: setting(z.array(z.enum(PATCH_NAMES, { errorMap: () => ({ message: `must be one of ${PATCH_NAMES.join(', ')}` }) })).default([]), {
    flag: '--patches-off <patch>',
    doc: 'library patches not to install (each saves CPU or writes, see docs/decisions/; off to measure it, or if an upgrade misbehaves); meshmon_patch_active{patch} shows which are on'
  })
}).strict()

export type ConfigInput = z.input<typeof configSchema>
export type Config = z.output<typeof configSchema>
export type CheckConfig = z.output<typeof checkSchema>
