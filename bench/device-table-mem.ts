/**
 * `npx tsc -p bench/tsconfig.json && node --expose-gc .bench/bench/device-table-mem.js`:
 * the live heap one peer's device table takes per device of the mesh, with the machine info the
 * devices bench's clients send (one GPU, one model). Every peer holds every device, so this is part of
 * the floor under the devices bench's RSS per device, beside the sockets' own (bench/ws-floor.ts).
 */
import { DeviceTable } from '../src/devices/table.js'
import { compactData } from '../src/devices/data.js'
const N = 10_000
const gc = (globalThis as any).gc as () => void
const table = new DeviceTable({ self: 'self', selfName: 'self', peerState: () => 'up', maxDevices: N })
gc(); gc()
const before = process.memoryUsage().heapUsed
const now = Date.now()
for (let b = 0; b < N; b += 100) {
  const d = []
  for (let i = b; i < b + 100; i++) {
    d.push({ id: `dev-${i}`, st: 'up' as const, kind: 'websocket' as const, since: now, at: now, chg: now, seen: now, iv: null, why: null,
      data: compactData(JSON.parse(JSON.stringify({ project: 'bench', gpus: [{ index: '0', name: 'NVIDIA GeForce RTX 4090', utilizationRatio: 0.3, memoryUsedBytes: 22128 * 2 ** 20, memoryTotalBytes: 24564 * 2 ** 20 }], models: ['llama-3-8b'], memoryTotal: 24564 * 2 ** 20, metrics: {}, status: null, message: '', info: {} }))) })
  }
  table.applyRemote('via-1', 'via', { boot: 1, seq: b + 1, ts: now, d }, now)
}
gc(); gc()
const after = process.memoryUsage().heapUsed
console.log(JSON.stringify({ devices: table.size, heapBytesPerDevice: Math.round((after - before) / N) }))
