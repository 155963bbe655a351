/**
 * The mesh's devices as metrics, the same from every peer (labels never name
 * the serving node). Per device: `up` and `info` always; what it reports
 * (GPUs, memory, pushed metrics) only while it is up, so stale values are not
 * read as current. A device's data lines are encoded once per data object
 * (replaced, never mutated, when the device reports something new).
 */
import type { Device } from '../devices/types.js'
import { escapeLabel, formatValue, type FamilySpec } from './exposition.js'

const g = (name: string, help: string): FamilySpec => ({ name: `meshmon_device_${name}`, type: 'gauge', help })
const FAMILIES = [
  g('up', '1 if the device is connected (or pushed in time) to a peer of the mesh, 0 otherwise (down, unknown, left)'),
  g('info', 'always 1; labels describe the device (project, models)'),
  // data families: indexes DATA_FIRST..
  g('gpu_utilization_ratio', 'GPU utilization (0..1) as the device reports it'),
  g('gpu_memory_used_bytes', 'GPU memory used as the device reports it'),
  g('gpu_memory_total_bytes', 'GPU memory total as the device reports it'),
  g('memory_total_bytes', 'the device\'s memory total as it reports it (the WebSocket protocol\'s memory_total: GPU memory)'),
  g('metric', 'a value the device pushed (or sent that fits no other family), by name')
] as const
const DATA_FIRST = 2
const HEADERS = FAMILIES.map(f => Buffer.from(`# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`))

interface Chunks { id: string, chunks: Array<Buffer | null> }
const dataCache = new WeakMap<Device['data'], Chunks>()

/** The device families as encoded pieces, in exposition order. */
export function renderDeviceChunks (devices: Device[]): Buffer[] {
  const families: string[][] = [[], []]
  const data: Buffer[][] = FAMILIES.slice(DATA_FIRST).map(() => [])
  for (const d of devices) {
    const id = `device="${escapeLabel(d.id)}"`
    const project = escapeLabel(d.data.project)
    families[0]?.push(`${FAMILIES[0].name}{${id},project="${project}",via="${escapeLabel(d.viaName)}"} ${d.state === 'up' ? 1 : 0}\n`)
    families[1]?.push(`${FAMILIES[1].name}{${id},project="${project}",models="${escapeLabel(d.data.models.join(','))}"} 1\n`)
    if (d.state === 'up') dataChunks(d, id).forEach((c, i) => { if (c !== null) data[i]?.push(c) })
  }
  const out: Buffer[] = []
  families.forEach((lines, i) => { if (lines.length > 0) out.push(HEADERS[i] as Buffer, Buffer.from(lines.join(''))) })
  data.forEach((chunks, i) => { if (chunks.length > 0) out.push(HEADERS[DATA_FIRST + i] as Buffer, ...chunks) })
  return out
}

function dataChunks (d: Device, id: string): Array<Buffer | null> {
  const hit = dataCache.get(d.data)
  if (hit !== undefined && hit.id === id) return hit.chunks
  const lines: string[][] = [[], [], [], [], []]
  const add = (family: number, labels: string, value: number | null): void => {
    if (value !== null) lines[family]?.push(`${FAMILIES[DATA_FIRST + family]?.name as string}{${id}${labels}} ${formatValue(value)}\n`)
  }
  for (const gpu of d.data.gpus) {
    const l = `,gpu="${escapeLabel(gpu.index)}",name="${escapeLabel(gpu.name)}"`
    add(0, l, gpu.utilizationRatio)
    add(1, l, gpu.memoryUsedBytes)
    add(2, l, gpu.memoryTotalBytes)
  }
  add(3, '', d.data.memoryTotal)
  for (const [name, value] of Object.entries(d.data.metrics)) add(4, `,name="${escapeLabel(name)}"`, value)
  const chunks = lines.map(l => l.length === 0 ? null : Buffer.from(l.join('')))
  dataCache.set(d.data, { id, chunks })
  return chunks
}
