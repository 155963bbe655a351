/** Wait on a condition with a bounded timeout: tests never sleep a fixed time. */
export async function waitFor<T> (what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await fn()
      if (v !== undefined && v !== false) return v
    } catch (err) { last = err }
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}`)
}

/**
 * The other half of waitFor: a condition that must hold over a whole window
 * (no wrong alert appears in 20 s, say). Fails at the first look that finds
 * it false, naming `what`; checks every `everyMs` until the window ends.
 */
export async function holdsFor (what: string, fn: () => boolean | Promise<boolean>, windowMs: number, everyMs = 250): Promise<void> {
  const end = Date.now() + windowMs
  for (;;) {
    if (!await fn()) throw new Error(`${what} stopped holding after ${windowMs - Math.max(0, end - Date.now())} ms of ${windowMs} ms`)
    if (Date.now() >= end) return
    await new Promise(resolve => setTimeout(resolve, Math.min(everyMs, Math.max(0, end - Date.now()))))
  }
}

/**
 * 'ok' when `p` resolves, else its error's message: for expect.soft, so a test
 * goes on past a wait that timed out and reports every miss of one run.
 */
export async function outcome (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'ok'
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  }
}
