/** GET JSON from a node's API; unreachable or refused -> ApiUnreachableError (exit 2). */
import { ApiAuthError, ApiUnreachableError } from './exit.js'

export const DEFAULT_API = 'http://127.0.0.1:9521'

export interface ApiRequest {
  /** the node's api.token, sent as a bearer token */
  token?: string
  /** @default 5000 */
  timeoutMs?: number
  /** sees the response headers (e.g. a truncation notice) */
  onHeaders?: (headers: Headers) => void
}

/** The token a command sends: --token, else MESHMON_API_TOKEN. */
export const tokenFrom = (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined =>
  flag ?? (env.MESHMON_API_TOKEN === '' ? undefined : env.MESHMON_API_TOKEN)

export async function getJson<T> (api: string, path: string, request: ApiRequest = {}): Promise<T> {
  let url: URL
  try {
    url = new URL(path, api)
  } catch {
    throw new ApiUnreachableError(`--api ${api} is not a URL; write it like ${DEFAULT_API}`)
  }
  let res: Response
  try {
    const headers: Record<string, string> = request.token === undefined ? {} : { authorization: `Bearer ${request.token}` }
    res = await fetch(url, { headers, signal: AbortSignal.timeout(request.timeoutMs ?? 5000) })
  } catch (err: any) {
    const cause = err?.cause?.code ?? err?.name ?? err?.message
    throw new ApiUnreachableError(`cannot reach the meshmon API at ${api} (${cause}); is \`meshmon run\` running there? (--api URL)`)
  }
  const body = await res.text()
  if (res.status === 401) {
    throw new ApiAuthError(request.token === undefined
      ? `the API at ${api} needs a token: pass --token TOKEN or set MESHMON_API_TOKEN (the node's api.token)`
      : `the API at ${api} refused the token: give the node's api.token with --token or MESHMON_API_TOKEN`)
  }
  if (!res.ok) {
    let msg = body
    try { msg = JSON.parse(body).error ?? body } catch {}
    throw new ApiUnreachableError(`${url.pathname} answered ${res.status}: ${msg}`)
  }
  request.onHeaders?.(res.headers)
  try {
    return JSON.parse(body) as T
  } catch {
    throw new ApiUnreachableError(`${url.pathname} did not answer JSON; is ${api} a meshmon API?`)
  }
}
