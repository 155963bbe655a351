/**
 * The mesh's WebSockets transport, in place of @libp2p/websockets 9, whose
 * connections lost what the peer sent before the first read and so never
 * finished a pnet handshake (connection.ts says why). Built on `ws` and
 * libp2p's public transport interface; the addresses are the same (`/ws`,
 * `/tls/ws`, `/wss`), plus `/http-path/PATH` to dial through a reverse proxy
 * that forwards one location.
 */
import { once } from 'node:events'
import { serviceCapabilities, transportSymbol, type ComponentLogger, type Connection, type CreateListenerOptions, type DialTransportOptions, type Listener, type Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { multiaddrToUri } from '@multiformats/multiaddr-to-uri'
import WebSocket from 'ws'
import { isDialable, isListenable } from './address.js'
import { socketToMaConn, type WebSocketConnectionInit } from './connection.js'
import { WebSocketListener } from './listener.js'

export interface MeshWebSocketsInit extends WebSocketConnectionInit {
  /**
   * largest WebSocket message accepted (ws allows 100 MiB by default, which a
   * stranger could send before any handshake). A libp2p peer's messages stay far
   * below: ours are one coalesced write burst, at most ~130 KiB (coalesce.ts).
   * @default 1 MiB
   */
  maxMessageBytes?: number
}

export interface MeshWebSocketsComponents {
  logger: ComponentLogger
}

/** The WebSocket did not open: refused, unreachable, or an HTTP answer that is no upgrade. */
export class WebSocketDialError extends Error {
  override name = 'WebSocketDialError'
}

class MeshWebSockets implements Transport {
  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = 'meshmon/websockets'
  readonly [serviceCapabilities] = ['@libp2p/transport']
  readonly #logger: ComponentLogger
  readonly #init: MeshWebSocketsInit & { maxMessageBytes: number }

  constructor (components: MeshWebSocketsComponents, init: MeshWebSocketsInit) {
    this.#logger = components.logger
    this.#init = { ...init, maxMessageBytes: init.maxMessageBytes ?? 1024 * 1024 }
  }

  async dial (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    options.signal.throwIfAborted()
    const url = multiaddrToUri(ma)
    // a /dns4 or /dns6 name resolves to that family only, as the TCP transport does
    const name = ma.getComponents()[0]?.name
    const family = name === 'dns4' ? 4 : name === 'dns6' ? 6 : undefined
    const socket = new WebSocket(url, { maxPayload: this.#init.maxMessageBytes, perMessageDeflate: false, family })
    // the connection listens from here on, before the socket opens: nothing the peer sends first is lost
    const maConn = socketToMaConn(socket, ma, this.#logger, this.#init)
    try {
      await once(socket, 'open', { signal: options.signal })
    } catch (err: any) {
      socket.terminate()
      if (options.signal.aborted) throw err
      const hint = /unexpected server response/i.test(err?.message) ? ': it answers HTTP but did not upgrade to a WebSocket (a proxy location or its Upgrade headers?)' : ''
      throw new WebSocketDialError(`${url}: ${err?.message ?? String(err)}${hint}`, { cause: err })
    }
    try {
      return await options.upgrader.upgradeOutbound(maConn, options)
    } catch (err: any) {
      maConn.abort(err)
      throw err
    }
  }

  createListener (options: CreateListenerOptions): Listener {
    return new WebSocketListener(this.#logger, { ...this.#init, upgrader: options.upgrader })
  }

  listenFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter(isListenable)
  }

  dialFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter(isDialable)
  }
}

export function meshWebSockets (init: MeshWebSocketsInit = {}): (components: MeshWebSocketsComponents) => Transport {
  return components => new MeshWebSockets(components, init)
}
