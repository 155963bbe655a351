/**
 * The lab itself (test/support/netlab.ts): the cables it cuts are cut, the
 * management network reaches every host but joins none of them to another,
 * and it leaves nothing behind: its namespaces and links go with destroy(),
 * and a lab whose test process died is swept by the next one.
 */
import { spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { lacks } from '../support/packages.js'
import { lacksNetlab, NetLab, sweepStaleLabs } from '../support/netlab.js'

const ping = (ns: string | undefined, ip: string): boolean =>
  spawnSync(ns === undefined ? 'ping' : 'ip', [...(ns === undefined ? [] : ['netns', 'exec', ns, 'ping']), '-c', '1', '-W', '1', ip]).status === 0
const namespaces = (): string[] => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map(l => l.split(' ')[0] ?? '').filter(Boolean)

describe.skipIf(lacks('iputils-ping', '/usr/bin/ping') || lacksNetlab())('the network lab', () => {
  const lab = new NetLab([2, 1])
  afterAll(async () => { await lab.destroy() })

  it('cuts and heals a host and a side; management reaches hosts but joins none to another', () => {
    lab.create()
    const [h1, h2, h3] = [lab.host(1), lab.host(2), lab.host(3)]
    expect(ping(h1.ns, h3.meshIp)).toBe(true)
    lab.cutSide(1)
    expect(ping(h1.ns, h3.meshIp)).toBe(false)
    expect(ping(h1.ns, h2.meshIp)).toBe(true)
    lab.healSide(1)
    expect(ping(h1.ns, h3.meshIp)).toBe(true)
    lab.cutHost(2)
    expect(ping(h1.ns, h2.meshIp)).toBe(false)
    // cut from the mesh, still reachable for management from the test and from the hub (Alertmanager)
    expect(ping(undefined, h2.mgmtIp)).toBe(true)
    expect(ping(h2.ns, lab.mgmtHubIp)).toBe(true)
    // hosts do not reach each other over management (isolated bridge ports)
    expect(ping(h2.ns, h1.mgmtIp)).toBe(false)
    lab.healHost(2)
    expect(ping(h1.ns, h2.meshIp)).toBe(true)
  })

  it('leaves nothing behind, and sweeps what a dead test process left', async () => {
    const mine = namespaces().filter(n => n.startsWith(lab.id + '-'))
    expect(mine).toHaveLength(4)
    await lab.destroy()
    expect(namespaces().filter(n => n.startsWith(lab.id + '-'))).toEqual([])
    expect(spawnSync('ip', ['link', 'show', `mmfm${lab.mgmtNet}`]).status).not.toBe(0)

    // a namespace named for a process that no longer exists, as a killed test leaves it
    const dead = spawnSync('true').pid as number
    const stale = `mmf${dead}-1-hub`
    expect(spawnSync('ip', ['netns', 'add', stale]).status).toBe(0)
    sweepStaleLabs()
    expect(namespaces()).not.toContain(stale)
  })
})
