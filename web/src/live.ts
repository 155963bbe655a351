/**
 * The page's connection to its node: one /api/v1/stream read with fetch (it
 * sends the token; EventSource cannot), reconnected with backoff when the
 * node restarts or the network drops, and cut by a watchdog when nothing,
 * not even a keep-alive comment, arrives for a while (a half-open TCP
 * connection never ends by itself).
 */
import { SseParser, type SseMessage } from './sse.js'

const TOKEN_KEY = 'meshmon.token'
/** the node sends a comment every 15 s: three missed means the connection is dead */
const SILENCE_MS = 45_000

export type LiveStatus =
  | { kind: 'connecting' }
  | { kind: 'live' }
  | { kind: 'unauthorized' }
  | { kind: 'retrying', reason: string }

export const storedToken = (): string | null => sessionStorage.getItem(TOKEN_KEY)
export function storeToken (token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, token)
}

/** GET a JSON API path (relative, so the page also works behind a path prefix) with the token */
export async function apiGet (path: string, signal?: AbortSignal): Promise<Response> {
  const token = storedToken()
  return await fetch(path, { signal, cache: 'no-store', headers: token === null ? {} : { authorization: `Bearer ${token}` } })
}

async function errorOf (res: Response): Promise<string> {
  const body = await res.json().catch(() => undefined) as { error?: unknown } | undefined
  return typeof body?.error === 'string' ? body.error : `HTTP ${res.status}`
}

export class Live {
  readonly #onMessage: (m: SseMessage) => void
  readonly #onStatus: (s: LiveStatus) => void
  #abort?: AbortController
  #running = false

  constructor (onMessage: (m: SseMessage) => void, onStatus: (s: LiveStatus) => void) {
    this.#onMessage = onMessage
    this.#onStatus = onStatus
  }

  start (): void {
    if (this.#running) return
    this.#running = true
    void this.#loop()
  }

  stop (): void {
    this.#running = false
    this.#abort?.abort()
  }

  async #loop (): Promise<void> {
    let delay = 500
    while (this.#running) {
      this.#onStatus({ kind: 'connecting' })
      const abort = this.#abort = new AbortController()
      let reason = 'the stream ended'
      try {
        const res = await apiGet('api/v1/stream', abort.signal)
        if (res.status === 401) {
          this.#running = false
          this.#onStatus({ kind: 'unauthorized' })
          return
        }
        if (!res.ok || res.body === null) throw new Error(await errorOf(res))
        if (await this.#read(res.body, abort)) delay = 500
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err)
      }
      if (!this.#running) return
      this.#onStatus({ kind: 'retrying', reason })
      await new Promise(resolve => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 5000)
    }
  }

  /** Read until the stream ends; true if a snapshot came (the connection worked). */
  async #read (body: ReadableStream<Uint8Array>, abort: AbortController): Promise<boolean> {
    const parser = new SseParser()
    const reader = body.getReader()
    const decoder = new TextDecoder()
    let heard = Date.now()
    let snapshot = false
    const watchdog = setInterval(() => { if (Date.now() - heard > SILENCE_MS) abort.abort(new Error('no data from the node for 45 s')) }, 5000)
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return snapshot
        heard = Date.now()
        for (const m of parser.push(decoder.decode(value, { stream: true }))) {
          if (m.event === 'snapshot' && !snapshot) { snapshot = true; this.#onStatus({ kind: 'live' }) }
          this.#onMessage(m)
        }
      }
    } finally {
      clearInterval(watchdog)
      reader.cancel().catch(() => {})
    }
  }
}
