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
import { describeSettings, type ConfigSetting } from './describe.js'
import { configSchema, type Config } from './schema.js'

export { envName } from './describe.js'

/** Every setting, read from the schema; those with a flag are also taken from MESHMON_* variables. */
export const SETTINGS: readonly ConfigSetting[] = describeSettings(configSchema)
const FLAGGED = SETTINGS.filter(s => s.flagKey !== undefined)

/** Flag values by commander's key (apiListen), as `run` and `check` receive them. */
export type RunFlags = Record<string, string | string[] | boolean | undefined>

export interface LoadedConfig extends Config {
  /** the swarm key bytes as pnet wants them */
  swarmKeyBytes: Uint8Array
  /** where the config came from, for messages */
  configFile?: string
}

export async function loadConfig (options: { file?: string, flags?: RunFlags, env?: NodeJS.ProcessEnv, cwd?: string } = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd()
  const raw: Record<string, unknown> = options.file === undefined ? {} : await readConfigFile(resolve(cwd, options.file))
  const fileDir = options.file === undefined ? cwd : dirname(resolve(cwd, options.file))
  for (const s of SETTINGS) {
    const v = getPath(raw, s.path)
    if (s.isPath && typeof v === 'string' && !isAbsolute(v)) setPath(raw, s.path, resolve(fileDir, v))
  }
  const env = options.env ?? process.env
  for (const source of [fromEnv(env), options.flags ?? {}]) {
    for (const s of FLAGGED) {
      const value = source[s.flagKey as string]
      if (value === undefined || typeof value === 'boolean') continue
      const values = [value].flat().map(v => s.isPath ? resolve(cwd, v) : scalar(s, v))
      setPath(raw, s.path, s.list ? values : values.at(-1))
    }
  }
  let config: Config
  try {
    config = configSchema.parse(raw)
  } catch (err) {
    if (err instanceof ZodError) throw issueToError(err.issues[0], raw)
    throw err
  }
  for (const s of SETTINGS) {
    const v = getPath(config, s.path)
    if (s.isPath && typeof v === 'string') setPath(config as unknown as Record<string, unknown>, s.path, resolve(cwd, v))
  }
  return { ...config, swarmKeyBytes: await readSwarmKey(config.swarmKey), configFile: options.file }
}

function fromEnv (env: NodeJS.ProcessEnv): RunFlags {
  const out: RunFlags = {}
  for (const s of FLAGGED) {
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

function getPath (obj: unknown, path: readonly string[]): unknown {
  let at = obj
  for (const key of path) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined
  return at
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
