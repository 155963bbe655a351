/**
 * The mesh's devices as metrics, the same from every peer (labels never name
 * the serving node). Per device: `up` and `info` always; what it reports
 * (GPUs, memory, pushed metrics) only while it is up, so stale values are not
 * read as current. Written at each scrape, not cached per device: a cache of
 * encoded lines cost ~1 KB per device (10k devices: 40k small Buffers), and
 * writing them takes a few ms per scrape.
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

/** The device families as encoded pieces, in exposition order. */
export function renderDeviceChunks (devices: Device[]): Buffer[] {
  const lines: string[][] = FAMILIES.map(() => [])
  const add = (family: number, labels: string, value: number | null): void => {
    if (value !== null) lines[family]?.push(`${FAMILIES[family]?.name as string}{${labels}} ${formatValue(value)}\n`)
  }
  for (const d of devices) {
    const id = `device="${escapeLabel(d.id)}"`
    const project = escapeLabel(d.data.project)
    add(0, `${id},project="${project}",via="${escapeLabel(d.viaName)}"`, d.state === 'up' ? 1 : 0)
    add(1, `${id},project="${project}",models="${escapeLabel(d.data.models.join(','))}"`, 1)
    if (d.state !== 'up') continue
    for (const gpu of d.data.gpus) {
      const l = `${id},gpu="${escapeLabel(gpu.index)}",name="${escapeLabel(gpu.name)}"`
      add(DATA_FIRST, l, gpu.utilizationRatio)
      add(DATA_FIRST + 1, l, gpu.memoryUsedBytes)
      add(DATA_FIRST + 2, l, gpu.memoryTotalBytes)
    }
    add(DATA_FIRST + 3, id, d.data.memoryTotal)
    for (const name in d.data.metrics) add(DATA_FIRST + 4, `${id},name="${escapeLabel(name)}"`, d.data.metrics[name] as number)
  }
  const out: Buffer[] = []
  lines.forEach((l, i) => { if (l.length > 0) out.push(HEADERS[i] as Buffer, Buffer.from(l.join(''))) })
  return out
}
