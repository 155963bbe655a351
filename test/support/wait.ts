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

/** The condition holds at every look for `ms` (what must NOT happen, watched over a bounded time). */
export async function holdsFor (what: string, fn: () => boolean | Promise<boolean>, ms: number, everyMs = 100): Promise<void> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (!(await fn())) throw new Error(`no longer true: ${what}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}
