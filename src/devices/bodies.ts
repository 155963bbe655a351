/**
 * The bodies of the two WebSocket messages, read into DeviceData. Unknown
 * fields are ignored (later clients send more); a known field of the wrong
 * type or out of its bounds is an error that names it.
 *
 *  online (type 1):       { "node_id": "...", "machine_id", "project", "container_id", "staking_type" }
 *  machine info (type 2): { "project", "models": [{ "model": "..." }], "gpu_name", "utilization_gpu": 30,
 *                           "memory_total": 24564, "memory_used": 22128, "gpu_names": [...],
 *                           "gpu_memory_total": [...], "cpu_type", "cpu_rate" }   (memory in MiB)
 */
import { CODE, describe, FrameError } from './protocol.js'
import { DEVICE_ID, DEVICE_ID_RULE, LIMITS, type DeviceData, type DeviceGpu } from './types.js'

const MIB = 2 ** 20
const bad = (message: string): FrameError => new FrameError(CODE.BAD_REQUEST, message)

function text (b: Record<string, unknown>, key: string, max: number = LIMITS.textLength): string | undefined {
  const v = b[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw bad(`${key} must be a string, not ${describe(v)}`)
  if (v.length > max) throw bad(`${key} is ${v.length} characters long; at most ${max}`)
  return v
}

function num (b: Record<string, unknown>, key: string, max: number): number | undefined {
  const v = b[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) throw bad(`${key} must be a number from 0 to ${max}, not ${describe(v)}`)
  return v
}

function list (b: Record<string, unknown>, key: string, max: number): unknown[] | undefined {
  const v = b[key]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v)) throw bad(`${key} must be an array, not ${describe(v)}`)
  if (v.length > max) throw bad(`${key} has ${v.length} entries; at most ${max}`)
  return v
}

export interface Online { id: string, project?: string, info: Record<string, string> }

export function readOnline (b: Record<string, unknown>): Online {
  const nodeId = text(b, 'node_id', LIMITS.idLength)
  const machineId = text(b, 'machine_id', LIMITS.idLength)
  const id = nodeId !== undefined && nodeId !== '' ? nodeId : machineId
  if (id === undefined || id === '') throw bad('node_id is missing: the online body must name the device, e.g. {"node_id":"gpu-box-7"}')
  if (!DEVICE_ID.test(id)) throw bad(`node_id ${JSON.stringify(id)} is not a device id: use ${DEVICE_ID_RULE}`)
  const info: Record<string, string> = {}
  if (machineId !== undefined && machineId !== id) info.machine_id = machineId
  const container = text(b, 'container_id')
  if (container !== undefined) info.container_id = container
  const staking = b.staking_type
  if (typeof staking === 'number' || typeof staking === 'string') info.staking_type = String(staking).slice(0, LIMITS.textLength)
  else if (staking !== undefined && staking !== null) throw bad(`staking_type must be a number or a string, not ${describe(staking)}`)
  return { id, project: text(b, 'project'), info }
}

/** Machine info merged over what the device said before (project and info survive a body without them). */
export function readMachineInfo (b: Record<string, unknown>, before: DeviceData): DeviceData {
  const models = (list(b, 'models', LIMITS.models) ?? []).map((m, i) => {
    const name = typeof m === 'string' ? m : (typeof m === 'object' && m !== null ? (m as Record<string, unknown>).model : undefined)
    if (typeof name !== 'string') throw bad(`models[${i}] must be {"model": "name"}, not ${describe(m)}`)
    if (name.length > LIMITS.textLength) throw bad(`models[${i}].model is ${name.length} characters long; at most ${LIMITS.textLength}`)
    return name
  })
  const metrics: Record<string, number> = {}
  const cpuRate = num(b, 'cpu_rate', 1e6)
  if (cpuRate !== undefined) metrics.cpu_rate = cpuRate
  const info = { ...before.info }
  const cpuType = text(b, 'cpu_type')
  if (cpuType !== undefined) info.cpu_type = cpuType
  const { gpus, memoryTotal } = readGpus(b, metrics)
  return { ...before, project: text(b, 'project') ?? before.project, models, gpus, memoryTotal, metrics, info }
}

/**
 * One GPU from gpu_name, or one per gpu_names entry (memory from gpu_memory_total).
 * utilization_gpu and memory_used are one number each: with several GPUs they can't be
 * given to one, so they are kept as the device's metrics gpu_utilization_ratio and gpu_memory_used_bytes.
 */
function readGpus (b: Record<string, unknown>, metrics: Record<string, number>): { gpus: DeviceGpu[], memoryTotal: number | null } {
  const maxMib = LIMITS.maxBytes / MIB
  const names = (list(b, 'gpu_names', LIMITS.gpus) ?? []).map((n, i) => {
    if (typeof n !== 'string' || n.length > LIMITS.textLength) throw bad(`gpu_names[${i}] must be a string of at most ${LIMITS.textLength} characters, not ${describe(n)}`)
    return n
  })
  const single = text(b, 'gpu_name')
  if (names.length === 0 && single !== undefined && single !== '') names.push(single)
  const totals = (list(b, 'gpu_memory_total', LIMITS.gpus) ?? []).map((t, i) => {
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > maxMib) throw bad(`gpu_memory_total[${i}] must be MiB from 0 to ${maxMib}, not ${describe(t)}`)
    return t
  })
  const util = num(b, 'utilization_gpu', 100)
  const total = num(b, 'memory_total', maxMib)
  const used = num(b, 'memory_used', maxMib)
  const count = Math.max(names.length, totals.length, util !== undefined || used !== undefined || total !== undefined ? 1 : 0)
  const gpus: DeviceGpu[] = []
  for (let i = 0; i < count; i++) {
    const t = totals[i] ?? (count === 1 ? total : undefined)
    gpus.push({
      index: String(i),
      name: names[i] ?? '',
      utilizationRatio: count === 1 && util !== undefined ? util / 100 : null,
      memoryUsedBytes: count === 1 && used !== undefined ? used * MIB : null,
      memoryTotalBytes: t === undefined ? null : t * MIB
    })
  }
  if (count > 1 && util !== undefined) metrics.gpu_utilization_ratio = util / 100
  if (count > 1 && used !== undefined) metrics.gpu_memory_used_bytes = used * MIB
  const memoryTotal = total !== undefined ? total * MIB : totals.length > 0 ? totals.reduce((a, t) => a + t, 0) * MIB : null
  return { gpus, memoryTotal }
}
