/**
 * `GET /api/v1/stream`: the live feed as server-sent events (text/event-stream).
 * A public API endpoint like the others under /api/v1, and the only one the
 * web page keeps open. Events (each `data:` is one line of JSON):
 *   snapshot  { now, peers, alerts, events }  first, on every connect
 *   peers     { now, changed, removed }        peers whose state, checks, machine info or addresses changed; ids forgotten
 *   alerts    { now, alerts }                  the whole list, when it changed
 *   events    { now, events }                  events new to this node, newest first
 * plus `: keep-alive` comments. `now` is the node's clock (unix ms).
 */
import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'
import { StreamUnavailableError, type MeshFeed } from './feed.js'

export function streamHandler (feed: () => MeshFeed | undefined): (ctx: Context) => Response {
  return ctx => {
    const [param] = new URL(ctx.req.url).searchParams.keys()
    if (param !== undefined) return ctx.json({ error: `/api/v1/stream takes no parameters, not '${param.slice(0, 100)}'` }, 400)
    const f = feed()
    if (f === undefined) return ctx.json({ error: 'the live stream is not ready yet (the node is starting)' }, 503, { 'retry-after': '2' })
    // on Node, a stream that falls too far behind is cut at the socket (see SseStream)
    const outgoing = (ctx.env as Partial<HttpBindings> | undefined)?.outgoing
    let body: ReadableStream<Uint8Array>
    try {
      body = f.open(outgoing === undefined ? undefined : () => { outgoing.destroy() })
    } catch (err) {
      if (err instanceof StreamUnavailableError) return ctx.json({ error: err.message }, 503, { 'retry-after': '5' })
      throw err
    }
    return new Response(body, {
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        // no-transform: a compressing proxy would hold events back to fill its buffer
        'cache-control': 'no-cache, no-transform',
        // nginx buffers proxied responses unless told not to
        'x-accel-buffering': 'no'
      }
    })
  }
}
