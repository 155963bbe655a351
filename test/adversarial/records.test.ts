/**
 * Bad records from a swarm member, pushed to every node of a real 3-node
 * mesh: a forged origin, a bad signature, none, an old version replayed,
 * dates in the year 9999 and 1970, check times of 1e20, label names and values
 * that break the Prometheus text format, 10k labels, 70 KiB, 300 checks,
 * NaN and Infinity as strings, names of 10k characters, and the name of an
 * honest node. Each is refused, counted by reason and logged (or, where it is
 * valid data, shown safely); the mesh holds (harness.ts), and after all of it
 * memory held and a real death is one alert that names the right node.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { CheckState } from '../../src/checks/types.js'
import type { Envelope } from '../../src/heartbeat/gossip.js'
import type { NodeRecord } from '../../src/heartbeat/record.js'
import { GOSSIP_PROTOCOL } from '../../src/heartbeat/streams.js'
import { ALERTMANAGER } from '../alerts/helpers.js'
import { meshmon } from '../support/cli.js'
import { lacks } from '../support/packages.js'
import { record } from '../support/record.js'
import { syntheticMachine } from '../support/synthetic.js'
import { waitFor } from '../support/wait.js'
import { AdversarialMesh, PROMTOOL } from './harness.js'

const check = (over: Partial<CheckState> = {}): CheckState => ({
  name: 'disk', type: 'exec', status: 0, output: 'OK', perfdata: '', durationSeconds: 0.01, lastRun: Date.now(), since: Date.now(), ...over
})

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER) || lacks('prometheus', PROMTOOL))('bad records', () => {
  const mesh = new AdversarialMesh()
  const boot = Date.now()
  let seq = 1000
  /** a record of the rogue's own, newer than any it sent before (an older one is dropped as a late copy, uncounted) */
  const mine = (over: Partial<NodeRecord> = {}): NodeRecord => record({ name: 'rogue', boot, seq: ++seq, expect: 'intermittent', ...over })

  beforeAll(async () => {
    await mesh.start({ mesh: 'adv-records' })
    await mesh.markRss()
  }, 150_000)
  afterEach(ctx => { if (ctx.task.result?.state === 'fail') mesh.cluster.dumpLogs(40) })
  afterAll(async () => { await mesh.stop() })

  const push = async (items: Envelope[]): Promise<void> => {
    for (const n of mesh.nodes) expect(await mesh.rogue.frame(mesh.target(n), GOSSIP_PROTOCOL, { k: 'push', items })).not.toBe('open')
  }
  /** each envelope refused by every honest node under `reason`, with a log line from the rogue */
  async function refused (reason: string, items: Envelope[]): Promise<void> {
    const before = await Promise.all(mesh.nodes.map(async n => await mesh.invalid(n, reason)))
    await push(items)
    for (const [i, n] of mesh.nodes.entries()) {
      await mesh.counted(n, reason, (before[i] as number) + items.length - 1)
      expect(mesh.logged(n, l => l.reason === reason && l.from === mesh.rogue.peerId), `${n.name} logs the ${reason}`).toBe(true)
      expect((await mesh.cluster.peers(n)).some(p => p.peerId === mesh.rogue.peerId && p.name !== 'rogue'), 'no refused record applied').toBe(false)
    }
    await mesh.holds()
  }

  it('a forged origin, a bad signature, none: signature', async () => {
    const a = mesh.nodes[0]!.peerId as string
    const other = mesh.rogue.envelope(mine({ name: 'other' }))
    await refused('signature', [
      // newer than a's own record (an older one is dropped as a late copy before any check)
      mesh.rogue.envelope(mine({ name: 'forged', boot: Date.now() }), a),
      { ...mesh.rogue.envelope(mine({ name: 'bad-signature' })), s: other.s },
      { ...mesh.rogue.envelope(mine({ name: 'unsigned' })), s: '' }
    ])
  })

  it('dated in the year 9999, checks at 1e20: clock; dated 1970: replay', async () => {
    await refused('clock', [
      mesh.rogue.envelope(mine({ ts: Date.parse('9999-12-31T23:59:59Z') })),
      mesh.rogue.envelope(mine({ checks: [check({ since: 1e20 })] })),
      mesh.rogue.envelope(mine({ checks: [check({ lastRun: 1e20 })] }))
    ])
    await refused('replay', [mesh.rogue.envelope(mine({ ts: 0 }))])
  })

  it('label names a"b} and __x, 10k labels, 70 KiB, 300 checks, NaN and Infinity as strings, names of 10k characters: schema', async () => {
    const labels10k = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`l${i}`, 'v']))
    const nan = { ...syntheticMachine(1), cpu: { model: 'x', cores: 'Infinity', usageRatio: 'NaN' } } as unknown as NodeRecord['machine']
    const long = 'n'.repeat(10_000)
    await refused('schema', [
      mesh.rogue.envelope(mine({ labels: { 'a"b}': 'x' } })),
      mesh.rogue.envelope(mine({ labels: { __x: 'x' } })),
      mesh.rogue.envelope(mine({ checks: Array.from({ length: 300 }, (_, i) => check({ name: `c${i}` })) })),
      mesh.rogue.envelope(mine({ machine: nan })),
      mesh.rogue.envelope(mine({ name: long })),
      mesh.rogue.envelope(mine({ checks: [check({ name: long.slice(0, 5000) })] })),
      mesh.rogue.envelope(mine({ labels: { [long.slice(0, 5000)]: 'x' } }))
    ])
    // records over 64 KiB do not even make an envelope the node reads: the whole message is refused
    await refused('schema', [mesh.rogue.envelope(mine({ labels: labels10k }))])
    await refused('schema', [mesh.rogue.envelope(mine({ agent: 'x'.repeat(70 * 1024) }))])
  })

  it('label values with newlines and quotes are data: shown escaped, /metrics still passes promtool', async () => {
    await push([mesh.rogue.envelope(mine({ labels: { role: 'x"}\nfake_metric 1\n', ok: 'back\\slash' } }))])
    for (const n of mesh.nodes) {
      await waitFor(`${n.name} lists the rogue`, async () => (await mesh.cluster.peers(n)).some(p => p.peerId === mesh.rogue.peerId))
      const info = (await mesh.metrics(n)).split('\n').find(l => l.startsWith('meshmon_node_info{') && l.includes(mesh.rogue.peerId)) as string
      expect(info).toContain('role="x\\"}\\nfake_metric 1\\n"')
      expect(await mesh.metrics(n)).not.toMatch(/^fake_metric/m)
    }
    await mesh.holds()
  })

  it('an older version of a record held is a late copy: dropped, the newer one stays', async () => {
    const newer = mine({ name: 'rogue' })
    await push([mesh.rogue.envelope(newer), mesh.rogue.envelope({ ...newer, seq: newer.seq - 5, name: 'replayed' })])
    for (const n of mesh.nodes) {
      await waitFor(`${n.name} holds the newer record`, async () => (await mesh.cluster.peers(n)).find(p => p.peerId === mesh.rogue.peerId)?.name === 'rogue')
      expect((await mesh.cluster.peers(n)).some(p => p.name === 'replayed')).toBe(false)
    }
    await mesh.holds()
  })

  it('the name of an honest node: flagged as a conflict everywhere (metric, API, status), the honest one unchanged', async () => {
    const a = mesh.nodes[0]!
    await push([mesh.rogue.envelope(mine({ name: 'a' }))])
    for (const n of mesh.nodes) {
      await waitFor(`${n.name} flags the conflict`, async () => /^meshmon_peer_name_conflicts\{[^}]*\} 1$/m.test(await mesh.metrics(n)))
      const both = (await mesh.cluster.peers(n)).filter(p => p.name === 'a')
      expect(both.map(p => p.peerId).sort()).toEqual([a.peerId, mesh.rogue.peerId].sort())
      for (const p of both) expect(p.nameConflict).toBe(true)
      expect(mesh.logged(n, l => /carry the name a:/.test(l.msg))).toBe(true)
    }
    const status = await meshmon(['status', '--api', a.api])
    expect(status.stdout).toMatch(/^a \* !/m)
    expect(status.stdout).toMatch(/^a !/m)
    expect(status.stdout).toContain('another peer carries the same name')
    await mesh.holds()
  })

  it('after all of it: memory held, and the honest "a" dying is one alert naming its own peer id', async () => {
    await mesh.rssHeld()
    await mesh.deathPagesOnce(mesh.nodes[0]!)
  }, 120_000)
})
