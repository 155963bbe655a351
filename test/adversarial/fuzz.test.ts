/**
 * 10k random and oversized payloads from a swarm member across the protocols
 * a node speaks (gossip, beats, event index sync, block exchange), each on a
 * stream of its own, to the three nodes of a real mesh; meanwhile the member
 * answers the nodes' own index sync requests with the same kind of garbage.
 * The payloads come from a seeded source: a failure names its seed, and
 * MESHMON_FUZZ_SEED=<seed> replays it. Every stream the node reads is ended by
 * the node, nothing crashes, what is refused is counted, and the mesh holds;
 * after all of it memory held and a real death is one alert. (Devices, their
 * gossipsub topic and their /websocket and push endpoints are not in this
 * tree yet.)
 */
import type { Stream } from '@libp2p/interface'
import { lpStream } from 'it-length-prefixed-stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BLOCKS_PROTOCOL } from '../../src/events/orbit/block-exchange.js'
import { SYNC_PROTOCOL } from '../../src/events/sync/protocol.js'
import { BEAT_PROTOCOL } from '../../src/heartbeat/streams.js'
import { ALERTMANAGER } from '../alerts/helpers.js'
import { lacks } from '../support/packages.js'
import type { Ending } from '../support/rogue.js'
import { AdversarialMesh, PROMTOOL } from './harness.js'
import { Payloads } from './payloads.js'

const SEED = Number(process.env.MESHMON_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32))
const PAYLOADS = 10_000
/** payloads before memory is first read */
const WARM_UP = 1000
/** streams in flight at once */
const CONCURRENCY = 8
/** the fuzzing itself stops here whatever it reached (the file stays within ~2 minutes) */
const BUDGET_MS = 90_000

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER) || lacks('prometheus', PROMTOOL))(`random payloads (MESHMON_FUZZ_SEED=${SEED})`, () => {
  const mesh = new AdversarialMesh()
  const gen = new Payloads(SEED)
  let asked = 0

  beforeAll(async () => {
    await mesh.start({ mesh: 'adv-fuzz' })
    // the nodes ask every new peer for events (and for blocks they lack): garbage answers to those too
    const answer = (bytes: () => Uint8Array) => ({ stream }: { stream: Stream }) => {
      asked++
      const lp = lpStream(stream)
      void (async () => {
        await lp.read()
        for (let i = 0; i < 3; i++) await lp.write(bytes())
        await stream.close()
      })().catch(() => { stream.abort(new Error('rogue done')) })
    }
    await mesh.rogue.libp2p.handle(SYNC_PROTOCOL, answer(() => gen.next().bytes))
    await mesh.rogue.libp2p.handle(BLOCKS_PROTOCOL, answer(() => gen.next().bytes))
    // the first payloads of each protocol cost a node ~10 MB once (measured: 4k payloads +11.8 MB,
    // three more rounds of 4k +2.1, +0.8, +4.4, the heap flat): the baseline follows that first contact
    await fuzz(WARM_UP, BUDGET_MS)
    await mesh.markRss()
  }, 180_000)
  afterEach(ctx => { if (ctx.task.result?.state === 'fail') mesh.cluster.dumpLogs(40) })
  afterAll(async () => { await mesh.stop() })

  it(`${PAYLOADS} payloads: every stream the node reads is ended by it, nothing crashes, the bad ones counted`, async () => {
    const invalidBefore = await Promise.all(mesh.nodes.map(async n => await invalidTotal(n)))
    const { sent, endings } = await fuzz(PAYLOADS, BUDGET_MS)
    const summary = JSON.stringify(endings)
    expect(sent, `payloads sent within ${BUDGET_MS} ms (seed ${SEED}): ${summary}`).toBeGreaterThanOrEqual(PAYLOADS)
    // a stream the node reads is never left hanging
    for (const [key, t] of Object.entries(endings)) if (!key.startsWith(BEAT_PROTOCOL)) expect(t.open, `${key} left open (seed ${SEED}): ${summary}`).toBe(0)
    for (const [i, n] of mesh.nodes.entries()) {
      expect(await invalidTotal(n), `${n.name} counted invalid gossip (seed ${SEED})`).toBeGreaterThan(invalidBefore[i] as number)
      const m = await mesh.metrics(n)
      for (const protocol of ['sync', 'blocks']) expect(m, `${n.name} counted bad ${protocol} messages (seed ${SEED})`).toMatch(new RegExp(`^meshmon_events_messages_invalid_total\\{protocol="${protocol}",reason="malformed"[^}]*\\} [1-9]`, 'm'))
      // logged, but once a minute per peer and protocol, not once per message (a log is not a place to flood)
      const complaints = n.logs.filter(l => /the peer broke the protocol/.test(l)).length
      expect(complaints, `${n.name}'s log lines about broken event protocols`).toBeGreaterThan(0)
      expect(complaints).toBeLessThanOrEqual(8)
    }
    expect(asked, 'the nodes asked the rogue for events').toBeGreaterThan(0)
    await mesh.holds()
  }, 150_000)

  it('after all of it: memory held (the heap within 5 MB; RSS within 20 MB, glibc keeping what 10k payloads in bursts grew), and a real death is exactly one alert', async () => {
    await mesh.rssHeld(20)
    await mesh.deathPagesOnce(mesh.nodes[1]!)
  }, 120_000)

  /** `count` payloads from the generator, CONCURRENCY at a time, to the nodes in turn; what became of their streams */
  async function fuzz (count: number, budgetMs: number): Promise<{ sent: number, endings: Record<string, Record<Ending | 'refused', number>> }> {
    const endings: Record<string, Record<Ending | 'refused', number>> = {}
    const deadline = Date.now() + budgetMs
    let sent = 0
    const worker = async (): Promise<void> => {
      while (sent < count && Date.now() < deadline) {
        const i = sent++
        const { protocol, bytes, kind } = gen.next()
        const n = mesh.nodes[i % 3]!
        const tally = endings[`${protocol} ${kind}`] ??= { closed: 0, reset: 0, open: 0, refused: 0 }
        try {
          // a node never reads beat streams opened to it (it only writes beats): the rogue ends those itself
          const ending = await mesh.rogue.frame(mesh.target(n), protocol, bytes, protocol === BEAT_PROTOCOL ? { waitMs: 50 } : { waitMs: 10_000, fresh: i % 250 === 0 })
          tally[ending]++
        } catch {
          // the node refused the stream itself (too many at once on one connection)
          tally.refused++
        }
        if (i % 1000 === 999) for (const h of mesh.nodes) expect((await fetch(`${h.api}/healthz`)).status, `${h.name} up after ${i + 1} payloads (seed ${SEED})`).toBe(200)
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    return { sent, endings }
  }

  async function invalidTotal (n: (typeof mesh.nodes)[number]): Promise<number> {
    return [...(await mesh.metrics(n)).matchAll(/^meshmon_gossip_messages_invalid_total\{[^}]*\} (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0)
  }
})
