/**
 * One open server-sent-events stream: the body of a `text/event-stream`
 * response, with a bounded queue. The HTTP layer pulls from it only as fast as
 * the socket drains, so what a slow reader has not taken piles up here; past
 * `maxBufferBytes` the stream is dropped (the page reconnects and gets a fresh
 * snapshot) instead of holding memory for a client that cannot keep up.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
const enc = new TextEncoder()

/**
 * One event: `event:` names it, its data is one line of JSON (JSON.stringify
 * never writes a newline); `retryMs` tells a client how long to wait before
 * reconnecting when the stream ends.
 */
export const sseFrame = (event: string, data: unknown, retryMs?: number): Uint8Array =>
  enc.encode(`${retryMs === undefined ? '' : `retry: ${retryMs}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

/** A comment line: readers ignore it; proxies see traffic and keep the connection open. */
export const sseComment = (text: string): Uint8Array => enc.encode(`: ${text}\n\n`)

export class SlowClientError extends Error {
  override name = 'SlowClientError'
}

export interface SseStreamInit {
  /** bytes queued, not yet taken by the socket, before the stream is dropped */
  maxBufferBytes: number
  /** called once when the stream ends: closed by us, dropped, or the client went away */
  onClose: () => void
  /**
   * Cut the connection of a dropped stream. The HTTP server passes one that
   * destroys the socket; without it the stream errors, which @hono/node-server
   * would print with console.error, outside the node's JSON log.
   */
  abort?: () => void
}

export class SseStream {
  readonly readable: ReadableStream<Uint8Array>
  #controller!: ReadableStreamDefaultController<Uint8Array>
  #open = true
  readonly #init: SseStreamInit

  constructor (init: SseStreamInit) {
    this.#init = init
    // highWaterMark 0 and a byte-size strategy: -desiredSize is the bytes queued
    this.readable = new ReadableStream<Uint8Array>({
      start: controller => { this.#controller = controller },
      cancel: () => { this.#end() }
    }, { highWaterMark: 0, size: chunk => chunk.byteLength })
  }

  get open (): boolean { return this.#open }

  /** bytes waiting for the socket */
  get queued (): number { return this.#open ? -(this.#controller.desiredSize ?? 0) : 0 }

  /**
   * Queue `chunk`; false if the stream is closed or was dropped for being too
   * slow. A chunk always goes out when nothing is waiting, however large (a
   * snapshot of a big mesh), so the bound is on a backlog, not on one message.
   */
  send (chunk: Uint8Array): boolean {
    if (!this.#open) return false
    const queued = this.queued
    if (queued > 0 && queued + chunk.byteLength > this.#init.maxBufferBytes) {
      this.#end()
      if (this.#init.abort !== undefined) this.#init.abort()
      else this.#controller.error(new SlowClientError(`the client did not read the ${queued} bytes queued for it`))
      return false
    }
    this.#controller.enqueue(chunk)
    return true
  }

  close (): void {
    if (!this.#open) return
    this.#controller.close()
    this.#end()
  }

  #end (): void {
    if (!this.#open) return
    this.#open = false
    this.#init.onClose()
  }
}
