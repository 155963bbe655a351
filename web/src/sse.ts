/**
 * A server-sent-events parser for a stream read with fetch(): EventSource
 * cannot send an Authorization header, which a node with an API token needs.
 * Follows the spec's line rules (\n, \r\n or \r; `:` comments; `event` and
 * `data` fields; a blank line ends a message), for any split of the input.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 */
export interface SseMessage { event: string, data: string }

export class SseParser {
  /** the pieces of a line not ended yet: a big message in many chunks is joined once, not once per chunk */
  #parts: string[] = []
  /** the last chunk ended in \r: a \n first in the next one belongs to it */
  #afterCr = false
  #event = ''
  #data: string[] = []

  /** Feed decoded text; returns the messages it completed. */
  push (text: string): SseMessage[] {
    const out: SseMessage[] = []
    let start = this.#afterCr && text.startsWith('\n') ? 1 : 0
    this.#afterCr = false
    const ends = /[\r\n]/g
    ends.lastIndex = start
    for (let m = ends.exec(text); m !== null; m = ends.exec(text)) {
      let i = m.index
      this.#parts.push(text.slice(start, i))
      this.#line(this.#parts.join(''), out)
      this.#parts = []
      if (text.charCodeAt(i) === 13) {
        if (i + 1 === text.length) this.#afterCr = true
        else if (text.charCodeAt(i + 1) === 10) i++
      }
      start = ends.lastIndex = i + 1
    }
    if (start < text.length) this.#parts.push(text.slice(start))
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
