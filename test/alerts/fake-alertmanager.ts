/**
 * A stand-in for Alertmanager on 127.0.0.1 that records every POST and
 * answers what the test says (or holds the request unanswered). For checking
 * exact payloads and timing; Alertmanager's own API hides resolved alerts.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Alert } from '../../src/alerts/index.js'

export interface Post { at: number, alerts: Alert[] }

export class FakeAlertmanager {
  readonly posts: Post[] = []
  status = 200
  /** hold requests without answering */
  hang = false
  server!: Server
  url = ''
  /** requests held unanswered whose connection is still open */
  held = 0

  async start (): Promise<this> {
    this.server = createServer((req, res) => {
      let body = ''
      req.on('data', d => { body += d })
      req.on('end', () => {
        if (this.hang) {
          this.held++
          req.socket.once('close', () => { this.held-- })
          return
        }
        if (this.status === 200) this.posts.push({ at: Date.now(), alerts: JSON.parse(body) })
        res.writeHead(this.status).end(this.status === 200 ? '' : 'nope')
      })
    })
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async stop (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise(resolve => this.server.close(resolve))
  }

  /** every delivered copy of the alert whose labels include `labels` */
  sent (labels: Record<string, string>): Array<Alert & { at: number }> {
    return this.posts.flatMap(p => p.alerts.filter(a => Object.entries(labels).every(([k, v]) => a.labels[k] === v)).map(a => ({ ...a, at: p.at })))
  }
}
