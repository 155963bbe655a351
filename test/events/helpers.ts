/**
 * Real in-process nodes for the event log tests: a libp2p node of a private
 * swarm on 127.0.0.1 (createMeshLibp2p), its LevelDatastore, a peer table, and
 * the event log on top. Everything started here is stopped by stopAll().
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { LevelDatastore } from 'datastore-level'
import pino, { type Logger } from 'pino'
import { IncidentRecorder, openEventLog, type EventLog, type EventLogInit, type RecorderInit } from '../../src/events/index.js'
import { PeerIncidents } from '../../src/heartbeat/incidents.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { waitFor } from '../support/wait.js'

export const silent = pino({ level: 'silent' })

export interface TestNode {
  name: string
  dataDir: string
  privateKey: PrivateKey
  libp2p: MeshLibp2p
  datastore: LevelDatastore
  table: PeerTable
  events: EventLog
  peerId: string
  /** stop the log and the node (a clean stop) */
  stop: () => Promise<void>
}

export class Nodes {
  readonly meshKey = normaliseSwarmKey(generateSwarmKey())
  readonly all: TestNode[] = []
  readonly #dirs: string[] = []

  async dir (name: string): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), `meshmon-events-${name}-`))
    this.#dirs.push(d)
    return d
  }

  /** A node with its event log; like `meshmon run`, it records the incidents of its peer table unless `record: false`. */
  async start (name: string, init: Partial<EventLogInit & RecorderInit> & { record?: boolean } = {}, opts: { dataDir?: string, privateKey?: PrivateKey, table?: PeerTable, log?: Logger } = {}): Promise<TestNode> {
    const dataDir = opts.dataDir ?? await this.dir(name)
    const privateKey = opts.privateKey ?? await generateKeyPair('Ed25519')
    const datastore = new LevelDatastore(join(dataDir, 'datastore'))
    await datastore.open()
    const libp2p = await createMeshLibp2p({ privateKey, swarmKey: this.meshKey, listen: ['/ip4/127.0.0.1/tcp/0'], datastore })
    const peerId = libp2p.peerId.toString()
    const table = opts.table ?? new PeerTable()
    let events: EventLog
    try {
      events = await openEventLog({ libp2p, datastore, log: opts.log ?? silent, peerId, privateKey }, { dataDir, meshKey: this.meshKey, retentionMs: 7 * 86_400_000, ...init })
      await events.ready().catch(async err => { await events.stop(); throw err })
    } catch (err) {
      await libp2p.stop()
      await datastore.close()
      throw err
    }
    // a peer's down as an incident (incidents.ts), as the node wires it
    const incidents = new PeerIncidents(table)
    incidents.start()
    const recorder = init.record === false ? undefined : new IncidentRecorder({ table, incidents, peerId, log: silent }, events, init)
    recorder?.start()
    let stopped = false
    const node: TestNode = {
      name, dataDir, privateKey, libp2p, datastore, table, events, peerId,
      stop: async () => {
        if (stopped) return
        stopped = true
        recorder?.stop()
        incidents.stop()
        await events.stop()
        await libp2p.stop()
        await datastore.close()
      }
    }
    this.all.push(node)
    return node
  }

  /** Connect every pair of running nodes. */
  async connect (...nodes: TestNode[]): Promise<void> {
    for (const a of nodes) {
      for (const b of nodes) {
        if (a !== b && a.libp2p.getPeers().every(p => !p.equals(b.libp2p.peerId))) await a.libp2p.dial(b.libp2p.getMultiaddrs()[0]!)
      }
    }
  }

  async stopAll (): Promise<void> {
    for (const n of this.all) await n.stop().catch(() => {})
    for (const d of this.#dirs) await rm(d, { recursive: true, force: true })
  }
}

/** A logger at debug level that keeps its lines (parsed), for tests that read what a node logged. */
export function capturingLogger (): { log: Logger, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const log = pino({ level: 'debug' }, { write: (line: string) => { lines.push(JSON.parse(line)) } })
  return { log, lines }
}

/** Wait until `node` holds every one of `ids`. */
export async function waitForIds (node: TestNode, ids: string[], timeoutMs = 30_000): Promise<void> {
  await waitFor(`${node.name} to hold ${ids.length} events`, async () => {
    for (const id of ids) if (!(await node.events.has(id))) return false
    return true
  }, timeoutMs, 100)
}

export const sample = (i: number, name = 'x'): { type: 'peer.down', severity: 'critical', subject: { peer: string, name: string }, message: string, labels: Record<string, string> } => ({
  type: 'peer.down', severity: 'critical', subject: { peer: `12D3KooW${name}${String(i).padStart(8, '0')}`, name: `${name}-${i}` }, message: `${name}-${i} is down: no heartbeat for 5s and no live peer heard it`, labels: { role: 'test' }
})
