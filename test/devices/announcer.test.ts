/**
 * The devices topic between real libp2p nodes of a private swarm (gossipsub,
 * StrictSign): announcements batched and re-announced, data asked for when a
 * re-announcement carries only its hash, and a swarm member publishing garbage
 * or speaking for devices it does not hold changes nothing of anyone else's.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { DeviceAnnouncer } from '../../src/devices/announcer.js'
import { DeviceTable } from '../../src/devices/table.js'
import { LogThrottle } from '../../src/log-throttle.js'
import { emptyData } from '../../src/devices/data.js'
import { DEVICE_TOPIC } from '../../src/devices/wire.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { waitFor } from '../support/wait.js'

const silent = pino({ level: 'silent' })
const swarmKey = normaliseSwarmKey(generateSwarmKey())

interface Peer { libp2p: MeshLibp2p, table: DeviceTable, announcer: DeviceAnnouncer, id: string }

describe('device announcements between peers', () => {
  const started: MeshLibp2p[] = []
  const announcers: DeviceAnnouncer[] = []
  afterEach(async () => {
    for (const a of announcers.splice(0)) a.stop()
    for (const l of started.splice(0)) await l.stop()
  })

  const node = async (): Promise<MeshLibp2p> => {
    const libp2p = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
    started.push(libp2p)
    return libp2p
  }
  const peer = async (name: string, init: { fullEveryMs?: number, dataEvery?: number, joinDelayMs?: number } = {}): Promise<Peer> => {
    const libp2p = await node()
    const id = libp2p.peerId.toString()
    const table = new DeviceTable({ self: id, selfName: name, peerState: () => 'up' })
    const announcer = new DeviceAnnouncer({ pubsub: libp2p.services.pubsub, table, log: silent, throttle: new LogThrottle(silent), peerId: id },
      { name, boot: Date.now(), batchMs: 50, joinDelayMs: 50, ...init })
    announcer.start()
    announcers.push(announcer)
    return { libp2p, table, announcer, id }
  }
  const connect = async (a: MeshLibp2p, b: MeshLibp2p): Promise<void> => {
    await a.dial(multiaddr(`${b.getMultiaddrs()[0]?.toString() as string}`))
    await waitFor('both in the devices topic', () => a.services.pubsub.getSubscribers(DEVICE_TOPIC).length > 0 && b.services.pubsub.getSubscribers(DEVICE_TOPIC).length > 0)
  }

  it('a device connected to one peer is listed by the other, with its data; its close follows', async () => {
    const a = await peer('a')
    const b = await peer('b')
    await connect(a.libp2p, b.libp2p)
    const conn = {}
    a.table.connect('gpu-1', conn, { ...emptyData(), project: 'P', models: ['llama'] })
    await waitFor('b lists gpu-1', () => b.table.get('gpu-1')?.state === 'up')
    expect(b.table.get('gpu-1')).toMatchObject({ via: a.id, viaName: 'a', data: { project: 'P', models: ['llama'] } })
    a.table.disconnect('gpu-1', conn, 'closed')
    await waitFor('b shows it down', () => b.table.get('gpu-1')?.state === 'down')
  })

  it('a re-announcement with hashes only: a peer that lacks the data asks for it and gets it', async () => {
    // b re-announces every 100 ms, never with data, and its round for a joining peer is an hour away:
    // a learns the devices from hashes alone, and gets their data only by asking
    const b = await peer('b', { fullEveryMs: 100, dataEvery: 1_000_000, joinDelayMs: 3_600_000 })
    for (let i = 0; i < 50; i++) b.table.connect(`gpu-${i}`, {}, { ...emptyData(), project: `p-${i}` })
    const a = await peer('a')
    await connect(a.libp2p, b.libp2p)
    await waitFor('a holds every device with its data', () => Array.from({ length: 50 }, (_, i) => a.table.get(`gpu-${i}`)?.data.project === `p-${i}`).every(Boolean))
    expect(a.table.size).toBe(50)
  })

  it('a peer with no device says so on data rounds only; a peer with one announces every round', async () => {
    // no join round (an hour away): only the periodic rounds send
    const rounds = { fullEveryMs: 20, dataEvery: 5, joinDelayMs: 3_600_000 }
    const empty = await peer('empty', rounds)
    const busy = await peer('busy', rounds)
    busy.table.connect('gpu-1', {}, emptyData())
    await waitFor('20 rounds each', () => empty.announcer.stats.rounds >= 20 && busy.announcer.stats.rounds >= 20)
    empty.announcer.stop(); busy.announcer.stop()
    const [e, b] = [empty.announcer.stats, busy.announcer.stats]
    await waitFor('every round of the busy peer published', () => b.sent >= b.rounds)
    // the first round says "none", then every 5th
    await waitFor('the empty peer\'s rounds published', () => e.sent >= 1 + Math.floor(e.rounds / 5))
    expect(e.sent).toBe(1 + Math.floor(e.rounds / 5))
  })

  it('a member publishing garbage, or claiming devices with old connections, hides nothing of the others', async () => {
    const a = await peer('a')
    const b = await peer('b')
    const evil = await node()
    await connect(a.libp2p, b.libp2p)
    await connect(evil, a.libp2p)
    a.table.push('esp-1', 60_000, { ...emptyData(), status: 'ok' })
    await waitFor('b lists esp-1', () => b.table.get('esp-1')?.state === 'up')
    const publish = async (text: string): Promise<void> => { await evil.services.pubsub.publish(DEVICE_TOPIC, Buffer.from(text)) }
    await publish('not json')
    await publish(JSON.stringify({ v: 1, boot: 1, seq: 1, ts: Date.now(), name: 'evil', full: false, d: [{ id: 'esp-1', st: 'down' }] }))
    await publish(JSON.stringify({ v: 1, boot: 1, seq: 2, ts: Date.now(), name: 'evil', full: false, d: [{ id: 'bad id', st: 'up', kind: 'push', since: 1, at: 1, chg: 1, seen: 1, iv: null, why: null, h: 1 }] }))
    // well formed, but an older connection than a's: ignored
    await publish(JSON.stringify({ v: 1, boot: 1, seq: 3, ts: Date.now(), name: 'evil', full: false, d: [{ id: 'esp-1', st: 'down', kind: 'push', since: 1, at: 1, chg: 1, seen: 1, iv: null, why: 'silent', h: 1 }] }))
    await waitFor('the garbage counted', () => a.announcer.stats.invalid.decode === 1 && a.announcer.stats.invalid.schema === 2)
    await waitFor('the well-formed one applied (or not) on a', () => a.announcer.stats.received >= 4)
    expect(a.table.get('esp-1')).toMatchObject({ state: 'up', via: a.id })
    expect(b.table.get('esp-1')).toMatchObject({ state: 'up', via: a.id })
    // invalid messages are not forwarded: b never saw them
    expect(b.announcer.stats.invalid).toEqual({ too_large: 0, decode: 0, schema: 0, unsigned: 0 })
  })
})
