/**
 * Composition root: the only file that knows every part. It wires them in the
 * one direction data flows: machine/checks -> this node's record -> mesh
 * (gossip, beats) -> peer table <- verdict -> events / metrics / alerts / api.
 */
import { createHash } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Server } from 'node:http'
import type { LevelDatastore } from 'datastore-level'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { alerting } from './alerts/index.js'
import { createApi, type ApiComponents } from './api/app.js'
import { MeshFeed } from './api/feed.js'
import { isLoopback, isWildcard } from './api/hosts.js'
import { closeServer, ListenError, listenApi, parseHostPort } from './api/server.js'
import { loadWebFiles } from './api/web.js'
import { checkScheduler, type CheckScheduler } from './checks/scheduler.js'
import type { LoadedConfig } from './config/load.js'
import { ConfigError } from './config/errors.js'
import { DEVICE_TOPIC, startDevices } from './devices/index.js'
import { DeviceIncidentRecorder, eventsQuery, IncidentRecorder, openEventLog } from './events/index.js'
import { PeerIncidents } from './heartbeat/incidents.js'
import { Membership } from './heartbeat/membership.js'
import { PeerTable } from './heartbeat/peer-table.js'
import { machineCollector } from './machine/collector.js'
import type { MachineInfo } from './machine/types.js'
import { metricsEndpoint } from './metrics/index.js'
import { nextBoot } from './mesh/boot.js'
import { ConnectionKeeper } from './mesh/keeper.js'
import { retireDials } from './mesh/stale-dials.js'
import { IdentifyAgain } from './mesh/identify-again.js'
import { createMeshLibp2p, type MeshLibp2p } from './mesh/libp2p.js'
import { canListenOn } from './mesh/listen-address.js'
import { loadOrCreatePeerKey } from './mesh/peer-key.js'
import { connectedPeers } from './connected.js'
import { Patches } from './patches.js'
import { openLevelStore, StoreCorruptError, StoreLockedError } from './storage/level.js'
import { AGENT } from './version.js'

/** a peer back `up` after at least this long `suspect` (or from `down`) exchanges event indexes at once, ms */
const CATCH_UP_AFTER_MS = 5000

export interface MeshNode {
  peerId: string
  libp2p: MeshLibp2p
  table: PeerTable
  membership: Membership
  checks: CheckScheduler
  api: Server
  /** leave the mesh gracefully and stop everything */
  stop: () => Promise<void>
}

export async function startNode (config: LoadedConfig, log: Logger): Promise<MeshNode> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const stack: Array<() => Promise<void> | void> = []
  const stopAll = async (): Promise<void> => {
    for (const fn of stack.reverse()) {
      try { await fn() } catch (err: any) { log.warn({ err: err.message }, 'error while stopping') }
    }
    stack.length = 0
  }
  let running = false
  try {
    const table = new PeerTable()
    // the API binds first, so a port in use stops `run` before anything starts; parts plug in as they come up
    // the page npm run build puts beside the compiled code (dist/web)
    const web = await loadWebFiles(fileURLToPath(new URL('./web/', import.meta.url)))
    if (web === undefined) log.warn('the web page is not built (no dist/web/index.html): / answers 503 until `npm run build`')
    const apiParts: ApiComponents = { table, running: () => running, web }
    const app = createApi(apiParts, {
      auth: { token: config.apiTokenValue, protectMetrics: config.api.protectMetrics },
      hosts: { listen: config.api.listen, allowedHosts: config.api.allowedHosts }
    })
    const api = await listenApi(app, config.api.listen, { onError: err => { log.error({ err: err.message }, 'API server error') } }).catch(err => {
      throw err instanceof ListenError ? new ConfigError('api.listen', err.message) : err
    })
    stack.push(async () => { await closeServer(api) })
    if (config.apiTokenValue === null && !isLoopback(parseHostPort(config.api.listen).host)) {
      log.warn({ api: config.api.listen }, `the API listens on ${config.api.listen} without a token: whoever reaches the port reads every node's checks, addresses and events; set api.token or api.tokenFile, or listen on 127.0.0.1`)
    }

    const privateKey = await loadOrCreatePeerKey(config.dataDir)
    const datastore = await openPeerDatastore(join(config.dataDir, 'datastore'))
    stack.push(async () => { await datastore.close() })

    const unusable = config.listen.filter(a => !canListenOn(a))
    if (unusable.length > 0) throw new ConfigError('listen', `cannot listen on ${unusable.join(', ')}; use /ip4/ADDR/tcp/PORT or /ip4/ADDR/tcp/PORT/ws (TLS and URL paths belong to a reverse proxy in front of /ws)`)
    // library patches: each checked as it is installed, and reported (patches.ts)
    const patches = new Patches(config.patchesOff, log.child({ component: 'patches' }))
    // the peer store persists in the same LevelDB: peers met are remembered for the next start
    const libp2p = await createMeshLibp2p({ privateKey, swarmKey: config.swarmKeyBytes, listen: config.listen, datastore, patches, allow: config.peersAllow, scoredTopics: [DEVICE_TOPIC] })
      .catch((err: any) => { throw listenFailure(err, config.listen) })
    stack.push(async () => { await libp2p.stop() })
    // a connection whose identify failed (a loaded host) would carry nothing: identified again, or closed
    const identifyAgain = new IdentifyAgain(libp2p, libp2p.services.identify, log.child({ component: 'identify' }))
    identifyAgain.start()
    stack.push(() => { identifyAgain.stop() })
    const peerId = libp2p.peerId.toString()

    const eventLog = log.child({ component: 'events' })
    const events = await openEventLog(
      { libp2p, datastore, log: eventLog, peerId, privateKey, patches },
      { dataDir: config.dataDir, meshKey: config.swarmKeyBytes, retentionMs: config.events.retention })
    stack.push(async () => { await events.stop() })
    apiParts.events = eventsQuery(events)
    // a peer's down is one incident until it holds up again: one event and one alert through a flapping link
    // up for recoverAfter, and for as long again as a silence takes to be noticed: a link that drops
    // every few seconds is found down only downAfter intervals into each drop, and must not look steady meanwhile
    const recoverAfterMs = config.heartbeat.recoverAfter + config.heartbeat.downAfter * config.heartbeat.interval
    const incidents = new PeerIncidents(table, { recoverAfterMs })
    incidents.start()
    stack.push(() => { incidents.stop() })
    // incidents seen in the peer table become events, one per incident (recorder.ts)
    const recorder = new IncidentRecorder({ table, incidents, peerId, log: eventLog }, events)
    recorder.start()
    stack.push(() => { recorder.stop() })

    const boot = await nextBoot(config.dataDir)
    // devices (machines that don't run meshmon): taken on the API port, announced to the mesh
    const { ingest } = config
    const devices = startDevices({ pubsub: libp2p.services.pubsub, peerState: id => table.get(id)?.state, peerId, log: log.child({ component: 'devices' }), server: api }, {
      name: config.name, boot, token: config.ingestTokenValue, maxDevices: ingest.maxDevices, maxConnectionsPerIp: ingest.maxConnectionsPerIp, idleTimeoutMs: ingest.idleTimeout,
      alertAfterMs: ingest.alertAfter, viaGraceMs: ingest.viaGrace, declared: config.devices.map(d => ({ id: d.id, intervalMs: d.interval, expect: d.expect, project: d.project }))
    })
    stack.push(async () => { await devices.stop() })
    apiParts.devices = devices
    const deviceEvents = new DeviceIncidentRecorder({ devices: devices.table, peers: table, peerId, log: eventLog }, events, { alertAfterMs: ingest.alertAfter })
    deviceEvents.start()
    stack.push(() => { deviceEvents.stop() })

    const machine = machineCollector({ onError: (part, err) => { log.warn({ part, err: (err as Error)?.message }, 'machine info part not collected') } })
    let machineInfo: MachineInfo | null = null
    const refreshMachine = async (): Promise<void> => {
      try { machineInfo = await machine.collect() } catch (err: any) { log.warn({ err: err.message }, 'machine info not collected') }
    }
    await refreshMachine()
    const machineTimer = setInterval(() => { void refreshMachine() }, config.heartbeat.machineInterval)
    stack.push(() => { clearInterval(machineTimer) })

    const alerts = alerting({ table, log: log.child({ component: 'alerts' }), partition: () => membership.alertPartition(), devices: () => devices.table.list() }, {
      urls: config.alertmanager.urls,
      http: config.alertmanagerHttp,
      resendIntervalMs: config.alertmanager.resendInterval,
      holdMs: recoverAfterMs,
      mesh: meshName(config),
      generatorURL: `http://${apiHostPort(config.api.listen)}/api/v1/peers`
    })
    apiParts.alerts = () => alerts.alerts()

    const metrics = metricsEndpoint(table, {
      alertmanagerSends: () => alerts.sends(),
      eventlogEntries: () => events.count(),
      eventsRefused: () => events.refused(),
      eventsMalformed: () => events.malformed(),
      patches: () => patches.status(),
      peerId,
      name: config.name,
      gossip: () => membership.stats,
      connectedPeers: () => connectedPeers(libp2p).size,
      partition: () => membership.partition(),
      nameConflicts: () => table.nameConflicts().size,
      identifyRetries: () => identifyAgain.stats,
      devices: devices.stats
    }, () => devices.table.list())
    apiParts.metrics = metrics.handler

    const checks = checkScheduler({
      checks: config.checks,
      onChange: () => { membership.publishSoon() },
      onError: err => { log.error({ err: (err as Error)?.message }, 'check bookkeeping failed') }
    })
    const membership = new Membership({
      libp2p,
      privateKey,
      table,
      log: log.child({ component: 'membership' }),
      machine: () => machineInfo,
      checks: () => checks.states(),
      addrs: () => libp2p.getMultiaddrs().map(a => a.toString()),
      onAccepted: r => { metrics.observeHeartbeatDelay(Date.now() - r.ts) }
    }, {
      name: config.name,
      expect: config.expect,
      labels: config.labels,
      agent: AGENT,
      intervalMs: config.heartbeat.interval,
      recordIntervalMs: config.heartbeat.machineInterval,
      suspectAfter: config.heartbeat.suspectAfter,
      downAfter: config.heartbeat.downAfter,
      forgetAfterMs: config.heartbeat.forgetAfter,
      recoverAfterMs,
      allow: config.peersAllow,
      maxPeers: config.peers.max,
      maxNewPerMinute: config.peers.maxNewPerMinute,
      boot
    })
    apiParts.partition = () => membership.partition()

    const keeper = new ConnectionKeeper(libp2p, log.child({ component: 'keeper' }), { bootstrap: config.bootstrap })
    table.on('transition', t => {
      if (t.peer.self) return
      const level = t.to === 'down' ? 'warn' : 'info'
      // a down says whose reports made it: the watchers that found the peer silent, of those that counted
      const votes = t.votes === undefined ? {} : { silentTo: t.votes.silent.map(id => table.get(id)?.name ?? id), reporting: t.votes.reporting }
      log[level]({ peer: t.peer.peerId, node: t.peer.name, from: t.from, to: t.to, reason: t.reason, ...votes }, `peer ${t.peer.name} is ${t.to ?? 'forgotten'}`)
      // reachable again (a healed split, a cable back): its connection may be the one that stalled
      // meanwhile, with no new connection to start an exchange, so the events written apart cross now
      // and it is dialled again now, afresh (stale-dials.ts), not when the backoff of its absence ends:
      // a watcher whose beat stream waited found the peer silent again seconds after the heal
      if (t.to === 'up' && (t.from === 'suspect' || t.from === 'down')) {
        retireDials(libp2p, t.peer.peerId)
        // an exchange of event indexes costs both sides; a peer `suspect` for a moment (beats late on a busy
        // host) had a working connection, and the periodic exchange covers it. On a saturated host 20 nodes
        // flapped up and suspect some 10 times a second, each flap an exchange (performance.md, "Soak")
        if (t.from === 'down' || Date.now() - t.fromSince >= CATCH_UP_AFTER_MS) events.catchUpWith(peerIdFromString(t.peer.peerId))
        membership.retry(t.peer.peerId)
        keeper.retry(t.peer.peerId)
      }
      // found silent: its connections carried nothing for the silence. Behind a cut cable TCP retries on
      // a timer that grows to minutes, and whatever is sent on them after the heal (gossip, the events'
      // announcements) would wait for it; closed now, the keeper dials fresh ones when the peer answers.
      // Not while this node runs late itself (own-lag.ts): the silence may be its own
      if (t.reason === 'silent' && (t.to === 'down' || t.to === 'left')) membership.closeSilent(t.peer.peerId)
    })
    // two nodes with one name: status, alerts and `events --peer NAME` would mix them up. Said once per
    // peer, when it joins with the name or takes it later (a rename is just a newer record)
    const names = new Map<string, string>()
    const conflicting = new Set<string>()
    table.on('full', peer => {
      if (peer.self || names.get(peer.peerId) === peer.name) return
      names.set(peer.peerId, peer.name)
      const ids = conflicting.has(peer.peerId) ? undefined : table.nameConflicts().get(peer.name)
      if (ids === undefined) return
      conflicting.add(peer.peerId)
      log.warn({ node: peer.name, peers: ids }, `${ids.length} peers carry the name ${peer.name}: status, alerts and events name nodes by it; give each its own --name`)
    })
    table.on('transition', ({ peer, to }) => { if (to === null) { names.delete(peer.peerId); conflicting.delete(peer.peerId) } })
    // remember addresses heard in records (persisted in the peer store), so the keeper and the
    // beat streams can dial peers they were never told about, and a restarted node rejoins through them
    table.on('addrs', peer => {
      rememberAddrs(libp2p, peer.peerId, peer.addrs).then(() => { keeper.nudge() })
        .catch((err: Error) => { log.warn({ err: err.message, peer: peer.peerId }, 'peer addresses not remembered') })
    })

    await membership.start()
    stack.push(async () => { await membership.stop() })
    checks.start()
    stack.push(async () => { await checks.stop() })
    keeper.start()
    stack.push(() => { keeper.stop() })
    alerts.start()
    stack.push(async () => { await alerts.stop() })
    const feed = new MeshFeed({
      table,
      alerts: () => alerts.alerts(),
      recentEvents: async limit => await events.query({ limit }),
      onEvents: listener => events.onAdded(listener),
      log: log.child({ component: 'stream' })
    })
    feed.start()
    stack.push(() => { feed.stop() })
    apiParts.feed = feed
    running = true
    patches.report()

    log.info({ peerId, listen: libp2p.getMultiaddrs().map(a => a.toString()), api: config.api.listen }, `meshmon node ${config.name} running`)
    return {
      peerId, libp2p, table, membership, checks, api,
      stop: async () => {
        running = false
        await membership.leave().catch(() => {})
        await stopAll()
      }
    }
  } catch (err) {
    await stopAll()
    throw err
  }
}

/** The peer store's LevelDB: a lock held and damage are different problems with different fixes. */
async function openPeerDatastore (dir: string): Promise<LevelDatastore> {
  try {
    return await openLevelStore(dir)
  } catch (err: any) {
    if (err instanceof StoreLockedError) throw new ConfigError('dataDir', `${err.message}: is another meshmon using this data dir? Stop it, or give this node its own --data-dir`)
    if (err instanceof StoreCorruptError) {
      throw new ConfigError('dataDir', `${err.message}; move it aside (mv ${dir} ${dir}.broken) and start again: the node re-learns its peers from bootstrap`)
    }
    throw new ConfigError('dataDir', err.message)
  }
}

async function rememberAddrs (libp2p: MeshLibp2p, peerId: string, addrs: string[]): Promise<void> {
  try {
    await libp2p.peerStore.merge(peerIdFromString(peerId), { multiaddrs: addrs.map(a => multiaddr(a.replace(/\/p2p\/[^/]+$/, ''))) })
  } catch {}
}

/**
 * libp2p reports listen failures as one UnsupportedListenAddressesError whose
 * message alone holds each address's cause (no code or cause is attached), so
 * an address in use is read from that message.
 */
function listenFailure (err: any, listen: string[]): Error {
  if (err?.name !== 'UnsupportedListenAddressesError' && err?.name !== 'NoValidAddressesError' && err?.code !== 'EADDRINUSE') return err
  const text = `${err?.message ?? err}`
  if (err?.code === 'EADDRINUSE' || text.includes('EADDRINUSE')) {
    return new ConfigError('listen', `a listen address is already in use (${listen.join(', ')}); pick free ports with --listen`)
  }
  // the first per-address line, e.g. "/ip4/1.2.3.4/tcp/4001: Error: listen EADDRNOTAVAIL ..."
  const cause = text.split('\n').map(l => l.trim()).find(l => l.startsWith('/')) ?? err.name
  return new ConfigError('listen', `cannot listen on ${listen.join(', ')} (${cause}); check the addresses and ports`)
}

/** api.listen as others reach it: a wildcard bind is reached by this host's name */
function apiHostPort (listen: string): string {
  const { host, port } = parseHostPort(listen)
  return `${isWildcard(host) ? hostname() : listen.slice(0, listen.lastIndexOf(':'))}:${port}`
}

/** The `mesh` alert label: configured, or derived from the swarm key so every node of a mesh agrees without config. */
export function meshName (config: LoadedConfig): string {
  return config.mesh ?? `mesh-${createHash('sha256').update(config.swarmKeyBytes).digest('hex').slice(0, 8)}`
}
