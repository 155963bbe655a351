/**
 * Config from file, environment and flags; flag > env > file > default (SPEC 1).
 * Relative paths in a file are taken relative to that file; from env and flags,
 * relative to the working directory.
 */
import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ZodError, type ZodIssue } from 'zod'
import { normaliseSwarmKey, swarmKeyProblem } from '../mesh/swarm-key.js'
import { ConfigError } from './errors.js'
import { configSchema, type Config } from './schema.js'
import type { AlertmanagerHttp } from '../alerts/http.js'
import { readAlertmanagerHttp, readApiToken, readPeersAllow } from './secrets.js'

/** Settings that `run` takes as flags and MESHMON_* variables, by config path. */
export const RUN_SETTINGS = [
  { flag: 'name', path: ['name'] },
  { flag: 'dataDir', path: ['dataDir'] },
  { flag: 'swarmKey', path: ['swarmKey'] },
  { flag: 'listen', path: ['listen'], list: true },
  { flag: 'bootstrap', path: ['bootstrap'], list: true },
  { flag: 'apiListen', path: ['api', 'listen'] },
  { flag: 'alertmanager', path: ['alertmanager', 'urls'], list: true },
  { flag: 'heartbeatInterval', path: ['heartbeat', 'interval'] },
  { flag: 'expect', path: ['expect'] },
  { flag: 'logLevel', path: ['logLevel'] },
  // secrets: environment only, never a flag (argv shows in `ps`); MESHMON_API_TOKEN is also what the CLI sends
  { flag: 'apiToken', path: ['api', 'token'], envOnly: true, replaces: 'tokenFile' },
  { flag: 'apiTokenFile', path: ['api', 'tokenFile'], envOnly: true, replaces: 'token' }
] as const

export type RunFlags = Partial<Record<(typeof RUN_SETTINGS)[number]['flag'], string | string[]>>

export const envName = (flag: string): string => 'MESHMON_' + flag.replace(/[A-Z]/g, c => '_' + c).toUpperCase()

export interface LoadedConfig extends Config {
  /** the swarm key bytes as pnet wants them */
  swarmKeyBytes: Uint8Array
  /** the API token from api.token or api.tokenFile; null: the API is open */
  apiTokenValue: string | null
  /** alertmanager credentials and TLS, files read */
  alertmanagerHttp: AlertmanagerHttp
  /** peers.allow and peers.allowFile together; null: any holder of the swarm key may join */
  peersAllow: ReadonlySet<string> | null
  /** where the config came from, for messages */
  configFile?: string
}

export async function loadConfig (options: { file?: string, flags?: RunFlags, env?: NodeJS.ProcessEnv, cwd?: string } = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd()
  const raw: Record<string, unknown> = options.file === undefined ? {} : await readConfigFile(resolve(cwd, options.file))
  const fileDir = options.file === undefined ? cwd : dirname(resolve(cwd, options.file))
  for (const key of ['dataDir', 'swarmKey'] as const) {
    if (typeof raw[key] === 'string' && !isAbsolute(raw[key])) raw[key] = resolve(fileDir, raw[key])
  }
  for (const path of FILE_SETTINGS) resolvePath(raw, path, fileDir)
  const env = options.env ?? process.env
  for (const source of [fromEnv(env), options.flags ?? {}]) {
    for (const s of RUN_SETTINGS) {
      const value = source[s.flag]
      if (value === undefined) continue
      let v: unknown = 'list' in s ? [value].flat() : [value].flat().at(-1)
      if (s.flag === 'dataDir' || s.flag === 'swarmKey') v = resolve(cwd, v as string)
      setPath(raw, s.path, v)
      // a token from the environment overrides a token file from the config file, and the other way round
      if ('replaces' in s) setPath(raw, [...s.path.slice(0, -1), s.replaces], null)
    }
  }
  let config: Config
  try {
    config = configSchema.parse(raw)
  } catch (err) {
    if (err instanceof ZodError) throw issueToError(err.issues[0], raw)
    throw err
  }
  config.dataDir = resolve(cwd, config.dataDir)
  config.swarmKey = resolve(cwd, config.swarmKey)
  for (const path of FILE_SETTINGS) resolvePath(config as unknown as Record<string, unknown>, path, cwd)
  return {
    ...config,
    swarmKeyBytes: await readSwarmKey(config.swarmKey),
    apiTokenValue: await readApiToken(config),
    alertmanagerHttp: await readAlertmanagerHttp(config),
    peersAllow: await readPeersAllow(config),
    configFile: options.file
  }
}

function fromEnv (env: NodeJS.ProcessEnv): RunFlags {
  const out: RunFlags = {}
  for (const s of RUN_SETTINGS) {
    const value = env[envName(s.flag)]
    if (value === undefined || value === '') continue
    out[s.flag] = 'list' in s ? value.split(/[\s,]+/).filter(Boolean) : value
  }
  return out
}

async function readConfigFile (file: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    throw new ConfigError('--config', `cannot read ${file} (${err.code ?? err.message}); give the path of a YAML or JSON config file`)
  }
  let data: unknown
  try {
    data = parseYaml(text)
  } catch (err: any) {
    throw new ConfigError('--config', `${file} is not valid YAML or JSON: ${String(err.message).split('\n')[0]}`)
  }
  if (data == null) return {}
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError('--config', `${file} must hold a mapping of settings (name:, swarmKey:, ...)`)
  return data as Record<string, unknown>
}

async function readSwarmKey (file: string): Promise<Uint8Array> {
  const fix = `create one with \`meshmon swarm-key generate --out ${file}\` (or copy the mesh's key there)`
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    throw new ConfigError('swarmKey', err.code === 'ENOENT' ? `${file} does not exist; ${fix}` : `cannot read ${file} (${err.code ?? err.message})`)
  }
  const problem = swarmKeyProblem(text)
  if (problem !== undefined) throw new ConfigError('swarmKey', `${file} is not a swarm key: ${problem}; ${fix}`)
  return normaliseSwarmKey(text)
}

/** Settings that name a file besides dataDir and swarmKey: relative to the config file (or, from env, the working directory). */
const FILE_SETTINGS = [
  ['api', 'tokenFile'], ['alertmanager', 'basicAuth', 'passwordFile'], ['alertmanager', 'bearerTokenFile'],
  ['alertmanager', 'tls', 'caFile'], ['alertmanager', 'tls', 'certFile'], ['alertmanager', 'tls', 'keyFile'], ['peers', 'allowFile']
] as const

function resolvePath (obj: Record<string, unknown>, path: readonly string[], dir: string): void {
  let at: unknown = obj
  for (const key of path.slice(0, -1)) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined
  const last = path[path.length - 1] as string
  if (typeof at !== 'object' || at === null) return
  const parent = at as Record<string, unknown>
  if (typeof parent[last] === 'string' && !isAbsolute(parent[last])) parent[last] = resolve(dir, parent[last])
}

function setPath (obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = obj
  for (const key of path.slice(0, -1)) {
    if (typeof at[key] !== 'object' || at[key] === null) at[key] = {}
    at = at[key] as Record<string, unknown>
  }
  at[path[path.length - 1] as string] = value
}

function issueToError (issue: ZodIssue | undefined, raw: unknown): ConfigError {
  if (issue === undefined) return new ConfigError('config', 'is invalid')
  const field = issue.path.join('.') || 'config'
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map(k => (field === 'config' ? k : `${field}.${k}`))
    return new ConfigError(keys.join(', '), 'unknown setting; check the spelling against the config reference in the README')
  }
  if (issue.code === 'invalid_type' && issue.received === 'undefined') {
    return new ConfigError(field, issue.message === 'Required' ? 'is required' : issue.message)
  }
  if (issue.code === 'invalid_type') return new ConfigError(field, `must be ${issue.expected}, not ${issue.received}`)
  void raw
  return new ConfigError(field, issue.message)
}
