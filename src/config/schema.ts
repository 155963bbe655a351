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
import { PATCH_NAMES } from '../patches.js'
import { setting } from './describe.js'
import { parseDuration } from './duration.js'

const duration = (fallback: string) => setting(z.string({ invalid_type_error: 'must be a duration like 500ms, 2s, 5m, 1h or 7d' }), { type: 'duration' })
  .default(fallback)
  .transform((text, ctx) => {
    const ms = parseDuration(text)
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration; write it like 500ms, 2s, 5m, 1h or 7d` })
      return z.NEVER
    }
    return ms
  })

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

const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const labels = z.record(z.string()).default({}).superRefine((obj, ctx) => {
  for (const key of Object.keys(obj)) {
    if (!labelName.test(key) || key.startsWith('__')) {
      ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" is not a Prometheus label name; use letters, digits and _` })
    }
  }
})

const checkName = z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or -')
const percent = z.number().min(0).max(100)
const checkCommon = {
  name: setting(checkName, { doc: 'unique name of the check: the `check` label of its metrics and alerts' }),
  interval: setting(duration('30s'), { doc: 'how often the check runs' }),
  timeout: setting(duration('10s'), { doc: 'a run that takes longer is CRITICAL (exec: its process group is killed)' }),
  confirmRuns: setting(z.number().int().min(1).max(100).default(1), { doc: 'runs in a row a new status must be seen before it counts (flap damping); the first result counts at once' })
}
const path = (schema: z.ZodString) => setting(schema, { type: 'path' })

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
    warnLatency: setting(duration('5s').optional(), { doc: 'a response slower than this is WARNING' }),
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
    warnAge: setting(duration('5m').optional(), { doc: 'not changed for longer is WARNING' }),
    critAge: setting(duration('15m'), { doc: 'not changed for longer is CRITICAL' })
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
  name: setting(z.string().trim().min(1, 'must not be empty; give the node a name, e.g. --name gpu-01').max(128).default(hostname()),
    { flag: '--name <name>', defaultText: 'the hostname', doc: 'node name, shown in status, metrics (`node`) and alerts' }),
  dataDir: setting(path(z.string().min(1)).default('./data'), { flag: '--data-dir <dir>', doc: 'peer key, peer store, blocks and event log' }),
  swarmKey: setting(path(z.string({ required_error: 'is required: create one with `meshmon swarm-key generate --out swarm-key/swarm.key` and pass --swarm-key FILE' }).min(1)),
    { flag: '--swarm-key <file>', doc: 'the mesh\'s pre-shared key (swarm.key v1): no key, no start' }),
  listen: setting(z.array(multiaddrText).min(1).default(['/ip4/0.0.0.0/tcp/4001']), { flag: '--listen <multiaddr>', doc: 'p2p listen addresses' }),
  bootstrap: setting(z.array(multiaddrText).default([]), { flag: '--bootstrap <multiaddr>', doc: 'peers to join through; /p2p/<id> optional, /dns4/ names resolve to every address' }),
  api: z.object({
    listen: setting(hostPort.default('0.0.0.0:9521'), { flag: '--api-listen <host:port>', doc: 'HTTP API address (/metrics, /api/v1/*, /healthz)' }),
    token: setting(z.string().min(1).nullable().default(null), { doc: 'when set, a bearer token that guards /api/*' })
  }).strict().default({}),
  heartbeat: z.object({
    interval: setting(duration('1s'), { flag: '--heartbeat-interval <duration>', doc: 'how often a node sends a heartbeat' }),
    suspectAfter: setting(z.number().positive().default(1.5), { doc: 'intervals of silence before a peer is suspect' }),
    downAfter: setting(z.number().positive().default(2), { doc: 'intervals of silence, heard by no live peer either, before a peer is down' }),
    machineInterval: setting(duration('10s'), { doc: 'how often the bulky machine info is sent (also at once when checks change or a peer appears)' }),
    forgetAfter: setting(duration('1h'), { doc: 'a down or left peer not heard of for this long is forgotten, its series gone' })
  }).strict().default({}).superRefine((hb, ctx) => {
    if (hb.downAfter < hb.suspectAfter) ctx.addIssue({ code: 'custom', path: ['downAfter'], message: `must be >= suspectAfter (${hb.suspectAfter})` })
  }),
  expect: setting(z.enum(['always-on', 'intermittent'], { errorMap: () => ({ message: 'must be always-on or intermittent' }) }).default('always-on'),
    { flag: '--expect <mode>', doc: 'always-on: silence is an alert; intermittent: silence is shown, never alerted' }),
  labels: setting(labels, { doc: 'Prometheus labels of this node, shown on meshmon_node_info and in events' }),
  mesh: setting(z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or -').optional(),
    { defaultText: 'mesh- and 8 hex of the swarm key\'s SHA-256', doc: 'the `mesh` label of alerts; the default is the same on every node of a mesh' }),
  alertmanager: z.object({
    urls: setting(z.array(z.string().url()).default([]), { flag: '--alertmanager <url>', doc: 'Alertmanagers to push alerts to' }),
    resendInterval: setting(duration('30s'), { doc: 'active alerts are sent again this often' })
  }).strict().default({}),
  events: z.object({
    retention: setting(duration('7d'), { doc: 'events older than this are not served, and their storage is reclaimed' })
  }).strict().default({}),
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
