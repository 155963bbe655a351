/**
 * The whole mesh as this node sees it (SPEC 6). Every series is labelled
 * `peer` (peer id) and `node` (name) and never names the serving node, so any
 * peer answers the same and Prometheus can scrape the mesh through one
 * load-balanced address. No histograms; per peer the series count is
 * 12 + 2/filesystem + 2/network device + 1/sensor + 3/GPU + 3/check.
 */
import type { Peer } from '../heartbeat/peer-table.js'
import { PEER_STATES } from '../heartbeat/peer-table.js'
import { Family, type Labels } from './exposition.js'

const PREFIX = 'meshmon_'
/** labels that meshmon_node_info carries itself; a user label by these names is prefixed */
const RESERVED = new Set(['peer', 'node', 'version', 'os', 'hostname', 'expect'])

export function renderMesh (peers: Peer[]): string {
  const f = (name: string, type: 'gauge' | 'counter', help: string): Family => new Family(PREFIX + name, type, help)
  const up = f('peer_up', 'gauge', '1 if the peer is up, 0 otherwise')
  const state = f('peer_state', 'gauge', '1 for the state the peer is in (up, suspect, down, left)')
  const lastSeen = f('peer_last_seen_timestamp_seconds', 'gauge', 'unix time of the last heartbeat heard from the peer')
  const cpu = f('node_cpu_usage_ratio', 'gauge', 'CPU busy ratio (0..1) over the last sample')
  const load = [1, 5, 15].map(m => f(`node_load${m}`, 'gauge', `${m}-minute load average`))
  const memTotal = f('node_memory_total_bytes', 'gauge', 'physical memory')
  const memAvail = f('node_memory_available_bytes', 'gauge', 'memory available for new work (MemAvailable)')
  const fsSize = f('node_filesystem_size_bytes', 'gauge', 'filesystem size')
  const fsAvail = f('node_filesystem_avail_bytes', 'gauge', 'filesystem space available to non-root users')
  const rx = f('node_network_receive_bytes_total', 'counter', 'bytes received per network device')
  const tx = f('node_network_transmit_bytes_total', 'counter', 'bytes sent per network device')
  const temp = f('node_temperature_celsius', 'gauge', 'temperature per sensor')
  const gpuUtil = f('node_gpu_utilization_ratio', 'gauge', 'GPU utilization (0..1)')
  const gpuUsed = f('node_gpu_memory_used_bytes', 'gauge', 'GPU memory used')
  const gpuTotal = f('node_gpu_memory_total_bytes', 'gauge', 'GPU memory total')
  const uptime = f('node_uptime_seconds', 'gauge', 'seconds since the host booted')
  const info = f('node_info', 'gauge', 'always 1; labels describe the node (version, os, hostname, expect and its configured labels)')
  const checkUp = f('check_up', 'gauge', '1 if the check is OK, 0 otherwise')
  const checkStatus = f('check_status', 'gauge', 'check status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
  const checkDuration = f('check_duration_seconds', 'gauge', 'duration of the last run of the check')

  for (const p of peers) {
    const id: Labels = { peer: p.peerId, node: p.name }
    up.add(id, p.state === 'up' ? 1 : 0)
    for (const s of PEER_STATES) state.add({ ...id, state: s }, p.state === s ? 1 : 0)
    if (p.lastSeen > 0) lastSeen.add(id, p.lastSeen / 1000)
    const extra: Labels = {}
    for (const [k, v] of Object.entries(p.labels)) extra[RESERVED.has(k) ? `label_${k}` : k] = v
    info.add({ ...id, version: p.agent.replace(/^meshmon\//, ''), os: p.machine?.os ?? '', hostname: p.machine?.hostname ?? '', expect: p.expect, ...extra }, 1)
    const m = p.machine
    if (m != null) {
      cpu.add(id, m.cpu.usageRatio)
      m.load.forEach((v, i) => load[i]?.add(id, v))
      memTotal.add(id, m.memory.totalBytes)
      memAvail.add(id, m.memory.availableBytes)
      for (const fs of m.filesystems) {
        const l = { ...id, mountpoint: fs.mountpoint, device: fs.device, fstype: fs.type }
        fsSize.add(l, fs.sizeBytes)
        fsAvail.add(l, fs.availBytes)
      }
      for (const n of m.network) {
        rx.add({ ...id, device: n.device }, n.rxBytes)
        tx.add({ ...id, device: n.device }, n.txBytes)
      }
      for (const t of m.temperatures) temp.add({ ...id, sensor: t.sensor }, t.celsius)
      for (const g of m.gpus) {
        const l = { ...id, gpu: g.index, name: g.name }
        gpuUtil.add(l, g.utilizationRatio)
        gpuUsed.add(l, g.memoryUsedBytes)
        gpuTotal.add(l, g.memoryTotalBytes)
      }
      uptime.add(id, m.uptimeSeconds)
    }
    for (const c of p.checks) {
      const l = { ...id, check: c.name }
      checkUp.add(l, c.status === 0 ? 1 : 0)
      checkStatus.add(l, c.status)
      checkDuration.add(l, c.durationSeconds)
    }
  }
  return [up, state, lastSeen, cpu, ...load, memTotal, memAvail, fsSize, fsAvail, rx, tx, temp, gpuUtil, gpuUsed, gpuTotal, uptime, info, checkUp, checkStatus, checkDuration]
    .filter(fam => !fam.empty).map(fam => fam.render()).join('')
}
