/**
 * This process's own metrics, on its own prom-client Registry (never the
 * global one). Labelled with the serving node's `peer` and `node`, unlike the
 * mesh series, so scrapes through a load balancer keep them apart.
 * Values are read at scrape time in collect(), not kept in step by timers.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { DeviceStats } from '../devices/index.js'

export interface SelfSources {
  peerId: string
  name: string
  gossip: () => { received: number, invalid: Record<string, number> }
  connectedPeers: () => number
  /** names carried by more than one peer (status and alerts would mix them up) */
  nameConflicts?: () => number
  /** what this node reaches of the mesh */
  partition?: () => { reachable: number, members: number, isolated: boolean, minority: boolean }
  /** present once the event log exists */
  eventlogEntries?: () => number
  /** present once alerting exists: sends by result */
  alertmanagerSends?: () => Record<string, number>
  /** the library patches and whether each is active (src/patches.ts) */
  patches?: () => Array<{ patch: string, active: boolean }>
  /** present once the event log exists: events from peers refused, by how they came (sync, log) and why */
  eventsRefused?: () => Record<string, Partial<Record<string, number>>>
  /** present when the node takes devices */
  devices?: () => DeviceStats
  /** present once the event log exists: messages of its protocols refused, by "protocol reason" */
  eventsMalformed?: () => Record<string, number>
  /** connections identified again after their first identify failed (src/mesh/identify-again.ts) */
  identifyRetries?: () => { succeeded: number, failed: number, closed: number }
}

export interface SelfMetrics {
  registry: Registry
  /** a heartbeat arrived: receive time minus the sender's timestamp, ms */
  observeHeartbeatDelay: (ms: number) => void
}

export function selfRegistry (s: SelfSources): SelfMetrics {
  const registry = new Registry()
  registry.setDefaultLabels({ peer: s.peerId, node: s.name })
  // the event-loop lag histogram samples on a timer, and on the VMs measured here every wake-up of an
  // idle process costs ~0.2 ms: at prom-client's default 10 ms that was half of an idle node's ~220
  // wake-ups a second (strace); once a second still sees every stall that matters (they last longer)
  collectDefaultMetrics({ register: registry, prefix: '', eventLoopMonitoringPrecision: 1000 })
  // these three are gauges named *_total, which `promtool check metrics` rejects; their *_handles / *_requests / *_resources twins stay
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name)
  const registers = [registry]
  new Counter({
    name: 'meshmon_gossip_messages_received_total', help: 'heartbeat messages received (valid and invalid)', registers,
    collect () { this.reset(); this.inc(s.gossip().received) }
  })
  /** a labelled family read at scrape time: every (labels, value) the source gives now */
  const labelled = (kind: 'counter' | 'gauge', name: string, help: string, labelNames: string[], read: () => Array<[Record<string, string>, number]>): void => {
    const family = { name, help, labelNames, registers }
    if (kind === 'gauge') new Gauge({ ...family, collect () { this.reset(); for (const [labels, n] of read()) this.set(labels, n) } })
    else new Counter({ ...family, collect () { this.reset(); for (const [labels, n] of read()) this.inc(labels, n) } })
  }
  /** one label's (value, count) pairs of a record of counts */
  const pairs = (label: string, m: Record<string, number>): Array<[Record<string, string>, number]> => Object.entries(m).map(([k, n]) => [{ [label]: k }, n])
  labelled('counter', 'meshmon_gossip_messages_invalid_total', 'heartbeat messages dropped, by reason', ['reason'],
    () => pairs('reason', s.gossip().invalid))
  new Gauge({ name: 'meshmon_connected_peers', help: 'peers this node has a connection to', registers, collect () { this.set(s.connectedPeers()) } })
  const conflicts = s.nameConflicts
  if (conflicts !== undefined) new Gauge({ name: 'meshmon_peer_name_conflicts', help: 'node names carried by more than one peer that has not left', registers, collect () { this.set(conflicts()) } })
  const partition = s.partition
  if (partition !== undefined) {
    new Gauge({ name: 'meshmon_isolated', help: '1 while this node hears none of its peers (cut off): it pages nobody about them', registers, collect () { this.set(partition().isolated ? 1 : 0) } })
    new Gauge({ name: 'meshmon_partitioned', help: '1 while this node reaches no majority of the mesh (cut off, or the small side of a split)', registers, collect () { this.set(partition().minority ? 1 : 0) } })
    new Gauge({ name: 'meshmon_mesh_reachable_peers', help: 'peers this node reaches, itself included', registers, collect () { this.set(partition().reachable) } })
    new Gauge({ name: 'meshmon_mesh_members', help: 'peers known and not gone on purpose, itself included', registers, collect () { this.set(partition().members) } })
  }
  const retries = s.identifyRetries
  if (retries !== undefined) {
    labelled('counter', 'meshmon_identify_retries_total', 'identify tried again on connections whose first identify failed, by result (closed: given up, the connection closed)', ['result'],
      () => { const { succeeded, failed, closed } = retries(); return pairs('result', { succeeded, failed, closed }) })
  }
  const entries = s.eventlogEntries
  if (entries !== undefined) new Gauge({ name: 'meshmon_eventlog_entries', help: 'events held in the local copy of the event log', registers, collect () { this.set(entries()) } })
  const sends = s.alertmanagerSends
  if (sends !== undefined) {
    labelled('counter', 'meshmon_alertmanager_sends_total', 'alert batches pushed to Alertmanager, by result', ['result'],
      () => pairs('result', sends()))
  }
  const refused = s.eventsRefused
  if (refused !== undefined) {
    labelled('counter', 'meshmon_events_refused_total', 'events from peers refused (unsigned, forged, oversized, misdated, over quota, replacing a held incident), by path and reason', ['via', 'reason'],
      () => Object.entries(refused()).flatMap(([via, reasons]) => Object.entries(reasons).map(([reason, n]): [Record<string, string>, number] => [{ via, reason }, n ?? 0])))
  }
  const malformed = s.eventsMalformed
  if (malformed !== undefined) {
    labelled('counter', 'meshmon_events_messages_invalid_total', 'event index sync and block exchange messages from peers refused (not JSON, wrong shape, over the size bound), by protocol and reason', ['protocol', 'reason'],
      () => Object.entries(malformed()).map(([key, n]) => { const [protocol = '', reason = ''] = key.split(' '); return [{ protocol, reason }, n] }))
  }
  const patches = s.patches
  if (patches !== undefined) {
    labelled('gauge', 'meshmon_patch_active', 'a library patch is installed and its start-up check passed (1), or not: switched off, its library at another version, or its internals changed (0)', ['patch'],
      () => patches().map(p => [{ patch: p.patch }, p.active ? 1 : 0]))
  }
  const devices = s.devices
  if (devices !== undefined) {
    new Gauge({ name: 'meshmon_device_connections', help: 'open device WebSocket connections to this node', registers, collect () { this.set(devices().connections) } })
    labelled('gauge', 'meshmon_devices', 'devices this node knows (the mesh\'s), by state', ['state'], () => pairs('state', devices().states))
    labelled('counter', 'meshmon_device_ingest_refused_total', 'device connections and pushes turned away, by reason', ['reason'], () => pairs('reason', devices().refused))
    labelled('counter', 'meshmon_device_ingest_errors_total', 'device frames and pushes answered with an error, by reason', ['reason'], () => pairs('reason', devices().errors))
    labelled('counter', 'meshmon_device_announcements_invalid_total', 'device announcements from peers dropped, by reason', ['reason'], () => pairs('reason', devices().announcements.invalid))
    labelled('counter', 'meshmon_device_announcements_total', 'device announcements sent and received', ['direction'],
      () => { const a = devices().announcements; return [[{ direction: 'sent' }, a.sent], [{ direction: 'received' }, a.received]] })
  }
  // one histogram for the process, not per peer: network delay plus the clock skew between hosts
  const delay = new Histogram({
    name: 'meshmon_heartbeat_delay_seconds',
    help: 'receive time minus the sender\'s timestamp of heartbeats: network delay plus clock skew (negative skew counts as 0)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers
  })
  return { registry, observeHeartbeatDelay: ms => { delay.observe(Math.max(0, ms) / 1000) } }
}
