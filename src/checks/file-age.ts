/**
 * File age check: how old is the newest file matching `path`? `*` and `?` may
 * appear in the last path component only, which covers rotated logs and
 * timestamped dumps (`/var/backups/db-*.sql.gz`) without a glob library.
 */
import { readdir, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Status, type CheckResult, type StatusCode } from './types.js'

export interface FileAgeInit {
  path: string
  /** older than this (ms) is WARNING */
  warnAgeMs?: number
  /** older than this (ms) is CRITICAL */
  critAgeMs: number
  /** @default Date.now */
  now?: () => number
}

const isGlob = (text: string): boolean => /[*?]/.test(text)

/** A shell-like pattern for one path component: like sh, wildcards don't match a leading dot. */
export function globToRegExp (pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')
  return new RegExp(pattern.startsWith('.') ? `^${body}$` : `^(?!\\.)${body}$`)
}

/** Paths matching `path` (itself when it has no wildcard), or [] when the folder is missing. */
export async function matchPaths (path: string): Promise<string[]> {
  const name = basename(path)
  if (!isGlob(name)) return [path]
  const dir = dirname(path)
  const re = globToRegExp(name)
  try {
    return (await readdir(dir)).filter(n => re.test(n)).map(n => join(dir, n))
  } catch {
    return []
  }
}

/** The newest match and its mtime (ms), or undefined when nothing matches. */
async function newest (path: string): Promise<{ path: string, mtime: number } | undefined> {
  let found: { path: string, mtime: number } | undefined
  for (const p of await matchPaths(path)) {
    // a file may vanish between readdir and stat (rotation): skip it, don't fail the check
    const s = await stat(p).catch(() => undefined)
    if (s !== undefined && (found === undefined || s.mtimeMs > found.mtime)) found = { path: p, mtime: s.mtimeMs }
  }
  return found
}

/** Run one file-age check. Never throws: every failure is a CheckResult. */
export async function runFileAge (init: FileAgeInit): Promise<CheckResult> {
  const started = performance.now()
  const result = (status: StatusCode, output: string, perfdata = ''): CheckResult =>
    ({ status, output, perfdata, durationSeconds: (performance.now() - started) / 1000 })
  if (isGlob(dirname(init.path))) return result(Status.UNKNOWN, `only the last component of ${init.path} may contain * or ?`)
  try {
    const found = await newest(init.path)
    if (found === undefined) return result(Status.CRITICAL, `no file matches ${init.path}`)
    // a file stamped in the future (clock skew) counts as brand new, not as negative age
    const age = Math.max(0, (init.now ?? Date.now)() - found.mtime)
    const ageS = Math.round(age / 1000)
    const warnS = init.warnAgeMs === undefined ? '' : String(Math.round(init.warnAgeMs / 1000))
    const perfdata = `age=${ageS}s;${warnS};${Math.round(init.critAgeMs / 1000)};0`
    const what = isGlob(basename(init.path)) ? `${found.path} (newest matching ${init.path})` : init.path
    const status = age > init.critAgeMs ? Status.CRITICAL : init.warnAgeMs !== undefined && age > init.warnAgeMs ? Status.WARNING : Status.OK
    return result(status, `${what} is ${ageS}s old`, perfdata)
  } catch (error) {
    return result(Status.UNKNOWN, `cannot read ${init.path}: ${(error as Error).message}`)
  }
}
