/**
 * Bad gossip frames from a swarm member, into a real 3-node mesh: bytes that
 * are not UTF-8, not JSON, JSON of the wrong shape, huge arrays, deep
 * nesting, a frame over the 1 MiB limit. Each is refused, counted by reason
 * and logged; the mesh holds (harness.ts), and after all of it memory held and
 * a real death is one alert. Sync requests, each answered with what the node
 * holds, are answered a few at a time per peer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { GOSSIP_PROTOCOL, MAX_GOSSIP_BYTES } from '../../src/heartbeat/streams.js'
import { ALERTMANAGER } from '../alerts/helpers.js'
import { lacks } from '../support/packages.js'
import { AdversarialMesh, PROMTOOL } from './harness.js'

const enc = new TextEncoder()

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER) || lacks('prometheus', PROMTOOL))('bad gossip frames', () => {
  const mesh = new AdversarialMesh()
  beforeAll(async () => {
    await mesh.start({ mesh: 'adv-frames' })
    await mesh.markRss()
  }, 150_000)
  afterEach(ctx => { if (ctx.task.result?.state === 'fail') mesh.cluster.dumpLogs(40) })
  afterAll(async () => { await mesh.stop() })

  /** `frames`, each on a stream of its own, to every honest node: each counted under `reason` and the stream ended, with a log line */
  async function refused (reason: string, frames: Array<Uint8Array | unknown>, to = mesh.nodes): Promise<void> {
    for (const n of to) {
      const before = await mesh.invalid(n, reason)
      for (const f of frames) expect(await mesh.rogue.frame(mesh.target(n), GOSSIP_PROTOCOL, f), `${n.name} ends the stream`).not.toBe('open')
      await mesh.counted(n, reason, before + frames.length - 1)
      expect(mesh.logged(n, l => l.reason === reason && l.from === mesh.rogue.peerId), `${n.name} logs the ${reason}`).toBe(true)
    }
    await mesh.holds()
  }

  it('not UTF-8, not JSON: decode', async () => {
    await refused('decode', [new Uint8Array([0xff, 0xfe, 0xfd, 0x80]), enc.encode('{"k":"push","items":[{'), enc.encode(''), enc.encode('\u0000\u0001')])
  })

  it('JSON of the wrong shape: schema', async () => {
    await refused('schema', [
      [], 42, null, 'push', { k: 'hello' }, { k: 'push' }, { k: 'push', items: 'x' }, { k: 'push', items: [null] },
      { k: 'push', items: [{ o: 1, b: 1, q: 1, r: '{}', s: '' }] }, { k: 'push', items: [{ o: 'x', b: -1, q: 1, r: '{}', s: '' }] },
      { k: 'push', items: [{ o: 'x', b: 1e300, q: 1, r: '{}', s: '' }] }, { k: 'push', items: [{ o: 'x', b: 1, q: 1, r: '{}', s: '', u: 2 }] },
      { k: 'push', items: [{ o: 'x'.repeat(65), b: 1, q: 1, r: '{}', s: '' }] }, { k: 'push', items: [{ o: 'x', b: 1, q: 1, r: '{}', s: 's'.repeat(129) }] },
      { k: 'sync', have: [] }, { k: 'sync', have: { x: [1] } }, { k: 'sync', have: { x: ['1', 2] } }, { k: 'sync', have: {}, reply: 2 }
    ])
  })

  it('huge arrays and deep nesting: schema, never a crash', async () => {
    const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n)
    await refused('schema', [
      // one past the 20k items a push may hold
      enc.encode(`{"k":"push","items":[${new Array(20_001).fill('0').join(',')}]}`),
      // far past any recursive parser's stack
      enc.encode(`{"k":"push","items":${deep(10_000)}}`),
      enc.encode(`{"k":"sync","have":{"x":${deep(10_000)}}}`)
    ])
  })

  it('a frame over the 1 MiB limit: too_large, refused before it is read', async () => {
    await refused('too_large', [new Uint8Array(MAX_GOSSIP_BYTES + 1)])
  })

  it('sync requests in a loop (each answered by the whole table): a burst answered, the rest refused', async () => {
    for (const n of mesh.nodes) {
      const before = await mesh.invalid(n, 'refused')
      for (let i = 0; i < 20; i++) expect(await mesh.rogue.frame(mesh.target(n), GOSSIP_PROTOCOL, { k: 'sync', have: {}, reply: 1 })).not.toBe('open')
      // 8 answered at once, one more per 2 s: at least 9 of 20 refused
      await mesh.counted(n, 'refused', before + 8)
      expect(mesh.logged(n, l => l.reason === 'refused' && l.from === mesh.rogue.peerId && /sync requests faster/.test(l.detail)), `${n.name} logs why`).toBe(true)
    }
    await mesh.holds()
  })

  it('after all of it: memory held on every honest node, and a real death is exactly one alert', async () => {
    await mesh.rssHeld()
    await mesh.deathPagesOnce(mesh.nodes[2]!)
  }, 120_000)
})
