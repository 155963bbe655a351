/**
 * For the alert tests: the real Alertmanager from Debian on 127.0.0.1 (no
 * cluster gossip), peer tables fed real heartbeats, and a logger whose lines
 * the tests can read. Processes are started through Procs (killed by pid).
 */
import { writeFile } from 'node:fs/promises'
import { get as httpGet } from 'node:http'
import { get as httpsGet } from 'node:https'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import pino from 'pino'
import type { CheckState } from '../../src/checks/types.js'
import { PeerTable, type Peer } from '../../src/heartbeat/peer-table.js'
import { record } from '../support/record.js'
import type { Procs } from '../support/procs.js'
import { waitFor } from '../support/wait.js'

export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager'
export const AMTOOL = '/usr/bin/amtool'

/** How a test reaches an Alertmanager that wants credentials or TLS. */
export interface AmAccess {
  /** user:password for basic auth */
  basic?: string
  tls?: { ca?: Buffer, cert?: Buffer, key?: Buffer }
}

/** GET from Alertmanager over http or https, with the access it wants. */
export async function amGet (url: string, access: AmAccess = {}): Promise<{ status: number, body: string }> {
  const get = url.startsWith('https:') ? httpsGet : httpGet
  const headers: Record<string, string> = access.basic === undefined ? {} : { authorization: `Basic ${Buffer.from(access.basic).toString('base64')}` }
  return await new Promise((resolve, reject) => {
    get(url, { headers, ...access.tls, timeout: 5000 }, res => {
      let body = ''
      res.on('data', d => { body += d })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    }).on('error', reject).on('timeout', function (this: { destroy: (e: Error) => void }) { this.destroy(new Error('timeout')) })
  })
}

/** Where Alertmanager runs: its listen address, and a command prefix (a network namespace, netlab.ts) @default 127.0.0.1, here */
export interface AmPlace { ip?: string, exec?: string[] }

/**
 * Start Alertmanager on `port` with its config and storage in `dir`; resolves once /-/ready.
 * `webConfig` is the text of its --web.config.file (basic_auth_users, tls_server_config).
 */
export async function startAlertmanager (procs: Procs, dir: string, port: number, web: { config?: string, access?: AmAccess } = {}, at: AmPlace = {}): Promise<ChildProcess> {
  const config = join(dir, 'am.yml')
  await writeFile(config, 'route: { receiver: "null", group_wait: 1s }\nreceivers: [{ name: "null" }]\n')
  const webArgs: string[] = []
  if (web.config !== undefined) {
    await writeFile(join(dir, 'web.yml'), web.config)
    webArgs.push(`--web.config.file=${join(dir, 'web.yml')}`)
  }
  // an empty cluster address turns gossip off: no network but loopback
  const ip = at.ip ?? '127.0.0.1'
  const [cmd, ...pre] = [...(at.exec ?? []), ALERTMANAGER]
  const child = procs.start(cmd as string, [...pre, `--config.file=${config}`, `--storage.path=${dir}`, `--web.listen-address=${ip}:${port}`, '--cluster.listen-address=', ...webArgs])
  const scheme = web.config?.includes('tls_server_config') === true ? 'https' : 'http'
  await waitFor('alertmanager /-/ready', async () => {
    if (child.exitCode !== null) throw new Error(`alertmanager exited ${child.exitCode}: ${procs.logs.get(child)?.join('')}`)
    return (await amGet(`${scheme}://${ip}:${port}/-/ready`, web.access)).status === 200
  }, 20_000)
  return child
}

export interface AmAlert {
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
  status: { state: string }
}

/** Alertmanager's view (GET /api/v2/alerts leaves out resolved alerts) of one mesh's alerts. */
export async function amAlerts (url: string, mesh: string, alertname?: string, access?: AmAccess): Promise<AmAlert[]> {
  const filters = [`mesh="${mesh}"`, ...(alertname === undefined ? [] : [`alertname="${alertname}"`])]
  const q = filters.map(f => `filter=${encodeURIComponent(f)}`).join('&')
  const res = await amGet(`${url}/api/v2/alerts?active=true&${q}`, access)
  if (res.status !== 200) throw new Error(`GET alerts: HTTP ${res.status}`)
  return JSON.parse(res.body) as AmAlert[]
}

/** A peer table as a node has it: `self` plus the peers it heard, fed real heartbeats. */
export class MeshView {
  readonly table = new PeerTable()
  #seq = new Map<string, number>()

  constructor (selfName: string) { this.hear(`12D3KooWSelf${selfName}`, selfName, [], true) }

  /** a heartbeat (full, with checks) from `peerId` */
  hear (peerId: string, name: string, checks: CheckState[] = [], self = false): Peer {
    const seq = (this.#seq.get(peerId) ?? 0) + 1
    this.#seq.set(peerId, seq)
    this.table.apply(peerId, record({ name, seq, checks }), self)
    return this.table.get(peerId) as Peer
  }

  /** what the failure detector does when the peer stays silent */
  down (peerId: string): Peer {
    const peer = this.table.get(peerId) as Peer
    this.table.setState(peer, 'down', 'silent')
    return peer
  }
}

export const failing = (name: string, status: 1 | 2, output: string, since = Date.now()): CheckState => ({
  name, type: 'exec', status, output, perfdata: '', durationSeconds: 0.01, lastRun: since, since
})

/** A pino logger whose records the test reads. */
export function recordingLog (): { log: pino.Logger, lines: Array<{ level: number, msg: string, [k: string]: unknown }> } {
  const lines: Array<{ level: number, msg: string }> = []
  const log = pino({ level: 'debug' }, { write (s: string) { lines.push(JSON.parse(s)) } })
  return { log, lines }
}
