/**
 * End-to-end tests use Debian packages that `npm test` installs when it can.
 * When it could not (not root, no apt), it names them loudly and passes the
 * list here; those tests are skipped for that reason only. With CI=true
 * `npm test` fails before this point instead.
 */
import { existsSync } from 'node:fs'

const missing = new Set((process.env.MESHMON_MISSING_PACKAGES ?? '').split(',').filter(Boolean))

export function lacks (pkg: string, file: string): boolean {
  return missing.has(pkg) || (!existsSync(file) && process.env.CI !== 'true')
}
