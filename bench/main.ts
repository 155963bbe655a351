/**
 * `npm run bench [-- --nodes N] [-- --only floor,metrics,mesh,alerts,events,web,devices,ws,patches,scale,sim,flags,start] [-- --heartbeat 5s] [-- --devices 10000]`:
 * prints a table per part and writes everything as JSON under bench-results/. Numbers, not tests. `ws`,
 * `patches`, `scale`, `sim`, `flags` and `start` are not in the default set: `patches` runs the mesh bench five times,
 * to measure each library patch; `flags` runs two meshes side by side, one with `--flags=...` (Node/V8 flags).
 */
import '../src/shim.js'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { benchEvents } from './events.js'
import { benchAlerts } from './alerts.js'
import { benchDevices } from './devices.js'
import { killStartedNodes } from '../test/support/cluster.js'
import { benchFlags } from './flags.js'
import { benchFloor } from './floor.js'
import { benchMesh } from './mesh.js'
import { benchMetrics } from './metrics.js'
import { benchPatches } from './patches.js'
import { benchScale } from './scale.js'
import { benchSim } from './sim.js'
import { benchStart } from './start.js'
import { benchWeb } from './web.js'
import { benchWs } from './ws.js'

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '10' },
    only: { type: 'string', default: 'floor,metrics,mesh,alerts,events,web,devices' },
    window: { type: 'string', default: '20' },
    settle: { type: 'string', default: '30' },
    heartbeat: { type: 'string', default: '1s' },
    'sim-nodes': { type: 'string', default: '1000,10000' },
    soak: { type: 'string', default: '60' },
    devices: { type: 'string', default: '10000' },
    flags: { type: 'string', default: '--single-threaded-gc' },
    windows: { type: 'string', default: '3' }
  }
})
// Ctrl-C or SIGTERM: stop the nodes this run started (they are separate processes), then exit
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    killStartedNodes()
    console.error(`\nbench interrupted (${signal}): its node processes were killed, no results written`)
    process.exit(code)
  })
}
const parts = new Set((values.only ?? '').split(','))
const result: Record<string, unknown> = {
  date: new Date().toISOString(), node: process.version, cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30)
}
const table = (rows: Array<Record<string, unknown>>): void => {
  const fmt = (v: unknown): string => v === null ? 'n/a' : (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 1 ? 3 : 1)) : String(v))
  for (const r of rows) for (const [k, v] of Object.entries(r)) console.log(`  ${k.padEnd(34)} ${fmt(v)}`)
}

if (parts.has('floor')) {
  console.log('\nfloors: a bare Node process, the stack loaded, one ed25519 verify, one wake-up')
  const r = await benchFloor()
  table([{ ...r }])
  result.floor = r
}
if (parts.has('metrics')) {
  console.log('\n/metrics over a synthetic peer table')
  const rows = [await benchMetrics(100), await benchMetrics(500)]
  for (const r of rows) { console.log(`- ${r.peers} peers`); table([{ ...r }]) }
  result.metrics = rows
}
if (parts.has('mesh')) {
  for (const n of (values.nodes ?? '10').split(',').map(Number)) {
    console.log(`\nmesh of ${n} processes on 127.0.0.1 (heartbeat ${values.heartbeat})`)
    const r = await benchMesh(n, Number(values.window) * 1000, s => { console.log(s) }, Number(values.settle) * 1000, values.heartbeat)
    table([{ ...r }])
    ;(result.mesh ??= [] as unknown[]) as unknown[]
    ;(result.mesh as unknown[]).push(r)
  }
}
if (parts.has('patches')) {
  for (const n of (values.nodes ?? '10').split(',').map(Number)) {
    console.log(`\nlibrary patches: mesh of ${n} processes with all on, then each off (heartbeat ${values.heartbeat})`)
    const rows = await benchPatches(n, Number(values.window) * 1000, s => { console.log(s) }, Number(values.settle) * 1000, values.heartbeat)
    for (const r of rows) { console.log(`- off: ${r.off}`); table([{ ...r }]) }
    ;(result.patches ??= [] as unknown[]) as unknown[]
    ;(result.patches as unknown[]).push({ nodes: n, rows })
  }
}
if (parts.has('ws')) {
  // not in the default set: it starts 2 x N processes; ask for it with --only ws
  const n = Number((values.nodes ?? '10').split(',')[0])
  console.log(`\n${n} processes over TCP, then ${n} over WebSockets only (heartbeat ${values.heartbeat})`)
  const r = await benchWs(n, Number(values.window) * 1000, Number(values.settle) * 1000, values.heartbeat, s => { console.log(s) })
  table([{ ...Object.fromEntries(Object.entries(r.tcp).map(([k, v]) => [`tcp ${k}`, v])), ...Object.fromEntries(Object.entries(r.ws).map(([k, v]) => [`ws ${k}`, v])), cpuRatioWsToTcp: r.cpuRatioWsToTcp }])
  result.ws = r
}
if (parts.has('alerts')) {
  console.log('\nfault -> alert in Alertmanager (3 processes, kill -9 one)')
  const r = await benchAlerts(3)
  table([{ ...r }])
  result.alerts = r
}
if (parts.has('scale')) {
  console.log('\nmeshmon beside Serf (LAN profile), same run, per size: CPU and RSS per node, detection, false downs')
  const rows = []
  for (const n of (values.nodes ?? '10').split(',').map(Number)) {
    const r = await benchScale(n, { windowMs: Number(values.window) * 1000, settleMs: Number(values.settle) * 1000, soakMs: Number(values.soak) * 1000 }, s => { console.log(s) })
    console.log(`- ${n} nodes`)
    // the formation samples were logged as they came, and go to the JSON
    const { formation: _, ...meshmon } = r.meshmon
    table([{ nodes: r.nodes, ...Object.fromEntries(Object.entries(meshmon).map(([k, v]) => [`meshmon.${k}`, v])), ...Object.fromEntries(Object.entries(r.serf ?? {}).map(([k, v]) => [`serf.${k}`, v])), cpuRatio: r.cpuRatio }])
    rows.push(r)
  }
  result.scale = rows
}
if (parts.has('flags')) {
  const flags = (values.flags ?? '').split(' ').filter(Boolean)
  const n = Number((values.nodes ?? '10').split(',')[0])
  console.log(`\ntwo meshes of ${n} at once, as shipped and ${flags.length === 0 ? 'again (no --flags: a control)' : `with ${flags.join(' ')}`}: CPU and RSS per node in the same windows`)
  const r = await benchFlags(n, flags, { windows: Number(values.windows), windowMs: Number(values.window) * 1000, settleMs: Number(values.settle) * 1000 }, s => { console.log(s) })
  table([{ nodes: r.nodes, flags: r.flags.join(' '), ...Object.fromEntries(r.windows.map((w, i) => [`ratio window ${i + 1}`, w.ratio])), ratioMean: r.ratioMean }])
  result.flags = r
}
if (parts.has('start')) {
  const n = Number((values.nodes ?? '10').split(',')[0])
  console.log(`\n${n} nodes started one after another: what they showed while the others started (nothing failed)`)
  const r = await benchStart(n, { settleMs: Number(values.settle) * 1000 }, s => { console.log(s) })
  table([{ ...r }])
  result.start = r
}
if (parts.has('sim')) {
  console.log('\nprotocol simulation: the real member code on virtual time, 1% message loss, 1% of nodes killed')
  const rows = []
  for (const n of (values['sim-nodes'] ?? '').split(',').map(Number)) {
    const r = await benchSim({ nodes: n }, s => { console.log(s) })
    console.log(`- ${n} nodes`)
    table([{ ...r }])
    rows.push(r)
  }
  result.sim = rows
}
if (parts.has('events')) {
  console.log('\nevent log (OrbitDB on Helia, in-process nodes on 127.0.0.1)')
  const r = await benchEvents({ events: [1000, 10_000] })
  table([r])
  result.events = r
}
if (parts.has('web')) {
  console.log('\nweb page in headless Chromium, 500 synthetic peers')
  const r = await benchWeb(500)
  table([{ ...r }])
  result.web = r
}
if (parts.has('devices')) {
  console.log(`\n${values.devices} devices (Go WebSocket clients in one process) over 3 processes on 127.0.0.1`)
  const r = await benchDevices(Number(values.devices), s => { console.log(s) })
  table([{ ...r }])
  result.devices = r
}
await mkdir('bench-results', { recursive: true })
const file = `bench-results/bench-${result.date as string}.json`.replace(/:/g, '-')
await writeFile(file, JSON.stringify(result, null, 2) + '\n')
await writeFile('bench-results/latest.json', JSON.stringify(result, null, 2) + '\n')
console.log(`\nwritten to ${file}`)
