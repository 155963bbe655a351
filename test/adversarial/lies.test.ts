/**
 * Membership lies from a swarm member that is on every node's ring (it beats,
 * and its records carry what it claims to see), in a real 3-node mesh: it
 * reports an honest node silent (alone it is outvoted: nobody is even
 * suspect, and that node says who reports it), it claims to watch everyone (peers it is not a watcher of, and
 * peers that do not exist), and it reports a dead node as heard: that node
 * still goes down on every honest node in the usual bound, as exactly one
 * alert. Memory held over all of it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Obs } from '../../src/heartbeat/record.js'
import { ALERTMANAGER } from '../alerts/helpers.js'
import { lacks } from '../support/packages.js'
import { RogueMember, type Heard } from '../support/rogue-member.js'
import { fakePeerId } from '../support/synthetic.js'
import { waitFor } from '../support/wait.js'
import { AdversarialMesh, PROMTOOL } from './harness.js'

type Lie = (heard: ReadonlyMap<string, Heard>) => Record<string, Obs>

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER) || lacks('prometheus', PROMTOOL))('membership lies', () => {
  const mesh = new AdversarialMesh()
  let member: RogueMember
  let lie: Lie = () => ({})
  /** records the rogue pushed since the current lie began */
  let told = 0

  beforeAll(async () => {
    await mesh.start({ mesh: 'adv-lies' })
    member = new RogueMember(mesh.rogue, { name: 'liar', obs: heard => { told++; return lie(heard) } }, () => mesh.targets())
    await member.start()
    // it is a member: listed up everywhere, watched (beat streams open to it), and it knows who is who
    for (const n of mesh.nodes) await waitFor(`${n.name} to list the liar up`, async () => (await mesh.cluster.peers(n)).some(p => p.peerId === mesh.rogue.peerId && p.state === 'up'))
    await waitFor('the liar to learn every honest node', () => mesh.honestIds().every(id => member.heard.has(id)))
    await waitFor('the honest nodes to watch the liar', () => member.watchers >= 3)
    await mesh.markRss()
  }, 150_000)
  afterEach(ctx => { if (ctx.task.result?.state === 'fail') mesh.cluster.dumpLogs(40) })
  afterAll(async () => {
    await member?.stop()
    await mesh.stop()
  })

  /** Tell `next` for `rounds` records (one a second), then check nobody honest was even suspected. */
  async function tell (next: Lie, rounds = 8): Promise<void> {
    lie = next
    told = 0
    await waitFor(`${rounds} records with the lie`, () => told >= rounds, 30_000, 200)
    const honest = new Set(mesh.honestIds())
    for (const n of mesh.nodes) {
      // a lie is a valid record: taken, never refused
      expect(mesh.logged(n, l => l.from === mesh.rogue.peerId), `${n.name} took every record of the liar`).toBe(false)
      expect(n.logs.filter(l => /"to":"(suspect|down)"/.test(l) && honest.has(JSON.parse(l).peer)), `${n.name} suspected no honest node`).toEqual([])
    }
    await mesh.holds()
  }

  const about = (heard: ReadonlyMap<string, Heard>, ids: string[], level: 0 | 1 | 2): Record<string, Obs> =>
    Object.fromEntries(ids.flatMap(id => { const h = heard.get(id); return h === undefined ? [] : [[id, [level, h.boot, h.seq] as Obs]] }))

  it('it reports an honest node silent: alone, it is outvoted', async () => {
    const b = mesh.nodes[1]!.peerId as string
    await tell(heard => about(heard, [b], 2))
    // b says who reports it silent, and what it knows of its own beats: one line, however many records
    const said = mesh.nodes[1]!.logs.filter(l => l.includes('reports this node silent'))
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(/peer liar reports this node silent after its count \d+; it is at \d+ now .*; beat streams: liar none; \S+ came [\d.]+ s ago, last beat written [\d.]+ s ago, done [\d.]+ s ago/)
  })

  it('it reports every honest node silent, and late', async () => {
    await tell(heard => about(heard, mesh.honestIds(), 2))
    await tell(heard => about(heard, mesh.honestIds(), 1))
  })

  it('it claims to watch everyone: the honest nodes and 60 that do not exist', async () => {
    const ghosts = Array.from({ length: 60 }, (_, i) => fakePeerId(i))
    await tell(heard => ({ ...about(heard, mesh.honestIds(), 0), ...Object.fromEntries(ghosts.map(g => [g, [2, 1, 1] as Obs])) }))
  })

  it('after all of it: memory held; it reports a dead node as heard, and still that death is exactly one alert', async () => {
    await mesh.rssHeld()
    const c = mesh.nodes[2]!
    // from now on, c is always heard (a sequence number well past its last beat), in every record
    lie = heard => { const h = heard.get(c.peerId as string); return h === undefined ? {} : { [c.peerId as string]: [0, h.boot, h.seq + 1_000_000] } }
    await mesh.deathPagesOnce(c)
  }, 120_000)
})
