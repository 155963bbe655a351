/**
 * Patch `yamux-window` (fenced, see src/patches.ts): yamux without a window
 * update per received frame. Upstream would make it unnecessary by sending an
 * update only once half the window is consumed, as go-yamux does.
 *
 * @chainsafe/libp2p-yamux 7.0.4 answers every data frame a stream consumes
 * with a WindowUpdate frame (stream.js sendWindowUpdate: any consumed byte
 * makes the capacity smaller than the window). Each one is its own Noise frame
 * and its own socket write: in a 10-node mesh, 295 of a node's 718 writes in
 * 10 s were these 30-byte frames, one per gossip message received.
 *
 * This wraps the muxer's private frame sender (`sendFrame`): plain window
 * updates (no flags) are added up per stream and sent just before the next
 * other frame (so they ride in the same socket write, see coalesce.ts), or
 * when a stream's pending credit reaches `maxCredit` (a quarter of yamux's
 * 256 KiB initial window). Nothing else sends them: a sender whose reader
 * keeps up always has at least three quarters of its window, so a timer would
 * only wake both ends for credit nobody needs (a watcher's beat stream, which
 * it only reads, sent one every second). Updates carrying flags (SYN, ACK,
 * FIN, RST) go out at once, after the pending ones, in order. Window updates
 * are additive, so the remote sees the same credit, later. The start-up check
 * builds one muxer and looks for `sendFrame`; a later muxer without it is left
 * alone, and the patch reported lost.
 */
import type { StreamMuxer, StreamMuxerFactory, StreamMuxerInit } from '@libp2p/interface'
import type { Patches } from '../patches.js'

const WINDOW_UPDATE = 1

interface FrameHeader { type: number, flag: number, streamID: number, length: number }
type SendFrame = (header: FrameHeader, data?: unknown) => void
type Sending = StreamMuxer & { sendFrame?: SendFrame }

export interface WindowOptions { maxCredit?: number }

export function lazyWindowUpdates (factory: StreamMuxerFactory, patches: Patches, opts: WindowOptions = {}): StreamMuxerFactory {
  // the check: a muxer nobody talks to, with no keep-alive, dropped at once
  const probe = factory.createStreamMuxer({ direction: 'outbound', enableKeepAlive: false } as StreamMuxerInit) as Sending
  patches.checked('yamux-window', typeof probe.sendFrame === 'function', 'the yamux muxer has no sendFrame method')
  // changed internals may break abort() too: the check must not stop the node
  try { probe.abort(new Error('start-up check of the yamux-window patch')) } catch {}
  return {
    protocol: factory.protocol,
    createStreamMuxer: (init?: StreamMuxerInit): StreamMuxer => {
      const muxer = factory.createStreamMuxer(init) as Sending
      if (typeof muxer.sendFrame === 'function') return deferUpdates(muxer, muxer.sendFrame.bind(muxer), opts)
      patches.lost('yamux-window', 'a yamux muxer has no sendFrame method')
      return muxer
    }
  }
}

function deferUpdates (m: Sending, send: SendFrame, { maxCredit = 64 * 1024 }: WindowOptions): StreamMuxer {
  const pending = new Map<number, number>()
  let closed = false

  const flush = (): void => {
    if (closed) { pending.clear(); return }
    for (const [streamID, length] of pending) send({ type: WINDOW_UPDATE, flag: 0, streamID, length })
    pending.clear()
  }

  m.sendFrame = (header, data) => {
    if (header.type === WINDOW_UPDATE && header.flag === 0 && header.streamID !== 0) {
      const credit = (pending.get(header.streamID) ?? 0) + header.length
      pending.set(header.streamID, credit)
      if (credit >= maxCredit) flush()
      return
    }
    if (pending.size > 0) flush()
    send(header, data)
  }

  const close = m.close.bind(m)
  const abort = m.abort.bind(m)
  m.close = async options => { flush(); closed = true; await close(options) }
  m.abort = err => { closed = true; flush(); abort(err) }
  return m
}
