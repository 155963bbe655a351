/**
 * Throwaway identities: a swarm member makes 10k fresh keys and pushes a
 * valid, signed record for each into a real 3-node mesh (peers.max and
 * peers.maxNewPerMinute set low to see the bounds). The peer table stays
 * within them, the rest is refused and counted; the honest nodes are not made
 * to dial in a storm (the identities' records name an honest node's address);
 * none of the identities, never heard by a watcher, pages or counts as a
 * member when a node weighs its reach (though their records name a real
 * node's address); memory held.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Envelope } from '../../src/heartbeat/gossip.js'
import { GOSSIP_PROTOCOL } from '../../src/heartbeat/streams.js'
import { ALERTMANAGER, amAlerts } from '../alerts/helpers.js'
import { lacks } from '../support/packages.js'
import { record } from '../support/record.js'
import { Throwaway } from '../support/throwaway.js'
import { waitFor } from '../support/wait.js'
import { AdversarialMesh, PROMTOOL } from './harness.js'

const MAX = 10
const NEW_PER_MINUTE = 5
const IDENTITIES = 10_000
/** items per push: ~600 bytes each, well under the 1 MiB frame */
const PER_PUSH = 1000

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER) || lacks('prometheus', PROMTOOL))('10k throwaway identities', () => {
  const mesh = new AdversarialMesh()
  const ids: Throwaway[] = []
  let startedAt = 0

  beforeAll(async () => {
    await mesh.start({ mesh: 'adv-identities', config: `peers: { max: ${MAX}, maxNewPerMinute: ${NEW_PER_MINUTE} }`, logLevel: 'debug' })
    await mesh.markRss()
    for (let i = 0; i < IDENTITIES; i++) ids.push(new Throwaway())
    for (const t of ids) mesh.rogueIds.add(t.peerId)
  }, 150_000)
  afterEach(ctx => { if (ctx.task.result?.state === 'fail') mesh.cluster.dumpLogs(40) })
  afterAll(async () => { await mesh.stop() })

  /** beat-stream dials and connection-keeper dials each node logged (at debug level) */
  const dials = (): number[] => mesh.nodes.map(n => n.logs.filter(l => /"msg":"(cannot open a beat stream|dialing)"/.test(l)).length)

  it('a valid signed record for each: the table stays within peers.max and peers.maxNewPerMinute, the rest refused and counted', async () => {
    const c = mesh.nodes[2]!
    startedAt = Date.now()
    const before = await Promise.all(mesh.nodes.map(async n => await mesh.invalid(n, 'refused')))
    // each claims to listen where c does: a node that dialled them all would storm c
    const envelopes: Envelope[] = ids.map((t, i) => t.envelope(record({ name: `sybil-${i}`, boot: Date.now(), seq: 1, addrs: [`${c.addr}/p2p/${t.peerId}`] })))
    for (const n of mesh.nodes) {
      for (let i = 0; i < envelopes.length; i += PER_PUSH) {
        expect(await mesh.rogue.frame(mesh.target(n), GOSSIP_PROTOCOL, { k: 'push', items: envelopes.slice(i, i + PER_PUSH) }, { waitMs: 30_000 })).not.toBe('open')
      }
    }
    for (const [i, n] of mesh.nodes.entries()) {
      await mesh.counted(n, 'refused', (before[i] as number) + IDENTITIES - MAX)
      expect(mesh.logged(n, l => l.reason === 'refused' && /peers.maxNewPerMinute|peers.max\)/.test(l.detail)), `${n.name} logs why`).toBe(true)
    }
    await mesh.holds()
    // the identities admitted name c's address: c's beats and probe answers are not taken for theirs (wrong-peer.ts),
    // so none is a live member, and each node weighs its reach among the 3 real ones
    for (const n of mesh.nodes) {
      const peers = await mesh.cluster.peers(n)
      expect(peers.filter(p => mesh.rogueIds.has(p.peerId) && p.confirmed === true).map(p => p.name), `${n.name}: identities heard by a watcher`).toEqual([])
      expect(peers.find(p => p.self === true)?.partition, `${n.name}'s reach`).toMatchObject({ members: 3, minority: false })
    }
  })

  it('the bounds hold while the identities linger and the mesh relays them: no dial storm, no alert', async () => {
    const minutes = (): number => Math.floor(Date.now() / 60_000) - Math.floor(startedAt / 60_000) + 1
    const dialsBefore = dials()
    const t0 = Date.now()
    // the records age past the staleness bound (3 record intervals, 30 s): a node judges its reach without them
    await waitFor('the identities to be 35 s old', () => Date.now() - startedAt > 35_000, 45_000, 1000)
    for (const n of mesh.nodes) {
      const peers = await mesh.cluster.peers(n)
      expect(peers.length, `${n.name}'s table`).toBeLessThanOrEqual(MAX)
      expect(peers.length - 3, `${n.name}: new peers`).toBeLessThanOrEqual(NEW_PER_MINUTE * minutes())
      // never heard by any watcher, so never judged down: none pages
      expect(peers.filter(p => p.state === 'down')).toEqual([])
      const alerts = await (await fetch(`${n.api}/api/v1/alerts`)).json() as Array<{ labels: Record<string, string> }>
      expect(alerts.filter(a => mesh.rogueIds.has(a.labels.peer ?? ''))).toEqual([])
    }
    const seconds = (Date.now() - t0) / 1000
    const rate = dials().map((d, i) => (d - (dialsBefore[i] as number)) / seconds)
    // each address is retried with a doubling wait: a few identities cost a few dials a second, not a storm
    for (const r of rate) expect(r, `dials per second ${rate.map(x => x.toFixed(1)).join(', ')}`).toBeLessThan(5)
    expect((await amAlerts(mesh.am, mesh.mesh)).filter(a => mesh.rogueIds.has(a.labels.peer ?? ''))).toEqual([])
  }, 90_000)

  it('after all of it: memory held (the heap within 5 MB; RSS within 20 MB, glibc keeping what 10k records in bursts of 1000 grew)', async () => {
    await mesh.rssHeld(20)
  }, 120_000)
})
