/** One run of any configured check, dispatched on its type. */
import type { CheckConfig } from '../config/schema.js'
import { runExec } from './exec.js'
import { runFileAge } from './file-age.js'
import { runHttp } from './http.js'
import { runTcp } from './tcp.js'
import { runDisk, runLoad, runMemory } from './thresholds.js'
import { Status, type CheckResult } from './types.js'

export interface RunOptions {
  /** aborting stops the run (kills a plugin's process group); the result is then UNKNOWN */
  signal?: AbortSignal
}

async function dispatch (check: CheckConfig, signal: AbortSignal | undefined): Promise<CheckResult> {
  switch (check.type) {
    case 'exec': return await runExec({ command: check.command, timeoutMs: check.timeout, signal })
    case 'http': return await runHttp({
      url: check.url,
      timeoutMs: check.timeout,
      signal,
      expectStatus: check.expectStatus,
      bodyMatch: check.bodyMatch,
      warnLatencyMs: check.warnLatency,
      certWarnDays: check.certWarnDays,
      certCritDays: check.certCritDays
    })
    case 'tcp': return await runTcp({ host: check.host, port: check.port, timeoutMs: check.timeout, signal })
    case 'file-age': return await runFileAge({ path: check.path, warnAgeMs: check.warnAge, critAgeMs: check.critAge })
    case 'disk': return await runDisk({ path: check.path, warning: check.warning, critical: check.critical })
    case 'memory': return await runMemory({ warning: check.warning, critical: check.critical })
    case 'load': return await runLoad({ warning: check.warning, critical: check.critical })
  }
  // unreachable for a parsed config; a hand-built one gets a clear UNKNOWN from runCheck
  throw new Error(`unknown check type ${(check as { type: string }).type}`)
}

/**
 * Run a check once. Never throws: a bug or an unexpected error in a runner is
 * an UNKNOWN result naming the error, so one bad check cannot stop the others.
 * durationSeconds is measured here, around the whole run.
 */
export async function runCheck (check: CheckConfig, options: RunOptions = {}): Promise<CheckResult> {
  const started = performance.now()
  let result: CheckResult
  try {
    result = await dispatch(check, options.signal)
  } catch (error) {
    result = { status: Status.UNKNOWN, output: `check failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`, perfdata: '', durationSeconds: 0 }
  }
  return { ...result, durationSeconds: (performance.now() - started) / 1000 }
}
