/**
 * The node as a user runs it: real `meshmon run` processes on 127.0.0.1, the
 * real `meshmon status` against them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { BIN, collect, meshmon } from '../support/cli.js'
import { Cluster, logLines, type NodeProc } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'

describe('a three-node mesh on one host', () => {
  const cluster = new Cluster()
  let a: NodeProc, b: NodeProc, c: NodeProc

  beforeAll(async () => {
    await cluster.init()
    ;[a, b, c] = await cluster.startAll(['a', 'b', 'c']) as [NodeProc, NodeProc, NodeProc]
  })
  afterEach((ctx) => { if (ctx.task.result?.state === 'fail') cluster.dumpLogs() })
  afterAll(async () => { await cluster.stopAll() })

  it('status lists all three up with cpu, memory and disk, and exits 0', async () => {
    // machine info rides in full heartbeats, sent to a new peer at once
    await waitFor('machine info of every peer', async () => (await cluster.peers(b)).every(p => p.machine !== null))
    const r = await meshmon(['status', '--api', b.api])
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^NAME\s+PEER\s+STATE\s+LAST SEEN\s+CPU\s+MEM\s+DISK\s+FAILING CHECKS$/)
    for (const n of ['a', 'b *', 'c']) expect(lines.find(l => l.startsWith(n + ' '))).toMatch(/\sup\s.*\d+%\s+\d+%\s+\d+%\s+-$/)
    expect(lines.at(-1)).toBe('3 peers: 3 up, 0 down, 0 failing checks')
  })

  it('status --json prints the same peers as JSON', async () => {
    const r = await meshmon(['status', '--api', a.api, '--json'])
    expect(r.code).toBe(0)
    const peers = JSON.parse(r.stdout)
    expect(peers.map((p: any) => p.name)).toEqual(['a', 'b', 'c'])
    expect(peers.map((p: any) => p.peerId).sort()).toEqual([a.peerId, b.peerId, c.peerId].sort())
    for (const p of peers) {
      expect(p).toMatchObject({ state: 'up', expect: 'always-on', labels: {} })
      expect(p.machine.memory.totalBytes).toBeGreaterThan(0)
      expect(p.machine.filesystems.some((f: any) => f.mountpoint === '/')).toBe(true)
    }
  })

  it('status --watch redraws in place until Ctrl-C', async () => {
    const child = spawn(process.execPath, [BIN, 'status', '--api', a.api, '--watch'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', d => { out += d })
    const done = collect(child, 20_000)
    await waitFor('two frames', () => out.split('\x1b[H\x1b[2J').length >= 3, 10_000)
    child.kill('SIGINT')
    const r = await done
    expect(r.code).toBe(0)
    const frames = out.split('\x1b[H\x1b[2J').filter(Boolean)
    for (const f of frames) expect(f).toMatch(/^NAME\s+PEER/)
  })

  it('kill -9: every survivor marks the node down, status exits 1; a restart brings it back up with the same id', async () => {
    const id = c.peerId
    c.child.kill('SIGKILL')
    for (const n of [a, b]) await waitFor(`${n.name} sees c down`, async () => await cluster.stateOf(n, c) === 'down', 10_000)
    const r = await meshmon(['status', '--api', a.api])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^c\s+\S+\s+down\s/m)
    c = await cluster.start('c', [], { dataDir: c.dataDir })
    expect(c.peerId).toBe(id)
    for (const n of [a, b]) await waitFor(`${n.name} sees c up`, async () => await cluster.stateOf(n, c) === 'up', 15_000)
    expect((await meshmon(['status', '--api', a.api])).code).toBe(0)
  })

  it('SIGSTOP (a hung host closes no socket): survivors mark it down, saying whose reports did; SIGCONT brings it back, and it says it stalled', async () => {
    process.kill(b.child.pid as number, 'SIGSTOP')
    const stoppedAt = Date.now()
    try {
      for (const n of [a, c]) await waitFor(`${n.name} sees b down`, async () => await cluster.stateOf(n, b) === 'down', 10_000)
      // a host hung for 4 s in all
      await waitFor('4 s of hang', () => Date.now() - stoppedAt >= 4000, 10_000)
    } finally {
      process.kill(b.child.pid as number, 'SIGCONT')
    }
    for (const n of [a, c]) {
      const down = logLines(n).find(j => j.peer === b.peerId && j.to === 'down')
      expect(down?.reporting, JSON.stringify(down)).toBeGreaterThanOrEqual(1)
      expect(down?.silentTo.length).toBeGreaterThanOrEqual(Math.floor(down?.reporting / 2) + 1)
      for (const w of down?.silentTo) expect(['a', 'c']).toContain(w)
    }
    await waitFor('b logs its own stall', () => logLines(b).some(j => j.lagMs >= 1000 && /timers ran .* late/.test(j.msg)), 10_000)
    const resumed = Date.now()
    for (const n of [a, c]) await waitFor(`${n.name} sees b up`, async () => await cluster.stateOf(n, b) === 'up', 15_000)
    // b itself did not blame the others for its own stall
    await waitFor('b sees everyone up', async () => (await cluster.peers(b)).every(p => p.state === 'up'), 10_000)
    // once back, b is not found down again on the silence its watchers reported before they heard it
    // (it counted nothing while stopped): that flap held its alert open for another record interval
    const again = [a, c].flatMap(n => logLines(n)
      .filter(j => j.peer === b.peerId && j.to === 'down' && Date.parse(j.time) >= resumed).map(j => `${n.name}: ${j.msg} at ${j.time}`))
    expect(again).toEqual([])
  })

  it('SIGTERM: the node leaves; peers show left, never down', async () => {
    const seen = new Set<string>()
    c.child.kill('SIGTERM')
    expect(await cluster.exited(c)).toBe(0)
    await waitFor('a and b see c left', async () => {
      for (const n of [a, b]) seen.add(await cluster.stateOf(n, c) ?? 'missing')
      return await cluster.stateOf(a, c) === 'left' && await cluster.stateOf(b, c) === 'left'
    }, 10_000)
    expect(seen.has('down')).toBe(false)
    const r = await meshmon(['status', '--api', a.api])
    expect(r.code, r.stdout + r.stderr).toBe(0)
  })
})
