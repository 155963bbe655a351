/**
 * An error nothing caught, in a real `meshmon run`: one JSON line with the
 * error and its stack, a graceful leave (its peer records it `left`, not
 * `down`), exit 1. The error is raised by the documented test hook
 * (MESHMON_TEST_CRASH + SIGUSR2), which production ignores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'

describe('meshmon run on an uncaught error', () => {
  const cluster = new Cluster()
  let observer: NodeProc
  beforeAll(async () => {
    await cluster.init()
    observer = await cluster.start('observer')
  })
  afterAll(async () => { await cluster.stopAll() })

  it.each([
    ['throw', 'uncaughtException', 'test crash: thrown from a timer'],
    ['reject', 'unhandledRejection', 'test crash: rejected with no handler']
  ])('MESHMON_TEST_CRASH=%s: one fatal JSON line, peers see it left, exit 1', async (mode, kind, message) => {
    const node = await cluster.start(`crash-${mode}`, [], { env: { MESHMON_TEST_CRASH: mode, NODE_ENV: 'test' } })
    await waitFor('the observer sees it up', async () => await cluster.stateOf(observer, node) === 'up')
    process.kill(node.child.pid as number, 'SIGUSR2')
    expect(await cluster.exited(node)).toBe(1)
    const fatal = node.logs.filter(l => l.startsWith('{') && JSON.parse(l).level === 60)
    expect(fatal, node.logs.join('\n')).toHaveLength(1)
    const line = JSON.parse(fatal[0] as string)
    expect(line).toMatchObject({ kind, msg: `${kind}: ${message}; leaving the mesh and exiting`, err: { type: 'Error', message } })
    // the stack: where it was thrown, in the compiled modules or in the one-file build
    expect(line.err.stack).toMatch(/(fatal\.(ts|js)|meshmon\.mjs):\d+/)
    // every line on stderr is JSON: no raw stack from Node's default handler
    for (const l of node.logs) expect(() => JSON.parse(l), l).not.toThrow()
    await waitFor('the observer records it left, not down', async () => await cluster.stateOf(observer, node) === 'left')
  })

  it('the hook is inert under NODE_ENV=production (SIGUSR2 keeps its default: the process is killed, no line)', async () => {
    const node = await cluster.start('production', [], { env: { MESHMON_TEST_CRASH: 'throw', NODE_ENV: 'production' } })
    process.kill(node.child.pid as number, 'SIGUSR2')
    await waitFor('killed by the signal', () => node.child.signalCode === 'SIGUSR2')
    expect(node.logs.filter(l => l.includes('test crash'))).toEqual([])
  })
})
