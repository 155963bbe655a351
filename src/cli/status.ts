/** `meshmon status`: every peer and device the node knows; exit 0 healthy, 1 not, 2 unreachable. */
import type { PeerView } from '../api/peers.js'
import type { DeviceView } from '../devices/view.js'
import { getJson } from './api-client.js'
import { ago, pct, renderTable, shortPeerId } from './table.js'

export interface StatusOptions { api: string, json?: boolean, watch?: boolean, interval?: string }

/** Failing = a check that has run and is not OK. */
export const failingChecks = (p: PeerView): PeerView['checks'] => p.checks.filter(c => c.status !== 0 && c.lastRun !== null)

/** No always-on peer down, no check failing, no device down (unknown and left are not alerted either). */
export function healthy (peers: PeerView[], devices: DeviceView[] = []): boolean {
  return peers.every(p => !(p.expect === 'always-on' && p.state === 'down') && failingChecks(p).length === 0) && devices.every(d => d.state !== 'down')
}

export function renderStatus (peers: PeerView[], now = Date.now()): string {
  const rows = peers.map(p => {
    const m = p.machine
    const root = m?.filesystems.find(f => f.mountpoint === '/') ?? m?.filesystems[0]
    return [
      p.name + (p.self ? ' *' : ''),
      shortPeerId(p.peerId),
      p.state + (p.state !== 'up' && p.expect === 'intermittent' ? ' (intermittent)' : ''),
      p.self ? 'self' : ago(p.lastSeen, now),
      pct(m?.cpu.usageRatio),
      m == null ? '-' : pct(1 - m.memory.availableBytes / m.memory.totalBytes),
      root === undefined ? '-' : pct(1 - root.availBytes / root.sizeBytes),
      failingChecks(p).map(c => `${c.name}(${c.statusName})`).join(', ') || '-'
    ]
  })
  const down = peers.filter(p => p.state === 'down' && p.expect === 'always-on').length
  const failing = peers.reduce((n, p) => n + failingChecks(p).length, 0)
  const summary = `${peers.length} peers: ${peers.filter(p => p.state === 'up').length} up, ${down} down, ${failing} failing checks`
  return renderTable(['NAME', 'PEER', 'STATE', 'LAST SEEN', 'CPU', 'MEM', 'DISK', 'FAILING CHECKS'], rows) + summary + '\n'
}

/** The second table: the mesh's devices, trouble first. */
export function renderDevices (devices: DeviceView[], now = Date.now()): string {
  if (devices.length === 0) return ''
  const order = { down: 0, unknown: 1, left: 2, up: 3 }
  const rows = [...devices].sort((a, b) => order[a.state] - order[b.state] || (a.id < b.id ? -1 : 1)).map(d => [
    d.id,
    d.project || '-',
    d.viaName || '-',
    d.state + (d.status !== null && d.status !== 'ok' && d.state === 'up' ? ` (${d.status})` : ''),
    ago(d.lastSeen, now),
    gpuText(d.gpus),
    clipText(d.models.join(','), 40) || '-'
  ])
  const count = (state: string): number => devices.filter(d => d.state === state).length
  const summary = `${devices.length} devices: ${count('up')} up, ${count('down')} down, ${count('unknown')} unknown, ${count('left')} left`
  return renderTable(['DEVICE', 'PROJECT', 'VIA', 'STATE', 'LAST SEEN', 'GPUS', 'MODELS'], rows) + summary + '\n'
}

function gpuText (gpus: DeviceView['gpus']): string {
  if (gpus.length === 0) return '-'
  const names = [...new Set(gpus.map(g => g.name || 'GPU'))].join('/')
  const util = gpus.length === 1 && gpus[0]?.utilizationRatio != null ? ` ${pct(gpus[0].utilizationRatio)}` : ''
  return `${gpus.length > 1 ? `${gpus.length}x ` : ''}${names}${util}`
}

const clipText = (text: string, max: number): string => (text.length > max ? text.slice(0, max - 1) + '…' : text)

export async function statusCommand (options: StatusOptions): Promise<number> {
  const once = async (): Promise<number> => {
    const peers = await getJson<PeerView[]>(options.api, '/api/v1/peers')
    // a node from before devices (404) or still starting (503) has none to show
    const devices = await getJson<DeviceView[]>(options.api, '/api/v1/devices').catch(() => [])
    // --json keeps printing the peers array it always printed; devices' JSON is GET /api/v1/devices
    const out = options.json === true ? JSON.stringify(peers, null, 2) + '\n' : renderStatus(peers) + (devices.length > 0 ? '\n' + renderDevices(devices) : '')
    // --watch redraws in place: home the cursor and clear the screen first
    process.stdout.write((options.watch === true ? '\x1b[H\x1b[2J' : '') + out)
    return healthy(peers, devices) ? 0 : 1
  }
  if (options.watch !== true) return await once()
  let code = await once()
  await new Promise<void>(resolve => {
    const timer = setInterval(() => { once().then(c => { code = c }, err => { process.stderr.write(`meshmon: ${err.message}\n`); code = 2 }) }, 2000)
    process.once('SIGINT', () => { clearInterval(timer); resolve() })
  })
  return code
}
