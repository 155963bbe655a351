/**
 * A `ws` WebSocket as a libp2p MultiaddrConnection that reads from the moment
 * it exists.
 *
 * Why not @libp2p/websockets 9: its connection reads through `it-ws`, whose
 * source attaches the `message` listener only when first read, and `ws` drops
 * messages nobody listens to. pnet is the first protocol where the listening
 * side speaks first (its 24-byte nonce): the nonce arrived before the dialer
 * read, was dropped, and every dial timed out. Here the listeners are attached
 * when the connection is made (before a dialer's socket even opens), and what
 * arrives early waits in a queue. The queue is bounded: past `readAheadBytes`
 * unread, the socket is paused (TCP pushes back on the sender) until the
 * reader catches up.
 */
import { once } from 'node:events'
import type { ComponentLogger, MultiaddrConnection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { pushable } from 'it-pushable'
import type { Uint8ArrayList } from 'uint8arraylist'
import WebSocket from 'ws'

export interface WebSocketConnectionInit {
  /**
   * unread bytes held before the socket is paused. It only fills when the reader
   * falls behind: libp2p reads without pause once the handshake starts.
   * @default 1 MiB
   */
  readAheadBytes?: number
  /**
   * bytes queued in the socket before a write waits for them to go out
   * @default 1 MiB
   */
  writeAheadBytes?: number
  /** a graceful close that takes longer ends in a reset @default 2000 */
  closeTimeoutMs?: number
}

export function socketToMaConn (socket: WebSocket, remoteAddr: Multiaddr, logger: ComponentLogger, init: WebSocketConnectionInit = {}): MultiaddrConnection {
  const readAhead = init.readAheadBytes ?? 1024 * 1024
  const writeAhead = init.writeAheadBytes ?? 1024 * 1024
  const closeTimeoutMs = init.closeTimeoutMs ?? 2000
  const log = logger.forComponent('meshmon:websockets:connection')
  const inbox = pushable<Uint8Array>()

  // text frames are bytes too (ws hands both as Buffers); a libp2p peer sends only binary
  socket.on('message', (data: Buffer) => {
    inbox.push(data)
    if (inbox.readableLength >= readAhead && !socket.isPaused) socket.pause()
  })
  // a broken socket (ws emits 'error', then 'close') fails the reader at once; what it had not read is dropped
  socket.on('error', (err: Error) => { inbox.end(err) })
  socket.once('close', (code: number, reason: Buffer) => {
    log('closed, code %d, reason "%s"', code, reason.toString())
    inbox.end()
    // libp2p watches this field to learn that the connection is gone
    maConn.timeline.close = Date.now()
  })

  const maConn: MultiaddrConnection = {
    log,
    remoteAddr,
    timeline: { open: Date.now() },
    source: (async function * () {
      for await (const chunk of inbox) {
        if (socket.isPaused && inbox.readableLength < readAhead / 2) socket.resume()
        yield chunk
      }
    })(),
    async sink (source: AsyncIterable<Uint8Array | Uint8ArrayList>) {
      try {
        for await (const chunk of source) {
          // closed by the peer or aborted: nothing more can be sent
          if (socket.readyState !== WebSocket.OPEN) return
          const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
          if (socket.bufferedAmount < writeAhead) {
            socket.send(bytes)
          } else {
            await new Promise<void>((resolve, reject) => { socket.send(bytes, err => { err == null ? resolve() : reject(err) }) })
          }
        }
        // the writer is done and a WebSocket has no half-close: close it
        if (socket.readyState === WebSocket.OPEN) socket.close()
      } catch (err: any) {
        log.error('writing failed - %e', err)
        maConn.abort(err)
      }
    },
    async close (options = {}) {
      if (socket.readyState === WebSocket.CLOSED) return
      // a socket still opening has nothing to close gracefully
      if (socket.readyState === WebSocket.CONNECTING) { socket.terminate(); return }
      const closed = once(socket, 'close', { signal: options.signal ?? AbortSignal.timeout(closeTimeoutMs) })
      if (socket.readyState === WebSocket.OPEN) socket.close()
      await closed.catch(() => {})
      // (read again: the await above may have seen it close)
      if ((socket.readyState as number) !== WebSocket.CLOSED) {
        log('no close from the peer in time, resetting')
        socket.terminate()
      }
    },
    abort (err: Error) {
      log('aborting - %e', err)
      socket.terminate()
    }
  }
  return maConn
}
