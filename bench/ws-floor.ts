/**
 * The devices bench's floor: a bare `ws` server with the options of meshmon's
 * device endpoint, on a port given as argv[2]. It answers every message with a
 * fixed response and every ping with the library's pong, and does nothing else:
 * what any Node.js WebSocket server pays for the same connections, measured in
 * the same run as meshmon's peers. Prints "listening" once ready.
 */
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'

const port = Number(process.argv[2])
const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 64 * 1024, perMessageDeflate: false, clientTracking: false })
const reply = '{"version":1,"timestamp":0,"id":0,"type":1,"code":0,"message":""}'
const server = createServer((_req, res) => { res.writeHead(404).end() })
server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => {})
  wss.handleUpgrade(req, socket, head, ws => {
    ws.on('message', () => { ws.send(reply) })
    ws.on('error', () => {})
  })
})
server.listen(port, '127.0.0.1', () => { process.stdout.write('listening\n') })
