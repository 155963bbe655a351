/** An event the log acknowledged survives kill -9 of its process. */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LevelDatastore } from 'datastore-level'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../support/wait.js'
import { Nodes, sample, waitForIds } from './helpers.js'

const VITE_NODE = fileURLToPath(new URL('../../node_modules/vite-node/vite-node.mjs', import.meta.url))
const FIXTURE = fileURLToPath(new URL('./fixtures/append-forever.ts', import.meta.url))

/** Forget every indexed event and entry marker; keep the OrbitDB heads and entry index (the log). */
async function forgetIndexedEvents (dataDir: string): Promise<void> {
  const store = new LevelDatastore(join(dataDir, 'events'))
  await store.open()
  for (const prefix of ['t!', 'd!', 'x!', 'm!']) await store.db.clear({ gte: prefix, lt: prefix.slice(0, -1) + '"' })
  await store.close()
}

describe('durability', () => {
  let nodes: Nodes
  afterEach(async () => { await nodes.stopAll() })

  it('kill -9 in the middle of appends: every acknowledged event is there after a restart', async () => {
    nodes = new Nodes()
    const dataDir = await nodes.dir('child')
    // a small script run by node (through vite-node, which compiles the TypeScript sources)
    const child = spawn(process.execPath, [VITE_NODE, FIXTURE, dataDir, Buffer.from(nodes.meshKey).toString('hex')], { stdio: ['ignore', 'pipe', 'pipe'] })
    const acked: string[] = []
    let stderr = ''
    let buffer = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      buffer += d
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const l of lines) if (l !== 'ready' && l !== '') acked.push(l)
    })
    child.stderr.on('data', d => { stderr += String(d) })
    const exited = new Promise(resolve => child.once('exit', resolve))
    try {
      await waitFor('the child to acknowledge 300 appends', () => {
        if (child.exitCode !== null) throw new Error(`child exited ${child.exitCode}: ${stderr}`)
        return acked.length >= 300
      }, 60_000)
    } finally {
      child.kill('SIGKILL')
      await exited
    }
    // an id printed is an id acknowledged; a partial last line is not counted
    const ids = [...acked]
    expect(ids.length).toBeGreaterThanOrEqual(300)

    // prove they are in the replicated log itself, not only in the local index: drop the index's events first
    await forgetIndexedEvents(dataDir)
    const node = await nodes.start('reopened', { retentionMs: 86_400_000 }, { dataDir })
    await waitFor('the log to be indexed again', () => node.events.count() >= ids.length, 30_000)
    const missing: string[] = []
    for (const id of ids) if (!(await node.events.has(id))) missing.push(id)
    expect(missing).toEqual([])
    expect(node.events.count()).toBeGreaterThanOrEqual(ids.length)
  })
})

describe('the log is the truth, the index a view of it', () => {
  let nodes: Nodes
  afterEach(async () => { await nodes.stopAll() })

  it('events stored in the log but missing from the index (a crash between the two) are indexed again on open', async () => {
    nodes = new Nodes()
    const a = await nodes.start('a')
    const written = await a.events.appendMany(Array.from({ length: 250 }, (_, i) => sample(i, 'a')))
    const { dataDir, privateKey } = a
    await a.stop()
    await forgetIndexedEvents(dataDir)
    const again = await nodes.start('a', {}, { dataDir, privateKey })
    await waitForIds(again, written.map(e => e.id))
    expect(again.events.count()).toBe(250)
  })
})
