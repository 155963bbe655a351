/**
 * Check states travel in heartbeats and `meshmon check`
 * runs them once (point 4): what users see on any peer.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshmon } from '../support/cli.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { lacks } from '../support/packages.js'
import { waitFor } from '../support/wait.js'

const PLUGINS = '/usr/lib/nagios/plugins'

// the exec checks run Debian's monitoring-plugins-basic, which `npm test` installs (or names as missing)
describe.skipIf(lacks('monitoring-plugins-basic', `${PLUGINS}/check_dummy`))('checks across the mesh', () => {
  const cluster = new Cluster()
  let dir: string
  let a: NodeProc, b: NodeProc

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-checks-'))
    await cluster.init()
    await writeFile(join(dir, 'a.yml'), `checks:
  - { name: always-ok, type: exec, interval: 1s, command: [${PLUGINS}/check_dummy, '0', 'all good'] }
`)
    await writeFile(join(dir, 'b.yml'), `checks:
  - { name: broken, type: exec, interval: 1s, command: [${PLUGINS}/check_dummy, '2', 'disk on fire'] }
  - { name: meh, type: exec, interval: 1s, command: [${PLUGINS}/check_dummy, '1', 'a bit slow'] }
`)
    a = await cluster.start('a', ['--config', join(dir, 'a.yml')])
    b = await cluster.start('b', ['--config', join(dir, 'b.yml')])
    await cluster.waitAll(2)
  })
  afterAll(async () => {
    await cluster.stopAll()
    await rm(dir, { recursive: true, force: true })
  })

  it('status on any peer shows the failing checks of every node and exits 1', async () => {
    await waitFor('b\'s checks on a', async () => (await cluster.peers(a)).find(p => p.name === 'b')?.checks.filter((c: any) => c.lastRun !== null).length === 2)
    const r = await meshmon(['status', '--api', a.api])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^b\s.*\sbroken\(CRITICAL\), meh\(WARNING\)$/m)
    expect(r.stdout).toMatch(/^a \*\s.*\s-$/m)
    expect(r.stdout).toMatch(/2 failing checks$/m)
  })

  it('/api/v1/peers lists each check with state, output and last run', async () => {
    const peers = await cluster.peers(a)
    const broken = peers.find(p => p.name === 'b')?.checks.find((c: any) => c.name === 'broken')
    expect(broken).toMatchObject({ type: 'exec', status: 2, statusName: 'CRITICAL', output: 'CRITICAL: disk on fire' })
    expect(Date.parse(broken.lastRun)).toBeGreaterThan(Date.now() - 60_000)
    const ok = peers.find(p => p.name === 'a')?.checks[0]
    expect(ok).toMatchObject({ name: 'always-ok', status: 0, output: 'OK: all good' })
  })

  it('/metrics on any peer has check_up, check_status and check_duration_seconds for every check', async () => {
    const text = await (await fetch(`${a.api}/metrics`)).text()
    expect(text).toContain(`meshmon_check_status{peer="${b.peerId}",node="b",check="broken"} 2`)
    expect(text).toContain(`meshmon_check_up{peer="${b.peerId}",node="b",check="broken"} 0`)
    expect(text).toContain(`meshmon_check_status{peer="${b.peerId}",node="b",check="meh"} 1`)
    expect(text).toContain(`meshmon_check_up{peer="${a.peerId}",node="a",check="always-ok"} 1`)
    expect(text).toMatch(new RegExp(`meshmon_check_duration_seconds\\{peer="${b.peerId}",node="b",check="broken"\\} [0-9.e-]+`))
  })
})

describe.skipIf(lacks('monitoring-plugins-basic', `${PLUGINS}/check_dummy`))('meshmon check', () => {
  let dir: string
  let key: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-check-cmd-'))
    key = join(dir, 'swarm.key')
    await meshmon(['swarm-key', 'generate', '--out', key])
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('runs every check once, prints a table, exits 0 when all are OK', async () => {
    const file = join(dir, 'ok.yml')
    await writeFile(file, `swarmKey: swarm.key\nchecks:\n  - { name: fine, type: exec, command: [${PLUGINS}/check_dummy, '0', 'fine'] }\n  - { name: mem, type: memory, warning: 0, critical: 0 }\n`)
    const r = await meshmon(['check', '--config', file])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/is valid: node \S+, 2 checks/)
    expect(r.stdout).toMatch(/^CHECK\s+TYPE\s+STATUS\s+TIME\s+OUTPUT$/m)
    expect(r.stdout).toMatch(/^fine\s+exec\s+OK\s+[\d.]+s\s+OK: fine$/m)
  })

  it('exits 1 when any check is not OK, and --json prints the states', async () => {
    const file = join(dir, 'bad.yml')
    await writeFile(file, `swarmKey: swarm.key\nchecks:\n  - { name: fine, type: exec, command: [${PLUGINS}/check_dummy, '0', 'fine'] }\n  - { name: gone, type: exec, command: [/nonexistent/plugin] }\n`)
    const r = await meshmon(['check', '--config', file, '--json'])
    expect(r.code).toBe(1)
    const states = JSON.parse(r.stdout)
    expect(states.map((s: any) => [s.name, s.status])).toEqual([['fine', 0], ['gone', 3]])
    expect(states[1].output).toMatch(/\/nonexistent\/plugin/)
  })

  it('a config error exits 2 with one line', async () => {
    const file = join(dir, 'typo.yml')
    await writeFile(file, `swarmKey: swarm.key\nchecks:\n  - { name: x, type: exec, command: [] }\n`)
    const r = await meshmon(['check', '--config', file])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^meshmon: config error: checks.0.command: needs the program and its arguments/)
  })
})
