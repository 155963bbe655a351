/**
 * A server-sent-events parser for a stream read with fetch(): EventSource
 * cannot send an Authorization header, which a node with an API token needs.
 * Follows the spec's line rules (\n, \r\n or \r; `:` comments; `event` and
 * `data` fields; a blank line ends a message), for any split of the input.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 */
export interface SseMessage { event: string, data: string }

export class SseParser {
  #buf = ''
  #event = ''
  #data: string[] = []

  /** Feed decoded text; returns the messages it completed. */
  push (text: string): SseMessage[] {
    this.#buf += text
    const out: SseMessage[] = []
    let i = 0
    for (;;) {
      const lf = this.#buf.indexOf('\n', i)
      const cr = this.#buf.indexOf('\r', i)
      let end: number
      let next: number
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // a \r last in the buffer may be the first half of \r\n
        if (cr === this.#buf.length - 1) break
        end = cr
        next = this.#buf[cr + 1] === '\n' ? cr + 2 : cr + 1
      } else if (lf !== -1) {
        end = lf
        next = lf + 1
      } else break
      this.#line(this.#buf.slice(i, end), out)
      i = next
    }
    this.#buf = this.#buf.slice(i)
    return out
  }

  #line (line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.#data.length > 0) out.push({ event: this.#event === '' ? 'message' : this.#event, data: this.#data.join('\n') })
      this.#event = ''
      this.#data = []
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.#event = value
    else if (field === 'data') this.#data.push(value)
  }
}
