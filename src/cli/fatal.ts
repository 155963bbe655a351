/**
 * The last resort of `meshmon run`: an error nothing caught (an exception
 * thrown from a timer, a promise rejected with no handler) would end the
 * process at once, without its goodbye, so peers would page it `down` and a
 * container would restart-loop on alerts. Instead: one JSON log line with
 * the error and its stack, leave the mesh gracefully (bounded in time), and
 * exit 1 (a supervisor restarts it; 2 is kept for config errors).
 */
import type { Logger } from 'pino'

export interface FatalInit {
  /** leaves the mesh and stops the node; undefined while it is starting */
  leave: () => Promise<void> | undefined
  /** a leave that takes longer is given up on, ms @default 10_000 */
  timeoutMs?: number
  /** @default process.exit */
  exit?: (code: number) => void
}

/** Install the handlers; returns their removal. */
export function handleFatalErrors (log: Logger, init: FatalInit): () => void {
  const exit = init.exit ?? ((code: number) => process.exit(code))
  let fatal = false
  const handler = (kind: 'uncaughtException' | 'unhandledRejection') => (reason: unknown): void => {
    const err = reason instanceof Error ? reason : new Error(`non-Error ${kind}: ${String(reason)}`)
    if (fatal) {
      // an error while leaving after the first: the first line said what went wrong
      log.debug({ kind, err: err.message }, 'another error while leaving')
      return
    }
    fatal = true
    log.fatal({ kind, err }, `${kind}: ${err.message}; leaving the mesh and exiting`)
    const force = setTimeout(() => { exit(1) }, init.timeoutMs ?? 10_000)
    force.unref()
    void Promise.resolve().then(init.leave).catch(() => {}).finally(() => { clearTimeout(force); exit(1) })
  }
  const onException = handler('uncaughtException')
  const onRejection = handler('unhandledRejection')
  process.on('uncaughtException', onException)
  process.on('unhandledRejection', onRejection)
  return () => {
    process.off('uncaughtException', onException)
    process.off('unhandledRejection', onRejection)
  }
}

/**
 * For tests of the above with a real process: with MESHMON_TEST_CRASH set to
 * `throw` or `reject`, SIGUSR2 makes a timer throw, or a promise reject with
 * no handler. Inert without the variable, and under NODE_ENV=production.
 */
export function testCrashHook (env: NodeJS.ProcessEnv = process.env): void {
  const mode = env.MESHMON_TEST_CRASH
  if ((mode !== 'throw' && mode !== 'reject') || env.NODE_ENV === 'production') return
  process.once('SIGUSR2', () => {
    setTimeout(() => {
      if (mode === 'throw') throw new Error('test crash: thrown from a timer')
      void Promise.reject(new Error('test crash: rejected with no handler'))
    }, 0)
  })
}
