/**
 * `GET /websocket` on the API port: the detection service's device protocol
 * (protocol.ts, bodies.ts). The upgrade is refused with a JSON HTTP error when
 * the token is wrong (401) or the client's address holds too many connections
 * (429). Once open, every frame gets its response; a bad frame never closes
 * the connection. The library answers ping frames with pong; a connection with
 * neither ping nor message for `idleTimeoutMs` is closed, and its device is down.
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { WebSocketServer, type WebSocket } from 'ws'
import { UNAUTHORIZED, type IngestAuth } from './auth.js'
import { readMachineInfo, readOnline } from './bodies.js'
import { CODE, FrameError, parseFrame, respond, TYPE, type Echo } from './protocol.js'
import type { DeviceTable } from './table.js'
import type { LogThrottle } from '../log-throttle.js'
import { LIMITS, type DeviceData, type IngestCounters } from './types.js'
import { emptyData, fitsWire, sameData } from './data.js'

export const WEBSOCKET_PATH = '/websocket'

export interface WebSocketEndpointInit {
  /** no ping or message this long: closed, ms @default 30_000 */
  idleTimeoutMs?: number
  /** open connections per client address @default 1000 */
  maxConnectionsPerIp?: number
}

export interface WebSocketEndpointComponents {
  table: DeviceTable
  auth: IngestAuth
  log: Logger
  throttle: LogThrottle
  counters: IngestCounters
}

interface Conn { ws: WebSocket, device: string | null, activeAt: number, idleAt: number }

/** frames over LIMITS.frameBytes get a 413 answer; over this the library closes the connection (1009) */
const HARD_MAX_PAYLOAD = 4 * LIMITS.frameBytes
const REASONS: Record<number, keyof IngestCounters['errors']> = { [CODE.BAD_REQUEST]: 'bad_request', [CODE.NOT_ONLINE]: 'not_online', [CODE.TOO_LARGE]: 'too_large' }

export class WebSocketEndpoint {
  readonly #c: WebSocketEndpointComponents
  readonly #idleMs: number
  readonly #maxPerIp: number
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: HARD_MAX_PAYLOAD, perMessageDeflate: false, clientTracking: false })
  readonly #conns = new Map<WebSocket, Conn>()
  readonly #perIp = new Map<string, number>()
  /** the client address a socket is counted under (until it closes) */
  readonly #ipOf = new WeakMap<Duplex, string>()
  #server?: Server
  #sweep?: NodeJS.Timeout
  #stopping = false
  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => { this.#upgrade(req, socket, head) }

  // One set of handlers for every connection (`this` is the WebSocket or the socket): a closure per
  // connection and event costs memory, and a peer may hold thousands of devices.
  readonly #handlers: Record<'message' | 'ping' | 'close' | 'error' | 'socketClose', (this: any, ...args: any[]) => void>

  constructor (components: WebSocketEndpointComponents, init: WebSocketEndpointInit = {}) {
    this.#c = components
    this.#idleMs = init.idleTimeoutMs ?? 30_000
    this.#maxPerIp = init.maxConnectionsPerIp ?? 1000
    const self = this
    this.#handlers = {
      message (this: WebSocket, data: Buffer) {
        const c = self.#conns.get(this)
        if (c !== undefined) self.#message(c, data)
      },
      ping (this: WebSocket) {
        const c = self.#conns.get(this)
        if (c === undefined) return
        c.activeAt = performance.now()
        if (c.device !== null) self.#c.table.heard(c.device, c)
      },
      close (this: WebSocket) {
        const c = self.#conns.get(this)
        self.#conns.delete(this)
        if (c?.device != null && !self.#stopping) self.#c.table.disconnect(c.device, c, c.idleAt > 0 ? 'idle' : 'closed')
      },
      error (this: WebSocket, err: Error) { self.#c.log.debug({ err: err.message, device: self.#conns.get(this)?.device }, 'device WebSocket error') },
      socketClose (this: Duplex) {
        const ip = self.#ipOf.get(this)
        if (ip === undefined) return
        const n = (self.#perIp.get(ip) ?? 1) - 1
        if (n <= 0) self.#perIp.delete(ip)
        else self.#perIp.set(ip, n)
      }
    }
  }

  get connections (): number { return this.#conns.size }

  start (server: Server): void {
    this.#server = server
    server.on('upgrade', this.#onUpgrade)
  }

  /** the idle sweep runs only while connections are open (#closeIdle stops it) */
  #sweepWhileOpen (): void {
    if (this.#sweep !== undefined || this.#stopping) return
    this.#sweep = setInterval(() => { this.#closeIdle() }, Math.max(50, Math.min(1000, this.#idleMs / 4)))
    this.#sweep.unref()
  }

  /** Closes every connection without marking devices down: the mesh sees this peer leave, and its devices `unknown`. */
  async stop (): Promise<void> {
    this.#stopping = true
    this.#server?.off('upgrade', this.#onUpgrade)
    clearInterval(this.#sweep)
    for (const c of this.#conns.values()) c.ws.close(1001, 'meshmon is stopping')
    const deadline = performance.now() + 1000
    while (this.#conns.size > 0 && performance.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    for (const c of this.#conns.values()) c.ws.terminate()
  }

  #upgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', ignore)
    const url = new URL(req.url ?? '/', 'http://device')
    if (url.pathname !== WEBSOCKET_PATH) { refuse(socket, 404, `no WebSocket endpoint at ${url.pathname}; devices connect to ${WEBSOCKET_PATH}`); return }
    const ip = req.socket.remoteAddress ?? ''
    if (this.#stopping) { refuse(socket, 503, 'this peer is stopping; connect to another one'); return }
    if (!this.#c.auth.allows(req.headers.authorization, url.searchParams.get('token'))) {
      this.#c.counters.refused.unauthorized++
      this.#c.throttle.warn('ws-unauthorized', { ip }, 'device WebSocket refused: no or wrong ingest token')
      refuse(socket, 401, UNAUTHORIZED, { 'WWW-Authenticate': 'Bearer' })
      return
    }
    const held = this.#perIp.get(ip) ?? 0
    if (held >= this.#maxPerIp) {
      this.#c.counters.refused.too_many_connections++
      this.#c.throttle.warn('ws-per-ip', { ip, max: this.#maxPerIp }, 'device WebSocket refused: too many connections from one address (ingest.maxConnectionsPerIp)')
      refuse(socket, 429, `${ip} holds ${held} device connections to this peer, the most it may (ingest.maxConnectionsPerIp)`)
      return
    }
    // counted until the socket closes, whether the handshake succeeds or not
    this.#perIp.set(ip, held + 1)
    this.#ipOf.set(socket, ip)
    socket.once('close', this.#handlers.socketClose)
    this.#wss.handleUpgrade(req, socket, head, ws => { this.#open(ws) })
  }

  #open (ws: WebSocket): void {
    this.#conns.set(ws, { ws, device: null, activeAt: performance.now(), idleAt: 0 })
    this.#sweepWhileOpen()
    const h = this.#handlers
    ws.on('message', h.message).on('ping', h.ping).on('close', h.close).on('error', h.error)
  }

  #message (conn: Conn, data: Buffer): void {
    conn.activeAt = performance.now()
    const parsed = parseFrame(data)
    if (!parsed.ok) { this.#answer(conn, parsed.echo, parsed.error); return }
    const { echo, type, body } = parsed.frame
    try {
      if (type === TYPE.ONLINE) this.#online(conn, body)
      else this.#machineInfo(conn, body)
      this.#answer(conn, echo)
    } catch (err) {
      this.#answer(conn, echo, err instanceof FrameError ? err : new FrameError(500, `internal error: ${(err as Error).message}`))
    }
  }

  #online (conn: Conn, body: Record<string, unknown>): void {
    const o = readOnline(body)
    if (conn.device !== null && conn.device !== o.id) {
      throw new FrameError(CODE.NOT_ONLINE, `this connection is online as ${conn.device}; open another connection for ${o.id}`)
    }
    const before = this.#c.table.get(o.id)?.data ?? emptyData()
    const data = checked({ ...before, project: o.project ?? before.project, info: { ...before.info, ...o.info } })
    const r = this.#c.table.connect(o.id, conn, data)
    if ('refused' in r) {
      this.#c.counters.refused.too_many_devices++
      this.#c.throttle.warn('ws-max-devices', { device: o.id }, 'device refused: this peer holds ingest.maxDevices devices')
      throw new FrameError(CODE.DEVICE_LIMIT, `this peer holds ${this.#c.table.size} devices, the most it may (ingest.maxDevices); none has ended that could make room`)
    }
    conn.device = o.id
  }

  #machineInfo (conn: Conn, body: Record<string, unknown>): void {
    const id = conn.device
    if (id === null) throw new FrameError(CODE.NOT_ONLINE, `machine info before online: send an online message (type ${TYPE.ONLINE}) with your node_id first`)
    const before = this.#c.table.local.get(id)?.data ?? emptyData()
    const read = readMachineInfo(body, before)
    // the same machine info again (most of them): the data already held, already checked
    const data = sameData(read, before) ? before : checked(read)
    if (!this.#c.table.report(id, conn, data)) {
      throw new FrameError(CODE.NOT_ONLINE, `${id} is online on a newer connection; this one no longer reports for it (send online again to take it back)`)
    }
  }

  #answer (conn: Conn, echo: Echo, error?: FrameError): void {
    if (error !== undefined) {
      const reason = REASONS[error.code]
      if (reason !== undefined) this.#c.counters.errors[reason]++
      this.#c.log.debug({ device: conn.device, code: error.code, err: error.message }, 'device frame answered with an error')
    }
    conn.ws.send(respond(echo, error?.code ?? CODE.OK, error?.message ?? ''))
  }

  #closeIdle (): void {
    if (this.#conns.size === 0) { clearInterval(this.#sweep); this.#sweep = undefined; return }
    const now = performance.now()
    for (const c of this.#conns.values()) {
      if (c.idleAt === 0 && now - c.activeAt > this.#idleMs) {
        c.idleAt = now
        // down now, not when the closing handshake of a dead client times out
        if (c.device !== null) this.#c.table.disconnect(c.device, c, 'idle')
        c.ws.close(1000, `no ping or message for ${Math.round(this.#idleMs / 1000)}s`)
      } else if (c.idleAt > 0 && now - c.idleAt > 2000) {
        c.ws.terminate()
      }
    }
  }
}

const ignore = (): void => {}

function checked (data: DeviceData): DeviceData {
  if (!fitsWire(data)) throw new FrameError(CODE.TOO_LARGE, `the device's data is over ${LIMITS.dataBytes} bytes once encoded; send fewer or shorter models, GPU names or info fields`)
  return data
}

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' }

/** An HTTP error in place of the upgrade, JSON like every API error. */
function refuse (socket: Duplex, status: number, error: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error })
  const head = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`)
}
