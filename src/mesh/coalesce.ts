/**
 * Patch `coalesce` (fenced, see src/patches.ts): one socket write per burst
 * instead of one per chunk. Upstream would make it unnecessary if yamux wrote
 * a frame's header and data as one chunk, or the TCP socket corked writes of
 * one event-loop turn.
 *
 * Yamux writes a frame's 12-byte header and its data as separate chunks, and
 * Noise and pnet keep them separate, so every gossip message left as two
 * socket writes (strace of a node in a 10-node mesh: 1041 writes in 10 s for
 * 90 received messages, half of them 30-byte headers). On the VMs measured
 * here a syscall is expensive (kernel time was a third of a node's CPU). This
 * sits under pnet, on the raw connection: chunks that are ready within the
 * same turn of the event loop are joined into one write. Bytes and order are
 * unchanged; a chunk waits at most until the event loop's next check phase.
 * The wrapped connection is a copy with another `sink`: that relies on
 * @libp2p/tcp handing over a plain object (checked for every connection; one
 * that is not is passed on untouched and the patch reported lost).
 */
import type { MultiaddrConnection } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Patches } from '../patches.js'

type Chunk = Uint8Array | Uint8ArrayList

const bytesOf = (c: Chunk): Uint8Array => c instanceof Uint8Array ? c : c.subarray()

const IDLE = Symbol('idle')

/** Joins the chunks of `source` that arrive before the next setImmediate. */
export async function * coalesce (source: AsyncIterable<Chunk> | Iterable<Chunk>, maxBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
  const it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : toAsync(source)
  let pending = it.next()
  while (true) {
    const first = await pending
    if (first.done === true) return
    const batch = [bytesOf(first.value)]
    let size = batch[0]?.byteLength ?? 0
    let ended = false
    const idle = new Promise<typeof IDLE>(resolve => { setImmediate(resolve, IDLE) })
    while (size < maxBytes) {
      pending = it.next()
      const next = await Promise.race([pending, idle])
      if (next === IDLE) break
      if (next.done === true) { ended = true; break }
      const b = bytesOf(next.value)
      batch.push(b)
      size += b.byteLength
    }
    if (size >= maxBytes) pending = it.next()
    yield batch.length === 1 ? batch[0] as Uint8Array : Buffer.concat(batch, size)
    if (ended) return
  }
}

async function * toAsync<T> (source: Iterable<T>): AsyncGenerator<T> { yield * source }

/** The same connection, writing through coalesce(). */
export function coalesceWrites (conn: MultiaddrConnection, patches: Patches): MultiaddrConnection {
  if (Object.getPrototypeOf(conn) !== Object.prototype || typeof conn.sink !== 'function') {
    patches.lost('coalesce', 'a connection is not a plain object: a copy would lose its methods')
    return conn
  }
  return { ...conn, sink: async source => { await conn.sink(coalesce(source)) } }
}
