/**
 * Config from file, environment and flags; flag > env > file > default.
 * Relative paths in a file are taken relative to that file; from env and flags,
 * relative to the working directory.
 */
import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ZodError, type ZodIssue } from 'zod'
import { normaliseSwarmKey, swarmKeyProblem } from '../mesh/swarm-key.js'
import { ConfigError } from './errors.js'
import type { AlertmanagerHttp } from '../alerts/http.js'
import { describeSettings, type ConfigSetting } from './describe.js'
import { configSchema, type Config } from './schema.js'
import { readAlertmanagerHttp, readApiToken, readPeersAllow } from './secrets.js'

export { envName } from './describe.js'

/** Every setting, read from the schema; those with a flag or an env variable are also taken from MESHMON_* variables. */
export const SETTINGS: readonly ConfigSetting[] = describeSettings(configSchema)
const FROM_ENV = SETTINGS.filter(s => s.env !== undefined)

/** Flag values by commander's key (apiListen), as `run` and `check` receive them. */
export type RunFlags = Record<string, string | string[] | boolean | undefined>

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
  for (const s of PATHS) resolvePath(raw, s.path, fileDir)
  const env = options.env ?? process.env
  for (const source of [fromEnv(env), options.flags ?? {}]) {
    for (const s of FROM_ENV) {
      const value = source[s.flagKey as string]
      if (value === undefined || typeof value === 'boolean') continue
      const values = [value].flat().map(v => s.isPath ? resolve(cwd, v) : scalar(s, v))
      setPath(raw, s.path, s.list ? values : values.at(-1))
      // a token from the environment overrides a token file from the config file, and the other way round
      if (s.excludes !== undefined) setPath(raw, [...s.path.slice(0, -1), s.excludes], null)
    }
  }
  let config: Config
  try {
    config = configSchema.parse(raw)
  } catch (err) {
    if (err instanceof ZodError) throw issueToError(err.issues[0], raw)
    throw err
  }
  for (const s of PATHS) resolvePath(config as unknown as Record<string, unknown>, s.path, cwd)
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
  for (const s of FROM_ENV) {
    const value = env[s.env as string]
    if (value === undefined || value === '') continue
    out[s.flagKey as string] = s.list ? value.split(/[\s,]+/).filter(Boolean) : value
  }
  return out
}

/** A flag or env string as the schema wants it: numbers and booleans are not strings in a config file. */
function scalar (s: ConfigSetting, text: string): unknown {
  if (s.scalar === 'number' && text.trim() !== '' && !Number.isNaN(Number(text))) return Number(text)
  if (s.scalar === 'boolean' && (text === 'true' || text === 'false')) return text === 'true'
  return text
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

/** Settings that name a file or dir (type path in the schema): relative to the config file (or, from env and flags, the working directory). */
const PATHS = SETTINGS.filter(s => s.isPath)

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
    return new ConfigError(keys.join(', '), 'unknown setting; check the spelling against the settings in docs/reference.md')
  }
  if (issue.code === 'invalid_type' && issue.received === 'undefined') {
    return new ConfigError(field, issue.message === 'Required' ? 'is required' : issue.message)
  }
  if (issue.code === 'invalid_type') return new ConfigError(field, `must be ${issue.expected}, not ${issue.received}`)
  void raw
  return new ConfigError(field, issue.message)
}
