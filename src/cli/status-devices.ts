/** `meshmon status`'s second table: the mesh's devices, trouble first. */
import type { DeviceView } from '../devices/view.js'
import { ago, pct, renderTable } from './table.js'

/** A device `down` makes status exit 1, like a down peer; `unknown` and `left` are not alerted either. */
export const devicesHealthy = (devices: DeviceView[]): boolean => devices.every(d => d.state !== 'down')

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
