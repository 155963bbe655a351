/**
 * For the alert tests: the real Alertmanager from Debian on 127.0.0.1 (no
 * cluster gossip), peer tables fed real heartbeats, and a logger whose lines
 * the tests can read. Processes are started through Procs (killed by pid).
 */
import { writeFile } from 'node:fs/promises'
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

/** Start Alertmanager on `port` with its config and storage in `dir`; resolves once /-/ready. */
export async function startAlertmanager (procs: Procs, dir: string, port: number): Promise<ChildProcess> {
  const config = join(dir, 'am.yml')
  await writeFile(config, 'route: { receiver: "null", group_wait: 1s }\nreceivers: [{ name: "null" }]\n')
  // an empty cluster address turns gossip off: no network but loopback
  const child = procs.start(ALERTMANAGER, [`--config.file=${config}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='])
  await waitFor('alertmanager /-/ready', async () => {
    if (child.exitCode !== null) throw new Error(`alertmanager exited ${child.exitCode}: ${procs.logs.get(child)?.join('')}`)
    return (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok
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
export async function amAlerts (url: string, mesh: string, alertname?: string): Promise<AmAlert[]> {
  const filters = [`mesh="${mesh}"`, ...(alertname === undefined ? [] : [`alertname="${alertname}"`])]
  const q = filters.map(f => `filter=${encodeURIComponent(f)}`).join('&')
  const res = await fetch(`${url}/api/v2/alerts?active=true&${q}`)
  if (!res.ok) throw new Error(`GET alerts: HTTP ${res.status}`)
  return await res.json() as AmAlert[]
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
