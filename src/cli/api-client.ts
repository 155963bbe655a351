/** GET JSON from a node's API; unreachable -> ApiUnreachableError (exit 2). */
import { ApiUnreachableError } from './exit.js'

export const DEFAULT_API = 'http://127.0.0.1:9521'

export async function getJson<T> (api: string, path: string, timeoutMs = 5000): Promise<T> {
  let url: URL
  try {
    url = new URL(path, api)
  } catch {
    throw new ApiUnreachableError(`--api ${api} is not a URL; write it like ${DEFAULT_API}`)
  }
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  } catch (err: any) {
    const cause = err?.cause?.code ?? err?.name ?? err?.message
    throw new ApiUnreachableError(`cannot reach the meshmon API at ${api} (${cause}); is \`meshmon run\` running there? (--api URL)`)
  }
  const body = await res.text()
  if (!res.ok) {
    let msg = body
    try { msg = JSON.parse(body).error ?? body } catch {}
    throw new ApiUnreachableError(`${url.pathname} answered ${res.status}: ${msg}`)
  }
  try {
    return JSON.parse(body) as T
  } catch {
    throw new ApiUnreachableError(`${url.pathname} did not answer JSON; is ${api} a meshmon API?`)
  }
}
