/** The one exit handler: an error becomes one line on stderr and an exit code. */
import { ConfigError } from '../config/errors.js'

export const EXIT = { OK: 0, PROBLEM: 1, USAGE: 2 } as const

/** The API could not be reached (status/events exit 2). */
export class ApiUnreachableError extends Error {
  override name = 'ApiUnreachableError'
}

/** The API wants a token, or refused the one given (status/events exit 2). */
export class ApiAuthError extends Error {
  override name = 'ApiAuthError'
}

/** A command-line usage problem (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError'
}

export function reportError (err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`meshmon: config error: ${err.message}\n`)
    return EXIT.USAGE
  }
  if (err instanceof ApiUnreachableError || err instanceof ApiAuthError || err instanceof UsageError) {
    process.stderr.write(`meshmon: ${err.message}\n`)
    return EXIT.USAGE
  }
  const e = err as Error
  process.stderr.write(`meshmon: ${e?.message ?? String(err)}\n`)
  if (process.env.MESHMON_DEBUG != null) process.stderr.write(`${e?.stack ?? ''}\n`)
  return EXIT.PROBLEM
}
