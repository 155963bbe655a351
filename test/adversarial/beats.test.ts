/**
 * Beat streams abused by a swarm member, in a real 3-node mesh: as a watched
 * member it answers its watchers with garbage beats (each refused and counted,
 * the stream closed, and opened again later); as a watcher it opens 100 beat
 * streams to one node at once (over connections of its own: a connection
 * takes 4), writes into each, and reads none of the beats the node sends
 * back. The node keeps one beat stream per peer; after all of it memory held
 * and a real death is one alert. (Slots full of other identities' streams
 * never lock out the node's own watchers: test/heartbeat/streams.test.ts.)
 */
import type { Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from 'it-length-prefixed-stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BEAT_PROTOCOL } from '../../src/heartbeat/streams.js'
import { ALERTMANAGER } from '../alerts/helpers.js'
import { lacks } from '../support/packages.js'
import { RogueMember } from '../support/rogue-member.js'
import { waitFor } from '../support/wait.js'
import { AdversarialMesh, PROMTOOL } from './harness.js'

const enc = new TextEncoder()
/** what each kind of garbage beat is refused as */
const GARBAGE: Array<[string, Uint8Array]> = [
  ['decode', new Uint8Array([0xff, 0xfe, 0x00])],
  ['decode', enc.encode('[1,')],
  ['schema', enc.encode('[1]')],
  ['schema', enc.encode('["x",1]')],
  ['schema', enc.encode('[-1,2]')],
  ['schema', enc.encode('{"boot":1,"seq":2}')],
  // a beat is two numbers: past 64 bytes it is not read
  ['too_large', enc.encode(`[1,${'1'.repeat(100)}]`)]
]

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER) || lacks('prometheus', PROMTOOL))('abused beat streams', () => {
  const mesh = new AdversarialMesh()
  let member: RogueMember
  let garbage: Uint8Array | undefined
  const held: Array<LengthPrefixedStream<Stream>> = []

  beforeAll(async () => {
    await mesh.start({ mesh: 'adv-beats' })
    member = new RogueMember(mesh.rogue, { name: 'rogue', beat: (boot, seq) => garbage ?? enc.encode(JSON.stringify([boot, seq])) }, () => mesh.targets())
    await member.start()
    await waitFor('the honest nodes to watch the rogue', () => member.watchers >= 3)
    await mesh.markRss()
  }, 150_000)
  afterEach(ctx => { if (ctx.task.result?.state === 'fail') mesh.cluster.dumpLogs(40) })
  afterAll(async () => {
    for (const lp of held) lp.unwrap().abort(new Error('done'))
    await member?.stop()
    await mesh.stop()
  })

  it('garbage beats to its watchers: each kind refused, counted and logged; true beats later are heard again', async () => {
    for (const [reason, bytes] of GARBAGE) {
      const before = await Promise.all(mesh.nodes.map(async n => await mesh.invalid(n, reason)))
      garbage = bytes
      for (const [i, n] of mesh.nodes.entries()) await mesh.counted(n, reason, before[i] as number)
    }
    garbage = undefined
    for (const n of mesh.nodes) {
      for (const reason of new Set(GARBAGE.map(([r]) => r))) expect(mesh.logged(n, l => l.reason === reason && l.from === mesh.rogue.peerId), `${n.name} logs ${reason}`).toBe(true)
      await waitFor(`${n.name} to hear the rogue again`, async () => (await mesh.cluster.peers(n)).find(p => p.peerId === mesh.rogue.peerId)?.state === 'up', 20_000)
    }
    await mesh.holds()
  }, 90_000)

  it('100 beat streams into one node, with data it never reads, reading none of its beats: one slot per peer, the node stays well', async () => {
    const a = mesh.nodes[0]!
    for (let i = 0; i < 100; i++) held.push(await mesh.rogue.stream(mesh.target(a), BEAT_PROTOCOL, i % 4 === 0))
    const junk = new Uint8Array(1024)
    await Promise.allSettled(held.map(async lp => { await lp.write(junk, { signal: AbortSignal.timeout(10_000) }) }))
    // each new stream from the same peer replaces its last: at most one stays open
    const open = (): number => held.filter(lp => lp.unwrap().status === 'open').length
    await waitFor('the node to reset all but one', () => open() <= 1, 15_000)
    await mesh.holds()
  })

  it('after all of it: memory held, and a real death is exactly one alert', async () => {
    await mesh.rssHeld()
    await mesh.deathPagesOnce(mesh.nodes[0]!)
  }, 120_000)
})
