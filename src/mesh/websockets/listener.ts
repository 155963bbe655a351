/**
 * Accepts WebSocket upgrades on a plain HTTP server and hands each socket to
 * libp2p's upgrader as a connection that reads from the moment it exists
 * (connection.ts). Any request path is accepted, so a reverse proxy may
 * forward one location (`/p2p`) unchanged; a request that is not an upgrade
 * gets 400 and a sentence.
 */
import { setMaxListeners } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { TypedEventEmitter, type ComponentLogger, type Listener, type ListenerEvents, type Logger, type Upgrader } from '@libp2p/interface'
import { getThinWaistAddresses } from '@libp2p/utils/get-thin-waist-addresses'
import { ipPortToMultiaddr } from '@libp2p/utils/ip-port-to-multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { WebSocketServer, type WebSocket } from 'ws'
import { socketToMaConn, type WebSocketConnectionInit } from './connection.js'

export interface WebSocketListenerInit extends WebSocketConnectionInit {
  upgrader: Upgrader
  /** largest WebSocket message accepted */
  maxMessageBytes: number
}

export class WebSocketListener extends TypedEventEmitter<ListenerEvents> implements Listener {
  readonly #logger: ComponentLogger
  readonly #log: Logger
  readonly #init: WebSocketListenerInit
  readonly #server: Server
  readonly #wss: WebSocketServer
  /** every TCP socket the server accepted, upgraded or not: close() ends them all */
  readonly #sockets = new Set<Socket>()
  readonly #shutdown = new AbortController()
  #listening?: Multiaddr

  constructor (logger: ComponentLogger, init: WebSocketListenerInit) {
    super()
    this.#logger = logger
    this.#log = logger.forComponent('meshmon:websockets:listener')
    this.#init = init
    // every inbound upgrade listens on this signal until it ends
    setMaxListeners(Infinity, this.#shutdown.signal)
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: init.maxMessageBytes })
    this.#server = createServer((req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('meshmon: only WebSocket upgrades are served on this port\n')
    })
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => { this.#sockets.delete(socket) })
    })
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      // ws answers a malformed upgrade with 400 itself; the callback runs in the same tick as the
      // upgrade, before any byte after it is read, so the connection's listeners miss nothing
      this.#wss.handleUpgrade(req, socket, head, ws => { this.#onConnection(ws, req) })
    })
  }

  #onConnection (ws: WebSocket, req: IncomingMessage): void {
    let remote: Multiaddr
    try {
      remote = ipPortToMultiaddr(req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0)
    } catch (err: any) {
      this.#log.error('inbound connection without a usable remote address - %e', err)
      ws.terminate()
      return
    }
    const maConn = socketToMaConn(ws, remote, this.#logger, this.#init)
    this.#log('new inbound connection %s', remote)
    this.#init.upgrader.upgradeInbound(maConn, { signal: this.#shutdown.signal }).catch((err: Error) => {
      this.#log.error('inbound connection from %s failed to upgrade - %e', remote, err)
      maConn.abort(err)
    })
  }

  async listen (ma: Multiaddr): Promise<void> {
    const { host, port, family } = ma.toOptions()
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen({ host, port, ipv6Only: family === 6 }, () => {
        this.#server.off('error', reject)
        resolve()
      })
    })
    this.#server.on('error', (err: Error) => { this.safeDispatchEvent('error', { detail: err }) })
    this.#listening = ma
    this.safeDispatchEvent('listening')
  }

  getAddrs (): Multiaddr[] {
    const address = this.#server.address()
    if (address == null || typeof address === 'string') return []
    return getThinWaistAddresses(this.#listening, address.port).map(a => a.encapsulate('/ws'))
  }

  updateAnnounceAddrs (): void {}

  async close (): Promise<void> {
    this.#shutdown.abort()
    const closed = new Promise<void>(resolve => { this.#server.close(() => { resolve() }) })
    this.#wss.close()
    for (const socket of this.#sockets) socket.destroy()
    await closed
    this.safeDispatchEvent('close')
  }
}
